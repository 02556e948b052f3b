# shellcheck shell=bash
# Consul agent in dev mode (one in-memory server), built from source by scripts/setup.sh.
# Every port is moved off Consul's defaults, relative to the HTTP port, so it never meets a
# developer's own agent: server -200, serf LAN -199, serf WAN -198, gRPC +2, gRPC TLS +3, DNS +100.
CONSUL_BIN=$TOOLS/consul/$CONSUL_VERSION/consul

consul_start() {
  [ -x "$CONSUL_BIN" ] || die "consul $CONSUL_VERSION is not built; run scripts/setup.sh"
  "$CONSUL_BIN" agent -dev -node=platform-dev -bind="$CLUSTER_HOST" -client="$CLUSTER_HOST" \
    -http-port="$CONSUL_PORT" -server-port=$((CONSUL_PORT - 200)) \
    -serf-lan-port=$((CONSUL_PORT - 199)) -serf-wan-port=$((CONSUL_PORT - 198)) \
    -grpc-port=$((CONSUL_PORT + 2)) -grpc-tls-port=$((CONSUL_PORT + 3)) -dns-port=$((CONSUL_PORT + 100)) \
    -hcl='disable_update_check = true' -log-level=warn >>"$LOGS/consul.log" 2>&1 &
  echo $! > "$RUN/consul.pid"
  wait_for consul 60 consul_ready
}

# Ready once a leader is elected: before that, registrations fail.
consul_ready() {
  local leader
  leader=$(curl -fsS --max-time 2 "http://$CLUSTER_HOST:$CONSUL_PORT/v1/status/leader") || return 1
  [ -n "$leader" ] && [ "$leader" != '""' ]
}

consul_stop() { stop_pid consul; }
