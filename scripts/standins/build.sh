#!/usr/bin/env bash
# Builds local stand-ins for the third-party images the compose file and the Helm chart name, tagged
# exactly as .env and the chart name them, so both run unchanged on a machine that reaches no image
# registry (CI here). Users pull the real images; see scripts/standins/README.md.
# Usage: scripts/standins/build.sh [NAME…]   NAME: compose (the default), cluster, or one of
#   debian node postgres redis nginx kafka consul prometheus mailpit otel-collector jaeger pause coredns
# An image is rebuilt only when its inputs changed (their hash is its platform.standin label).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
HERE=$ROOT/scripts/standins
cd "$ROOT"

env_of() { sed -n "s/^$1=//p" "$ROOT/.env"; }
tag_of() { local ref=$1; echo "${ref##*:}"; }

declare -A REF=(
  [debian]=debian:bookworm-slim
  [node]=$(env_of NODE_BASE_IMAGE)
  [postgres]=$(env_of POSTGRES_IMAGE)
  [redis]=$(env_of REDIS_IMAGE)
  [nginx]=$(env_of NGINX_IMAGE)
  [kafka]=$(env_of KAFKA_IMAGE)
  [consul]=$(env_of CONSUL_IMAGE)
  [prometheus]=$(env_of PROMETHEUS_IMAGE)
  [mailpit]=$(env_of MAILPIT_IMAGE)
  [otel-collector]=$(env_of OTEL_COLLECTOR_IMAGE)
  [jaeger]=$(env_of JAEGER_IMAGE)
  [pause]=$PAUSE_IMAGE
  [coredns]=$COREDNS_IMAGE
)
COMPOSE=(debian node postgres redis nginx kafka consul prometheus mailpit otel-collector jaeger)
CLUSTER=(debian node postgres redis nginx kafka consul prometheus mailpit pause coredns)

# ref NAME — the image reference a stand-in is tagged with (for other scripts: `build.sh ref kafka`).
if [ "${1:-}" = ref ]; then echo "${REF[$2]:?unknown stand-in $2}"; exit 0; fi

names=()
for arg in "${@:-compose}"; do
  case $arg in
    compose) names+=("${COMPOSE[@]}") ;;
    cluster) names+=("${CLUSTER[@]}") ;;
    *) [ -n "${REF[$arg]:-}" ] || die "unknown stand-in '$arg' (compose, cluster, or one of: ${!REF[*]})"; names+=("$arg") ;;
  esac
done
mapfile -t names < <(printf '%s\n' "${names[@]}" | awk '!seen[$0]++')

bash "$ROOT/scripts/docker/engine.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# same_version WHAT WANTED ACTUAL — a stand-in must carry the version its tag names.
# pinned MODULE DIR — the version of MODULE that the wrapper module scripts/infra/DIR requires.
pinned() { sed -n "s#^[[:space:]]*\(require \)\{0,1\}$1 \(v[^ ]*\).*#\2#p" "$ROOT/scripts/infra/$2/go.mod" | head -1; }

same_version() { [ "$2" = "$3" ] || die "$1: the image tag names $2 but the stand-in would carry $3: align .env and scripts/infra/versions.env"; }

