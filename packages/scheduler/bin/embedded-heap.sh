#!/bin/sh
# Runs its arguments (the scheduler) with a 1 MB young generation when the scheduler uses its
# embedded database: V8's default lets it grow to 3 x 16 MB, a third of a small server's budget
# for an idle scheduler (docs/benchmarks.md, "Memory of the embedded scheduler"). glibc's malloc
# is kept to two arenas (its default is 8 per core, each keeping what it once held: 4–6 MB more
# idle); a MALLOC_ARENA_MAX of the caller's wins. On Postgres (TAPIT_DATABASE_URL set) nothing
# changes: a busy scheduler collects less often with the default.
# Used by the container image, the systemd unit and the quick start.
if [ -z "${TAPIT_DATABASE_URL:-}" ]; then
  export NODE_OPTIONS="--max-semi-space-size=1${NODE_OPTIONS:+ $NODE_OPTIONS}"
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
fi
exec "$@"
