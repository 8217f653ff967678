#!/usr/bin/env bash
# make bench (quotations): GET /api/quotations with filters on a table of 1,000,000 rows, next to
# the same queries sent straight to PostgreSQL with pgbench in the same run.
# Writes docs/bench/quotations-list.md.
#
#   1. seed        1,000,000 quotations (10 symbols, 3 types, 4 sources, 5 % invalid, a year of
#                  timestamps) with one INSERT … SELECT, then VACUUM ANALYZE
#   2. service     wrk on four URLs in turn: no filter; symbol; type + source, page 3; symbol +
#                  date range. Throttle off (one client would be throttled at 60/min); totals
#                  cached per filter set for QUOTATIONS_LIST_COUNT_CACHE_SECONDS (default 30)
#   3. reference   pgbench running the same page queries (the SQL the service sends), same
#                  client count, and separately the exact count(*) the cache saves
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
DURATION="${BENCH_DURATION:-20s}"
WARMUP="${BENCH_WARMUP:-5s}"
CONNS="${LIST_CONNS:-16}"
source "$ROOT/bench/lib.sh"
OUT="$SECTIONS/quotations-list.md"
PORT=18382
need_tools

say "building release binaries"
cargo build --locked --release -p tessera_quotations --bin quotations

DB="quotations_bench"
fresh_db "$DB"
export DATABASE_URL="$PG_URL_BASE/$DB"
target/release/quotations migrate --create-database >/dev/null
say "seeding 1,000,000 quotations"
psql -q "$DATABASE_URL" <<'SQL'
INSERT INTO quotations (symbol, type, source, price, currency, quoted_at, status, invalid_reason)
SELECT s.symbol, s.type, s.source, 10 + (g % 1000) / 10.0, 'USD',
       timestamptz '2025-01-01Z' + (g * interval '31 seconds'),
       CASE WHEN g % 20 = 0 THEN 'invalid' ELSE 'valid' END,
       CASE WHEN g % 20 = 0 THEN 'price out of band' END
FROM generate_series(1, 1000000) g
JOIN (VALUES (0,'USDBRL','currency','awesome_api'),(1,'EURBRL','currency','awesome_api'),(2,'BTC','crypto','awesome_api'),
             (3,'ETH','crypto','alpha_vantage'),(4,'AAPL','stock','yahoo_finance'),(5,'MSFT','stock','alpha_vantage'),
             (6,'IBM','stock','stooq'),(7,'PETR4.SA','stock','yahoo_finance'),(8,'GBPBRL','currency','alpha_vantage'),
             (9,'SOL','crypto','awesome_api')) AS s(k, symbol, type, source) ON s.k = g % 10;
VACUUM ANALYZE quotations;
SQL
ROWS="$(psql -qtA "$DATABASE_URL" -c 'SELECT count(*) FROM quotations')"

say "quotations"
APP_ENV=production APP_HOST=127.0.0.1 APP_PORT=$PORT AMQP_URL="$AMQP_URL" RUST_LOG=warn \
  QUOTATIONS_API_RATE_LIMIT_PER_MINUTE=0 APP_KEY="$(random_secret)" MAIL_MAILER=log \
  target/release/quotations serve > "$WORK/q.log" 2>&1 &
QT_PID=$!
wait_ready "http://127.0.0.1:$PORT/readyz" 30 || { tail -n 20 "$WORK/q.log" >&2; die "quotations did not become ready"; }
cat > "$WORK/list.lua" <<'LUA'
local paths = {
  "/api/quotations",
  "/api/quotations?symbol=USD-BRL",
  "/api/quotations?type=crypto&source=awesome_api&page=3",
  "/api/quotations?symbol=AAPL&date_from=2025-06-01&date_to=2025-06-30&per_page=50",
}
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
run_wrk list "http://127.0.0.1:$PORT" "$WORK/list.lua" "$CONNS"
QT_RSS="$(peak_rss_mb $QT_PID)"
kill -TERM $QT_PID; wait $QT_PID 2>/dev/null || true

