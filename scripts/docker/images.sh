#!/usr/bin/env bash
# Builds every service image on the local Docker engine, from the repository root with the one
# Dockerfile (SERVICE as a build argument), on the Node base image .env names — here its local stand-in
# (scripts/standins), since the official Node image can't be pulled. Prints each image's size and writes them to
# bench-results/images-latest.json, and each image's SBOM to dist/sbom/platform-<service>.cdx.json.
# `edge` is the edge's image: NGINX with the web app (apps/web/Dockerfile).
# Usage: scripts/docker/images.sh [SERVICE…|edge]   (none: every service and the edge)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$ROOT"

SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || { mapfile -t SERVICES < <(service_names); SERVICES+=(edge); }
bash scripts/docker/engine.sh
bash scripts/standins/build.sh debian node
BASE=$(bash scripts/standins/build.sh ref node)
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
TAG=${IMAGE_TAG:-dev}
mkdir -p "$ROOT/bench-results" "$ROOT/dist/sbom"
sizes=()
for service in "${SERVICES[@]}"; do
  t0=$SECONDS
  step "image: platform/$service:$TAG"
  # The legacy builder: Debian's engine has no buildx, and the Dockerfiles need nothing BuildKit adds.
  if [ "$service" = edge ]; then
    # NGINX (its stand-in here) with the web app's files.
    bash scripts/standins/build.sh nginx
    args=(-f apps/web/Dockerfile --build-arg "NGINX_IMAGE=$(bash scripts/standins/build.sh ref nginx)")
  else
    [ -f "services/$service/service.json" ] || die "no services/$service/service.json"
    args=(--build-arg "SERVICE=$service")
  fi
  DOCKER_BUILDKIT=0 docker build -q "${args[@]}" --build-arg "BASE_IMAGE=$BASE" \
    --build-arg "REVISION=$REVISION" -t "platform/$service:$TAG" . >"$LOGS/image-$service.log" 2>&1 \
    || { tail -n 30 "$LOGS/image-$service.log" >&2; die "building platform/$service failed (log: $LOGS/image-$service.log)"; }
  bytes=$(docker image inspect -f '{{.Size}}' "platform/$service:$TAG")
  say "image: platform/$service:$TAG — $(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }') ($((SECONDS - t0)) s)"
  workspace=services/$service
  if [ "$service" = edge ]; then workspace=apps/web; else sizes+=("\"$service\": $bytes"); fi
  # Its CycloneDX SBOM: the service's production dependency tree, from the lockfile the image
  # installs from. npm ls reports an error for a peer range a nested @opentelemetry/core declares
  # (@fastify/otel's), which the tree satisfies at run time: it is ignored, not the packages.
  cyclonedx-npm --workspace "$workspace" --omit dev --ignore-npm-errors --output-reproducible \
    --output-format JSON --output-file "$ROOT/dist/sbom/platform-$service.cdx.json" >"$LOGS/sbom-$service.log" 2>&1 \
    || { tail -n 20 "$LOGS/sbom-$service.log" >&2; die "the SBOM of platform/$service failed (log: $LOGS/sbom-$service.log)"; }
done
printf '{ "base": "%s", "goalBytes": 250000000, "sizes": { %s } }\n' "$BASE" "$(IFS=,; echo "${sizes[*]}")" \
  > "$ROOT/bench-results/images-latest.json"
prune_images
