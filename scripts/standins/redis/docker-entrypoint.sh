#!/bin/sh
# The official redis entrypoint's behaviour: flags (or a .conf file) are arguments of
# redis-server; as root, drop to the redis user; without a config file, protected mode is off
# (the official image builds redis that way) so other containers can connect.
set -eu
case ${1:-} in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ]; then
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
  fi
  case ${2:-} in *.conf) ;; *) shift; set -- redis-server --protected-mode no "$@" ;; esac
fi
exec "$@"
