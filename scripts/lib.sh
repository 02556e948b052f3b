# shellcheck shell=bash disable=SC2034 # the variables here are for the scripts that source it
# Shared by every script under scripts/: paths, pinned tool versions, default ports and small helpers.
# Sourced, never run. Every port can be overridden from the environment (see README "Ports").

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${PLATFORM_TOOLS_DIR:-$ROOT/.tools}    # everything installed, built, downloaded or stored
DATA=$TOOLS/data
RUN=$TOOLS/run                               # pid files
LOGS=$TOOLS/logs
# What outlives a clone: the Go module and build caches and the programs built from them, so a
# later clone (or CI run) on the same machine reuses them.
CACHE=${PLATFORM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/platform}

NODE_VERSION=$(tr -d ' \nv' < "$ROOT/.nvmrc")
CLUSTER_HOST=127.0.0.1

# Ports (each overridable from the environment) and pinned versions.
while IFS='=' read -r name value; do
  case $name in ''|'#'*) continue ;; esac
  [ -n "${!name:-}" ] || printf -v "$name" '%s' "$value"
  export "${name?}"
done < <(cat "$ROOT/scripts/infra/ports.env" "$ROOT/scripts/infra/versions.env")

# Node 24 from the tools folder wins over an older host Node.
if [ -x "$TOOLS/node/bin/node" ]; then
  PATH="$TOOLS/node/bin:$PATH"
  export npm_config_nodedir="$TOOLS/node"
fi
# Prometheus and promtool built by setup.sh (Debian's lack Consul service discovery).
[ -x "$TOOLS/prometheus/$PROMETHEUS_VERSION/prometheus" ] && PATH="$TOOLS/prometheus/$PROMETHEUS_VERSION:$PATH"
[ -x "$TOOLS/k8s/helm" ] && PATH="$TOOLS/k8s:$PATH"
[ -x "$TOOLS/hadolint/$HADOLINT_VERSION/hadolint" ] && PATH="$TOOLS/hadolint/$HADOLINT_VERSION:$PATH"
[ -x "$TOOLS/actionlint/$ACTIONLINT_VERSION/actionlint" ] && PATH="$TOOLS/actionlint/$ACTIONLINT_VERSION:$PATH"
[ -x "$TOOLS/oasdiff/$OASDIFF_VERSION/oasdiff" ] && PATH="$TOOLS/oasdiff/$OASDIFF_VERSION:$PATH"
[ -x "$TOOLS/vegeta/$VEGETA_VERSION/vegeta" ] && PATH="$TOOLS/vegeta/$VEGETA_VERSION:$PATH"
PATH="$ROOT/node_modules/.bin:$PATH"
export PATH

say() { printf '%s\n' "$*" >&2; }
step() { printf '» %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# The services of this repository, from their manifests (services/<name>/service.json).
# Dangling images: earlier builds of the same tags. Those of the last day stay (the untagged build
# stage is the layer cache the next build reuses) unless the disk is over 80 % full: a full disk
# makes the kubelet and containerd evict images the cluster needs.
prune_images() {
  local used
  used=$(df --output=pcent / | tail -n 1 | tr -dc 0-9)
  if [ "${used:-0}" -ge 80 ]; then
    docker image prune -f >/dev/null 2>&1 || true
  else
    docker image prune -f --filter until=24h >/dev/null 2>&1 || true
  fi
}
service_names() { node "$ROOT/scripts/services.ts" names; }

# wait_for NAME SECONDS CMD... — polls CMD every 0.2 s until it succeeds; fails with NAME's log tail.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      say "error: $name was not ready after ${secs}s; last lines of $LOGS/$name.log:"
      tail -n 20 "$LOGS/$name.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}

# go_tool NAME VERSION MODULE_DIR [go build args…] — builds a program pinned by the wrapper module
# scripts/infra/MODULE_DIR (go.mod + go.sum) into $CACHE/bin/NAME/VERSION-<hash of the module and
# the args>, once per machine, and prints that folder. `-o` is added: the args name packages (and
# -ldflags, -tags…). GO_TOOL_ENV adds environment variables (e.g. "CGO_ENABLED=0").
go_tool() {
  local name=$1 version=$2 module=$ROOT/scripts/infra/$3; shift 3
  command -v go >/dev/null || die "Go is needed to build $name: install Go 1.26 or newer"
  local hash; hash=$(cat "$module/go.mod" "$module/go.sum" <(printf '%s\n' "$@" "${GO_TOOL_ENV:-}") | sha256sum | cut -c1-12)
  local out=$CACHE/bin/$name/$version-$hash
  if [ ! -f "$out/.built" ]; then
    step "$name: building $version with the Go module proxy (once per machine)"
    mkdir -p "$out" "$LOGS"
    local t0=$SECONDS
    # shellcheck disable=SC2086 # GO_TOOL_ENV is a list of NAME=value words
    (cd "$module" && env GOFLAGS=-mod=readonly GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" ${GO_TOOL_ENV:-} \
      go build -trimpath -o "$out/" "$@") >"$LOGS/$name-build.log" 2>&1 \
      || { tail -n 20 "$LOGS/$name-build.log" >&2; die "building $name failed (log: $LOGS/$name-build.log)"; }
    echo "$((SECONDS - t0))" > "$out/.built"
    say "$name: built in $((SECONDS - t0)) s"
  fi
  echo "$out"
}

# port_free PORT — true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/$CLUSTER_HOST/$1") 2>/dev/null; }

# pid_alive NAME — the process in $RUN/NAME.pid runs and is still NAME (not a reused pid).
pid_alive() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null && grep -qa "$1" "/proc/$pid/cmdline"
}

# stop_pid NAME — SIGTERM the process recorded in $RUN/NAME.pid, SIGKILL after 30 s.
stop_pid() {
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if pid_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "$name: did not stop in 30 s, killing"; kill -KILL "$pid"; }
  fi
  rm -f "$RUN/$name.pid"
}
