#!/usr/bin/env bash
# Deletes the kind cluster of scripts/kind-up.sh (and everything in it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/k8s/common.sh"
require kind || exit 1
if kind get clusters 2>/dev/null | grep -qx platform; then kind delete cluster --name platform
else say "kind: no cluster named platform"; fi
