# shellcheck shell=bash disable=SC2034 # the names here are for the scripts that source it
# Shared by scripts/kind-up.sh, kind-down.sh, minikube-up.sh and minikube-down.sh.
NAMESPACE=${PLATFORM_NAMESPACE:-platform}
RELEASE=${PLATFORM_RELEASE:-platform}
CHART=$ROOT/helm/platform
mapfile -t IMAGES < <(service_names) # one image per service manifest, and the edge's
IMAGES+=(edge)

# require TOOL… — every tool is on PATH, or one message naming all the missing ones and where to get them.
require() {
  local missing=() tool
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "error: missing: ${missing[*]}"
  for tool in "${missing[@]}"; do
    case $tool in
      docker) say "  docker: a Docker engine (Debian: apt-get install docker.io)" ;;
      kind) say "  kind: go install sigs.k8s.io/kind@v0.33.0" ;;
      minikube) say "  minikube: https://minikube.sigs.k8s.io/docs/start/" ;;
      kubectl) say "  kubectl: https://kubernetes.io/docs/tasks/tools/" ;;
      helm) say "  helm: scripts/setup.sh builds it into .tools/ (or https://helm.sh/docs/intro/install/)" ;;
      *) say "  $tool" ;;
    esac
  done
  return 1
}

# The development token issuer's key for the cluster (made once, kept in .tools/data).
dev_signing_key() {
  local key=$DATA/dev-signing-key.json
  [ -s "$key" ] || bash "$ROOT/scripts/platform.sh" keygen >/dev/null
  echo "$key"
}

helm_install() {
  local profile=$1; shift
  kubectl apply -f "$ROOT/k8s/namespace.yaml"
  helm upgrade --install "$RELEASE" "$CHART" --namespace "$NAMESPACE" \
    -f "$CHART/values-$profile.yaml" --set-file "devSigningKey=$(dev_signing_key)" --wait --wait-for-jobs --timeout 10m "$@"
}

wait_rollouts() {
  local kind name
  for kind in deployment statefulset; do
    for name in $(kubectl -n "$NAMESPACE" get "$kind" -o name); do
      kubectl -n "$NAMESPACE" rollout status "$name" --timeout=5m
    done
  done
}

# The smoke test through the edge: health, a catalog read, a token, an order listing.
smoke() {
  local edge=$1 token
  curl -fsS "$edge/edge/health" >/dev/null || { say "error: the edge does not answer at $edge"; return 1; }
  curl -fsS "$edge/api/v1/products?limit=1" >/dev/null || { say "error: GET /api/v1/products failed"; return 1; }
  token=$(curl -fsS -X POST "$edge/api/v1/auth/token" -H 'content-type: application/json' \
    -d '{"username":"alice","password":"demo"}' | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || { say "error: no demo token"; return 1; }
  curl -fsS -H "authorization: Bearer $token" "$edge/api/v1/orders" >/dev/null || { say "error: GET /api/v1/orders failed"; return 1; }
  say "smoke: the platform answers through the edge at $edge"
}
