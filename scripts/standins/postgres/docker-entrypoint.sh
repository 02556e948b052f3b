#!/bin/bash
# What the platform relies on from the official postgres entrypoint: as root, own PGDATA and drop
# to the postgres user; on an empty PGDATA, initdb with POSTGRES_PASSWORD as the superuser's
# password, allow password logins from anywhere, and run /docker-entrypoint-initdb.d/*.sql and
# *.sh against a server that listens on its socket only; then start the server in the foreground.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo 'error: POSTGRES_PASSWORD is not set: the database would have no password' >&2; exit 1; }
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  initdb --username="${POSTGRES_USER:-postgres}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sql) echo "init: running $f"; psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --no-password --no-psqlrc -f "$f" >/dev/null ;;
      *.sh) echo "init: sourcing $f"; # shellcheck disable=SC1090
        . "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'init: PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
