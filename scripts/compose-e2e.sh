#!/usr/bin/env bash
# make compose-e2e: the compose deployment (deploy/docker-compose.yml) run for real, as CI runs it
# (deploy/compose/ci.yml over it: host networking, ports moved by 21000, Debian-built PostgreSQL and
# RabbitMQ, images from this machine's binaries). It installs and starts a Docker engine when none
# runs (root, Debian's docker.io), makes the Debian bookworm base image with debootstrap when it is
# missing (no registry is reachable), builds the images, starts the stack and waits for every
# healthcheck, seeds the demo data through the containers' CLIs, runs the end-to-end suite through
# the compose gateway and the container fault tests (tests/compose.rs), then tears it all down.
# Each stage's duration is printed (CI log).
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export TESSERA_STATE="${TESSERA_STATE:-$ROOT/.tessera-compose}"
source "$ROOT/scripts/lib.sh"
cd "$ROOT"
# Debian's docker client (20.10) builds with BuildKit itself; a newer client on PATH would want
# the buildx plugin for that.
export PATH="/usr/bin:$PATH" DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
PROFILE="${COMPOSE_PROFILE:-dev}"
if [ "$PROFILE" = dev ]; then BIN="$ROOT/target/debug"; else BIN="$ROOT/target/$PROFILE"; fi
PROJECT=tessera-ci
started=$(date +%s); last=$started
stage() { local now; now=$(date +%s); say "[compose-e2e $((now - started)) s, +$((now - last)) s] $*"; last=$now; }

# ---------------------------------------------------------------- the engine and the base image
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
    [ "$(id -u)" = 0 ] || die "no Docker engine: as root, apt-get install docker.io docker-compose debootstrap"
    apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap >/dev/null
  fi
  [ "$(id -u)" = 0 ] || die "no Docker engine running, and starting dockerd needs root"
  say "starting dockerd (no bridge, no iptables: every container on the host's network)"
  mkdir -p "$ROOT/target"
  nohup dockerd --bridge=none --iptables=false >"$ROOT/target/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not start (target/dockerd.log)"
fi
command -v docker-compose >/dev/null || die "docker-compose is missing (apt-get install docker-compose)"
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  # The Debian mirror apt already uses.
  mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)"
  [ -n "$mirror" ] || mirror="$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  say "making the Debian bookworm base image from $mirror (debootstrap)"
  rootfs="$ROOT/target/debootstrap"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$ROOT/target/debootstrap.log" 2>&1 \
    || die "debootstrap failed (target/debootstrap.log)"
  tar -C "$rootfs" -c . | docker import - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi
stage "engine and base image ready"

# ---------------------------------------------------------------- binaries, secrets, images
build_binaries "$PROFILE"
rm -rf "$ROOT/target/docker" && mkdir -p "$ROOT/target/docker"
for name in $(platform_binaries); do cp "$BIN/$name" "$ROOT/target/docker/"; done
stage "binaries built ($PROFILE)"

# A fresh state each run: the stack's secrets, its demo passwords, the sink's mailbox, the logs.
[ -d "$STATE" ] && rm -rf "$STATE"
mkdir -p "$STATE/logs" "$STATE/mailbox"
chmod 700 "$STATE"
chown 10001 "$STATE/mailbox" 2>/dev/null || chmod 777 "$STATE/mailbox"   # the sink runs as 10001
ENV_FILE="$STATE/secrets.env" "$ROOT/deploy/compose/generate-env.sh" >/dev/null
{
  for var in IDENTITY_DEMO_PASSWORD USERS_DEMO_PASSWORD QUOTATIONS_DEMO_PASSWORD; do echo "$var=$(random_secret)"; done
} >> "$STATE/secrets.env"
set -a
# shellcheck disable=SC1091
source "$ROOT/deploy/compose/ci.env"
# shellcheck disable=SC1090
source "$STATE/secrets.env"
set +a

# The user's compose file with the CI override over it, merged once (deploy/compose/ci-config.py
# drops the port bindings host networking cannot take).
docker-compose -p "$PROJECT" -f deploy/docker-compose.yml -f deploy/compose/ci.yml --env-file "$STATE/secrets.env" config \
  | python3 deploy/compose/ci-config.py > "$STATE/compose.yml"
