#!/usr/bin/env bash
# Brings tapit up on its zero-setup defaults and runs a task end to end: the scheduler on its
# embedded database, one agent on the local Docker engine, and `tapit create task --wait`.
# Everything lives in .tapit/quickstart; both processes stop at the end unless --keep is given.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
STATE_DIR="$root/.tapit/quickstart"
LOG_TAG=quickstart
mkdir -p "$STATE_DIR"
. "$root/scripts/lib/services.sh"
keep=false
[ "${1:-}" = --keep ] && keep=true

[ -x node_modules/.bin/nx ] || npm ci --no-audit --no-fund
npm run --silent build >/dev/null
start_docker
bash scripts/build-test-images.sh

# Secrets of this installation, made once and kept with it.
[ -f "$STATE_DIR/tokens" ] || {
  printf 'ADMIN_TOKEN=%s\nJOIN_TOKEN=%s\n' "$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)" "$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)" >"$STATE_DIR/tokens"
  chmod 600 "$STATE_DIR/tokens"
}
. "$STATE_DIR/tokens"
port="${TAPIT_PORT:-7700}"
export TAPIT_URL="http://127.0.0.1:$port" TAPIT_TOKEN="$ADMIN_TOKEN"

pids=()
cleanup() {
  $keep && return
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

log "starting tapit-scheduler on $TAPIT_URL (embedded database in $STATE_DIR/scheduler)"
# Made by an earlier quick start with the default umask: the scheduler now refuses a folder others may read.
if [ -d "$STATE_DIR/scheduler" ]; then chmod 700 "$STATE_DIR/scheduler"; fi
TAPIT_DATA_DIR="$STATE_DIR/scheduler" TAPIT_PORT="$port" TAPIT_BOOTSTRAP_TOKEN="$ADMIN_TOKEN" TAPIT_AGENT_JOIN_TOKEN="$JOIN_TOKEN" \
  packages/scheduler/bin/embedded-heap.sh node_modules/.bin/tapit-scheduler >"$STATE_DIR/scheduler.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "$TAPIT_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$STATE_DIR/scheduler.log"; exit 1; }
  sleep 0.25
done

log "starting tapit-agent (task containers on network ${TAPIT_AGENT_NETWORK:-none})"
TAPIT_SCHEDULER_URL="$TAPIT_URL" TAPIT_AGENT_TOKEN="$JOIN_TOKEN" TAPIT_AGENT_NAME=quickstart \
  TAPIT_AGENT_STATE_DIR="$STATE_DIR/agent" TAPIT_AGENT_NETWORK="${TAPIT_AGENT_NETWORK:-none}" \
  node_modules/.bin/tapit-agent >"$STATE_DIR/agent.log" 2>&1 &
pids+=($!)

tapit=node_modules/.bin/tapit
$tapit list apps --json | grep -q '"name":"demo"' || $tapit create app demo image=tapit-test/busybox:latest
log "running: tapit create task 'echo Hello from tapit; uname -sr' --wait -a demo"
$tapit create task 'echo Hello from tapit; uname -sr' --wait -a demo
$tapit list tasks -a demo

if $keep; then
  log "still running (scheduler pid ${pids[0]}, agent pid ${pids[1]}); use: export TAPIT_URL=$TAPIT_URL TAPIT_TOKEN=$ADMIN_TOKEN"
  log "dashboard: $TAPIT_URL/ (sign in with the token in $STATE_DIR/tokens, ADMIN_TOKEN)"
else
  log "done; run with --keep to leave the scheduler and agent running"
fi
