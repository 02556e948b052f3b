# syntax=docker/dockerfile:1
# Every service's image; the service is a build argument. From the repository root:
#   docker build --build-arg SERVICE=catalog -t platform/catalog .
# BASE_IMAGE is the official Node image, pinned; scripts/docker/images.sh passes a local stand-in.
ARG BASE_IMAGE=node:24.22.3-bookworm-slim
# The build stage's image: the base itself by default. Its output (JavaScript, production
# node_modules with nothing native) is the same on every architecture, so an arm64 image can be
# built with this machine's Node here and the arm64 base below (scripts/docker/arm64.sh).
ARG BUILD_IMAGE=${BASE_IMAGE}
ARG SERVICE

FROM ${BUILD_IMAGE} AS build
ARG SERVICE
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true CI=true
COPY . .
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
# The service (its manifest must exist) and the libs it uses, compiled by the workspace build (tsc through Nx).
RUN test -f "services/${SERVICE}/service.json" || { echo "SERVICE=${SERVICE}: no services/${SERVICE}/service.json" >&2; exit 1; } \
 && npx nx run "${SERVICE}:build" --output-style=stream
# Production dependencies of this service only, then only what runs: manifests, dist, SQL,
# templates, and the dependencies npm nested under a workspace (a version the root can't share).
RUN rm -rf node_modules \
 && npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error \
 && node scripts/docker/prune.mjs "services/${SERVICE}" \
 && mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for dir in libs/* "services/${SERVICE}"; do \
      [ -d "$dir/dist" ] || continue; \
      mkdir -p "/out/$dir" && cp -a "$dir/package.json" "$dir/dist" "/out/$dir/"; \
      for extra in service.json migrations templates node_modules; do [ -e "$dir/$extra" ] && cp -a "$dir/$extra" "/out/$dir/"; done; \
    done; true

FROM ${BASE_IMAGE}
ARG SERVICE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="platform-${SERVICE}" \
      org.opencontainers.image.description="The ${SERVICE} service of the TypeScript microservices reference platform" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/platform/platform"
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=0:0 /out/ ./
WORKDIR /app/services/${SERVICE}
# Nothing is written to the image at run time: it runs with a read-only root filesystem.
USER 1000:1000
# The probe is bash's /dev/tcp: a second Node process would take ~40 MiB of a small container's limit.
# The port is PORT, else the one in the service's manifest (the service's own default).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "port=${PORT:-$(sed -n 's/^ *\"port\": *\\([0-9]*\\).*/\\1/p' service.json)}; exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /health/live HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Node is PID 1 (exec form, no shell): SIGTERM reaches it and the service's graceful shutdown runs.
CMD ["node", "--import", "@platform/service/instrumentation", "dist/server.js"]
