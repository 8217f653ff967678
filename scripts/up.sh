#!/usr/bin/env bash
# make up: build, create and migrate the databases, seed demo data, start the services in the
# background, wait for readiness, print URLs and demo credentials (also .tessera/demo.json).
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || die "curl is required (apt-get install curl)"
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
cargo build --locked --profile "$PROFILE" -p tessera_control_plane --bin control-plane -p tessera_identity --bin identity -p tessera_credential_broker --bin credential-broker \
  -p tessera_users_registration --bin users-registration \
  -p tessera_quotations --bin quotations -p tessera_gateway_auth --bin gateway-auth

# Secrets are generated here, once, and kept out of the repository (.tessera is git-ignored).
SECRETS="$STATE/secrets.env"
if [ ! -f "$SECRETS" ]; then
  # A fresh state: demo databases left by an earlier state (another clone, `make clean-state`)
  # hold accounts whose passwords and encryption keys are gone with it — start them afresh.
  if command -v psql >/dev/null; then
    for db in control_plane identity credential_broker users_registration quotations; do
      if [ -n "$(psql -qtA "$PG_URL_BASE/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db$DB_SUFFIX'")" ]; then
        say "fresh state: recreating the demo database $db$DB_SUFFIX (its credentials were in a state that is gone)"
        psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE $db$DB_SUFFIX WITH (FORCE)" >/dev/null
      fi
    done
  fi
  umask 077
  {
    echo "CP_ADMIN_TOKEN=$(random_secret)"
    echo "GATEWAY_SECRET=$(random_secret)"
  } > "$SECRETS"
fi
# Secrets added by later versions are appended to an existing file.
grep -q '^IDENTITY_MFA_ENCRYPTION_KEY=' "$SECRETS" \
  || ( umask 077; echo "IDENTITY_MFA_ENCRYPTION_KEY=$(random_key32)" >> "$SECRETS" )
grep -q '^IDENTITY_DEMO_PASSWORD=' "$SECRETS" \
  || ( umask 077; echo "IDENTITY_DEMO_PASSWORD=$(random_secret)" >> "$SECRETS" )
grep -q '^USERS_DOCUMENT_ENCRYPTION_KEY=' "$SECRETS" \
  || ( umask 077; echo "USERS_DOCUMENT_ENCRYPTION_KEY=$(random_key32)" >> "$SECRETS" )
for var in BROKER_CALLER_TOKEN BROKER_ADMIN_TOKEN BROKER_AUDIT_HMAC_KEY BROKER_DEMO_UPSTREAM_TOKEN \
           USERS_JWT_SECRET USERS_DEMO_PASSWORD QUOTATIONS_DEMO_PASSWORD QUOTATIONS_APP_KEY; do
  grep -q "^$var=" "$SECRETS" || ( umask 077; echo "$var=$(random_secret)" >> "$SECRETS" )
done
# shellcheck disable=SC1090
source "$SECRETS"

# The gateway's ports (quotations' public URL is the gateway's), and the proxies whose
# X-Forwarded-For the services believe: the local nginx on loopback (tessera_http::client_addr).
GW_PORT="${GW_PORT:-8080}"
GA_PORT="${GA_PORT:-8079}"
TRUSTED_PROXIES="127.0.0.1,::1"

# ---------------------------------------------------------------- control-plane
CP_PORT="${CP_PORT:-8081}"
CP_DB="$PG_URL_BASE/control_plane$DB_SUFFIX"
CP_KEYS="$STATE/keys/control-plane"
export DATABASE_URL="$CP_DB"
say "control-plane: database and migrations"
"$BIN/control-plane" migrate --create-database
if ! ls "$CP_KEYS"/*.pem >/dev/null 2>&1; then
  say "control-plane: generating the signing key (ES256) in $CP_KEYS"
  "$BIN/control-plane" keys generate --dir "$CP_KEYS" >/dev/null
fi
say "control-plane: demo white labels"
"$BIN/control-plane" wl create --id wl-a --name "Demo Importer A" >/dev/null
"$BIN/control-plane" wl create --id wl-b --name "Demo Target B" >/dev/null
"$BIN/control-plane" relationship --importer wl-a --target wl-b --scopes offers:sync,trader:purchase >/dev/null
DEMO_KEY_FILE="$STATE/control-plane-wl-a.key"
if [ ! -s "$DEMO_KEY_FILE" ]; then
  ( umask 077; "$BIN/control-plane" api-key --wl wl-a \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > "$DEMO_KEY_FILE" )
fi
WL_A_KEY="$(cat "$DEMO_KEY_FILE")"

# ---------------------------------------------------------------- identity
ID_PORT="${ID_PORT:-8083}"
ID_DB="$PG_URL_BASE/identity$DB_SUFFIX"
ID_KEYS="$STATE/keys/identity"
ID_ROLES="admin,supervisor,agent,viewer,moderator"
export DATABASE_URL="$ID_DB" IDENTITY_MFA_ENCRYPTION_KEY IDENTITY_ROLES="$ID_ROLES"
say "identity: database and migrations"
"$BIN/identity" migrate --create-database
if ! ls "$ID_KEYS"/*.pem >/dev/null 2>&1; then
  say "identity: generating the access-token signing key (ES256) in $ID_KEYS"
  "$BIN/identity" keys generate --dir "$ID_KEYS" >/dev/null
fi
say "identity: demo tenant and agents"
"$BIN/identity" tenant create --slug demo --name "Demo Tenant" >/dev/null
ID_ADMIN_FILE="$STATE/identity-admin.json"
if [ ! -s "$ID_ADMIN_FILE" ]; then
  ( umask 077
    IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" "$BIN/identity" agent create \
      --tenant demo --email admin@demo.test --role admin --mfa > "$ID_ADMIN_FILE"
    IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" "$BIN/identity" agent create \
      --tenant demo --email agent@demo.test --role agent > "$STATE/identity-agent.json" )
fi
# A moderator of demo (quotations trusts demo's moderators: QUOTATIONS_MODERATOR_TENANTS) and
# one of another tenant, whose moderator role quotations does not trust.
"$BIN/identity" tenant create --slug other --name "Other Tenant" >/dev/null
if [ ! -s "$STATE/identity-moderators.done" ]; then
  ( umask 077
    IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" "$BIN/identity" agent create \
      --tenant demo --email moderator@demo.test --role moderator > "$STATE/identity-moderator.json"
    IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" "$BIN/identity" agent create \
      --tenant other --email moderator@other.test --role moderator > "$STATE/identity-other-moderator.json"
    # An admin without a second factor, for scripted role changes (make e2e).
    IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" "$BIN/identity" agent create \
      --tenant demo --email ops@demo.test --role admin > "$STATE/identity-ops.json"
    echo done > "$STATE/identity-moderators.done" )
fi
ID_OTPAUTH="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["otpauth_uri"])' "$ID_ADMIN_FILE")"
ID_AGENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$STATE/identity-agent.json")"
ID_MODERATOR_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$STATE/identity-moderator.json")"
ID_TOTP_SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totp_secret"])' "$ID_ADMIN_FILE")"

# ---------------------------------------------------------------- credential-broker
CB_PORT="${CB_PORT:-8084}"
CB_DB="$PG_URL_BASE/credential_broker$DB_SUFFIX"
export DATABASE_URL="$CB_DB"
say "credential-broker: database, migrations, demo binding"
"$BIN/credential-broker" migrate --create-database
"$BIN/credential-broker" binding-put --sandbox demo-sandbox --tenant demo --agent "$ID_AGENT_ID" \
  --upstream "graph.microsoft.com=https://graph.microsoft.com/.default User.Read" >/dev/null

# ---------------------------------------------------------------- users-registration
UR_PORT="${UR_PORT:-8085}"
SINK_PORT="${SINK_PORT:-8086}"
UR_DB="$PG_URL_BASE/users_registration$DB_SUFFIX"
export DATABASE_URL="$UR_DB" JWT_SECRET="$USERS_JWT_SECRET" DOCUMENT_ENCRYPTION_KEY="$USERS_DOCUMENT_ENCRYPTION_KEY"
say "users-registration: database, migrations, demo analyst and auditor"
"$BIN/users-registration" migrate --create-database
UR_ANALYST_FILE="$STATE/users-analyst.json"
if [ ! -s "$UR_ANALYST_FILE" ]; then
  ( umask 077
    USERS_REGISTRATION_PASSWORD="$USERS_DEMO_PASSWORD" "$BIN/users-registration" user create \
      --role analyst --email analyst@demo.test --name "Demo Analyst" --document-id 00000000191 > "$UR_ANALYST_FILE"
    USERS_REGISTRATION_PASSWORD="$USERS_DEMO_PASSWORD" "$BIN/users-registration" user create \
      --role auditor --email auditor@demo.test --name "Demo Auditor" --document-id 00000000272 > "$STATE/users-auditor.json" )
fi
unset JWT_SECRET DOCUMENT_ENCRYPTION_KEY

# ---------------------------------------------------------------- quotations
QT_PORT="${QT_PORT:-8082}"
STUB_PORT="${STUB_PORT:-8087}"
QT_DB="$PG_URL_BASE/quotations$DB_SUFFIX"
export DATABASE_URL="$QT_DB"
say "quotations: database, migrations, demo admin and token"
"$BIN/quotations" migrate --create-database
QUOTATIONS_USER_PASSWORD="$QUOTATIONS_DEMO_PASSWORD" "$BIN/quotations" user create \
  --email admin@quotations.test --name "Demo Admin" --admin >/dev/null
QT_TOKEN_FILE="$STATE/quotations-token"
if [ ! -s "$QT_TOKEN_FILE" ]; then
  ( umask 077; "$BIN/quotations" token --email admin@quotations.test --device-name demo \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$QT_TOKEN_FILE" )
fi
QT_TOKEN="$(cat "$QT_TOKEN_FILE")"
# A day of demo history for the dashboards' charts (re-runnable).
if command -v psql >/dev/null; then
  psql "$QT_DB" -q -v ON_ERROR_STOP=1 -f "$ROOT/scripts/quotations-demo.sql"
else
  say "quotations: psql not found; the dashboards start without demo history"
fi
# Providers: their real URLs by default; QUOTATIONS_PROVIDERS=stub serves their formats locally
# (scripts/provider-stub.mjs) for offline use.
QUOTATIONS_PROVIDERS="${QUOTATIONS_PROVIDERS:-real}"
QT_PROVIDER_ENV=()
if [ "$QUOTATIONS_PROVIDERS" = stub ]; then
  STUB="http://127.0.0.1:$STUB_PORT"
  QT_PROVIDER_ENV=(AWESOME_API_BASE_URL="$STUB" ALPHA_VANTAGE_BASE_URL="$STUB" ALPHA_VANTAGE_API_KEY=stub
                   YAHOO_FINANCE_BASE_URL="$STUB" STOOQ_BASE_URL="$STUB")
fi

start() { # name port "binary args" env...   (a binary given by absolute path is used as is)
  local name="$1" port="$2" cmd="$3"; shift 3
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
  env "$@" "${extra[@]}" nohup "$exe"$cmd >>"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$pidfile"
}

start control-plane "$CP_PORT" "control-plane serve" \
  APP_ENV=local APP_PORT="$CP_PORT" DATABASE_URL="$CP_DB" AMQP_URL="$AMQP_URL" RUN_MIGRATIONS=true \
  CP_ISSUER="http://localhost:$CP_PORT" CP_ADMIN_TOKEN="$CP_ADMIN_TOKEN" GATEWAY_SECRET="$GATEWAY_SECRET" \
  JWT_SIGNING_KEYS_DIR="$CP_KEYS" RUST_LOG="${RUST_LOG:-info}"

start identity "$ID_PORT" "identity serve" \
  APP_ENV=local APP_PORT="$ID_PORT" DATABASE_URL="$ID_DB" AMQP_URL="$AMQP_URL" RUN_MIGRATIONS=true \
  IDENTITY_ISSUER_BASE_URL="http://localhost:$ID_PORT" IDENTITY_MFA_ENCRYPTION_KEY="$IDENTITY_MFA_ENCRYPTION_KEY" \
  IDENTITY_ROLES="$ID_ROLES" TRUSTED_PROXIES="$TRUSTED_PROXIES" \
  GATEWAY_SECRET="$GATEWAY_SECRET" JWT_SIGNING_KEYS_DIR="$ID_KEYS" RUST_LOG="${RUST_LOG:-info}"

start credential-broker "$CB_PORT" "credential-broker serve" \
  APP_ENV=local APP_PORT="$CB_PORT" DATABASE_URL="$CB_DB" AMQP_URL="$AMQP_URL" RUN_MIGRATIONS=true \
  BROKER_CALLER_TOKEN="$BROKER_CALLER_TOKEN" BROKER_ADMIN_TOKEN="$BROKER_ADMIN_TOKEN" \
  BROKER_AUDIT_HMAC_KEY="$BROKER_AUDIT_HMAC_KEY" WALLET_BACKEND=static \
  WALLET_STATIC_TOKENS="graph.microsoft.com=$BROKER_DEMO_UPSTREAM_TOKEN" \
  GATEWAY_SECRET="$GATEWAY_SECRET" RUST_LOG="${RUST_LOG:-info}"

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

start quotations "$QT_PORT" "quotations serve" \
  APP_ENV=local APP_PORT="$QT_PORT" DATABASE_URL="$QT_DB" AMQP_URL="$AMQP_URL" RUN_MIGRATIONS=true \
  APP_URL="http://127.0.0.1:$GW_PORT" APP_KEY="$QUOTATIONS_APP_KEY" MAIL_MAILER=log \
  QUOTATIONS_MODERATOR_TENANTS=demo TRUSTED_PROXIES="$TRUSTED_PROXIES" \
  GATEWAY_SECRET="$GATEWAY_SECRET" RUST_LOG="${RUST_LOG:-info}" ${ALPHA_VANTAGE_API_KEY:+ALPHA_VANTAGE_API_KEY="$ALPHA_VANTAGE_API_KEY"} \
  "${QT_PROVIDER_ENV[@]}"

start users-registration "$UR_PORT" "users-registration serve" \
  APP_ENV=local APP_PORT="$UR_PORT" DATABASE_URL="$UR_DB" AMQP_URL="$AMQP_URL" RUN_MIGRATIONS=true \
  JWT_SECRET="$USERS_JWT_SECRET" DOCUMENT_ENCRYPTION_KEY="$USERS_DOCUMENT_ENCRYPTION_KEY" \
  NOTIFY_ENDPOINT="http://127.0.0.1:$SINK_PORT/notifications" TRUSTED_PROXIES="$TRUSTED_PROXIES" \
  GATEWAY_SECRET="$GATEWAY_SECRET" RUST_LOG="${RUST_LOG:-info}"

# ---------------------------------------------------------------- gateway (ARCHITECTURE.md §3)
start gateway-auth "$GA_PORT" "gateway-auth" \
  APP_PORT="$GA_PORT" GATEWAY_TRUSTED_ISSUERS="http://localhost:$ID_PORT/tenants/=http://127.0.0.1:$ID_PORT/tenants/" \
  AMQP_URL="$AMQP_URL" RUST_LOG="${RUST_LOG:-info}"
GW_DIR="$STATE/gateway"
mkdir -p "$GW_DIR/tmp"
GATEWAY_LISTEN="127.0.0.1:$GW_PORT" GATEWAY_SECRET="$GATEWAY_SECRET" GATEWAY_AUTH_ADDR="127.0.0.1:$GA_PORT" \
CONTROL_PLANE_ADDR="127.0.0.1:$CP_PORT" QUOTATIONS_ADDR="127.0.0.1:$QT_PORT" IDENTITY_ADDR="127.0.0.1:$ID_PORT" \
CREDENTIAL_BROKER_ADDR="127.0.0.1:$CB_PORT" USERS_REGISTRATION_ADDR="127.0.0.1:$UR_PORT" \
  python3 "$ROOT/scripts/render-template.py" "$ROOT/deploy/gateway/tessera.conf.template" > "$GW_DIR/tessera.conf"
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
for svc in "control-plane:$CP_PORT" "quotations:$QT_PORT" "identity:$ID_PORT" "credential-broker:$CB_PORT" "users-registration:$UR_PORT"; do
  name="${svc%%:*}"; port="${svc##*:}"
  wait_ready "http://127.0.0.1:$port/readyz" 60 || {
    tail -n 20 "$STATE/logs/$name.log" >&2
    die "$name did not become ready (log: .tessera/logs/$name.log)"
  }
done
wait_ready "http://127.0.0.1:$GW_PORT/healthz" 30 || die "the gateway did not answer on :$GW_PORT (log: .tessera/logs/gateway.error.log)"

# Demo history: a few quotations collected through the API (needs reachable providers).
for sym in USD-BRL EUR-BRL BTC AAPL; do
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$QT_PORT/api/quotation/$sym" -H "Authorization: Bearer $QT_TOKEN" \
    || say "quotations: could not collect $sym (providers unreachable? QUOTATIONS_PROVIDERS=stub make up works offline)"
done

python3 - "$STATE/demo.json" <<PY
import json, sys
demo = {
  "services": {
    "gateway": {"url": "http://127.0.0.1:$GW_PORT", "ready": "http://127.0.0.1:$GW_PORT/healthz"},
    "gateway-auth": {"url": "http://127.0.0.1:$GA_PORT", "trusted_issuer_prefix": "http://localhost:$ID_PORT/tenants/"},
    "control-plane": {"url": "http://127.0.0.1:$CP_PORT", "openapi": "http://127.0.0.1:$CP_PORT/openapi.json"},
    "quotations": {"url": "http://127.0.0.1:$QT_PORT", "app_url": "http://127.0.0.1:$GW_PORT", "openapi": "http://127.0.0.1:$QT_PORT/openapi.json", "dashboard": "http://127.0.0.1:$QT_PORT/dashboard", "providers": "$QUOTATIONS_PROVIDERS"},
    "identity": {"url": "http://127.0.0.1:$ID_PORT", "openapi": "http://127.0.0.1:$ID_PORT/openapi.json", "issuer": "http://localhost:$ID_PORT/tenants/demo"},
    "credential-broker": {"url": "http://127.0.0.1:$CB_PORT", "openapi": "http://127.0.0.1:$CB_PORT/openapi.json"},
    "users-registration": {"url": "http://127.0.0.1:$UR_PORT", "openapi": "http://127.0.0.1:$UR_PORT/openapi.json"},
    "notification-sink": {"url": "http://127.0.0.1:$SINK_PORT"},
  },
  "credentials": {
    "control-plane.admin_token": "$CP_ADMIN_TOKEN",
    "control-plane.wl-a.api_key": "$WL_A_KEY",
    "gateway.secret": "$GATEWAY_SECRET",
    "identity.demo.admin": {"email": "admin@demo.test", "password": "$IDENTITY_DEMO_PASSWORD",
                            "otpauth_uri": "$ID_OTPAUTH", "totp_secret": "$ID_TOTP_SECRET"},
    "identity.demo.agent": {"email": "agent@demo.test", "password": "$IDENTITY_DEMO_PASSWORD", "agent_id": "$ID_AGENT_ID"},
    "identity.demo.moderator": {"email": "moderator@demo.test", "password": "$IDENTITY_DEMO_PASSWORD", "agent_id": "$ID_MODERATOR_ID"},
    "identity.other.moderator": {"email": "moderator@other.test", "password": "$IDENTITY_DEMO_PASSWORD"},
    "identity.demo.ops": {"email": "ops@demo.test", "password": "$IDENTITY_DEMO_PASSWORD"},
    "credential-broker.caller_token": "$BROKER_CALLER_TOKEN",
    "credential-broker.admin_token": "$BROKER_ADMIN_TOKEN",
    "quotations.admin": {"email": "admin@quotations.test", "password": "$QUOTATIONS_DEMO_PASSWORD", "token": "$QT_TOKEN"},
    "users-registration.analyst": {"email": "analyst@demo.test", "password": "$USERS_DEMO_PASSWORD"},
    "users-registration.auditor": {"email": "auditor@demo.test", "password": "$USERS_DEMO_PASSWORD"},
  },
  "demo": {
    "control-plane": {"importer": "wl-a", "target": "wl-b", "scopes": ["offers:sync", "trader:purchase"]},
    "identity": {"tenant": "demo"},
    "credential-broker": {"sandbox_id": "demo-sandbox", "upstream_host": "graph.microsoft.com", "owner": "agent@demo.test"},
  },
}
with open(sys.argv[1], "w") as f:
    json.dump(demo, f, indent=2)
PY
chmod 600 "$STATE/demo.json"

cat <<TXT

  Tessera is up.

  service          URL
  gateway          http://127.0.0.1:$GW_PORT   (every route below, one host: ARCHITECTURE.md §3; bearer JWTs from identity verified here)
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