compose() {
  docker-compose -p "$PROJECT" -f "$STATE/compose.yml" --project-directory "$ROOT/deploy" --env-file "$STATE/secrets.env" "$@"
}
teardown() {
  status=$?
  trap - EXIT
  set +e
  [ -n "${STUB_PID:-}" ] && kill "$STUB_PID" 2>/dev/null
  for pid in "${LOG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  compose ps >"$STATE/logs/compose-ps.txt" 2>&1
  [ "$status" -eq 0 ] || { compose ps; compose logs --no-color --tail 20; } >&2
  compose down -v --remove-orphans >/dev/null 2>&1
  stage "torn down"
  exit "$status"
}
trap teardown EXIT

compose build >"$STATE/logs/compose-build.log" 2>&1 || { tail -n 40 "$STATE/logs/compose-build.log" >&2; die "compose build failed"; }
stage "images built: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^tessera' | tr '\n' ' ')"

# ---------------------------------------------------------------- up, healthy
nohup node "$ROOT/scripts/provider-stub.mjs" "$STUB_PORT" >"$STATE/logs/provider-stub.log" 2>&1 &
STUB_PID=$!
compose up -d >"$STATE/logs/compose-up.log" 2>&1 || { cat "$STATE/logs/compose-up.log" >&2; die "compose up failed"; }
# Each container's output into $STATE/logs/<service>.log (the suite reads some of them).
LOG_PIDS=()
for svc in $(compose config --services); do
  id="$(compose ps -q "$svc" 2>/dev/null)"
  [ -n "$id" ] || continue
  docker logs -f "$id" >"$STATE/logs/$svc.log" 2>&1 &
  LOG_PIDS+=($!)
done
deadline=$(( $(date +%s) + 240 ))
while :; do
  waiting=()
  for id in $(compose ps -q); do
    state="$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")"
    case "$state" in
      *" healthy"|*" running"|*signing-keys*" exited") ;;   # running: no healthcheck (the sink)
      *) waiting+=("$state") ;;
    esac
  done
  [ "${#waiting[@]}" -eq 0 ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "not healthy after 240 s: ${waiting[*]}"
  sleep 2
done
stage "every container healthy ($(compose ps -q | wc -l) containers)"

# ---------------------------------------------------------------- demo data, through the containers
cli() { # service [VAR=value ...] arguments: that service's CLI inside its container
  local name="$1" extra=(); shift
  while [[ "${1:-}" =~ ^[A-Z_][A-Z0-9_]*= ]]; do extra+=(-e "$1"); shift; done
  compose exec -T "${extra[@]}" "$name" "$name" "$@"
}
QT_DATABASE_URL="postgres://tessera:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/quotations"
ID_ISSUER_BASE="$PUBLIC_URL" QT_APP_URL="$PUBLIC_URL"   # the issuer and the links: the public URL
QUOTATIONS_PROVIDERS=stub
source "$ROOT/scripts/demo.sh"
demo_seed
demo_finish
chmod 600 "$STATE/demo.json"
stage "demo data seeded"

# ---------------------------------------------------------------- the suites
# The suite through the compose gateway (its events on the stack's RabbitMQ; traces to its
# receiver on OTLP_PORT), then the container faults one at a time (they stop the broker and
# restart the database under everything).
export TEST_AMQP_URL="amqp://tessera:$RABBITMQ_PASSWORD@127.0.0.1:$AMQP_PORT/%2f" COMPOSE_PROJECT="$PROJECT"
status=0
cargo nextest run --locked -p tessera_e2e --run-ignored only --no-fail-fast \
  -E 'binary(platform) | binary(edge_trust) | binary(telemetry)' || status=$?
stage "end-to-end suite through the compose gateway (status $status)"
cargo nextest run --locked -p tessera_e2e --run-ignored only --no-fail-fast --test-threads 1 \
  -E 'binary(compose)' || status=$?
stage "container faults: RabbitMQ stopped under load, PostgreSQL restarted (status $status)"
exit "$status"
