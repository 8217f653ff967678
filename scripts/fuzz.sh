#!/usr/bin/env bash
# make fuzz: every service's OpenAPI document exercised by schemathesis (property-based API
# fuzzing, from PyPI) against the running platform (`make up`; `make e2e` runs this too).
# Checks: no 5xx, every status code documented, every response's content type and body match
# the document. Credentials are the demo ones of .tessera/demo.json.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
VENV=target/fuzz-venv
EXAMPLES="${FUZZ_EXAMPLES:-25}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q schemathesis==4.32.5
fi
[ -f "$STATE/demo.json" ] || die "run make up first"
cred() { python3 -c "import json,sys; d=json.load(open('$STATE/demo.json'))['credentials']; v=d[sys.argv[1]]; print(v if isinstance(v, str) else v[sys.argv[2]])" "$@"; }
url() { python3 -c "import json,sys; print(json.load(open('$STATE/demo.json'))['services'][sys.argv[1]]['url'])" "$1"; }
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
mkdir -p target/fuzz
status=0
fuzz() { # service bearer [extra args…]
  local svc="$1" bearer="$2"; shift 2
  say "fuzzing $svc"
  "$VENV/bin/schemathesis" run "$(url "$svc")/openapi.json" --checks "$CHECKS" -n "$EXAMPLES" \
    --generation-deterministic --request-timeout 10 -H "Authorization: Bearer $bearer" \
    --report junit --report-junit-path "target/fuzz/$svc.xml" "$@" || status=1
}
fuzz control-plane "$(cred control-plane.admin_token)"
fuzz quotations "$(cred quotations.admin token)"
fuzz credential-broker "$(cred credential-broker.admin_token)"
fuzz users-registration "$(curl -fsS -X POST "$(url users-registration)/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$(cred users-registration.analyst email)\",\"password\":\"$(cred users-registration.analyst password)\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')"
fuzz identity "$(curl -fsS -X POST "$(url identity)/tenants/demo/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$(cred identity.demo.agent email)\",\"password\":\"$(cred identity.demo.agent password)\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
exit "$status"
