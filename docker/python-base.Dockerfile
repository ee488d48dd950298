# Debian's Python 3.11 (python3, venv) on the local debootstrap'ed base (no image registry).
# Built by docker/build-images.sh; the base of the worker image (Dockerfile) and its build stage.
ARG BASE=epbatch-base:bookworm
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
