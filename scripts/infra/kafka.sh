# shellcheck shell=bash
# Apache Kafka in KRaft mode, run from its Maven Central jars on the machine's Java 17.
KAFKA_HOME=$TOOLS/kafka/$KAFKA_VERSION
KAFKA_DATA=$DATA/kafka
export KAFKA_DATA CLUSTER_HOST

KAFKA_JVM=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true)

kafka_java() { java "${KAFKA_JVM[@]}" -cp "$KAFKA_HOME/libs/*" "$@"; }

kafka_start() {
  kafka_start_broker_only || return 1
  kafka_ensure || { say "error: creating Kafka topics failed:"; tail -n 5 "$LOGS/kafka-topics.log" >&2; return 1; }
}

# Every topic of deploy/kafka/topics.json (those a service added since are created).
kafka_ensure() {
  kafka_listening || return 1
  node "$ROOT/scripts/infra/kafka-topics.ts" ensure >>"$LOGS/kafka-topics.log" 2>&1
}

kafka_start_broker_only() {
  [ -d "$KAFKA_HOME/libs" ] || die "kafka $KAFKA_VERSION is not installed; run scripts/setup.sh"
  mkdir -p "$KAFKA_DATA"
  local conf=$RUN/kafka-server.properties
  # shellcheck disable=SC2016 # envsubst's list of variables, not an expansion
  envsubst '${CLUSTER_HOST} ${KAFKA_PORT} ${KAFKA_CONTROLLER_PORT} ${KAFKA_DATA}' \
    < "$ROOT/scripts/infra/kafka/server.properties" > "$conf"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    step "kafka: formatting the log directory"
    kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$conf" >>"$LOGS/kafka.log" 2>&1 || { tail -n 20 "$LOGS/kafka.log" >&2; return 1; }
  fi
  # java itself in the background (not a function's subshell), so $! is the broker's pid.
  java "${KAFKA_JVM[@]}" -cp "$KAFKA_HOME/libs/*" -Dkafka.logs.dir="$LOGS" kafka.Kafka "$conf" \
    >>"$LOGS/kafka.log" 2>&1 &
  echo $! > "$RUN/kafka.pid"
  wait_for kafka 90 kafka_listening
}

kafka_listening() { pid_alive kafka && ! port_free "$KAFKA_PORT"; }

# Ready means the broker answers metadata requests and the platform's topics exist.
kafka_ready() { kafka_listening && node "$ROOT/scripts/infra/kafka-topics.ts" check >/dev/null 2>&1; }

kafka_stop() { stop_pid kafka; }
