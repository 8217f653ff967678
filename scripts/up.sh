#!/usr/bin/env bash
# make up: build, create and migrate the databases, seed demo data, start the services in the
# background, wait for readiness, print URLs and demo credentials (also .tessera/demo.json).
# The topology (ports, each process's environment, the secrets, the gateway's upstreams) is
# deploy/local/, generated from deploy/platform.toml by deploy/generate.py: this script only
# orchestrates.
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || die "curl is required (apt-get install curl)"
command -v jq >/dev/null || die "jq is required (apt-get install jq)"
LOCAL="$ROOT/deploy/local"
# Ports and the lists of services and secrets; a variable already set wins (make e2e moves ports).
while IFS='=' read -r key value; do
  [ -n "${!key:-}" ] || printf -v "$key" '%s' "$value"
  export "${key?}"
done < <(grep -E '^[A-Z][A-Z0-9_]*=' "$LOCAL/platform.env")
# The local notification sink (users-registration's NOTIFY_ENDPOINT) is make up's own stand-in.
export STATE PG_URL_BASE DB_SUFFIX AMQP_URL RUST_LOG="${RUST_LOG:-info}" SINK_PORT="${SINK_PORT:-8086}"
require_postgres
require_rabbitmq
"$ROOT/scripts/deps.sh"
mkdir -p "$STATE"/{logs,pids,keys,gateway}
chmod 700 "$STATE"
# Service logs: readable lines when a person runs `make up` in a terminal, JSON lines otherwise
# (CI, `make e2e`); LOG_FORMAT set by the caller wins.
if [ -z "${LOG_FORMAT:-}" ]; then
  if [ -t 1 ]; then LOG_FORMAT=pretty; else LOG_FORMAT=json; fi
fi
export LOG_FORMAT

say "building ($PROFILE)"
build_binaries "$PROFILE"

