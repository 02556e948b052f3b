# shellcheck shell=bash
# NGINX from Debian, run with the edge config from deploy/nginx rendered for 127.0.0.1:$NGINX_PORT,
# in front of the two native gateway instances.
NGINX_PREFIX=$DATA/nginx

nginx_render() {
  mkdir -p "$NGINX_PREFIX/conf" "$NGINX_PREFIX/temp"
  # Every client here is 127.0.0.1 (tests, benchmarks, the demo): the per-IP limit is set high.
  # 64 requests in flight per gateway, its own MAX_IN_FLIGHT: beyond, NGINX refuses at once.
  NGINX_LISTEN="$CLUSTER_HOST:$NGINX_PORT" NGINX_PID="$RUN/nginx.pid" NGINX_WORKERS=1 \
  NGINX_ACCESS_LOG="$LOGS/nginx-access.log" NGINX_ERROR_LOG="$LOGS/nginx-error.log" \
  NGINX_TEMP="$NGINX_PREFIX/temp" EDGE_WEB_ROOT="$ROOT/dist/web" EDGE_RATE_PER_IP="${EDGE_RATE_PER_IP:-20000r/s}" \
  EDGE_BURST_PER_IP="${EDGE_BURST_PER_IP:-20000}" EDGE_MAX_CONNS_PER_GATEWAY="${EDGE_MAX_CONNS_PER_GATEWAY:-64}" \
  EDGE_GATEWAYS="$CLUSTER_HOST:$GATEWAY_PORT $CLUSTER_HOST:$GATEWAY_2_PORT" \
    sh "$ROOT/deploy/nginx/render.sh" "$ROOT/deploy/nginx/nginx.conf" "$NGINX_PREFIX/conf/nginx.conf"
}

nginx_check() { nginx_render && nginx -q -t -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/conf/nginx.conf"; }

nginx_start() {
  nginx_check 2>>"$LOGS/nginx.log" || { tail -n 5 "$LOGS/nginx.log" >&2; return 1; }
  # The master daemonizes and writes its own pid file ($RUN/nginx.pid).
  nginx -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/conf/nginx.conf" 2>>"$LOGS/nginx.log" || return 1
  wait_for nginx 20 nginx_ready
}

nginx_ready() { curl -fsS --max-time 2 "http://$CLUSTER_HOST:$NGINX_PORT/edge/health" >/dev/null; }

nginx_stop() { stop_pid nginx; }
