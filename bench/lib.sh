#!/usr/bin/env bash
# Helpers shared by the bench/*.sh scripts (sourced after scripts/lib.sh).
THREADS="${THREADS:-2}"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
SECTIONS="$ROOT/docs/bench"
mkdir -p "$SECTIONS"

need_tools() {
  command -v wrk >/dev/null || { say "installing wrk"; apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; }
  command -v node >/dev/null || { say "installing Node.js"; apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; }
  require_postgres
  require_rabbitmq
  bench_vhost
}

# A benchmark publishes tens of thousands of events. They go to a vhost of their own, so the
# durable queues that `make up` and `make e2e` bind on the default vhost (the notification
# dispatcher's, the broker's identity consumer's) do not fill with them: a later e2e run would
# otherwise wait behind the backlog. Needs rabbitmqctl (a local broker); else a warning.
bench_vhost() {
  local vhost=tessera-bench
  if command -v rabbitmqctl >/dev/null && rabbitmqctl -q add_vhost "$vhost" >/dev/null 2>&1 || rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx "$vhost"; then
    rabbitmqctl -q set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
    AMQP_URL="amqp://guest:guest@127.0.0.1:5672/$vhost"
    export AMQP_URL
  else
    say "warning: no rabbitmqctl: benchmark events go to the default vhost"
  fi
}

# post_script file content-type body [authorization]: a wrk script that POSTs body (a Lua long
# string, so quotes in it need no escaping) with these headers.
post_script() {
  {
    echo 'wrk.method = "POST"'
    echo "wrk.headers[\"Content-Type\"] = \"$2\""
    if [ -n "${4:-}" ]; then echo "wrk.headers[\"Authorization\"] = \"$4\""; fi
    echo "wrk.body = [==[$3]==]"
  } > "$1"
}

# run_wrk name url lua [connections]: warm-up, then the measured run with --latency into $WORK/name.txt.
run_wrk() {
  local conns="${4:-32}"
  wrk -t"$THREADS" -c"$conns" -d"$WARMUP" -s "$3" "$2" >/dev/null
  wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$3" "$2" > "$WORK/$1.txt"
  cat "$WORK/$1.txt"
  if grep -q "Non-2xx" "$WORK/$1.txt"; then die "$1: non-2xx responses during the run"; fi
}
rps() { awk '/Requests\/sec/ {printf "%.1f", $2}' "$WORK/$1.txt"; }
p99() { awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.2f", v}' "$WORK/$1.txt"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# CPU accounting in clock ticks: one process (user+system), every PostgreSQL process, RabbitMQ's
# Erlang VM, and the machine (busy, all) from /proc/stat.
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { local t=0 p; for p in $(pgrep -x postgres); do t=$((t + $(proc_ticks "$p"))); done; echo "$t"; }
mq_ticks() { local t=0 p; for p in $(pgrep -f beam.smp); do t=$((t + $(proc_ticks "$p"))); done; echo "$t"; }
sys_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# cores_used TICKS SECONDS: how many cores' worth of CPU TICKS is over SECONDS.
cores_used() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v s="$2" 'BEGIN {printf "%.2f", t/hz/s}'; }
wait_http() { wait_ready "$1" 30 || die "$1 did not answer"; }

# fresh_db name: drop and recreate a benchmark database (psql ships with PostgreSQL).
fresh_db() {
  if command -v psql >/dev/null; then
    psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  fi
}

machine_line() {
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
}

# figures name "title" "target" "label|kind|requests_per_s|p99_ms" ...: writes docs/bench/<name>.json,
# the figures bench/chart.py draws (kind: service, reference or ceiling; p99 may be empty).
figures() {
  local name="$1" title="$2" target="$3"; shift 3
  python3 - "$SECTIONS/$name.json" "$title" "$target" "$@" <<'PY'
import json, sys
out, title, target, *bars = sys.argv[1:]
rows = []
for b in bars:
    label, kind, rps, p99 = b.split("|")
    rows.append({"label": label, "kind": kind, "requests_per_s": float(rps),
                 "p99_ms": float(p99) if p99 else None})
with open(out, "w") as f:
    json.dump({"title": title, "target": target, "bars": rows}, f, indent=2)
    f.write("\n")
PY
}
