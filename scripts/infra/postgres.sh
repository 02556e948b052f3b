# shellcheck shell=bash
# PostgreSQL 15 from Debian: a private cluster in $DATA/postgres on 127.0.0.1:$PG_PORT, TCP only.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$DATA/postgres
: "${PG_SUPERPASSWORD:=postgres}"

# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres system user.
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

postgres_init() {
  [ -f "$PG_DIR/PG_VERSION" ] && return 0
  step "postgres: creating a cluster in $PG_DIR"
  mkdir -p "$PG_DIR" && chmod 700 "$PG_DIR"
  local pw; pw=$(mktemp); printf '%s\n' "$PG_SUPERPASSWORD" > "$pw"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DIR" "$pw"; fi
  pg_as "$PG_BIN/initdb" -D "$PG_DIR" -U postgres --pwfile="$pw" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOGS/postgres-initdb.log" 2>&1 \
    || { rm -f "$pw"; tail -n 20 "$LOGS/postgres-initdb.log" >&2; return 1; }
  rm -f "$pw"
}

postgres_start() {
  postgres_init || return 1
  touch "$LOGS/postgres.log"; [ "$(id -u)" = 0 ] && chown postgres: "$LOGS/postgres.log"
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$LOGS/postgres.log" -w -t 60 start -o \
    "-c listen_addresses=$CLUSTER_HOST -c port=$PG_PORT -c unix_socket_directories='' -c max_connections=200 -c log_min_messages=warning" \
    >/dev/null || return 1
  head -n 1 "$PG_DIR/postmaster.pid" > "$RUN/postgres.pid"
  postgres_ready || return 1
  postgres_ensure
}

# Every service's database and role (deploy/postgres/init.sql, idempotent).
postgres_ensure() {
  postgres_ready || return 1
  PGPASSWORD=$PG_SUPERPASSWORD psql -h "$CLUSTER_HOST" -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -q -f "$ROOT/deploy/postgres/init.sql" >/dev/null
}

postgres_ready() { "$PG_BIN/pg_isready" -h "$CLUSTER_HOST" -p "$PG_PORT" -q; }

postgres_stop() {
  [ -f "$PG_DIR/postmaster.pid" ] && pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1
  rm -f "$RUN/postgres.pid"
}
