#!/usr/bin/env bash
# The whole platform as local processes: the infrastructure (scripts/infra.sh), an SMTP sink, every
# service of services/*/service.json (the gateway twice) behind NGINX, and Prometheus scraping them
# through Consul.
# Usage: scripts/platform.sh up|down|status|start NAME...|stop NAME...|kill NAME...|roll NAME...|
# pause NAME...|resume NAME...|dev [SERVICE]|keygen
# (npm run up / down / status). Logs in .tools/logs/<name>.log, pids in .tools/run/.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# What the manifests say: each service's port, database, whether it uses Redis or SMTP, whether
# it is the edge (the gateway: two instances, gateway and gateway-2).
declare -A M_PORT=() M_DB=() M_REDIS=() M_SMTP=() M_EDGE=()
SERVICES=() APPS=()
SIGNING_KEY=$DATA/dev-signing-key.json
load_services() {
  local name port db redis smtp edge _streams
  while read -r name port db redis smtp edge _streams; do
    SERVICES+=("$name") M_PORT[$name]=$port M_DB[$name]=$db M_REDIS[$name]=$redis M_SMTP[$name]=$smtp M_EDGE[$name]=$edge
  done < <(node "$ROOT/scripts/services.ts" table)
  [ ${#SERVICES[@]} -gt 0 ] || die "could not read the service manifests (services/*/service.json)"
  APPS=(mail)
  for name in "${SERVICES[@]}"; do
    APPS+=("$name")
    if [ "${M_EDGE[$name]}" = yes ]; then APPS+=("$name-2"); fi
  done
}

# NAME-surge: a second instance of NAME on its port + 100, only while NAME rolls.
SURGE_OFFSET=100

# A service's port: NAME_PORT (scripts/infra/ports.env), else 20000 + its manifest's port.
port_of() {
  local var service
  case $1 in
    mail) echo "$SMTP_HTTP_PORT" ;;
    *-surge) echo $(($(port_of "${1%-surge}") + SURGE_OFFSET)) ;;
    *)
      service=$(service_of "$1")
      [ -n "${M_PORT[$service]:-}" ] || die "unknown process '$1' (one of: ${APPS[*]})"
      var="$(tr 'a-z-' 'A-Z_' <<<"$1")_PORT"
      echo "${!var:-$((20000 + M_PORT[$service]))}" ;;
  esac
}

# The service a process is an instance of: gateway-2 and catalog-surge are a gateway and a catalog.
service_of() { local name=${1%-surge}; echo "${name%-2}"; }

health_url() {
  if [ "$1" = mail ]; then echo "http://$CLUSTER_HOST:$SMTP_HTTP_PORT/health"
  else echo "http://$CLUSTER_HOST:$(port_of "$1")/health/ready"; fi
}
healthy() { curl -fsS --max-time 2 "$(health_url "$1")" >/dev/null 2>&1; }

# The port a process registers in Consul: its own, or NAME_ADVERTISE_PORT (a proxy in front of it).
advertised_port() {
  local advertise; advertise="$(tr 'a-z-' 'A-Z_' <<<"$1")_ADVERTISE_PORT"
  echo "${!advertise:-$(port_of "$1")}"
}

# Ready, and passing in Consul: what other services and the gateways go by.
discoverable() {
  local service; service=$(service_of "$1")
  healthy "$1" || return 1
  [ "$1" = mail ] && return 0
  curl -fsS --max-time 2 "http://$CLUSTER_HOST:$CONSUL_PORT/v1/health/service/$service?passing" \
    | grep -Eq "\"Port\": *$(advertised_port "$1")[,}]"
}

# Stops the wait early when the process has died: its log says why. Not pid_alive: until the
# subshell execs node, the pid's command line is still this script's.
running_pid() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) && [ -r "/proc/$pid/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$pid/stat"
}
ready_or_exited() { running_pid "$1" || return 0; discoverable "$1"; }

# The environment of each process: the same variables a container or a pod gets.
env_of() {
  # Each service's own database and role (password = name in development).
  pg() { echo "postgres://$1:$1@$CLUSTER_HOST:$PG_PORT/$1"; }
  local port advertised; port=$(port_of "$1") advertised=$(advertised_port "$1")
  local common=(HOST="$CLUSTER_HOST" LOG_LEVEL="${LOG_LEVEL:-info}" CONSUL_URL="http://$CLUSTER_HOST:$CONSUL_PORT"
    ADVERTISE_ADDRESS="$CLUSTER_HOST" KAFKA_BROKERS="$CLUSTER_HOST:$KAFKA_PORT" SHUTDOWN_DRAIN_MS=1000
    OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-}")
  [ "$advertised" = "$port" ] || common+=(ADVERTISE_PORT="$advertised")
  local service vars; service=$(service_of "$1")
  if [ "$service" = mail ]; then echo HOST="$CLUSTER_HOST" SMTP_PORT="$SMTP_PORT" SMTP_HTTP_PORT="$SMTP_HTTP_PORT"; return; fi
  vars=("${common[@]}" PORT="$port")
  [ "${M_DB[$service]}" = - ] || vars+=(DATABASE_URL="$(pg "${M_DB[$service]}")")
  [ "${M_REDIS[$service]}" = no ] || vars+=(REDIS_URL="redis://$CLUSTER_HOST:$REDIS_PORT")
  [ "${M_SMTP[$service]}" = no ] || vars+=(SMTP_URL="smtp://$CLUSTER_HOST:$SMTP_PORT")
  [ "${M_EDGE[$service]}" = no ] || vars+=(DEV_TOKENS_PRIVATE_JWK_FILE="$SIGNING_KEY" PROMETHEUS_URL="http://$CLUSTER_HOST:$PROMETHEUS_PORT")
  echo "${vars[@]}"
}

