#!/usr/bin/env bash
# Brings up what the test suite talks to, for real: Debian's PostgreSQL (a cluster of our own on
# port 55432), the Docker engine from Debian's docker.io, Debian's docker-registry for image-pull
# tests, and the locally built test images (no registry is reachable). Idempotent: a second run
# only checks that everything is still up.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
STATE_DIR="${TAPIT_TEST_STATE_DIR:-/var/tmp/tapit-test}"
LOG_TAG=test-services
mkdir -p "$STATE_DIR"
. "$here/lib/services.sh"

start_postgres "${TAPIT_TEST_PG_PORT:-55432}" tapit-test
# openssl makes the TLS test's CA and certificate; script(1) (bsdutils) gives CLI tests a terminal;
# zsh runs the zsh completion script (test/cli/completion.test.ts).
apt_install openssl bsdutils zsh
# Debian's Chromium runs the dashboard's browser tests (test/dashboard/, playwright-core; no browser download).
apt_install chromium
if [ "${TAPIT_TEST_SKIP_DOCKER:-}" != 1 ]; then
  start_docker
  apt_install docker-registry
  # test/faults/clock-skew.test.ts runs the agent under a skewed clock.
  apt_install faketime
  bash "$here/build-test-images.sh"
fi
