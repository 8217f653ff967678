#!/usr/bin/env bash
# bench/peer-token-cpu.sh BINARY=RUST_LOG ...: CPU time per peer token (µs, utime+stime of the
# server process over a 6 s wrk run / requests served), for each control-plane binary and log
# setting given, interleaved over 4 rounds. On a VM whose speed swings between minutes, CPU per
# request moves less than throughput: the yardstick used to tune the log path (issue #21).
# Example: bench/peer-token-cpu.sh target/release/control-plane=info target/release/control-plane=info,access=off
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
W="$(mktemp -d)"; BIN="${1%%=*}"
DB="$PG_URL_BASE/cp_quick"
psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS cp_quick WITH (FORCE)" >/dev/null
export DATABASE_URL="$DB"
$BIN migrate --create-database >/dev/null
$BIN wl create --id wl-a --name A >/dev/null
$BIN wl create --id wl-b --name B >/dev/null
$BIN relationship --importer wl-a --target wl-b --scopes offers:sync >/dev/null
KEY="$($BIN api-key --wl wl-a | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
rm -rf $W/keys; $BIN keys generate --dir "$W/keys" >/dev/null
cat > $W/cp.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = [==[{"targetWlId":"wl-b","scopes":["offers:sync"]}]==]
LUA
for round in 1 2 3 4; do
for entry in "$@"; do
  RUN_BIN="${entry%%=*}"; setting="${entry#*=}"
  APP_ENV=production APP_HOST=127.0.0.1 APP_PORT=18191 AMQP_URL="amqp://guest:guest@127.0.0.1:5672/tessera-bench" \
    JWT_SIGNING_KEYS_DIR="$W/keys" CP_ISSUER=http://127.0.0.1:18191 RUST_LOG="$setting" \
    $RUN_BIN serve > $W/cp.log 2>&1 &
  PID=$!
  for i in $(seq 50); do curl -fs http://127.0.0.1:18191/readyz >/dev/null && break; sleep 0.2; done
  wrk -t2 -c32 -d3s -s $W/cp.lua http://127.0.0.1:18191/wls/wl-a/peer-token >/dev/null
  t0=$(awk '{print $14+$15}' /proc/$PID/stat)
  out=$(wrk -t2 -c32 -d6s -s $W/cp.lua http://127.0.0.1:18191/wls/wl-a/peer-token)
  t1=$(awk '{print $14+$15}' /proc/$PID/stat)
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  us=$(awk -v a=$t0 -v b=$t1 -v n=$n 'BEGIN {printf "%.1f", (b-a)*10000/n}')
  echo "round $round $(basename $RUN_BIN) RUST_LOG=$setting: $r req/s, $us us CPU/request"
  kill $PID; wait $PID 2>/dev/null
done
done
