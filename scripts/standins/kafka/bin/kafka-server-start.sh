#!/bin/sh
# The broker logs at INFO, as the official image's does; the tools at WARN.
export KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-info}"
exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
