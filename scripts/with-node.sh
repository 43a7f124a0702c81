#!/usr/bin/env bash
# Runs a command on another Node line: `scripts/with-node.sh 24 npm test`. Node comes from the npm
# registry's `node` package (it installs the official binary), kept in $TAPIT_NODE_DIR/<line>
# (default ~/.cache/tapit-node: a folder only this user may write) and put first on PATH, so `node`, `npm` and `npx` in the command
# (and every process it starts) run on that line.
set -euo pipefail
line="${1:?usage: with-node.sh LINE COMMAND...}"
shift
dir="${TAPIT_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tapit-node}/$line"
# A binary run from here must be this user's: refuse a folder someone else made.
if [ -e "$dir" ] && [ ! -O "$dir" ]; then
  echo "[with-node] $dir belongs to another user: remove it or set TAPIT_NODE_DIR" >&2
  exit 2
fi
if ! "$dir/node_modules/.bin/node" --version >/dev/null 2>&1; then
  mkdir -p "$dir"
  # The package's install script fetches the binary for this platform.
  npm install --prefix "$dir" --no-audit --no-fund --no-save "node@$line" >&2
fi
export PATH="$dir/node_modules/.bin:$PATH"
echo "[with-node] $(node --version) for: $*" >&2
exec "$@"