# Secrets are generated here, once, and kept out of the repository (.tessera is git-ignored).
SECRETS="$STATE/secrets.env"
if [ ! -f "$SECRETS" ]; then
  # A fresh state: demo databases left by an earlier state (another clone, `make clean-state`)
  # hold accounts whose passwords and encryption keys are gone with it — start them afresh.
  if command -v psql >/dev/null; then
    for db in ${TESSERA_SERVICES//-/_}; do
      if [ -n "$(psql -qtA "$PG_URL_BASE/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db$DB_SUFFIX'")" ]; then
        say "fresh state: recreating the demo database $db$DB_SUFFIX (its credentials were in a state that is gone)"
        psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE $db$DB_SUFFIX WITH (FORCE)" >/dev/null
      fi
    done
  fi
  ( umask 077; : > "$SECRETS" )
fi
# The platform's secrets (name:kind, from the definition) and the demo's own; ones added by later
# versions are appended to an existing file.
for entry in $TESSERA_SECRETS IDENTITY_DEMO_PASSWORD:token BROKER_DEMO_UPSTREAM_TOKEN:token \
             USERS_DEMO_PASSWORD:token QUOTATIONS_DEMO_PASSWORD:token; do
  var="${entry%%:*}"
  if ! grep -q "^$var=" "$SECRETS"; then
    if [ "${entry##*:}" = key32 ]; then value="$(random_key32)"; else value="$(random_secret)"; fi
    ( umask 077; echo "$var=$value" >> "$SECRETS" )
  fi
done
# shellcheck disable=SC1090
source "$SECRETS"   # not exported: each process gets only the secrets its own environment names

# The environment of one process, from deploy/local/<name>.env with make up's variables filled in
# (the secrets are exported to the renderer alone).
service_env() { # name
  ( set -a; source "$SECRETS"; set +a
    python3 "$ROOT/scripts/render-template.py" "$LOCAL/$1.env" ) | grep -E '^[A-Za-z_][A-Za-z0-9_]*='
}
# Runs a command with a service's environment (its CLI: migrations, demo data).
env_lines() { # name: the array ENV_LINES (dies when a variable is missing)
  local out
  out="$(service_env "$1")" || die "deploy/local/$1.env: a variable it names is not set"
  mapfile -t ENV_LINES <<< "$out"
}
with_env() { # name command...
  env_lines "$1"; shift
  env "${ENV_LINES[@]}" "$@"
}
env_value() { # name variable: one variable of a service's environment
  env_lines "$1"; printf '%s\n' "${ENV_LINES[@]}" | sed -n "s/^$2=//p"
}
port_of() { env_value "$1" APP_PORT; }

# Every service: its database and migrations, and the signing keys of those that sign JWTs.
for name in $TESSERA_SERVICES; do
  say "$name: database and migrations"
  with_env "$name" "$BIN/$name" migrate --create-database
  keys="$(env_value "$name" JWT_SIGNING_KEYS_DIR)"
  if [ -n "$keys" ] && ! ls "$keys"/*.pem >/dev/null 2>&1; then
    say "$name: generating the signing key (ES256) in $keys"
    with_env "$name" "$BIN/$name" keys generate --dir "$keys" >/dev/null
  fi
done

# ---------------------------------------------------------------- demo data (scripts/demo.sh)
# A service's CLI with its make up environment: cli <service> [VAR=value ...] <arguments>.
cli() {
  local name="$1" extra=(); shift
  while [[ "${1:-}" =~ ^[A-Z_][A-Z0-9_]*= ]]; do extra+=("$1"); shift; done
  with_env "$name" env "${extra[@]}" "$BIN/$name" "$@"
}
QT_DATABASE_URL="$(env_value quotations DATABASE_URL)"
source "$ROOT/scripts/demo.sh"
demo_seed

# Providers: their real URLs by default; QUOTATIONS_PROVIDERS=stub serves their formats locally
# (scripts/provider-stub.mjs) for offline use.
QUOTATIONS_PROVIDERS="${QUOTATIONS_PROVIDERS:-real}"
STUB_PORT="${STUB_PORT:-8087}"
QT_PROVIDER_ENV=()
if [ "$QUOTATIONS_PROVIDERS" = stub ]; then
  STUB="http://127.0.0.1:$STUB_PORT"
  QT_PROVIDER_ENV=(AWESOME_API_BASE_URL="$STUB" ALPHA_VANTAGE_BASE_URL="$STUB" ALPHA_VANTAGE_API_KEY=stub
                   YAHOO_FINANCE_BASE_URL="$STUB" STOOQ_BASE_URL="$STUB")
fi

start() { # name port "binary args" env...   (a binary given by absolute path is used as is)
  local name="$1" port="$2" cmd="$3"; shift 3
  local own=()
  if [ -f "$LOCAL/$name.env" ]; then env_lines "$name"; own=("${ENV_LINES[@]}"); fi
  local exe="$BIN/"; [[ "$cmd" == /* ]] && exe=""
  local pidfile="$STATE/pids/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "$name already running (pid $(cat "$pidfile"))"
    return
  fi
  say "starting $name on :$port"
  # Extra environment for one process, over the defaults above: KEY=value lines in
  # $STATE/env/<name>.env (e.g. OTEL_EXPORTER_OTLP_ENDPOINT to send its traces to a collector).
  local extra=()
  [ -f "$STATE/env/$name.env" ] && mapfile -t extra < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$STATE/env/$name.env")
  # shellcheck disable=SC2086
  env "${own[@]}" "$@" "${extra[@]}" nohup "$exe"$cmd >>"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$pidfile"
}

for name in control-plane identity credential-broker; do
  start "$name" "$(port_of "$name")" "$name serve"
done

# A local stand-in for the notification service: it logs what it receives (make logs), links
# redacted, and keeps each whole message in $STATE/mailbox (set-password links are there).
start notification-sink "$SINK_PORT" "users-registration notification-sink --port $SINK_PORT --mailbox $STATE/mailbox" \
  RUST_LOG="${RUST_LOG:-info}"

if [ "$QUOTATIONS_PROVIDERS" = stub ]; then
  pidfile="$STATE/pids/provider-stub.pid"
  if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    say "starting the provider stub on :$STUB_PORT"
    nohup node "$ROOT/scripts/provider-stub.mjs" "$STUB_PORT" >>"$STATE/logs/provider-stub.log" 2>&1 &
    echo $! > "$pidfile"
  fi
fi

start quotations "$(port_of quotations)" "quotations serve" \
  ${ALPHA_VANTAGE_API_KEY:+ALPHA_VANTAGE_API_KEY="$ALPHA_VANTAGE_API_KEY"} "${QT_PROVIDER_ENV[@]}"

start users-registration "$(port_of users-registration)" "users-registration serve"

# ---------------------------------------------------------------- gateway (ARCHITECTURE.md §3)
start gateway-auth "$GA_PORT" "gateway-auth serve"
GW_DIR="$STATE/gateway"
mkdir -p "$GW_DIR/tmp"
with_env nginx python3 "$ROOT/scripts/render-template.py" "$ROOT/deploy/gateway/tessera.conf.template" > "$GW_DIR/tessera.conf"
chmod 600 "$GW_DIR/tessera.conf"   # it holds the gateway secret
cat > "$GW_DIR/nginx.conf" <<NGINX
# Generated by make up (scripts/up.sh); the routes are deploy/gateway/tessera.conf.template.
load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;
daemon off;
worker_processes 1;
pid $GW_DIR/nginx.pid;
error_log $STATE/logs/gateway.error.log warn;
events { worker_connections 1024; }
http {
    access_log $STATE/logs/gateway.log;
    client_body_temp_path $GW_DIR/tmp/body;
    proxy_temp_path $GW_DIR/tmp/proxy;
    fastcgi_temp_path $GW_DIR/tmp/fastcgi;
    uwsgi_temp_path $GW_DIR/tmp/uwsgi;
    scgi_temp_path $GW_DIR/tmp/scgi;
    server_tokens off;
    include $GW_DIR/tessera.conf;
}
NGINX
nginx -t -q -e "$STATE/logs/gateway.error.log" -c "$GW_DIR/nginx.conf" -p "$GW_DIR" || die "the rendered gateway configuration is invalid ($GW_DIR)"
start gateway "$GW_PORT" "$(command -v nginx) -e $STATE/logs/gateway.error.log -c $GW_DIR/nginx.conf -p $GW_DIR"

say "waiting for readiness"
wait_ready "http://127.0.0.1:$GA_PORT/readyz" 30 || die "gateway-auth did not become ready (log: .tessera/logs/gateway-auth.log)"
for name in $TESSERA_SERVICES; do
  wait_ready "http://127.0.0.1:$(port_of "$name")/readyz" 60 || {
    tail -n 20 "$STATE/logs/$name.log" >&2
    die "$name did not become ready (log: .tessera/logs/$name.log)"
  }
done
wait_ready "http://127.0.0.1:$GW_PORT/healthz" 30 || die "the gateway did not answer on :$GW_PORT (log: .tessera/logs/gateway.error.log)"

demo_finish

cat <<TXT

  Tessera is up.

  service          URL
  gateway          http://127.0.0.1:$GW_PORT   (every route below, one host: ARCHITECTURE.md §3; bearer JWTs from identity verified here)
  API reference    http://127.0.0.1:$GW_PORT/docs   (each service's at /docs/<service>/; directly: <service URL>/docs/)
  control-plane    http://127.0.0.1:$CP_PORT   (JWKS: /.well-known/jwks.json, OpenAPI: /openapi.json)
  quotations       http://127.0.0.1:$QT_PORT   (GET /api/quotation/USD-BRL, /api/quotations; providers: $QUOTATIONS_PROVIDERS)
                   http://127.0.0.1:$QT_PORT/dashboard   (log in as the quotations admin; mails go to .tessera/logs/quotations.log)
  identity         http://127.0.0.1:$ID_PORT   (tenant "demo": /tenants/demo/…, OpenAPI: /openapi.json)
  credential-broker http://127.0.0.1:$CB_PORT  (POST /api/token; operator API /api/bindings, /api/audit)
  users-registration http://127.0.0.1:$UR_PORT (POST /registrations, /auth/login; notifications → sink :$SINK_PORT)

  demo credential                 value
  control-plane operator token    $CP_ADMIN_TOKEN
  wl-a API key                    $WL_A_KEY
  identity admin (MFA)            admin@demo.test / $IDENTITY_DEMO_PASSWORD
                                  TOTP: $ID_OTPAUTH
  identity agent (no MFA)         agent@demo.test / $IDENTITY_DEMO_PASSWORD
  credential-broker caller token  $BROKER_CALLER_TOKEN   (sandbox demo-sandbox → graph.microsoft.com)
  credential-broker operator      $BROKER_ADMIN_TOKEN
  quotations admin (web + API)    admin@quotations.test / $QUOTATIONS_DEMO_PASSWORD
  quotations admin token          $QT_TOKEN
  users-registration analyst      analyst@demo.test / $USERS_DEMO_PASSWORD   (auditor@demo.test: same password)

  Try it:
    curl -s -X POST http://127.0.0.1:$CP_PORT/wls/wl-a/peer-token \\
      -H "Authorization: Bearer $WL_A_KEY" -H 'Content-Type: application/json' \\
      -d '{"targetWlId":"wl-b","scopes":["offers:sync"]}'
    curl -s -X POST http://127.0.0.1:$ID_PORT/tenants/demo/login -H 'Content-Type: application/json' \\
      -d '{"email":"agent@demo.test","password":"$IDENTITY_DEMO_PASSWORD"}'
    curl -s -X POST http://127.0.0.1:$CB_PORT/api/token -H "Authorization: Bearer $BROKER_CALLER_TOKEN" \\
      -H 'Content-Type: application/json' \\
      -d '{"sandbox_id":"demo-sandbox","upstream_host":"graph.microsoft.com","scopes":["User.Read"]}'
    curl -s -X POST http://127.0.0.1:$UR_PORT/registrations -H 'Content-Type: application/json' \\
      -H "Idempotency-Key: \$(cat /proc/sys/kernel/random/uuid)" \\
      -d '{"name":"Ana","email":"ana@example.com","documentId":"123.456.789-01","role":"producer","password":"correct horse"}'
    then approve it as the analyst (PATCH /users/{id}/status) and watch the sink: make logs

  Everything above is also in .tessera/demo.json. Logs: make logs. Stop: make down.
TXT
