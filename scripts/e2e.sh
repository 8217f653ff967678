#!/usr/bin/env bash
# make e2e: the end-to-end suite against the whole platform behind the gateway, then the API
# fuzzer (scripts/fuzz.sh) on every service's OpenAPI document. Uses the platform when `make up`
# already runs it (then the fuzzer only with FUZZ=1: it changes the demo data); otherwise
# brings it up (dev build, provider stub), runs both, and stops what it started.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

started=
mkdir -p "$STATE/logs"
if ! { [ -f "$STATE/demo.json" ] && [ -f "$STATE/pids/gateway.pid" ] && kill -0 "$(cat "$STATE/pids/gateway.pid")" 2>/dev/null; }; then
  say "bringing the platform up for the end-to-end suite"
  QUOTATIONS_PROVIDERS=stub PROFILE="${E2E_PROFILE:-dev}" "$ROOT/scripts/up.sh" > "$STATE/logs/e2e-up.log" 2>&1 \
    || { tail -n 40 "$STATE/logs/e2e-up.log" >&2; die "make up failed (log: $STATE/logs/e2e-up.log)"; }
  started=1
fi
status=0
cargo nextest run --locked -p tessera_e2e --run-ignored only --no-fail-fast || status=$?
if [ -n "$started" ] || [ "${FUZZ:-}" = 1 ]; then
  "$ROOT/scripts/fuzz.sh" || status=1
else
  say "fuzzing skipped on a running platform (it changes the demo data): FUZZ=1 make e2e, or make fuzz"
fi
if [ -n "$started" ]; then
  [ "$status" -eq 0 ] || { say "service logs: $STATE/logs"; tail -n 5 "$STATE"/logs/*.log >&2 || true; }
  "$ROOT/scripts/down.sh"
fi
exit "$status"
