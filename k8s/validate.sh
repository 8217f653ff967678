#!/usr/bin/env bash
# make k8s-validate: the manifests are what k8s/render.py writes; every overlay renders with
# kustomize, validates against the Kubernetes schemas (kubernetes-validate, strict), passes
# the checkov security scan (k8s/checkov.yaml lists the only skipped checks, with reasons), and
# every service starts and becomes ready with the environment the overlay gives it
# (k8s/start-check.py).
# The tools come from PyPI into target/k8s-venv (pinned versions).
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION="${K8S_VERSION:-1.31.0}"
VENV=target/k8s-venv
OUT=target/k8s
command -v kubectl >/dev/null || { echo "kubectl is required (apt-get install kubernetes-client)"; exit 1; }
command -v node >/dev/null || { echo "Node.js is required for the CRD schemas (apt-get install nodejs npm)"; exit 1; }
# The operators' CRD schemas (k8s/crd-schemas: CloudNativePG's from npm, pinned by its lockfile).
[ -d k8s/crd-schemas/node_modules ] || npm ci --prefix k8s/crd-schemas --no-audit --no-fund --silent
if node k8s/crd-schemas/validate.mjs k8s/crd-schemas/invalid-cluster.yaml >/dev/null 2>&1; then
  echo "the CRD schema check accepted k8s/crd-schemas/invalid-cluster.yaml"; exit 1
fi
if [ ! -x "$VENV/bin/checkov" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q kubernetes-validate==1.37.0 checkov==3.3.30
fi
python3 deploy/generate.py --check   # k8s/base and every other deployment: deploy/platform.toml
python3 deploy/check-compose.py
k8s/overlays/dev/generate-secrets.sh >/dev/null
mkdir -p "$OUT"
for overlay in dev prod; do
  kubectl kustomize "k8s/overlays/$overlay" > "$OUT/$overlay.yaml"
  echo "== $overlay: $(grep -c '^kind:' "$OUT/$overlay.yaml") resources"
  # kubernetes-validate has no schema for the operators' kinds (CloudNativePG Cluster,
  # RabbitmqCluster, User, Permission): it checks everything else, and crd-schemas/validate.mjs
  # checks the CloudNativePG ones against their CRD schemas (RabbitMQ's have no schema package).
  "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$K8S_VERSION" "$OUT/$overlay.yaml"
  node k8s/crd-schemas/validate.mjs "$OUT/$overlay.yaml"
  # Issue #17 on what the overlay renders: the Ingress strips the one list of untrusted headers
  # and copies only the identity headers from gateway-auth's answer.
  "$VENV/bin/python" - "$OUT/$overlay.yaml" deploy/gateway/untrusted-headers.txt <<'PY'
import shlex, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
wanted = [l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
for ing in (d for d in docs if d["kind"] == "Ingress"):
    a = ing["metadata"]["annotations"]
    snippet = a.get("nginx.ingress.kubernetes.io/configuration-snippet", "")
    line = next((l for l in snippet.splitlines() if l.strip().startswith("more_clear_input_headers")), "")
    got = shlex.split(line.strip().rstrip(";"))[1:]
    assert got == wanted, f"{ing['metadata']['name']}: strips {got}, not {wanted}"
    copied = set(a["nginx.ingress.kubernetes.io/auth-response-headers"].split(","))
    assert copied == {"X-Gateway-Secret", "X-Gateway-Auth", "X-Auth-Subject", "X-Auth-Roles", "X-Auth-Tenant"}, copied
print("  ingress: strips the untrusted headers, copies only the identity headers")
PY
  "$VENV/bin/checkov" --config-file k8s/checkov.yaml -f "$OUT/$overlay.yaml"
done
# Every Deployment of each overlay started with the env its manifests give it (host binaries,
# this machine's PostgreSQL and RabbitMQ in place of the cluster's): it must become ready.
cargo build --locked --quiet -p tessera_control_plane --bin control-plane -p tessera_identity --bin identity \
  -p tessera_credential_broker --bin credential-broker -p tessera_users_registration --bin users-registration \
  -p tessera_quotations --bin quotations -p tessera_gateway_auth --bin gateway-auth
# With a Docker engine and the images of make compose-e2e (CI runs it first), the containers
# themselves run, each under the image name its manifest gives; else the host's binaries.
images=()
if PATH="/usr/bin:$PATH" docker image inspect tessera/control-plane >/dev/null 2>&1; then
  images=(--images); export PATH="/usr/bin:$PATH"
fi
for overlay in dev prod; do
  "$VENV/bin/python" k8s/start-check.py "$OUT/$overlay.yaml" "$OUT/dev.yaml" target/debug "${images[@]}"
done
echo "k8s: every overlay valid, no security finding, every service starts with its overlay's environment"
