#!/usr/bin/env bash
# The real compose file, run the way a user runs it (`docker compose up`), on this machine's Docker
# engine with the Compose v2 plugin and local stand-ins for the third-party images (CI here reaches
# no image registry; scripts/standins). Grafana can't be built here, so it is left out of the run.
# Usage: scripts/compose.sh up|down|stats
#   up     stand-ins, service images (docker compose build), `docker compose up --wait`, then the
#          time to healthy and each container's memory against its limit (bench-results/compose-latest.json)
#   down   `docker compose down -v`, then checks nothing of the project is left
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
# The Compose v2 plugin scripts/setup.sh deploy builds lives in .tools/docker/cli-plugins.
export DOCKER_CONFIG=$TOOLS/docker
PROJECT=$(sed -n 's/^COMPOSE_PROJECT_NAME=//p' .env)
LEFT_OUT=(grafana)

# Compose reads variables from the environment before .env: scripts/lib.sh exported the native
# stack's ports (PROMETHEUS_PORT=29090…), which must not move the compose stack's.
compose() {
  local unset=() name
  while IFS='=' read -r name _; do [[ $name =~ ^[A-Z_0-9]+$ ]] && unset+=(-u "$name"); done < "$ROOT/scripts/infra/ports.env"
  env "${unset[@]}" docker compose "$@"
}

services() { compose config --services | grep -vxF -f <(printf '%s\n' "${LEFT_OUT[@]}"); }

cmd_up() {
  docker compose version >/dev/null 2>&1 || die "no Docker Compose v2 plugin: run scripts/setup.sh deploy"
  bash scripts/docker/engine.sh
  bash scripts/standins/build.sh compose
  step "compose: building the service images (docker compose build)"
  local t0=$SECONDS
  # The engine here has no buildx: the classic builder, as scripts/docker/images.sh uses. One
  # build at a time: the four services share their first layers, which the first build caches.
  DOCKER_BUILDKIT=0 COMPOSE_PARALLEL_LIMIT=1 compose build --quiet >"$LOGS/compose-build.log" 2>&1 \
    || { tail -n 30 "$LOGS/compose-build.log" >&2; die "docker compose build failed (log: $LOGS/compose-build.log)"; }
  say "compose: images built ($((SECONDS - t0)) s)"
  mapfile -t wanted < <(services)
  step "compose: up --wait (${wanted[*]})"
  t0=$(date +%s%N)
  compose up --detach --wait --wait-timeout 600 --no-build "${wanted[@]}" >"$LOGS/compose-up.log" 2>&1 \
    || { tail -n 30 "$LOGS/compose-up.log" >&2; compose ps -a >&2; die "docker compose up did not become healthy (log: $LOGS/compose-up.log)"; }
  local healthy_ms=$((($(date +%s%N) - t0) / 1000000))
  say "compose: every container healthy in $((healthy_ms / 1000)).$((healthy_ms % 1000 / 100)) s"
  mkdir -p bench-results
  HEALTHY_MS=$healthy_ms cmd_stats > bench-results/compose-latest.json
}

# Each running container's memory against its limit (docker stats), as JSON, and a table on stderr.
cmd_stats() {
  local rows ids
  mapfile -t ids < <(compose ps -q)
  rows=$(docker stats --no-stream --format '{{.Name}}\t{{.MemUsage}}' "${ids[@]}")
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const bytes = (s) => { const m = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(s.trim()); if (!m) return null
      const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 }[m[2]]; return Math.round(Number(m[1]) * unit) }
    const containers = process.argv[1].trim().split("\n").map((line) => {
      const [name, usage] = line.split("\t"); const [used, limit] = usage.split(" / ")
      return { name, usedBytes: bytes(used), limitBytes: bytes(limit) } }).sort((a, b) => a.name.localeCompare(b.name))
    for (const c of containers) process.stderr.write(`${c.name.padEnd(32)} ${(c.usedBytes / 2 ** 20).toFixed(0).padStart(5)} MiB of ${(c.limitBytes / 2 ** 20).toFixed(0).padStart(5)} MiB (${Math.round(100 * c.usedBytes / c.limitBytes)} %)\n`)
    const total = containers.reduce((s, c) => s + c.usedBytes, 0)
    process.stderr.write(`${"total".padEnd(32)} ${(total / 2 ** 20).toFixed(0).padStart(5)} MiB\n`)
    console.log(JSON.stringify({ measuredAt: new Date().toISOString(), timeToHealthyMs: Number(process.env.HEALTHY_MS) || null, containers }, null, 2))
  ' "$rows"
}

cmd_down() {
  docker info >/dev/null 2>&1 || return 0
  compose down --volumes --remove-orphans --timeout 30 >"$LOGS/compose-down.log" 2>&1 \
    || { tail -n 20 "$LOGS/compose-down.log" >&2; die "docker compose down failed"; }
  local left
  left=$( (docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; \
    docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"; \
    docker network ls -q --filter "label=com.docker.compose.project=$PROJECT") | wc -l)
  [ "$left" = 0 ] || die "compose down left $left containers, volumes or networks of project $PROJECT"
  say "compose: down, nothing of project $PROJECT left"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  stats) cmd_stats ;;
  *) die "usage: scripts/compose.sh up|down|stats" ;;
esac
