#!/usr/bin/env bash
# Runs a workspace tool with the project's Node 24 first on PATH (the host's may be older), in
# the caller's directory. Usage: scripts/run.sh TOOL [ARGS...]   e.g. scripts/run.sh eslint .
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Node 24 and node_modules are all a tool needs; fetch them if this is a fresh clone.
if [ ! -d "$ROOT/node_modules" ] || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 24 ]; then
  bash "$ROOT/scripts/setup.sh" node && source "$ROOT/scripts/lib.sh"
fi
if [ "${1:-}" = eslint ]; then
  # The Nx boundary rule silently skips itself when no project graph is cached: build it first.
  (cd "$ROOT" && NX_DAEMON=false nx show projects >/dev/null)
fi
exec "$@"
