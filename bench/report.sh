#!/usr/bin/env bash
# Assembles docs/benchmarks.md from the sections the bench scripts wrote into docs/bench/.
source "$(dirname "$0")/../scripts/lib.sh"
OUT="$ROOT/docs/benchmarks.md"
{
  echo "# Benchmarks"
  echo
  echo "Figures of record, written by \`make bench\` (one section per benchmark; each script rewrites its own"
  echo "section in \`docs/bench/\`, \`make bench BENCH=<name>\` runs one). Speed targets are measured here,"
  echo "never asserted in tests."
  echo
  echo "![requests per second of each service against its references](bench/chart.svg)"
  for f in "$ROOT"/docs/bench/*.md; do
    echo
    cat "$f"
  done
} > "$OUT"
python3 "$ROOT/bench/chart.py" "$ROOT/docs/bench"
say "wrote $OUT"
