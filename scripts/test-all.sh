#!/usr/bin/env bash
# The whole suite on two Node lines at once: this machine's Node (`npm test`, through Nx) and
# Node 24 (`npm run test:node24`), on the same services and the same build. They run side by side
# because most of the suite waits (on processes, containers, Postgres), not computes: the second
# line starts with the whole-system tests while the first is in the CPU-bound unit suites, and the
# other way round after. Each line's output is kept apart and printed whole when both are done.
#
# Both lines run every unit suite and every whole-system test but two folders, each run on one
# line only (TAPIT_SYSTEM_TESTS_SKIP, test/vitest.config.ts): the browser tests (test/dashboard)
# on this machine's Node, the fuzzers (test/fuzz) on Node 24, the container images' line. They
# test the browser and hostile input rather than the Node underneath, and are the costliest
# folders: run twice, they took the whole run over its 40-minute budget on 2 cores.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
bash scripts/test-services.sh || exit 1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
started=$(date +%s)
run() {
  local name=$1
  shift
  "$@" >"$logs/$name.log" 2>&1
  local code=$?
  echo "[test-all] $name: exit code $code after $(($(date +%s) - started)) s"
  return $code
}
run "node-$(node --version)" env TAPIT_SYSTEM_TESTS_SKIP=fuzz npm test &
first=$!
run node-24 env TAPIT_SYSTEM_TESTS_SKIP=dashboard npm run test:node24 &
second=$!
wait $first
first_code=$?
wait $second
second_code=$?
for log in "$logs"/*.log; do
  echo "===== $(basename "$log" .log) ====="
  cat "$log"
done
[ $first_code -eq 0 ] && [ $second_code -eq 0 ]
