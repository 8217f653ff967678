#!/usr/bin/env python3
"""The Kubernetes part of deploy/generate.py: k8s/base/ from the platform definition
(deploy/platform.toml) — one Deployment (with its `migrate` init container), Service, ConfigMap,
HorizontalPodAutoscaler and PodDisruptionBudget per service; the Ingress with the route table of
ARCHITECTURE.md §3; NetworkPolicies; the quotations collect CronJob; the monitoring resources.

The generated files are committed; `python3 deploy/generate.py --check` (run by `make test`)
fails when they differ from what the definition gives, so edit deploy/platform.toml, not the YAML.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
BASE = ROOT / "base"
IMAGE = ""  # [platform].k8s_image
PART_OF = "tessera"

# PostgreSQL connections one service may hold at most, across all its replicas (prod: the
# managed server's max_connections must cover five of these plus its reserved ones; dev: the
# pooler's default_pool_size caps the server side anyway). Each replica's pool is derived from
# it: DB_POOL_SIZE = CONNECTIONS_PER_SERVICE / MAX_REPLICAS - RELAY_CONNECTIONS (the outbox
# relay's own pool of 2).
CONNECTIONS_PER_SERVICE = 120
MAX_REPLICAS = 10
RELAY_CONNECTIONS = 2
DB_POOL_SIZE = CONNECTIONS_PER_SERVICE // MAX_REPLICAS - RELAY_CONNECTIONS

# Request headers no client may set (docs/gateway.md): the one list, shared with the nginx
# gateway of `make up` and compose (deploy/gateway/tessera.conf.template).
UNTRUSTED_HEADERS = [
    line.strip()
    for line in (ROOT.parent / "deploy" / "gateway" / "untrusted-headers.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

# The services and the route table come from deploy/platform.toml (deploy/generate.py passes
# it to render()); these are filled from it there.
SERVICES = []
ROUTES = []


def load(platform):
    """The service table and ARCHITECTURE.md §3's route table of the Kubernetes base, from the
    platform definition: name, port, whether the Ingress routes to it, its ConfigMap settings,
    its Secret keys (`<name>-secrets`, created per overlay), whether it mounts a JWT signing-key
    Secret."""
    SERVICES.clear()
    ROUTES.clear()
    for svc in platform.services:
        config = platform.env(svc, "k8s", keys_dir="/var/run/tessera/keys")
        entry = {
            "name": svc["name"], "port": svc["port"], "exposed": True,
            "keys": bool(svc.get("signing_keys")), "no_db": not svc.get("database"),
            "config": config,
            "secrets": (["DATABASE_URL"] if svc.get("database") else []) + ["AMQP_URL"]
                       + [var for var, _, _, _ in platform.secrets(svc, "k8s")],
        }
        if "k8s_metrics_port" in svc:
            entry["metrics_port"] = svc["k8s_metrics_port"]
        SERVICES.append(entry)
        for route in svc.get("routes", []):
            kind = {"exact": "Exact", "prefix": "Prefix"}[route["match"]]
            ROUTES.append((route["path"].rstrip("/"), kind, svc["name"]))
    global IMAGE
    IMAGE = platform.settings["k8s_image"]


AUTH_HEADERS = "X-Gateway-Secret,X-Gateway-Auth,X-Auth-Subject,X-Auth-Roles,X-Auth-Tenant"


def labels(name):
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}


def meta(name, kind_labels=None, **extra):
    m = {"name": name, "labels": kind_labels or labels(name)}
    m.update(extra)
    return m


SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def migrate_container(svc):
    """`<service> migrate` before the server starts, in every pod: re-appliable with plain
    `kubectl apply` (no Job whose immutable template breaks a re-apply, no CD hook); replicas
    starting together serialise on a PostgreSQL advisory lock (tessera_db::run_migrations)."""
    name = svc["name"]
    return {
        "name": "migrate",
        "image": IMAGE.format(name=name),
        "imagePullPolicy": "Always",
        "args": ["migrate"],
        "envFrom": [{"configMapRef": {"name": f"{name}-config"}},
                    {"secretRef": {"name": f"{name}-secrets"}}],
        # Behind a transaction-mode pooler the server connection changes between statements:
        # migrations (an advisory lock held for the session) go to the server directly when the
        # Secret has MIGRATION_DATABASE_URL (dev: CloudNativePG's -rw service); else DATABASE_URL.
        "env": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
            "name": f"{name}-secrets", "key": "MIGRATION_DATABASE_URL", "optional": True}}}],
        "securityContext": SECURITY,
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"cpu": "1", "memory": "256Mi"}},
    }


def pod_spec(svc, args, probes=True, restart=None, init_migrate=False):
    name = svc["name"]
    container = {
        "name": name,
        "image": IMAGE.format(name=name),
        "imagePullPolicy": "Always",
        "args": args,
        "envFrom": [{"configMapRef": {"name": f"{name}-config"}},
                    {"secretRef": {"name": f"{name}-secrets"}}],
        "securityContext": SECURITY,
        # Requests near what a replica uses at its share of load (make bench: a busy service
        # takes 0.5–1 core), so the HPA's 70 % means something; limits leave room for bursts.
        "resources": {"requests": {"cpu": "500m", "memory": "128Mi"},
                      "limits": {"cpu": "2", "memory": "512Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}]
    if svc["keys"]:
        container["volumeMounts"].append(
            {"name": "signing-keys", "mountPath": "/var/run/tessera/keys", "readOnly": True})
        volumes.append({"name": "signing-keys",
                        "secret": {"secretName": f"{name}-signing-keys", "defaultMode": 0o400}})
    if probes:
        container["ports"] = [{"name": "http", "containerPort": svc["port"]}]
        if "metrics_port" in svc:
            container["ports"].append({"name": "metrics", "containerPort": svc["metrics_port"]})
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"},
                                      "periodSeconds": 10, "failureThreshold": 3}
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http"},
                                       "periodSeconds": 5, "failureThreshold": 2}
        container["startupProbe"] = {"httpGet": {"path": "/healthz", "port": "http"},
                                     "periodSeconds": 2, "failureThreshold": 30}
        # Endpoints are removed asynchronously: keep serving while the ingress controller
        # notices, then SIGTERM drains in-flight requests (SHUTDOWN_TIMEOUT_SECONDS).
        container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    spec = {
        "automountServiceAccountToken": False,
        **({"initContainers": [migrate_container(svc)]} if init_migrate else {}),
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                            "fsGroup": 10001},
        "containers": [container],
        "volumes": volumes,
    }
    if restart:
        spec["restartPolicy"] = restart
    return spec


def service_documents(svc):
    name, port = svc["name"], svc["port"]
    config = dict(svc["config"])
    config["OTEL_SERVICE_NAME"] = name
    if not svc.get("no_db"):
        config["DB_POOL_SIZE"] = str(DB_POOL_SIZE)
    pod_labels = dict(labels(name))
    if svc["exposed"]:
        pod_labels["tessera.io/ingress"] = "true"
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"{name}-config", labels(name)),
         "data": config},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name),
         # No `replicas`: the HorizontalPodAutoscaler below owns the count.
         "spec": {
             "revisionHistoryLimit": 5,
             "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
             "strategy": {"type": "RollingUpdate",
                          "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
             "template": {
                 "metadata": {"labels": pod_labels},
                 "spec": {**pod_spec(svc, ["serve"], init_migrate=not svc.get("no_db")),
                          "terminationGracePeriodSeconds": 40},
             },
         }},
        # `tessera.io/job`: the ServiceMonitor's jobLabel, so Prometheus's job is "tessera"
        # here as with deploy/prometheus/prometheus.yml (the alert rules select it).
        {"apiVersion": "v1", "kind": "Service",
         "metadata": meta(name, {**labels(name), "tessera.io/job": "tessera"}),
         "spec": {"selector": {"app.kubernetes.io/name": name},
                  "ports": [{"name": "http", "port": port, "targetPort": "http"}]
                  + ([{"name": "metrics", "port": svc["metrics_port"], "targetPort": "metrics"}]
                     if "metrics_port" in svc else [])}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                  "minReplicas": 2, "maxReplicas": MAX_REPLICAS,
                  "metrics": [{"type": "Resource", "resource": {
                      "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name),
         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}},
    ]
    return docs


def ingress():
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": meta("tessera", {"app.kubernetes.io/part-of": PART_OF}, annotations={
            # gateway-auth answers 200 (+ identity headers and the gateway secret) or 401/503.
            # The controller resolves this from its own namespace: overlays set theirs.
            "nginx.ingress.kubernetes.io/auth-url":
                "http://gateway-auth.tessera.svc.cluster.local:8079/verify",
            "nginx.ingress.kubernetes.io/auth-response-headers": AUTH_HEADERS,
            # Before anything else runs: the client's copies of the gateway's headers are gone
            # (headers-more, as in deploy/gateway/tessera.conf.template). X-Forwarded-For is
            # then the controller's own (use-forwarded-headers and compute-full-forwarded-for
            # stay false: replaced, never appended). Needs the controller's
            # allow-snippet-annotations (k8s/README.md).
            "nginx.ingress.kubernetes.io/configuration-snippet":
                "more_clear_input_headers " + " ".join(f'"{h}"' for h in UNTRUSTED_HEADERS) + ";\n",
            "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
            "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        }),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["platform.example.com"], "secretName": "tessera-tls"}],
            "rules": [{"host": "platform.example.com", "http": {"paths": [
                {"path": path, "pathType": kind,
                 "backend": {"service": {"name": svc, "port": {"name": "http"}}}}
                for path, kind, svc in ROUTES]}}],
        },
    }


def network_policies():
    by_name = {s["name"]: s for s in SERVICES}
    policies = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("default-deny-ingress", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("from-ingress-controller", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"tessera.io/ingress": "true"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": "ingress-nginx"}}}],
                      "ports": [{"port": s["port"]} for s in SERVICES if s["exposed"]]}]}},
        # gateway-auth fetches tenants' key sets from identity.
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("identity-from-gateway-auth", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "identity"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {
                      "app.kubernetes.io/name": "gateway-auth"}}}],
                      "ports": [{"port": by_name["identity"]["port"]}]}]}},
        # Prometheus scrapes /metrics on every pod from the monitoring namespace: the metrics
        # port (gateway-auth's own, so it never reaches /verify), else the service port.
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("from-monitoring", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": "monitoring"}}}],
                      "ports": [{"port": s.get("metrics_port", s["port"])} for s in SERVICES]}]}},
    ]
    # Egress: each service reaches DNS, PostgreSQL (CloudNativePG's pods and pooler in dev;
    # the prod overlay adds its managed endpoints), RabbitMQ, the OpenTelemetry collector, and
    # only what it itself calls beyond: gateway-auth identity's JWKS and session endpoint,
    # quotations the market-data providers and SMTP, credential-broker the OAuth token
    # endpoints, users-registration the notification service.
    dns = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    data = {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "tessera-pg"}}},
                   {"podSelector": {"matchLabels": {"cnpg.io/poolerName": "tessera-pg-pooler-rw"}}}],
            "ports": [{"port": 5432}]}
    broker = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "tessera-mq"}}}],
              "ports": [{"port": 5672}]}
    otel = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "otel-collector"}}}],
            "ports": [{"port": 4318}]}
    internet = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                    "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}]}
    beyond = {
        "gateway-auth": [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "identity"}}}],
                          "ports": [{"port": by_name["identity"]["port"]}]}],
        "quotations": [{**internet, "ports": [{"port": 443}, {"port": 587}]}],
        "credential-broker": [{**internet, "ports": [{"port": 443}]}],
        "users-registration": [{"to": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "notifications"}}}]}],
    }
    policies.append(
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("default-deny-egress", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}},
                  "policyTypes": ["Egress"]}})
    for svc in SERVICES:
        rules = [dns, broker, otel] + ([] if svc.get("no_db") else [data]) + beyond.get(svc["name"], [])
        # The quotations collect CronJob's pods are quotations too.
        names = [svc["name"]] + (["quotations-collect"] if svc["name"] == "quotations" else [])
        policies.append(
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": meta(f"{svc['name']}-egress", labels(svc["name"])),
             "spec": {"podSelector": {"matchExpressions": [{
                          "key": "app.kubernetes.io/name", "operator": "In", "values": names}]},
                      "policyTypes": ["Egress"], "egress": rules}})
    # Ingress to the in-namespace data stores of the dev overlay (default-deny-ingress selects
    # every pod of the namespace): the platform's pods, the pooler, and the operators.
    platform = {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}}
    pooler = {"podSelector": {"matchLabels": {"cnpg.io/poolerName": "tessera-pg-pooler-rw"}}}
    pg_cluster = {"podSelector": {"matchLabels": {"cnpg.io/cluster": "tessera-pg"}}}

    def operator(ns):
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
    policies += [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("postgres-ingress", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"cnpg.io/cluster": "tessera-pg"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [platform, pooler, pg_cluster], "ports": [{"port": 5432}]},
                              {"from": [operator("cnpg-system")], "ports": [{"port": 8000}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("pooler-ingress", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"cnpg.io/poolerName": "tessera-pg-pooler-rw"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [platform], "ports": [{"port": 5432}]},
                              {"from": [operator("cnpg-system")], "ports": [{"port": 8000}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("rabbitmq-ingress", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "tessera-mq"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [platform], "ports": [{"port": 5672}]},
                              {"from": [operator("rabbitmq-system")], "ports": [{"port": 15672}]}]}},
    ]
    return policies


def cronjob():
    svc = next(s for s in SERVICES if s["name"] == "quotations")
    spec = pod_spec(svc, ["collect", "--trigger=scheduler", "--allow-partial-success"],
                    probes=False, restart="Never")
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": meta("quotations-collect", labels("quotations")),
        "spec": {"schedule": "*/15 * * * *", "concurrencyPolicy": "Forbid",
                 "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                 "jobTemplate": {"spec": {"backoffLimit": 1, "activeDeadlineSeconds": 600,
                                          "template": {"metadata": {"labels": labels("quotations-collect")},
                                                       "spec": spec}}}},
    }


def secret_template(svc):
    lines = [f"# Keys of the Secret `{svc['name']}-secrets` (created per overlay; never committed).",
             "# dev: k8s/overlays/dev/generate-secrets.sh; prod: your secret manager."]
    lines += [f"{k}=" for k in svc["secrets"]]
    if svc["keys"]:
        lines.append(f"# and the Secret `{svc['name']}-signing-keys`: the PEM files of "
                     f"`{svc['name']} keys generate` (JWT_SIGNING_KEYS_DIR).")
    return "\n".join(lines) + "\n"


def monitoring():
    """The Prometheus Operator's view of deploy/prometheus (issue #21): one ServiceMonitor
    scraping /metrics on every service (gateway-auth on its metrics port, never /verify's), and
    the alert rules of deploy/prometheus/alerts.yml as a PrometheusRule."""
    import yaml  # PyYAML: the k8s-validate venv has it (checkov depends on it)
    rules = yaml.safe_load((ROOT.parent / "deploy/prometheus/alerts.yml").read_text())
    # Prometheus's `job` label is the Service's name under the operator; the rules select
    # job="tessera" (deploy/prometheus/prometheus.yml), so the ServiceMonitor sets jobLabel.
    return [
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
         "metadata": meta("tessera", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": {"jobLabel": "tessera.io/job",
                  "selector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}},
                  "endpoints": [
                      {"port": "http", "path": "/metrics", "interval": "15s", "honorLabels": True,
                       "relabelings": [{"sourceLabels": ["__meta_kubernetes_service_name"],
                                        "regex": "gateway-auth", "action": "drop"}]},
                      {"port": "metrics", "path": "/metrics", "interval": "15s",
                       "honorLabels": True}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
         "metadata": meta("tessera", {"app.kubernetes.io/part-of": PART_OF}),
         "spec": rules},
    ]


def to_yaml(docs):
    # JSON is YAML; one document per `---`, keys in a stable order.
    return "".join("---\n" + json.dumps(d, indent=2) + "\n" for d in docs)


def render(platform):
    load(platform)
    files = {}
    resources = []
    for svc in SERVICES:
        files[f"{svc['name']}.yaml"] = to_yaml(service_documents(svc))
        files[f"secrets/{svc['name']}.env.example"] = secret_template(svc)
        resources.append(f"{svc['name']}.yaml")
    files["ingress.yaml"] = to_yaml([ingress()])
    files["network-policies.yaml"] = to_yaml(network_policies())
    files["quotations-collect.yaml"] = to_yaml([cronjob()])
    files["monitoring.yaml"] = to_yaml(monitoring())
    resources += ["ingress.yaml", "network-policies.yaml", "quotations-collect.yaml",
                  "monitoring.yaml"]
    files["kustomization.yaml"] = (
        "# Generated by k8s/render.py: edit the table there.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {r}\n" for r in resources))
    return files


def main():
    sys.exit("k8s/base is generated with the other deployments: python3 deploy/generate.py [--check]")


if __name__ == "__main__":
    main()
