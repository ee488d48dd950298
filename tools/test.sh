#!/usr/bin/env bash
# The README's test command: start or install what the tests need, then run every tier.
#   bash tools/test.sh [PYTEST ARGS...]      (e.g. -m "not docker")
# Needs root (or sudo) only where docker.io, debootstrap or postgresql are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# The Docker runner's tests need a Docker daemon and the engine image (about 1.5 min in all);
# the compose stack's test (tests/integration/test_compose.py) the other images (~3 min to
# build from scratch, ~2.5 min to run).
export PATH="$PATH:/usr/sbin:/sbin"  # dockerd, debootstrap
if ! command -v dockerd > /dev/null || ! command -v debootstrap > /dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap > /dev/null
fi
if ! docker info > /dev/null 2>&1; then
    as_root dockerd > /tmp/epbatch-dockerd.log 2>&1 &
    for _ in $(seq 60); do docker info > /dev/null 2>&1 && break; sleep 1; done
    docker info > /dev/null || { tail -20 /tmp/epbatch-dockerd.log; exit 1; }
fi
bash docker/build-images.sh

# The PostgreSQL tests start their own server (initdb, pg_ctl): install the binaries if absent.
command -v initdb > /dev/null || ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
}

# The browser tests (marker `browser`: the Prefect UI, the HTML report) drive Debian's headless
# Chromium.
command -v chromium > /dev/null || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
}

exec .venv/bin/python -m pytest "$@"
