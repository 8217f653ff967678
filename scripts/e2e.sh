#!/usr/bin/env bash
# make e2e: the end-to-end and fault suites against the whole platform behind the gateway, then
# the API fuzzer (scripts/fuzz.sh) on every service's OpenAPI document. It brings up its own
# platform from scratch — state in .tessera-e2e, databases suffixed _e2e, ports 18079–18087 —
# beside whatever `make up` runs, and stops and forgets it afterwards.
export TESSERA_STATE="${TESSERA_STATE:-$(cd "$(dirname "$0")/.." && pwd)/.tessera-e2e}" TESSERA_DB_SUFFIX=_e2e
export GW_PORT=18080 GA_PORT=18079 CP_PORT=18081 QT_PORT=18082 ID_PORT=18083 CB_PORT=18084 UR_PORT=18085 \
  SINK_PORT=18086 STUB_PORT=18087
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# From scratch: stop a previous run's leftovers and forget its state (up.sh, seeing a fresh
# state, recreates the _e2e databases).
[ -d "$STATE" ] && "$ROOT/scripts/down.sh" >/dev/null 2>&1 || true
rm -rf "$STATE"

mkdir -p "$STATE/logs" "$STATE/env"
# Traces go to the suite's own OTLP receiver (tessera_testkit::otlp, started by the telemetry
# test on OTLP_PORT; before it listens, exports fail and are dropped): the gateway's verifier and
# identity over gRPC, the others over HTTP/protobuf, so one trace crosses both transports.
OTLP_PORT=18088
for svc in gateway-auth identity control-plane credential-broker quotations users-registration; do
  case "$svc" in gateway-auth|identity) protocol=grpc ;; *) protocol=http/protobuf ;; esac
  printf 'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%s\nOTEL_EXPORTER_OTLP_PROTOCOL=%s\nOTEL_BSP_SCHEDULE_DELAY=200\n' \
    "$OTLP_PORT" "$protocol" > "$STATE/env/$svc.env"
done
say "bringing a platform up for the end-to-end suite (gateway :$GW_PORT, state $STATE)"
QUOTATIONS_PROVIDERS=stub PROFILE="${E2E_PROFILE:-dev}" "$ROOT/scripts/up.sh" > "$STATE/logs/e2e-up.log" 2>&1 \
  || { tail -n 40 "$STATE/logs/e2e-up.log" >&2; "$ROOT/scripts/down.sh"; die "make up failed (log: $STATE/logs/e2e-up.log)"; }
status=0
# tests/compose.rs breaks compose's containers: make compose-e2e runs it.
cargo nextest run --locked -p tessera_e2e --run-ignored only --no-fail-fast -E 'not binary(compose)' || status=$?
# Last: fuzzing changes the demo data (throttles, revokes).
"$ROOT/scripts/fuzz.sh" || status=1
[ "$status" -eq 0 ] || { say "service logs: $STATE/logs"; tail -n 5 "$STATE"/logs/*.log >&2 || true; }
"$ROOT/scripts/down.sh"
exit "$status"
