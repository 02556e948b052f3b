# shellcheck shell=bash
# Prometheus from Debian with the configuration in deploy/prometheus, data in $DATA/prometheus.
PROM_DIR=$DATA/prometheus

prometheus_render() {
  mkdir -p "$PROM_DIR/data"
  # shellcheck disable=SC2016,SC2034 # envsubst's list of variables; they are its environment
  PROMETHEUS_TARGET="$CLUSTER_HOST:$PROMETHEUS_PORT" CONSUL_ADDRESS="$CLUSTER_HOST:$CONSUL_PORT" \
  PROMETHEUS_RULES="$ROOT/deploy/prometheus/rules" \
    envsubst '${PROMETHEUS_TARGET} ${CONSUL_ADDRESS} ${PROMETHEUS_RULES}' \
    < "$ROOT/deploy/prometheus/prometheus.yml" > "$PROM_DIR/prometheus.yml"
}

prometheus_check() { prometheus_render && promtool check config "$PROM_DIR/prometheus.yml" >/dev/null; }

prometheus_start() {
  prometheus_check 2>>"$LOGS/prometheus.log" || { tail -n 5 "$LOGS/prometheus.log" >&2; return 1; }
  prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
    --storage.tsdb.retention.time=2d --web.listen-address="$CLUSTER_HOST:$PROMETHEUS_PORT" \
    --web.enable-lifecycle --log.level=warn >>"$LOGS/prometheus.log" 2>&1 &
  echo $! > "$RUN/prometheus.pid"
  wait_for prometheus 60 prometheus_ready
}

prometheus_ready() { curl -fsS --max-time 2 "http://$CLUSTER_HOST:$PROMETHEUS_PORT/-/ready" >/dev/null; }

prometheus_stop() { stop_pid prometheus; }
