#!/usr/bin/env bash
# Writes secrets.yaml (git-ignored) for the dev overlay: random credentials for each service's
# PostgreSQL role and for RabbitMQ, each service's Secret (DATABASE_URL/AMQP_URL pointing at the operators' services,
# random keys and tokens) and the JWT signing keys of control-plane and identity (ES256, made
# with openssl). Keeps an existing file unless --force.
source "$(dirname "$0")/../../../scripts/lib.sh"
cd "$(dirname "$0")"
[ "${1:-}" = "--force" ] || [ ! -f secrets.yaml ] || { echo "secrets.yaml exists (--force to replace)"; exit 0; }
mq_pass="$(random_secret)"; gateway="$(random_secret)"
# One login role per service (the Cluster's managed roles), each with its own password; the
# services go through the pooler, their migrations straight to the -rw service.
declare -A role_pass
for svc in control-plane quotations identity credential-broker users-registration; do role_pass[$svc]="$(random_secret)"; done
role() { echo "${1//-/_}"; }
db() { echo "postgres://$(role "$1"):${role_pass[$1]}@tessera-pg-pooler-rw:5432/$(role "$1")"; }
direct() { echo "postgres://$(role "$1"):${role_pass[$1]}@tessera-pg-rw:5432/$(role "$1")"; }
amqp="amqp://tessera:$mq_pass@tessera-mq:5672/%2f"
secret() { # name then key=value pairs
  local name="$1"; shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n' "$name"
  for kv in "$@"; do printf '  %s: %s\n' "${kv%%=*}" "$(printf '%s' "${kv#*=}" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"; done
}
signing_key() { # name
  local pem; pem="$(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkcs8 -topk8 -nocrypt)"
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s-signing-keys\ntype: Opaque\nstringData:\n  signing-key.pem: |\n' "$1"
  printf '%s\n' "$pem" | sed 's/^/    /'
}
umask 077
{
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-mq-credentials\ntype: Opaque\nstringData:\n  username: tessera\n  password: "%s"\n' "$mq_pass"
  for svc in control-plane quotations identity credential-broker users-registration; do
    printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-pg-%s\ntype: kubernetes.io/basic-auth\nstringData:\n  username: %s\n  password: "%s"\n' \
      "$svc" "$(role "$svc")" "${role_pass[$svc]}"
  done
  secret control-plane-secrets DATABASE_URL="$(db control-plane)" MIGRATION_DATABASE_URL="$(direct control-plane)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" CP_ADMIN_TOKEN="$(random_secret)"
  secret quotations-secrets DATABASE_URL="$(db quotations)" MIGRATION_DATABASE_URL="$(direct quotations)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" APP_KEY="$(random_secret)" \
    MAIL_USERNAME="" MAIL_PASSWORD="" ALPHA_VANTAGE_API_KEY=""
  secret identity-secrets DATABASE_URL="$(db identity)" MIGRATION_DATABASE_URL="$(direct identity)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" IDENTITY_MFA_ENCRYPTION_KEY="$(random_key32)"
  secret credential-broker-secrets DATABASE_URL="$(db credential-broker)" MIGRATION_DATABASE_URL="$(direct credential-broker)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" \
    BROKER_CALLER_TOKEN="$(random_secret)" BROKER_ADMIN_TOKEN="$(random_secret)" BROKER_AUDIT_HMAC_KEY="$(random_secret)" \
    BROKER_WALLET_ENCRYPTION_KEY="$(random_key32)" WALLET_OAUTH_UPSTREAMS="{}"
  secret users-registration-secrets DATABASE_URL="$(db users-registration)" MIGRATION_DATABASE_URL="$(direct users-registration)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" \
    JWT_SECRET="$(random_secret)" DOCUMENT_ENCRYPTION_KEY="$(random_key32)"
  secret gateway-auth-secrets GATEWAY_SECRET="$gateway" AMQP_URL="$amqp"
  signing_key control-plane
  signing_key identity
} > secrets.yaml
echo "wrote $(pwd)/secrets.yaml (git-ignored; apply with kubectl apply -k .)"
