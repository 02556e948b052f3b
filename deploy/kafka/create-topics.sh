#!/bin/sh
# Creates the topics of deploy/kafka/topics.json (name, partitions) with the Kafka image's own
# tools, once the broker answers (up to KAFKA_WAIT_SECONDS, 180); already existing ones are left
# alone. For compose and Kubernetes (natively, scripts/infra/kafka-topics.ts does the same).
# Usage: create-topics.sh BOOTSTRAP [TOPICS_JSON]
set -eu
bootstrap=$1
file=${2:-/etc/kafka-topics/topics.json}
bin=${KAFKA_BIN:-/opt/kafka/bin}
default=$(sed -n 's/.*"defaults": *{ *"partitions": *\([0-9]*\).*/\1/p' "$file")
default=${default:-3}
deadline=$(($(date +%s) + ${KAFKA_WAIT_SECONDS:-180}))
until "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "create-topics: no broker answered at $bootstrap" >&2; exit 1; }
  sleep 2
done
# One topic per line of the JSON: its name (and partitions, when it sets them).
grep -o '{ *"name": *"[^"]*"[^}]*' "$file" | while read -r line; do
  name=$(printf '%s' "$line" | sed 's/.*"name": *"\([^"]*\)".*/\1/')
  partitions=$(printf '%s' "$line" | sed -n 's/.*"partitions": *\([0-9]*\).*/\1/p')
  "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$name" --partitions "${partitions:-$default}" --replication-factor 1 >/dev/null
  echo "topic $name ready"
done