dir_of() {
  case $1 in
    mail) echo "$ROOT/tools/testing" ;;
    *) echo "$ROOT/services/$(service_of "$1")" ;;
  esac
}

start_app() {
  local name=$1 port entry
  port=$(port_of "$name")
  if pid_alive "$name" && healthy "$name"; then say "$name: already running on $CLUSTER_HOST:$port"; return 0; fi
  pid_alive "$name" && stop_pid "$name"
  port_free "$port" || { say "error: $name: port $port is taken by another process: stop it, or set its port variable"; return 1; }
  if [ "$name" = mail ]; then entry=(src/smtp-sink-server.ts)
  else entry=(--import @platform/service/instrumentation src/server.ts); fi
  # --title names the process (pid_alive checks it); exec keeps the recorded pid the node process's.
  # shellcheck disable=SC2046 # env_of prints KEY=VALUE words
  ( cd "$(dir_of "$name")" && exec env $(env_of "$name") node --title="platform-$name" --conditions=development "${entry[@]}" ) \
    >>"$LOGS/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
  local t0=$SECONDS
  wait_for "$name" 90 ready_or_exited "$name" || return 1
  running_pid "$name" || {
    say "error: $name exited while starting; last lines of $LOGS/$name.log:"
    tail -n 20 "$LOGS/$name.log" >&2
    return 1
  }
  say "$name: ready on $CLUSTER_HOST:$port ($((SECONDS - t0)) s)"
}

stop_app() { stop_pid "$1"; say "$1: stopped"; }

# SIGKILL, no shutdown: what a crash looks like (tests of resilience use it).
kill_app() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) && pid_alive "$1" && kill -KILL "$pid" && say "$1: killed"
  rm -f "$RUN/$1.pid"
}

# A rolling restart as Kubernetes does one with maxSurge 1, maxUnavailable 0: a second instance
# starts on a spare port and is passing in Consul before the first one stops (SIGTERM: it
# deregisters, drains and exits), starts again and is found; then the spare stops the same way.
# A gateway simply restarts: NGINX sends to the other one meanwhile, and takes the restarted one
# back only when the fail_timeout of its passive health check (10 s, deploy/nginx/render.sh) is
# over: the roll waits that long before it goes on, or both gateways could be out at once.
EDGE_FAIL_TIMEOUT_S=10
roll_app() {
  local service; service=$(service_of "$1")
  if [ -z "${M_EDGE[$service]:-}" ] || [ "$1" = mail ]; then die "$1 is not rolled (one of: ${APPS[*]:1})"; fi
  if [ "${M_EDGE[$service]}" = yes ]; then stop_app "$1" && start_app "$1" && sleep "$EDGE_FAIL_TIMEOUT_S"
  else start_app "$1-surge" && stop_app "$1" && start_app "$1" && stop_app "$1-surge"; fi
}

# One service with reload on change (node --watch), in place of its instance in the running
# platform: same port, same environment, registered in Consul the same way. When it stops (Ctrl-C)
# the platform's instance starts again. NAME defaults to the service whose folder this runs in
# (npm run dev -w services/NAME).
cmd_dev() {
  local name=${1:-$(basename "$PWD")}
  [ -n "${M_PORT[$name]:-}" ] || die "dev: '$name' is not a service (one of: ${SERVICES[*]})"
  mkdir -p "$RUN" "$LOGS"
  if pid_alive "$name"; then stop_app "$name"; else say "dev: $name was not running in the platform (npm run up starts it)"; fi
  trap 'trap - EXIT; start_app "$name"' EXIT
  trap 'exit 130' INT TERM
  say "dev: $name on $CLUSTER_HOST:$(port_of "$name"), reloading on change (Ctrl-C: back to the platform's instance)"
  # shellcheck disable=SC2046 # env_of prints KEY=VALUE words
  (cd "$(dir_of "$name")" && env $(env_of "$name") node --watch --conditions=development \
    --import @platform/service/instrumentation src/server.ts)
}

# SIGSTOP / SIGCONT: a process that hangs (a long GC pause, a stuck event loop, a frozen VM).
signal_app() {
  local pid
  if ! pid=$(cat "$RUN/$2.pid" 2>/dev/null) || ! pid_alive "$2"; then die "$2 is not running"; fi
  kill "-$1" "$pid" && say "$2: sent SIG$1"
}

