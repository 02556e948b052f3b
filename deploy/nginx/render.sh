#!/bin/sh
# Renders the edge config: render.sh TEMPLATE OUTPUT. Used natively (scripts/infra/nginx.sh), by the
# compose and Kubernetes containers (before nginx starts). POSIX sh + envsubst only (both are in the
# official nginx image).
#   EDGE_GATEWAYS        gateway instances, space-separated host:port (required)
#   NGINX_LISTEN         address:port or port to listen on            (default 8080)
#   EDGE_RATE_PER_IP     limit_req rate per client IP                 (default 50r/s)
#   EDGE_BURST_PER_IP    requests above the rate let through at once  (default 100)
#   EDGE_MICROCACHE_TTL  how long anonymous catalog reads are cached  (default 1s)
#   EDGE_MAX_CONNS_PER_GATEWAY  requests in flight per gateway line; beyond, 503 at once (default 0: no cap)
#   EDGE_WEB_ROOT        the web app's built files (apps/web)         (default /usr/share/platform/web)
#   NGINX_WORKERS, NGINX_PID, NGINX_TEMP, NGINX_ACCESS_LOG, NGINX_ERROR_LOG
set -eu
template=$1
output=$2
[ -n "${EDGE_GATEWAYS:-}" ] || { echo "render.sh: EDGE_GATEWAYS is empty: name at least one gateway host:port" >&2; exit 1; }

EDGE_GATEWAY_SERVERS=''
EDGE_STREAM_SERVERS=''
# fail_timeout: scripts/platform.sh roll waits as long between two gateways (EDGE_FAIL_TIMEOUT_S).
# Streams go to the same gateways through an upstream of their own, without the max_conns cap:
# held for minutes, they would otherwise take the slots of regular requests.
for gateway in $EDGE_GATEWAYS; do
  EDGE_GATEWAY_SERVERS="${EDGE_GATEWAY_SERVERS}    server ${gateway} max_fails=3 fail_timeout=10s max_conns=${EDGE_MAX_CONNS_PER_GATEWAY:-0};
"
  EDGE_STREAM_SERVERS="${EDGE_STREAM_SERVERS}    server ${gateway} max_fails=3 fail_timeout=10s;
"
done
export EDGE_GATEWAY_SERVERS EDGE_STREAM_SERVERS
export NGINX_LISTEN="${NGINX_LISTEN:-8080}"
export EDGE_RATE_PER_IP="${EDGE_RATE_PER_IP:-50r/s}"
export EDGE_BURST_PER_IP="${EDGE_BURST_PER_IP:-100}"
export EDGE_MICROCACHE_TTL="${EDGE_MICROCACHE_TTL:-1s}"
export EDGE_WEB_ROOT="${EDGE_WEB_ROOT:-/usr/share/platform/web}"
export NGINX_WORKERS="${NGINX_WORKERS:-auto}"
export NGINX_PID="${NGINX_PID:-/tmp/nginx.pid}"
export NGINX_TEMP="${NGINX_TEMP:-/tmp/nginx}"
export NGINX_ACCESS_LOG="${NGINX_ACCESS_LOG:-/dev/stdout}"
export NGINX_ERROR_LOG="${NGINX_ERROR_LOG:-/dev/stderr}"
mkdir -p "$NGINX_TEMP"
# shellcheck disable=SC2016 # envsubst's list of variables, not an expansion
envsubst '${EDGE_GATEWAY_SERVERS} ${EDGE_STREAM_SERVERS} ${NGINX_LISTEN} ${EDGE_RATE_PER_IP} ${EDGE_BURST_PER_IP} ${EDGE_MICROCACHE_TTL} ${EDGE_WEB_ROOT} ${NGINX_WORKERS} ${NGINX_PID} ${NGINX_TEMP} ${NGINX_ACCESS_LOG} ${NGINX_ERROR_LOG}' \
  < "$template" > "$output"
