#!/usr/bin/env bash
# make down: stop every service started by make up (SIGTERM, then wait for a clean exit).
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
for pidfile in "$STATE"/pids/*.pid; do
  name="$(basename "$pidfile" .pid)"
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { say "$name did not stop in 20 s; killing"; kill -KILL "$pid"; }
  fi
  rm -f "$pidfile"
done
say "stopped"
