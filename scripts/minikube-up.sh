#!/usr/bin/env bash
# The platform on minikube (settings in k8s/minikube.env): start the profile if needed, build the
# images, `minikube image load` them, install the chart with the minikube profile, wait for every
# rollout, and smoke-test through the edge (`minikube service edge --url`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/k8s/common.sh"
# shellcheck source=../k8s/minikube.env
source "$ROOT/k8s/minikube.env"
require docker minikube kubectl helm curl || exit 1

if ! minikube status -p "$MINIKUBE_PROFILE" >/dev/null 2>&1; then
  step "minikube: starting profile $MINIKUBE_PROFILE"
  minikube start -p "$MINIKUBE_PROFILE" --cpus "$MINIKUBE_CPUS" --memory "$MINIKUBE_MEMORY" \
    --cni "$MINIKUBE_CNI" --kubernetes-version "$MINIKUBE_KUBERNETES_VERSION"
fi
kubectl config use-context "$MINIKUBE_PROFILE" >/dev/null
step "images: building"
bash "$ROOT/scripts/docker/images.sh" "${IMAGES[@]}"
for image in "${IMAGES[@]}"; do minikube -p "$MINIKUBE_PROFILE" image load "platform/$image:dev"; done
step "helm: installing $RELEASE into $NAMESPACE (minikube profile)"
helm_install minikube
wait_rollouts
edge=$(minikube -p "$MINIKUBE_PROFILE" service edge -n "$NAMESPACE" --url | head -n 1)
smoke "$edge"
say "minikube: the platform is at $edge (API docs: /api/docs). Tear down: scripts/minikube-down.sh"
