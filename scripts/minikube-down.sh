#!/usr/bin/env bash
# Deletes the minikube profile of scripts/minikube-up.sh (and everything in it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/k8s/common.sh"
# shellcheck source=../k8s/minikube.env
source "$ROOT/k8s/minikube.env"
require minikube || exit 1
minikube delete -p "$MINIKUBE_PROFILE"
