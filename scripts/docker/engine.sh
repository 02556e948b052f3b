#!/usr/bin/env bash
# The Docker engine the image and compose checks use: Debian's docker.io (installed by
# scripts/setup.sh), started here when none answers (no systemd needed) and stopped again by
# `engine.sh stop` — only when this script started it. Logs in .tools/logs/dockerd.log.
# Usage: scripts/docker/engine.sh [start|stop]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

case ${1:-start} in
  start)
    docker info >/dev/null 2>&1 && exit 0
    command -v dockerd >/dev/null || die "no Docker engine: run scripts/setup.sh (it installs Debian's docker.io)"
    [ "$(id -u)" = 0 ] || die "the Docker engine is not running, and starting it needs root"
    mkdir -p "$LOGS" "$RUN"
    step "docker: starting dockerd"
    nohup dockerd >>"$LOGS/dockerd.log" 2>&1 &
    echo $! > "$RUN/dockerd.pid"
    wait_for dockerd 60 docker info || die "dockerd did not start (log: $LOGS/dockerd.log)"
    say "docker: engine $(docker info -f '{{.ServerVersion}}') running"
    ;;
  stop) stop_pid dockerd ;;
  *) die "usage: scripts/docker/engine.sh [start|stop]" ;;
esac
