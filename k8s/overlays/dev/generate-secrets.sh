#!/usr/bin/env bash
# Writes secrets.yaml (git-ignored) for the dev overlay: random credentials for each service's
# PostgreSQL role and for RabbitMQ, each service's Secret (its keys: secrets.list, generated from
# deploy/platform.toml — DATABASE_URL/AMQP_URL pointing at the operators' services, random keys
# and tokens) and the JWT signing keys of the services that sign (ES256, made with openssl).
# Keeps an existing file unless --force.
source "$(dirname "$0")/../../../scripts/lib.sh"
cd "$(dirname "$0")"
[ "${1:-}" = "--force" ] || [ ! -f secrets.yaml ] || { echo "secrets.yaml exists (--force to replace)"; exit 0; }
mq_pass="$(random_secret)"; gateway="$(random_secret)"
# Which keys each service's Secret has, and how each is filled: secrets.list, generated from
# deploy/platform.toml. One login role per service with a database (the Cluster's managed roles),
# each with its own password; the services go through the pooler, their migrations straight to
# the -rw service.
LIST=secrets.list
declare -A role_pass
for svc in $(awk '$3 == "database" {print $1}' "$LIST"); do role_pass[$svc]="$(random_secret)"; done
role() { echo "${1//-/_}"; }
db() { echo "postgres://$(role "$1"):${role_pass[$1]}@tessera-pg-pooler-rw:5432/$(role "$1")"; }
direct() { echo "postgres://$(role "$1"):${role_pass[$1]}@tessera-pg-rw:5432/$(role "$1")"; }
amqp="amqp://tessera:$mq_pass@tessera-mq:5672/%2f"
quoted() { printf '%s' "$1" | jq -Rs .; }
secret() { # name then key=value pairs
  local name="$1"; shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n' "$name"
  for kv in "$@"; do printf '  %s: %s\n' "${kv%%=*}" "$(quoted "${kv#*=}")"; done
}
signing_key() { # name
  local pem; pem="$(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkcs8 -topk8 -nocrypt)"
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s-signing-keys\ntype: Opaque\nstringData:\n  signing-key.pem: |\n' "$1"
  printf '%s\n' "$pem" | sed 's/^/    /'
}
value() { # service source
  case "$2" in
    database) db "$1" ;;
    migration-database) direct "$1" ;;
    amqp) echo "$amqp" ;;
    gateway-secret) echo "$gateway" ;;
    token) random_secret ;;
    key32) random_key32 ;;
    =*) echo "${2#=}" ;;
    *) die "$LIST: unknown source $2" ;;
  esac
}
umask 077
{
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-mq-credentials\ntype: Opaque\nstringData:\n  username: tessera\n  password: "%s"\n' "$mq_pass"
  for svc in "${!role_pass[@]}"; do
    printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-pg-%s\ntype: kubernetes.io/basic-auth\nstringData:\n  username: %s\n  password: "%s"\n' \
      "$svc" "$(role "$svc")" "${role_pass[$svc]}"
  done
  for svc in $(awk '!/^#/ {print $1}' "$LIST" | uniq); do
    pairs=()
    while read -r name key source; do
      [ "$name" = "$svc" ] || continue
      if [ "$source" = signing-keys ]; then continue; fi
      pairs+=("$key=$(value "$svc" "$source")")
    done < <(grep -v '^#' "$LIST")
    secret "$svc-secrets" "${pairs[@]}"
    if grep -q "^$svc - signing-keys$" "$LIST"; then signing_key "$svc"; fi
  done
} > secrets.yaml
echo "wrote $(pwd)/secrets.yaml (git-ignored; apply with kubectl apply -k .)"
