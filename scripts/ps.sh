#!/usr/bin/env bash
# make ps: what make up started, and whether it is ready.
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
printf '%-20s %-8s %-8s %s\n' SERVICE PID STATE READY
for pidfile in "$STATE"/pids/*.pid; do
  name="$(basename "$pidfile" .pid)"; pid="$(cat "$pidfile")"
  state=stopped; kill -0 "$pid" 2>/dev/null && state=running
  probe="$(python3 -c "import json;s=json.load(open('$STATE/demo.json'))['services']['$name'];print(s.get('ready', s['url'] + '/readyz'))" 2>/dev/null || true)"
  ready=-; [ -n "$probe" ] && { curl -fsS -o /dev/null "$probe" && ready=yes || ready=no; }
  printf '%-20s %-8s %-8s %s\n' "$name" "$pid" "$state" "$ready"
done
