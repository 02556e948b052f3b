#!/bin/sh
# The official consul entrypoint's behaviour: flags go to `consul agent`; `agent` gets the
# image's data and config folders; any other consul subcommand runs as `consul …`; as root, the
# agent drops to the consul user.
set -eu
case ${1:-} in -*) set -- agent "$@" ;; esac
if [ "${1:-}" = agent ]; then
  shift
  set -- consul agent -data-dir=/consul/data -config-dir=/consul/config "$@"
elif consul "${1:-}" --help >/dev/null 2>&1; then
  set -- consul "$@"
fi
if [ "${1:-}" = consul ] && [ "${2:-}" = agent ] && [ "$(id -u)" = 0 ]; then
  chown -R consul:consul /consul/data /consul/config 2>/dev/null || true
  exec setpriv --reuid=consul --regid=consul --init-groups "$@"
fi
exec "$@"
