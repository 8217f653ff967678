#!/usr/bin/env bash
# make bench (identity): login throughput against the raw Argon2id rate measured in the same
# run, and /healthz latency while logins saturate the CPU. Writes docs/bench/identity-login.md.
#
#   1. hash rate   the `hash_rate` example: Argon2id verifications/s with the service's OWASP
#                  parameters, on one thread and on one thread per core (no HTTP, no database)
#   2. logins      wrk (1 thread, LOGIN_CONNS connections) on POST /tenants/bench/login with the
#                  right password: tenant + agent look-ups, Argon2id verify, session row, ES256 JWT
#   3. health      during the measured login run, bench/health-probe.mjs sends GET /healthz one at
#                  a time every 10 ms and reports p50/p99/max
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
DURATION="${BENCH_DURATION:-20s}"
WARMUP="${BENCH_WARMUP:-5s}"
LOGIN_CONNS="${LOGIN_CONNS:-8}"
THREADS=1
source "$ROOT/bench/lib.sh"
OUT="$SECTIONS/identity-login.md"
need_tools

say "building release binaries"
cargo build --locked --release -p tessera_identity --bin identity -p tessera_password --example hash_rate

say "raw Argon2id rate (10 s each: library verify, reused memory, all cores)"
HASH="$(HASH_RATE_SECONDS=10 target/release/examples/hash_rate)"
echo "$HASH"
SINGLE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["single_per_s"])' "$HASH")"
VSINGLE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["verify_single_per_s"])' "$HASH")"
ALLC="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["all_cores_per_s"])' "$HASH")"
CORES="$(nproc)"

BENCH_DB="$PG_URL_BASE/identity_bench"
fresh_db identity_bench
export DATABASE_URL="$BENCH_DB"
export IDENTITY_MFA_ENCRYPTION_KEY="$(random_key32)"
PASSWORD="$(random_secret)"
target/release/identity migrate --create-database >/dev/null
target/release/identity tenant create --slug bench --name Bench >/dev/null
IDENTITY_AGENT_PASSWORD="$PASSWORD" target/release/identity agent create --tenant bench --email agent@bench.test >/dev/null
target/release/identity keys generate --dir "$WORK/keys" >/dev/null

say "identity"
APP_ENV=production APP_HOST=127.0.0.1 APP_PORT=18383 AMQP_URL="$AMQP_URL" JWT_SIGNING_KEYS_DIR="$WORK/keys" \
  RUST_LOG=warn target/release/identity serve > "$WORK/identity.log" 2>&1 &
ID_PID=$!
wait_http http://127.0.0.1:18383/readyz
post_script "$WORK/login.lua" application/json "{\"email\":\"agent@bench.test\",\"password\":\"$PASSWORD\"}"
PROBE_SECONDS="${DURATION%s}"
wrk -t1 -c"$LOGIN_CONNS" -d"$WARMUP" -s "$WORK/login.lua" http://127.0.0.1:18383/tenants/bench/login >/dev/null
node bench/health-probe.mjs http://127.0.0.1:18383/healthz "$PROBE_SECONDS" 10 > "$WORK/health.json" &
PROBE_PID=$!
# CPU accounting over the measured run (clock ticks): the service, PostgreSQL (every postgres
# process), the whole machine (user+nice+system+irq+softirq+steal) and its capacity.
# (proc_ticks, pg_ticks, sys_ticks: bench/lib.sh)
ID0="$(proc_ticks $ID_PID)"; PG0="$(pg_ticks)"; read -r BUSY0 ALL0 <<<"$(sys_ticks)"
# Where identity's CPU goes: a cpu-clock profile of 10 s in the middle of the run, when perf works.
PERF_PID=
if command -v perf >/dev/null && perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
  ( sleep 5; perf record -q -e cpu-clock -F 499 -p $ID_PID -o "$WORK/perf.data" -- sleep 10 >/dev/null 2>&1 ) &
  PERF_PID=$!
