#!/usr/bin/env bash
# Runs each named workspace's tests in the order given, all of them even after a failure, and
# fails if any failed. CI's second Node line runs the built code this way, beside the first pass:
# the whole-system tests (waiting on processes and containers) first, while the first pass is
# busy with the CPU-bound unit suites, so the two passes overlap instead of queueing.
set -uo pipefail
failed=()
for workspace in "$@"; do
  echo "[test-workspaces] $workspace on $(node --version)"
  npm test --workspace "$workspace" || failed+=("$workspace")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "[test-workspaces] failed: ${failed[*]}" >&2
  exit 1
fi
