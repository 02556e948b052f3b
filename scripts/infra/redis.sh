# shellcheck shell=bash
# Redis 7 from Debian on 127.0.0.1:$REDIS_PORT, data in $DATA/redis.
redis_start() {
  mkdir -p "$DATA/redis"
  redis-server --bind "$CLUSTER_HOST" --port "$REDIS_PORT" --dir "$DATA/redis" --save 60 1000 \
    --appendonly no --protected-mode yes --daemonize no --logfile "" >>"$LOGS/redis.log" 2>&1 &
  echo $! > "$RUN/redis.pid"
  wait_for redis 20 redis_ready
}
redis_ready() { [ "$(redis-cli -h "$CLUSTER_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_stop() { stop_pid redis; }