fi
wrk -t1 -c"$LOGIN_CONNS" -d"$DURATION" --latency -s "$WORK/login.lua" http://127.0.0.1:18383/tenants/bench/login > "$WORK/login.txt"
[ -n "$PERF_PID" ] && wait $PERF_PID
ID1="$(proc_ticks $ID_PID)"; PG1="$(pg_ticks)"; read -r BUSY1 ALL1 <<<"$(sys_ticks)"
wait $PROBE_PID
cat "$WORK/login.txt" "$WORK/health.json"
grep -q "Non-2xx" "$WORK/login.txt" && die "login: non-2xx responses during the run"
ID_RSS="$(peak_rss_mb $ID_PID)"
kill -TERM $ID_PID; wait $ID_PID 2>/dev/null || true

say "idle /healthz (reference)"
APP_ENV=production APP_HOST=127.0.0.1 APP_PORT=18383 AMQP_URL="$AMQP_URL" JWT_SIGNING_KEYS_DIR="$WORK/keys" \
  RUST_LOG=warn target/release/identity serve > /dev/null 2>&1 &
ID_PID=$!
wait_http http://127.0.0.1:18383/readyz
node bench/health-probe.mjs http://127.0.0.1:18383/healthz 5 10 > "$WORK/health-idle.json"
kill -TERM $ID_PID; wait $ID_PID 2>/dev/null || true

say "raw Argon2id rate again (drift check)"
HASH2="$(HASH_RATE_SECONDS=10 target/release/examples/hash_rate)"
echo "$HASH2"
SINGLE1="$SINGLE"
SINGLE2="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["single_per_s"])' "$HASH2")"
SINGLE="$(awk -v a="$SINGLE1" -v b="$SINGLE2" 'BEGIN {printf "%.2f", (a+b)/2}')"
ALLC="$(python3 -c 'import json,sys; a=json.loads(sys.argv[1])["all_cores_per_s"]; b=json.loads(sys.argv[2])["all_cores_per_s"]; print(round((a+b)/2,2))' "$HASH" "$HASH2")"
LOGIN_RPS="$(rps login)"; LOGIN_P99="$(p99 login)"
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
H_P50="$(jget "$WORK/health.json" p50_ms)"; H_P99="$(jget "$WORK/health.json" p99_ms)"
H_MAX="$(jget "$WORK/health.json" max_ms)"; H_N="$(jget "$WORK/health.json" n)"; H_ERR="$(jget "$WORK/health.json" errors)"
I_P99="$(jget "$WORK/health-idle.json" p99_ms)"
TARGET="$(awk -v s="$SINGLE" -v c="$CORES" 'BEGIN {printf "%.1f", s*c}')"
PCT="$(awk -v l="$LOGIN_RPS" -v t="$TARGET" 'BEGIN {printf "%.0f", 100*l/t}')"
PCT_ALL="$(awk -v l="$LOGIN_RPS" -v a="$ALLC" 'BEGIN {printf "%.0f", 100*l/a}')"
# Shares of the machine's capacity over the run, and the service's own efficiency: logins per
# core-second the service got, against the single-thread hash rate (what one core can verify).
SECS="${DURATION%s}"
share() { awk -v d="$1" -v a="$((ALL1 - ALL0))" 'BEGIN {printf "%.0f", 100*d/a}'; }
ID_SHARE="$(share $((ID1 - ID0)))"; PG_SHARE="$(share $((PG1 - PG0)))"
REST_SHARE="$(share $(( (BUSY1 - BUSY0) - (ID1 - ID0) - (PG1 - PG0) )))"
IDLE_SHARE="$(share $(( (ALL1 - ALL0) - (BUSY1 - BUSY0) )))"
ID_CORES="$(cores_used $((ID1 - ID0)) "$SECS")"
ARGON_SHARE="n/a (perf unavailable)"
if [ -s "$WORK/perf.data" ]; then
  # Percent of identity's samples in the argon2 crate (its compression function, segment filling
  # and the block copies those make).
  ARGON_SHARE="$(perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | awk '/^ +[0-9.]+%/ { p=$1; sub("%","",p); if ($0 ~ /argon2|memmove/) a+=p; t+=p } END { if (t>0) printf "%.1f %%", a; else print "n/a" }')"
