#!/usr/bin/env bash
# The local infrastructure stack as real processes on 127.0.0.1: PostgreSQL, Redis, Kafka, Consul,
# NGINX and Prometheus. Usage: scripts/infra.sh up|down|status|reset [component...]
# (npm run infra:up / infra:down / infra:status / infra:reset). Data, logs and pids live in .tools/.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=infra/postgres.sh disable=SC1090 # each component's start/stop/ready functions
for c in postgres redis kafka consul nginx prometheus; do source "$ROOT/scripts/infra/$c.sh"; done

ALL=(postgres redis kafka consul nginx prometheus)
declare -A PORT=([postgres]=PG_PORT [redis]=REDIS_PORT [kafka]=KAFKA_PORT [consul]=CONSUL_PORT
                 [nginx]=NGINX_PORT [prometheus]=PROMETHEUS_PORT)
declare -A NEEDS=([postgres]="$PG_BIN/postgres" [redis]=redis-server [kafka]=java [consul]="$CONSUL_BIN"
                  [nginx]=nginx [prometheus]=prometheus)

port_of() { local v=${PORT[$1]}; echo "${!v}"; }

start_one() {
  local c=$1 port; port=$(port_of "$c")
  # A server already running gets what was added since it started (a new service's database, topics).
  if pid_alive "$c" && declare -F "${c}_ensure" >/dev/null; then "${c}_ensure" || true; fi
  if pid_alive "$c" && "${c}_ready"; then say "$c: already running on $CLUSTER_HOST:$port"; return 0; fi
  command -v "${NEEDS[$c]}" >/dev/null 2>&1 || [ -x "${NEEDS[$c]}" ] \
    || { say "error: $c needs ${NEEDS[$c]}, which is missing: run scripts/setup.sh"; return 1; }
  pid_alive "$c" && { say "$c: running but not ready, restarting"; "${c}_stop"; }
  port_free "$port" || { say "error: $c: port $port is taken by another process: stop it, or set ${PORT[$c]} to a free port"; return 1; }
  local t0=$SECONDS
  "${c}_start" || { say "error: $c failed to start; see $LOGS/$c.log"; return 1; }
  say "$c: ready on $CLUSTER_HOST:$port ($((SECONDS - t0)) s)"
}

cmd_up() {
  mkdir -p "$DATA" "$RUN" "$LOGS"
  local t0=$SECONDS c failed=0
  declare -A jobs=()
  # Independent servers start side by side; each waits for its own readiness probe.
  for c in "$@"; do start_one "$c" & jobs[$c]=$!; done
  for c in "$@"; do wait "${jobs[$c]}" || failed=1; done
  [ $failed = 0 ] || { say "infra: not every server started (logs in $LOGS)"; return 1; }
  say "infra: up in $((SECONDS - t0)) s"
}

cmd_down() {
  local c
  for c in "$@"; do
    if pid_alive "$c" || [ "$c" = postgres ]; then "${c}_stop"; fi
    rm -f "$RUN/$c.pid"
  done
  say "infra: stopped $*"
}

cmd_status() {
  local c state rc=0
  printf '%-11s %-8s %-22s %s\n' SERVER PID ADDRESS STATE
  for c in "$@"; do
    if ! pid_alive "$c"; then state=stopped; rc=1
    elif "${c}_ready"; then state=healthy
    else state=unhealthy; rc=1; fi
    printf '%-11s %-8s %-22s %s\n' "$c" "$(cat "$RUN/$c.pid" 2>/dev/null || echo -)" "$CLUSTER_HOST:$(port_of "$c")" "$state"
  done
  return $rc
}

cmd_reset() { cmd_down "${ALL[@]}"; rm -rf "$DATA" ; say "infra: data wiped ($DATA)"; }

action=${1:-}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for c in "${targets[@]}"; do [ -n "${PORT[$c]:-}" ] || die "unknown component '$c' (one of: ${ALL[*]})"; done
case $action in
  up) cmd_up "${targets[@]}" ;;
  down) cmd_down "${targets[@]}" ;;
  status) cmd_status "${targets[@]}" ;;
  reset) cmd_reset ;;
  *) die "usage: scripts/infra.sh up|down|status|reset [${ALL[*]}]" ;;
esac