say "pgbench: the same page queries, straight to PostgreSQL"
COLS="id, symbol, type, source, price::text, currency, quoted_at, status, invalid_reason, created_at"
cat > "$WORK/pages.sql" <<SQL
SELECT $COLS FROM quotations WHERE deleted_at IS NULL AND status = 'valid' ORDER BY quoted_at DESC, id DESC LIMIT 20 OFFSET 0;
SELECT $COLS FROM quotations WHERE deleted_at IS NULL AND status = 'valid' AND symbol = 'USDBRL' ORDER BY quoted_at DESC, id DESC LIMIT 20 OFFSET 0;
SELECT $COLS FROM quotations WHERE deleted_at IS NULL AND status = 'valid' AND type = 'crypto' AND source = 'awesome_api' ORDER BY quoted_at DESC, id DESC LIMIT 20 OFFSET 40;
SELECT $COLS FROM quotations WHERE deleted_at IS NULL AND status = 'valid' AND symbol = 'AAPL' AND quoted_at >= '2025-06-01Z' AND quoted_at < '2025-07-01Z' ORDER BY quoted_at DESC, id DESC LIMIT 50 OFFSET 0;
SQL
PG_SECONDS="${DURATION%s}"
pgbench -n -M prepared -c "$CONNS" -j 2 -T "$PG_SECONDS" -f "$WORK/pages.sql" "$DATABASE_URL" > "$WORK/pgbench.txt" 2>&1
cat "$WORK/pgbench.txt"
# Each pgbench transaction runs the four queries: queries/s = tps × 4.
PG_TPS="$(awk '/^tps = / {printf "%.1f", $3}' "$WORK/pgbench.txt")"
PG_QPS="$(awk -v t="$PG_TPS" 'BEGIN {printf "%.1f", t*4}')"
PG_LAT="$(awk '/^latency average/ {print $4}' "$WORK/pgbench.txt")"
cat > "$WORK/count.sql" <<'SQL'
SELECT count(*) FROM quotations WHERE deleted_at IS NULL AND status = 'valid';
SQL
pgbench -n -M prepared -c 2 -j 2 -T 10 -f "$WORK/count.sql" "$DATABASE_URL" > "$WORK/count.txt" 2>&1
COUNT_LAT="$(awk '/^latency average/ {print $4}' "$WORK/count.txt")"

LIST_RPS="$(rps list)"; LIST_P99="$(p99 list)"
cat > "$OUT" <<MD
## quotations history on a million rows (quotations, issue #6)

\`bench/quotations-list.sh\`, $(machine_line). $ROWS rows (10 symbols, 5 % invalid), \`VACUUM ANALYZE\`d.
wrk $THREADS threads, $CONNS connections, $WARMUP warm-up then $DURATION measured, cycling through four
\`GET /api/quotations\` URLs (no filter; \`symbol=USD-BRL\`; \`type=crypto&source=awesome_api&page=3\`;
\`symbol=AAPL\` + a June date range, 50 per page). Throttle off; totals cached per filter set for
30 s (\`QUOTATIONS_LIST_COUNT_CACHE_SECONDS\`). pgbench runs the same four page queries (prepared, $CONNS
clients) straight against PostgreSQL in the same run. Everything shares the 2 cores.

| measurement | figure | target |
|---|---:|---:|
| **\`GET /api/quotations\` requests/s** | **$LIST_RPS** | ≥ 2,000 |
| **p99 latency** | **$LIST_P99 ms** | ≤ 30 ms |
| pgbench: the same page queries/s straight to PostgreSQL (tps $PG_TPS × 4 queries) | $PG_QPS | |
| pgbench: average latency of one four-query transaction | $PG_LAT ms | |
| exact \`count(*)\` of the no-filter list (what the 30 s cache saves), average | $COUNT_LAT ms | |
| quotations peak RSS | $QT_RSS MB | |

\`\`\`
$(cat "$WORK/list.txt")
pgbench (pages):
$(cat "$WORK/pgbench.txt")
pgbench (count):
$(cat "$WORK/count.txt")
\`\`\`
MD
say "wrote $OUT"
figures quotations-list "History on a million rows (quotations)" "" \
  "GET /api/quotations|service|$LIST_RPS|$LIST_P99" "pgbench, the same queries|ceiling|$PG_QPS|"
printf '\n  list %s req/s, p99 %s ms | pgbench same queries %s q/s | exact count %s ms\n' "$LIST_RPS" "$LIST_P99" "$PG_QPS" "$COUNT_LAT"