signing_key() {
  [ -s "$SIGNING_KEY" ] && return 0
  mkdir -p "$DATA"
  # The development token issuer's key (ES256), made once; every gateway instance signs with it.
  (cd "$ROOT/services/gateway" && node --input-type=module -e "
    import { exportJWK, generateKeyPair } from 'jose'
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    process.stdout.write(JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'dev-' + Date.now().toString(36) }))
  ") > "$SIGNING_KEY.tmp" && mv "$SIGNING_KEY.tmp" "$SIGNING_KEY" && chmod 600 "$SIGNING_KEY"
  say "gateway: generated the development signing key ($SIGNING_KEY)"
}

prepare_data() {
  step "catalog: migrate and seed"
  # shellcheck disable=SC2046
  (cd "$ROOT/services/catalog" && env $(env_of catalog) node --conditions=development src/migrate.ts >/dev/null \
    && env $(env_of catalog) node --conditions=development src/seed.ts) >>"$LOGS/catalog.log" 2>&1 \
    || { tail -n 5 "$LOGS/catalog.log" >&2; return 1; }
}

# The web app's static files (dist/web), which the edge serves at its root: Nx rebuilds them only
# when apps/web or the contracts changed.
build_web() {
  step "web: building the storefront and console (apps/web)"
  (cd "$ROOT" && nx run web:build --output-style=stream-without-prefixes) >>"$LOGS/web-build.log" 2>&1 \
    || { tail -n 20 "$LOGS/web-build.log" >&2; return 1; }
}

cmd_up() {
  local t0=$SECONDS name failed=0
  mkdir -p "$DATA" "$RUN" "$LOGS"
  build_web || return 1
  bash "$ROOT/scripts/infra.sh" up || return 1
  signing_key || return 1
  prepare_data || return 1
  step "platform: starting ${APPS[*]}"
  declare -A jobs=()
  for name in "${APPS[@]}"; do start_app "$name" & jobs[$name]=$!; done
  for name in "${APPS[@]}"; do wait "${jobs[$name]}" || failed=1; done
  [ $failed = 0 ] || { say "platform: not everything started (logs in $LOGS)"; return 1; }
  say "platform: up in $((SECONDS - t0)) s"
  cat >&2 <<EOF

  Storefront, console   http://$CLUSTER_HOST:$NGINX_PORT/  (sign in as alice, bob or admin; password demo)
  API (through NGINX)   http://$CLUSTER_HOST:$NGINX_PORT/api/v1/products
  API documentation     http://$CLUSTER_HOST:$NGINX_PORT/api/docs
  Demo tokens           POST http://$CLUSTER_HOST:$NGINX_PORT/api/v1/auth/token {"username":"alice","password":"demo"}
  Emails sent           http://$CLUSTER_HOST:$SMTP_HTTP_PORT/api/v1/messages
  Prometheus            http://$CLUSTER_HOST:$PROMETHEUS_PORT  (API; alerts at /api/v1/alerts)
  Consul                http://$CLUSTER_HOST:$CONSUL_PORT/ui
  Logs                  $LOGS

  Walk the main story:  npm run demo        Stop everything:  npm run down
EOF
}

cmd_down() {
  local name
  for ((i = ${#APPS[@]} - 1; i >= 0; i--)); do name=${APPS[$i]}; pid_alive "$name" && stop_app "$name"; done
  bash "$ROOT/scripts/infra.sh" down
}

cmd_status() {
  local rc=0 name state
  bash "$ROOT/scripts/infra.sh" status || rc=1
  printf '%-11s %-8s %-22s %s\n' PROCESS PID ADDRESS STATE
  for name in "${APPS[@]}"; do
    if ! pid_alive "$name"; then state=stopped; rc=1
    elif healthy "$name"; then state=healthy
    else state=unhealthy; rc=1; fi
    printf '%-11s %-8s %-22s %s\n' "$name" "$(cat "$RUN/$name.pid" 2>/dev/null || echo -)" "$CLUSTER_HOST:$(port_of "$name")" "$state"
  done
  return $rc
}

action=${1:-}; shift || true
# Node 24 and the tools first: the manifests are read with it.
if [ "$action" = up ]; then bash "$ROOT/scripts/setup.sh" && source "$ROOT/scripts/lib.sh" || exit 1; fi
load_services
for name in "$@"; do port_of "$name" >/dev/null; done
case $action in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  start) mkdir -p "$RUN" "$LOGS"; for name in "$@"; do start_app "$name" || exit 1; done ;;
  stop) for name in "$@"; do stop_app "$name"; done ;;
  kill) for name in "$@"; do kill_app "$name"; done ;;
  roll) mkdir -p "$RUN" "$LOGS"; for name in "$@"; do roll_app "$name" || exit 1; done ;;
  pause) for name in "$@"; do signal_app STOP "$name"; done ;;
  resume) for name in "$@"; do signal_app CONT "$name"; done ;;
  keygen) signing_key ;;
  dev) cmd_dev "$@" ;;
  *) die "usage: scripts/platform.sh up|down|status|start NAME...|stop NAME...|kill NAME...|roll NAME...|pause NAME...|resume NAME...|dev [SERVICE]|keygen (NAME: ${APPS[*]})" ;;
esac