# The Debian rootfs every other stand-in starts from: debootstrap (minbase), slimmed as
# debian:bookworm-slim is, with the security and updates suites, trusting the CAs this machine
# trusts (an egress proxy that inspects TLS, here) so apt and npm work inside builds.
build_debian() {
  local ref=${REF[debian]} mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local hash; hash=$( (echo "debootstrap minbase bookworm $mirror v1"; cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true) | sha256sum | cut -c1-16)
  [ "$(docker image inspect -f '{{index .Config.Labels "platform.standin"}}' "$ref" 2>/dev/null)" = "$hash" ] && return 0
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/setup.sh"
  local rootfs=$WORK/debian
  step "stand-in $ref: debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$LOGS/standin-debian.log" 2>&1 \
    || { tail -n 20 "$LOGS/standin-debian.log" >&2; die "debootstrap failed (log: $LOGS/standin-debian.log)"; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$mirror" "$mirror" "${mirror%/debian}/debian" > "$rootfs/etc/apt/sources.list"
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  # What debian:bookworm-slim leaves out: docs (copyrights stay), man pages, locales, apt lists, logs.
  find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL platform.standin=$hash org.opencontainers.image.description=\"stand-in for $ref: Debian 12 from debootstrap (CI only)\"" \
    --change 'CMD ["bash"]' - "$ref" >/dev/null
}

# Each prepare_NAME fills the build context $ctx (a copy of scripts/standins/NAME) with what its
# Dockerfile copies.
prepare_node() {
  same_version node "$(tag_of "${REF[node]}" | cut -d- -f1)" "$NODE_VERSION"
  local node_bin; node_bin=$(command -v node)
  [ -x "$TOOLS/node/bin/node" ] && node_bin=$TOOLS/node/bin/node
  same_version node "$NODE_VERSION" "$("$node_bin" -p process.versions.node)"
  install -m 0755 "$node_bin" "$ctx/node" && strip --strip-debug "$ctx/node"
  local npm_version=${NPM_VERSION:-11.21.2} tgz=$CACHE/npm/npm-${NPM_VERSION:-11.21.2}.tgz
  if [ ! -f "$tgz" ]; then
    mkdir -p "$CACHE/npm" && (cd "$CACHE/npm" && npm pack --silent "npm@$npm_version" >/dev/null)
  fi
  mkdir -p "$ctx/npm" && tar -xzf "$tgz" -C "$ctx/npm" --strip-components=1
  BUILD_ARGS+=(--build-arg "NODE_VERSION=$NODE_VERSION")
  compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null \
    && BUILD_ARGS+=(--build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  return 0
}
prepare_postgres() { :; }
prepare_redis() { :; }
prepare_nginx() { :; }
prepare_kafka() {
  same_version kafka "$(tag_of "${REF[kafka]}")" "$KAFKA_VERSION"
  local libs=$TOOLS/kafka/$KAFKA_VERSION/libs
  [ -f "$libs/kafka-tools-$KAFKA_VERSION.jar" ] || die "the Kafka $KAFKA_VERSION jars are missing: run scripts/setup.sh"
  cp -a "$libs" "$ctx/libs"
}
prepare_consul() {
  same_version consul "$(tag_of "${REF[consul]}")" "$CONSUL_VERSION"
  cp "$TOOLS/consul/$CONSUL_VERSION/consul" "$ctx/consul" || die "Consul is not built: run scripts/setup.sh"
}
prepare_prometheus() {
  same_version prometheus "$(tag_of "${REF[prometheus]}")" "v$PROMETHEUS_VERSION"
  cp "$TOOLS/prometheus/$PROMETHEUS_VERSION/"{prometheus,promtool} "$ctx/" || die "Prometheus is not built: run scripts/setup.sh"
}
prepare_mailpit() {
  local version; version=$(tag_of "${REF[mailpit]}")
  same_version mailpit "$version" "$(pinned github.com/axllent/mailpit mailpit)"
  cp "$(mailpit_build "$version")/mailpit" "$ctx/mailpit"
}
prepare_otel-collector() {
  local version; version=$(tag_of "${REF[otel-collector]}")
  same_version otel-collector "${version%.*}" "$(sed -n 's#.*otlpreceiver v\([0-9.]*\)\.[0-9]*$#\1#p' "$HERE/otel-collector/builder-config.yaml")"
  cp "$(otelcol_build)/otelcol-contrib" "$ctx/otelcol-contrib"
}
prepare_jaeger() {
  # Jaeger v2.N's Go module version is v1.(N+63): v2.12.0 is v1.75.0.
  local version; version=$(tag_of "${REF[jaeger]}")
  local minor=${version#2.}; minor=${minor%%.*}
  same_version jaeger "v1.$((minor + 63)).${version##*.}" "$(pinned github.com/jaegertracing/jaeger jaeger)"
  local dir; dir=$(GO_TOOL_ENV=CGO_ENABLED=0 go_tool jaeger "$version" jaeger \
    -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v$version" \
    github.com/jaegertracing/jaeger/cmd/jaeger)
  cp "$dir/jaeger" "$ctx/jaeger"
}
prepare_pause() {
  local src; src=$(k8s_source)/build/pause/linux/pause.c
  [ -f "$src" ] || die "no pause.c in k8s.io/kubernetes@v$KUBERNETES_VERSION"
  command -v gcc >/dev/null || die "gcc is needed to build the pause image: run scripts/setup.sh"
  gcc -Os -Wall -Werror -static -DVERSION="v$(tag_of "${REF[pause]}")-platform" -o "$ctx/pause" "$src"
  strip "$ctx/pause"
}
prepare_coredns() {
  same_version coredns "$(tag_of "${REF[coredns]}")" "$(pinned github.com/coredns/coredns coredns)"
  local dir; dir=$(GO_TOOL_ENV=CGO_ENABLED=0 go_tool coredns "$COREDNS_VERSION" coredns -ldflags '-s -w' github.com/coredns/coredns)
  cp "$dir/coredns" "$ctx/coredns"
}

# The Kubernetes release's source tree (the module zip, from the Go module cache).
k8s_source() {
  (cd "$ROOT/scripts/infra/kubernetes" && GOFLAGS=-mod=readonly GOMODCACHE="$CACHE/go/mod" \
    go list -m -f '{{.Dir}}' k8s.io/kubernetes 2>/dev/null) || die "k8s.io/kubernetes is not in the module cache"
}

# Mailpit embeds its web UI, which its module does not carry: build it from its package.json
# (npm ci, esbuild), then the binary, in a writable copy of the module.
mailpit_build() {
  local version=$1 out=$CACHE/bin/mailpit/$1
  [ -x "$out/mailpit" ] && { echo "$out"; return 0; }
  step "mailpit: building $version (web UI with npm, then Go) once per machine"
  local src
  src=$(cd "$ROOT/scripts/infra/mailpit" && GOFLAGS=-mod=readonly GOMODCACHE="$CACHE/go/mod" \
    go mod download -json github.com/axllent/mailpit | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [ -d "$src" ] || die "could not fetch github.com/axllent/mailpit $version"
  local tree=$WORK/mailpit-src
  cp -r "$src" "$tree" && chmod -R u+w "$tree"
  (cd "$tree" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && npm run package) \
    >"$LOGS/mailpit-ui-build.log" 2>&1 \
    || { tail -n 20 "$LOGS/mailpit-ui-build.log" >&2; die "building Mailpit's web UI failed (log: $LOGS/mailpit-ui-build.log)"; }
  mkdir -p "$out"
  (cd "$tree" && GOFLAGS=-mod=readonly GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$version" -o "$out/mailpit" .) \
    >"$LOGS/mailpit-build.log" 2>&1 \
    || { rm -rf "$out"; tail -n 20 "$LOGS/mailpit-build.log" >&2; die "building Mailpit failed (log: $LOGS/mailpit-build.log)"; }
  echo "$out"
}

# The collector: the OpenTelemetry Collector Builder (pinned by scripts/infra/otelcol-builder)
# generates a distribution from builder-config.yaml and compiles it.
otelcol_build() {
  local config=$HERE/otel-collector/builder-config.yaml
  local hash; hash=$(cat "$config" "$ROOT/scripts/infra/otelcol-builder/go.sum" | sha256sum | cut -c1-12)
  local out=$CACHE/bin/otelcol-contrib/$hash
  [ -x "$out/otelcol-contrib" ] && { echo "$out"; return 0; }
  local builder; builder=$(go_tool otelcol-builder "$OTELCOL_BUILDER_VERSION" otelcol-builder -ldflags '-s -w' go.opentelemetry.io/collector/cmd/builder)
  step "otel-collector: generating and building the distribution once per machine"
  mkdir -p "$WORK/otelcol"
  cp "$config" "$WORK/otelcol/"
  (cd "$WORK/otelcol" && GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" CGO_ENABLED=0 GOFLAGS=-trimpath \
    "$builder/builder" --config builder-config.yaml --ldflags '-s -w') >"$LOGS/otelcol-build.log" 2>&1 \
    || { tail -n 20 "$LOGS/otelcol-build.log" >&2; die "building the collector failed (log: $LOGS/otelcol-build.log)"; }
  mkdir -p "$out" && cp "$WORK/otelcol/build/otelcol-contrib" "$out/"
  echo "$out"
}

build_image() {
  local name=$1 ref=${REF[$1]}
  if [ "$name" = debian ]; then build_debian; return; fi
  local ctx=$WORK/ctx-$name t0=$SECONDS
  BUILD_ARGS=(--build-arg "DEBIAN_IMAGE=${REF[debian]}")
  rm -rf "$ctx" && cp -r "$HERE/$name" "$ctx"
  "prepare_$name"
  # The inputs: the context (files, modes, contents), the build arguments and the base image.
  local hash
  hash=$( (tar -C "$ctx" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . ; \
    printf '%s\n' "${BUILD_ARGS[@]}" "$ref"; docker image inspect -f '{{.Id}}' "${REF[debian]}") | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "platform.standin"}}' "$ref" 2>/dev/null)" = "$hash" ]; then
    say "stand-in $ref: up to date"
    return 0
  fi
  step "stand-in $ref"
  DOCKER_BUILDKIT=0 docker build -q "${BUILD_ARGS[@]}" --label "platform.standin=$hash" -t "$ref" "$ctx" \
    >"$LOGS/standin-$name.log" 2>&1 \
    || { tail -n 30 "$LOGS/standin-$name.log" >&2; die "building the $name stand-in failed (log: $LOGS/standin-$name.log)"; }
  say "stand-in $ref: built in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

for name in "${names[@]}"; do build_image "$name"; done
prune_images
