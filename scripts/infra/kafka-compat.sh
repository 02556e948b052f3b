#!/usr/bin/env bash
# Chooses the Kafka version by test: for each candidate (newest first) it resolves the broker jars,
# starts a throwaway single-node KRaft broker and runs scripts/infra/kafka-compat.ts with kafkajs.
# Usage: scripts/infra/kafka-compat.sh [VERSION...]   Results: .tools/kafka-compat.txt
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/scripts/infra/kafka.sh"
versions=("$@"); [ ${#versions[@]} -gt 0 ] || versions=(4.4.0 4.3.1 4.2.1 4.1.1 4.0.2 3.9.1)
export KAFKA_PORT=${COMPAT_KAFKA_PORT:-29192} KAFKA_CONTROLLER_PORT=${COMPAT_KAFKA_CONTROLLER_PORT:-29193}
RUN=$TOOLS/compat/run LOGS=$TOOLS/compat/logs; mkdir -p "$RUN" "$LOGS"
results=$TOOLS/kafka-compat.txt; : > "$results"

for v in "${versions[@]}"; do
  KAFKA_VERSION=$v KAFKA_HOME=$TOOLS/kafka/$v KAFKA_DATA=$TOOLS/compat/data-$v; export KAFKA_DATA
  if [ ! -f "$KAFKA_HOME/libs/kafka_2.13-$v.jar" ]; then
    mvn -B -q -ntp -Dstyle.color=never -f "$ROOT/scripts/infra/kafka/pom.xml" package -Dmaven.repo.local="$TOOLS/m2" \
      -Dkafka.version="$v" -Dout="$KAFKA_HOME/libs" -DbuildDirectory="$TOOLS/kafka/target" \
      || { echo "$v: not resolvable from Maven Central" | tee -a "$results"; continue; }
  fi
  rm -rf "$KAFKA_DATA"; : > "$LOGS/kafka.log"
  if kafka_start_broker_only; then
    if out=$(node "$ROOT/scripts/infra/kafka-compat.ts" 2>&1); then verdict=pass; else verdict=FAIL; fi
  else
    out="broker did not start: $(tail -n 3 "$LOGS/kafka.log")"; verdict=FAIL
  fi
  kafka_stop; rm -rf "$KAFKA_DATA"
  { echo "$v: $verdict"; printf '%s\n' "$out" | sed 's/^/    /'; } | tee -a "$results"
done
echo "results written to $results"
