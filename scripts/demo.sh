# The demo data of a running platform and its .tessera/demo.json, shared by make up
# (scripts/up.sh: processes on this machine) and make compose-e2e (scripts/compose-e2e.sh: the
# compose stack). Sourced after the caller has defined:
#   cli <service> [VAR=value ...] <arguments>   runs that service's CLI in its environment
#   QT_DATABASE_URL                             quotations' database (demo history, by psql)
#   the ports (GW_PORT, GA_PORT, CP_PORT, QT_PORT, ID_PORT, CB_PORT, UR_PORT, SINK_PORT), STATE,
#   ID_ISSUER_BASE (identity's IDENTITY_ISSUER_BASE_URL), QT_APP_URL (quotations' APP_URL), QUOTATIONS_PROVIDERS and the secrets (CP_ADMIN_TOKEN, GATEWAY_SECRET, the demo passwords …).

# White labels, tenants, agents, a binding, staff users and a quotations admin, each created once
# (the CLIs' creates are idempotent; the files in $STATE remember one-time answers).
demo_seed() {
  say "control-plane: demo white labels"
  cli control-plane wl create --id wl-a --name "Demo Importer A" >/dev/null
  cli control-plane wl create --id wl-b --name "Demo Target B" >/dev/null
  cli control-plane relationship --importer wl-a --target wl-b --scopes offers:sync,trader:purchase >/dev/null
  DEMO_KEY_FILE="$STATE/control-plane-wl-a.key"
  if [ ! -s "$DEMO_KEY_FILE" ]; then
    ( umask 077; cli control-plane api-key --wl wl-a | jq -r .secret > "$DEMO_KEY_FILE" )
  fi
  WL_A_KEY="$(cat "$DEMO_KEY_FILE")"

  say "identity: demo tenant and agents"
  cli identity tenant create --slug demo --name "Demo Tenant" >/dev/null
  ID_ADMIN_FILE="$STATE/identity-admin.json"
  if [ ! -s "$ID_ADMIN_FILE" ]; then
    ( umask 077
      cli identity IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" agent create \
        --tenant demo --email admin@demo.test --role admin --mfa > "$ID_ADMIN_FILE"
      cli identity IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" agent create \
        --tenant demo --email agent@demo.test --role agent > "$STATE/identity-agent.json" )
  fi
  # A moderator of demo (quotations trusts demo's moderators: QUOTATIONS_MODERATOR_TENANTS) and
  # one of another tenant, whose moderator role quotations does not trust.
  cli identity tenant create --slug other --name "Other Tenant" >/dev/null
  if [ ! -s "$STATE/identity-moderators.done" ]; then
    ( umask 077
      cli identity IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" agent create \
        --tenant demo --email moderator@demo.test --role moderator > "$STATE/identity-moderator.json"
      cli identity IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" agent create \
        --tenant other --email moderator@other.test --role moderator > "$STATE/identity-other-moderator.json"
      # An admin without a second factor, for scripted role changes (make e2e).
      cli identity IDENTITY_AGENT_PASSWORD="$IDENTITY_DEMO_PASSWORD" agent create \
        --tenant demo --email ops@demo.test --role admin > "$STATE/identity-ops.json"
      echo done > "$STATE/identity-moderators.done" )
  fi
  ID_OTPAUTH="$(jq -r .otpauth_uri "$ID_ADMIN_FILE")"
  ID_AGENT_ID="$(jq -r .agent_id "$STATE/identity-agent.json")"
  ID_MODERATOR_ID="$(jq -r .agent_id "$STATE/identity-moderator.json")"
  ID_TOTP_SECRET="$(jq -r .totp_secret "$ID_ADMIN_FILE")"

  say "credential-broker: demo binding"
  cli credential-broker binding-put --sandbox demo-sandbox --tenant demo --agent "$ID_AGENT_ID" \
    --upstream "graph.microsoft.com=https://graph.microsoft.com/.default User.Read" >/dev/null

  say "users-registration: demo analyst and auditor"
  UR_ANALYST_FILE="$STATE/users-analyst.json"
  if [ ! -s "$UR_ANALYST_FILE" ]; then
    ( umask 077
      cli users-registration USERS_REGISTRATION_PASSWORD="$USERS_DEMO_PASSWORD" user create \
        --role analyst --email analyst@demo.test --name "Demo Analyst" --document-id 00000000191 > "$UR_ANALYST_FILE"
      cli users-registration USERS_REGISTRATION_PASSWORD="$USERS_DEMO_PASSWORD" user create \
        --role auditor --email auditor@demo.test --name "Demo Auditor" --document-id 00000000272 > "$STATE/users-auditor.json" )
  fi

  say "quotations: demo admin and token"
  cli quotations QUOTATIONS_USER_PASSWORD="$QUOTATIONS_DEMO_PASSWORD" user create \
    --email admin@quotations.test --name "Demo Admin" --admin >/dev/null
  QT_TOKEN_FILE="$STATE/quotations-token"
  if [ ! -s "$QT_TOKEN_FILE" ]; then
    ( umask 077; cli quotations token --email admin@quotations.test --device-name demo \
        | jq -r .token > "$QT_TOKEN_FILE" )
  fi
  QT_TOKEN="$(cat "$QT_TOKEN_FILE")"
  # A day of demo history for the dashboards' charts (re-runnable).
  if command -v psql >/dev/null; then
    psql "$QT_DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$ROOT/scripts/quotations-demo.sql"
  else
    say "quotations: psql not found; the dashboards start without demo history"
  fi
}

# Demo history collected through the API, then $STATE/demo.json (URLs and credentials; the e2e
# suite reads it).
demo_finish() {
  # Demo history: a few quotations collected through the API (needs reachable providers).
  for sym in USD-BRL EUR-BRL BTC AAPL; do
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:$QT_PORT/api/quotation/$sym" -H "Authorization: Bearer $QT_TOKEN" \
      || say "quotations: could not collect $sym (providers unreachable? QUOTATIONS_PROVIDERS=stub make up works offline)"
  done

  jq -n --arg gw "http://127.0.0.1:$GW_PORT" --arg ga "http://127.0.0.1:$GA_PORT" \
    --arg cp "http://127.0.0.1:$CP_PORT" --arg qt "http://127.0.0.1:$QT_PORT" --arg id "http://127.0.0.1:$ID_PORT" \
    --arg cb "http://127.0.0.1:$CB_PORT" --arg ur "http://127.0.0.1:$UR_PORT" --arg sink "http://127.0.0.1:$SINK_PORT" \
    --arg qt_app_url "${QT_APP_URL:-http://127.0.0.1:$GW_PORT}" --arg id_issuer_prefix "${ID_ISSUER_BASE:-http://localhost:$ID_PORT}/tenants/" --arg providers "$QUOTATIONS_PROVIDERS" \
    --arg cp_admin "$CP_ADMIN_TOKEN" --arg wl_a_key "$WL_A_KEY" --arg gateway_secret "$GATEWAY_SECRET" \
    --arg id_password "$IDENTITY_DEMO_PASSWORD" --arg otpauth "$ID_OTPAUTH" --arg totp "$ID_TOTP_SECRET" \
    --arg agent_id "$ID_AGENT_ID" --arg moderator_id "$ID_MODERATOR_ID" \
    --arg cb_caller "$BROKER_CALLER_TOKEN" --arg cb_admin "$BROKER_ADMIN_TOKEN" \
    --arg qt_password "$QUOTATIONS_DEMO_PASSWORD" --arg qt_token "$QT_TOKEN" --arg ur_password "$USERS_DEMO_PASSWORD" '
  {
    services: {
      gateway: {url: $gw, ready: ($gw + "/healthz"), docs: ($gw + "/docs")},
      "gateway-auth": {url: $ga, trusted_issuer_prefix: $id_issuer_prefix},
      "control-plane": {url: $cp, docs: ($gw + "/docs/control-plane/"), openapi: ($cp + "/openapi.json")},
      quotations: {url: $qt, docs: ($gw + "/docs/quotations/"), app_url: $qt_app_url, openapi: ($qt + "/openapi.json"), dashboard: ($qt + "/dashboard"), providers: $providers},
      identity: {url: $id, docs: ($gw + "/docs/identity/"), openapi: ($id + "/openapi.json"), issuer: ($id_issuer_prefix + "demo")},
      "credential-broker": {url: $cb, docs: ($gw + "/docs/credential-broker/"), openapi: ($cb + "/openapi.json")},
      "users-registration": {url: $ur, docs: ($gw + "/docs/users-registration/"), openapi: ($ur + "/openapi.json")},
      "notification-sink": {url: $sink}
    },
    credentials: {
      "control-plane.admin_token": $cp_admin,
      "control-plane.wl-a.api_key": $wl_a_key,
      "gateway.secret": $gateway_secret,
      "identity.demo.admin": {email: "admin@demo.test", password: $id_password, otpauth_uri: $otpauth, totp_secret: $totp},
      "identity.demo.agent": {email: "agent@demo.test", password: $id_password, agent_id: $agent_id},
      "identity.demo.moderator": {email: "moderator@demo.test", password: $id_password, agent_id: $moderator_id},
      "identity.other.moderator": {email: "moderator@other.test", password: $id_password},
      "identity.demo.ops": {email: "ops@demo.test", password: $id_password},
      "credential-broker.caller_token": $cb_caller,
      "credential-broker.admin_token": $cb_admin,
      "quotations.admin": {email: "admin@quotations.test", password: $qt_password, token: $qt_token},
      "users-registration.analyst": {email: "analyst@demo.test", password: $ur_password},
      "users-registration.auditor": {email: "auditor@demo.test", password: $ur_password}
    },
    demo: {
      "control-plane": {importer: "wl-a", target: "wl-b", scopes: ["offers:sync", "trader:purchase"]},
      identity: {tenant: "demo"},
      "credential-broker": {sandbox_id: "demo-sandbox", upstream_host: "graph.microsoft.com", owner: "agent@demo.test"}
    }
  }' > "$STATE/demo.json"
  chmod 600 "$STATE/demo.json"
}
