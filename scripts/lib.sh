#!/usr/bin/env bash
# Shared helpers for the Makefile's scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# TESSERA_STATE / TESSERA_DB_SUFFIX let a second platform (make e2e) run beside a developer's.
STATE="${TESSERA_STATE:-$ROOT/.tessera}"
DB_SUFFIX="${TESSERA_DB_SUFFIX:-}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
PROFILE="${PROFILE:-release}"
# cargo puts the `dev` profile in target/debug.
if [ "$PROFILE" = dev ]; then BIN="$ROOT/target/debug"; else BIN="$ROOT/target/$PROFILE"; fi

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# host:port from a URL like scheme://user:pass@host:port/path
url_hostport() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; echo "$u"; }

port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && { exec 3>&- 3<&-; return 0; } || return 1
}

require_postgres() {
  local hp; hp="$(url_hostport "${DATABASE_URL:-$PG_URL_BASE/postgres}")"
  local host="${hp%%:*}" port="${hp##*:}"
  [ "$port" = "$host" ] && port=5432
  port_open "$host" "$port" || die "PostgreSQL is not reachable at $host:$port.
  Start it with:   pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start
  or point DATABASE_URL / PG_URL_BASE at a running server."
}

require_rabbitmq() {
  local hp; hp="$(url_hostport "$AMQP_URL")"
  local host="${hp%%:*}" port="${hp##*:}"
  [ "$port" = "$host" ] && port=5672
  port_open "$host" "$port" || die "RabbitMQ is not reachable at $host:$port.
  Start it with:   rabbitmq-server -detached
  or point AMQP_URL at a running broker."
}

# 32 random bytes: as a URL-safe token (random_secret), or base64 (random_key32, for the
# AES-256 keys of *_ENCRYPTION_KEY variables).
random_secret() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
random_key32() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }

wait_ready() { # url timeout_seconds
  local url="$1" deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

# The platform's binaries, one per service (deploy/local/platform.env, generated from
# deploy/platform.toml), and their build in one cargo invocation.
platform_binaries() { sed -n 's/^TESSERA_BINARIES=//p' "$ROOT/deploy/local/platform.env"; }
build_binaries() { # cargo profile
  local args=() name
  for name in $(platform_binaries); do args+=(-p "tessera_${name//-/_}" --bin "$name"); done
  cargo build --locked --profile "$1" "${args[@]}"
}
