#!/usr/bin/env bash
# Brings up what the test suite talks to, for real: Debian's PostgreSQL (a cluster of our own on
# port 55432), the Docker engine from Debian's docker.io, and the locally built test images (no
# registry is reachable). Idempotent: a second run only checks that everything is still up.
set -euo pipefail

PG_PORT="${TAPIT_TEST_PG_PORT:-55432}"
PG_CLUSTER=tapit-test
STATE_DIR="${TAPIT_TEST_STATE_DIR:-/var/tmp/tapit-test}"
mkdir -p "$STATE_DIR"

log() { printf '[test-services] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian"
  if [ ! -f "$STATE_DIR/apt-updated" ]; then
    as_root apt-get update -q >"$STATE_DIR/apt.log" 2>&1
    touch "$STATE_DIR/apt-updated"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STATE_DIR/apt.log" 2>&1 \
    || { tail -20 "$STATE_DIR/apt.log"; exit 1; }
}

start_postgres() {
  apt_install postgresql
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$PG_CLUSTER"; then
    log "creating PostgreSQL $version cluster $PG_CLUSTER on port $PG_PORT"
    as_root pg_createcluster "$version" "$PG_CLUSTER" -p "$PG_PORT" >/dev/null
    # Tests create and drop many databases; durability buys nothing here.
    as_root pg_conftool "$version" "$PG_CLUSTER" set fsync off
    as_root pg_conftool "$version" "$PG_CLUSTER" set synchronous_commit off
    as_root pg_conftool "$version" "$PG_CLUSTER" set max_connections 300
  fi
  if ! pg_lsclusters -h | awk -v c="$PG_CLUSTER" '$2 == c {print $4}' | grep -qx online; then
    log "starting PostgreSQL cluster $PG_CLUSTER"
    as_root pg_ctlcluster "$version" "$PG_CLUSTER" start
  fi
  as_root su postgres -c "psql -q -p $PG_PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'tapit'\"" | grep -q 1 \
    || as_root su postgres -c "psql -q -p $PG_PORT -c \"CREATE ROLE tapit LOGIN SUPERUSER PASSWORD 'tapit'\""
  log "PostgreSQL ready: postgres://tapit:tapit@127.0.0.1:$PG_PORT/postgres"
}

start_docker() {
  apt_install docker.io busybox-static docker-registry
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: $STATE_DIR/dockerd.log)"
    # No bridge and no iptables: task containers in tests use network none or host.
    as_root sh -c "nohup dockerd --bridge=none --iptables=false >'$STATE_DIR/dockerd.log' 2>&1 &"
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -20 "$STATE_DIR/dockerd.log"; exit 1; }
  fi
  log "Docker ready: $(docker version --format '{{.Server.Version}}')"
}

build_test_images() {
  bash "$(dirname "$0")/build-test-images.sh"
}

start_postgres
if [ "${TAPIT_TEST_SKIP_DOCKER:-}" != 1 ]; then
  start_docker
  build_test_images
fi
