#!/usr/bin/env bash
# The platform on a local kind cluster: create the cluster if missing (k8s/kind-config.yaml maps
# the edge to localhost:8080), build the images, load them into the node, install the chart with
# the kind profile, wait for every rollout, and smoke-test through the edge.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/k8s/common.sh"
require docker kind kubectl helm curl || exit 1
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (scripts/docker/engine.sh start)"

if ! kind get clusters 2>/dev/null | grep -qx platform; then
  step "kind: creating cluster platform"
  kind create cluster --config "$ROOT/k8s/kind-config.yaml" --wait 120s
fi
kubectl config use-context kind-platform >/dev/null
step "images: building"
bash "$ROOT/scripts/docker/images.sh" "${IMAGES[@]}"
for image in "${IMAGES[@]}"; do kind load docker-image "platform/$image:dev" --name platform; done
step "helm: installing $RELEASE into $NAMESPACE (kind profile)"
helm_install kind
wait_rollouts
smoke "http://127.0.0.1:8080"
say "kind: the platform is at http://localhost:8080 (API docs: /api/docs). Tear down: scripts/kind-down.sh"