fi
PCT_OWN="$(awk -v l="$LOGIN_RPS" -v c="$ID_CORES" -v r="$SINGLE" 'BEGIN {printf "%.0f", 100*l/(c*r)}')"

cat > "$OUT" <<MD
## Identity login under Argon2id (identity, issue #3)

\`bench/identity-login.sh\`, $(machine_line). Argon2id m=19456 KiB, t=2, p=1 (OWASP), the service's
defaults; \`ARGON2_MAX_CONCURRENT\` = cores. Logins: wrk, 1 thread, $LOGIN_CONNS connections, $WARMUP warm-up
then $DURATION measured, right password every time. PostgreSQL and wrk share the cores with the service.

| measurement | figure |
|---|---:|
| raw Argon2id/s, one thread, library \`verify_password\` (allocates per call) | $VSINGLE |
| raw Argon2id/s, one thread, memory reused (\`hash_password_into_with_memory\`), before / after the login run | $SINGLE1 / $SINGLE2 |
| **the reference**: their mean | **$SINGLE** |
| raw Argon2id/s, $CORES threads at once, memory reused (mean) | $ALLC |
| target: 85 % of single-thread rate × $CORES cores | $(awk -v t="$TARGET" 'BEGIN {printf "%.1f", 0.85*t}') |
| **logins/s** (\`POST /tenants/{slug}/login\`, 200 with access token) | **$LOGIN_RPS** |
| logins/s ÷ (single-thread rate × cores) | **$PCT %** |
| logins/s ÷ measured all-cores hash rate | $PCT_ALL % |
| CPU over the run: identity / PostgreSQL / wrk, probe and the rest / idle (% of $CORES cores) | $ID_SHARE / $PG_SHARE / $REST_SHARE / $IDLE_SHARE |
| logins/s ÷ (single-thread rate × the $ID_CORES cores identity got) | $PCT_OWN % |
| share of identity's CPU samples in Argon2id (\`perf record -e cpu-clock\`, 10 s of the run) | $ARGON_SHARE |
| login p99 latency ($LOGIN_CONNS in flight, queued for $CORES hashing slots) | $LOGIN_P99 ms |
| **\`/healthz\` p99 while logins saturate the CPU** ($H_N probes, $H_ERR errors; p50 $H_P50 ms, max $H_MAX ms) | **$H_P99 ms** |
| \`/healthz\` p99 idle (reference) | $I_P99 ms |
| identity peak RSS during the run | $ID_RSS MB |

Targets: logins ≥ 85 % of hash rate × cores; \`/healthz\` p99 ≤ 10 ms under the login load. Hashing runs
on \`ARGON2_MAX_CONCURRENT\` dedicated threads that reuse their memory area, behind a bounded queue, so
HTTP workers stay free and a flood queues instead of allocating 19 MiB per request. The raw rate is
measured before and after the login run and averaged: this VM's per-core speed drifts by ±10 % within
minutes, which moves the ratio more than anything the service does.

Reading the CPU rows: identity's own CPU is nearly all Argon2id (the profile row), so the service adds
little to each hash. What keeps the ratio under 85 % on this machine is that the service does not get both
cores (PostgreSQL, wrk, the probe and the kernel run on the same two), and that Argon2id verifies fewer
hashes per core-second amid that mixed load than in the isolated \`hash_rate\` measurement.

\`\`\`
$(cat "$WORK/login.txt")
health under load: $(cat "$WORK/health.json")
health idle:       $(cat "$WORK/health-idle.json")
hash rate before:  $HASH
hash rate after:   $HASH2
\`\`\`
MD
say "wrote $OUT"
figures identity-login "Logins (identity)" "≥ 85 % of single-thread Argon2id × cores" \
  "identity logins|service|$LOGIN_RPS|$LOGIN_P99" "Argon2id × cores|ceiling|$TARGET|"
printf '\n  logins %s/s = %s%% of %s (single %s × %s cores) | healthz p99 %s ms under load (idle %s ms)\n' \
  "$LOGIN_RPS" "$PCT" "$TARGET" "$SINGLE" "$CORES" "$H_P99" "$I_P99"
