#!/usr/bin/env bash
# Runs a workspace tool with the project's Node 24 first on PATH (the host's may be older).
# Usage: scripts/run.sh TOOL [ARGS...]   e.g. scripts/run.sh eslint .
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
[ -d node_modules ] || die "dependencies are not installed: run npm run setup"
if [ "${1:-}" = eslint ]; then
  # The Nx boundary rule silently skips itself when no project graph is cached: build it first.
  NX_DAEMON=false nx show projects >/dev/null
fi
exec "$@"
