#!/usr/bin/env bash
# Writes secrets.yaml (git-ignored) for the dev overlay: random credentials for PostgreSQL and
# RabbitMQ, each service's Secret (DATABASE_URL/AMQP_URL pointing at the operators' services,
# random keys and tokens) and the JWT signing keys of control-plane and identity (ES256, made
# with openssl). Keeps an existing file unless --force.
source "$(dirname "$0")/../../../scripts/lib.sh"
cd "$(dirname "$0")"
[ "${1:-}" = "--force" ] || [ ! -f secrets.yaml ] || { echo "secrets.yaml exists (--force to replace)"; exit 0; }
pg_pass="$(random_secret)"; mq_pass="$(random_secret)"; gateway="$(random_secret)"
db() { echo "postgres://tessera:$pg_pass@tessera-pg-rw:5432/$1"; }
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
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-pg-credentials\ntype: kubernetes.io/basic-auth\nstringData:\n  username: tessera\n  password: "%s"\n' "$pg_pass"
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-mq-credentials\ntype: Opaque\nstringData:\n  username: tessera\n  password: "%s"\n' "$mq_pass"
  secret control-plane-secrets DATABASE_URL="$(db control_plane)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" CP_ADMIN_TOKEN="$(random_secret)"
  secret quotations-secrets DATABASE_URL="$(db quotations)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" APP_KEY="$(random_secret)" \
    MAIL_USERNAME="" MAIL_PASSWORD="" ALPHA_VANTAGE_API_KEY=""
  secret identity-secrets DATABASE_URL="$(db identity)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" IDENTITY_MFA_ENCRYPTION_KEY="$(random_key32)"
  secret credential-broker-secrets DATABASE_URL="$(db credential_broker)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" \
    BROKER_CALLER_TOKEN="$(random_secret)" BROKER_ADMIN_TOKEN="$(random_secret)" BROKER_AUDIT_HMAC_KEY="$(random_secret)" \
    BROKER_WALLET_ENCRYPTION_KEY="$(random_key32)" WALLET_OAUTH_UPSTREAMS="{}"
  secret users-registration-secrets DATABASE_URL="$(db users_registration)" AMQP_URL="$amqp" GATEWAY_SECRET="$gateway" \
    JWT_SECRET="$(random_secret)" DOCUMENT_ENCRYPTION_KEY="$(random_key32)"
  secret gateway-auth-secrets GATEWAY_SECRET="$gateway" AMQP_URL="$amqp"
  signing_key control-plane
  signing_key identity
} > secrets.yaml
echo "wrote $(pwd)/secrets.yaml (git-ignored; apply with kubectl apply -k .)"
