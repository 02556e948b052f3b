#!/bin/sh
# kafka-run-class.sh CLASS [ARGS…]: a Kafka class on the image's Java with /opt/kafka/libs. The
# *_OPTS variables are lists of JVM flags, split on spaces as Kafka's own script splits them.
set -eu
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true} \
  ${KAFKA_OPTS:-} -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_LOG_LEVEL:-warn}" -Dkafka.logs.dir=/opt/kafka/logs -cp '/opt/kafka/libs/*' "$@"
