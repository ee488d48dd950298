#!/usr/bin/env bash
# Rewrite constraints.txt: resolve pyproject.toml's dependencies (dev extra included) afresh and
# pin what pip chose. It resolves in the worker image's Python (Debian's 3.11.2, the oldest one
# the project ships to: some releases need 3.11.3+) so the same pins serve CI, the README's
# install and the image. Needs Docker and the python-base image (bash docker/build-images.sh).
# Run after changing a dependency, or to take upgrades; then run bash .ci/run before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${PYTHON_BASE_IMAGE:-epbatch-python-base:bookworm}
ca_bundle=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
ca=()  # the host's CA bundle, read-only, for this network's proxy (see build-images.sh)
[[ -f "$ca_bundle" ]] && ca=(-v "$ca_bundle:/etc/ssl/certs/host-ca.crt:ro" -e PIP_CERT=/etc/ssl/certs/host-ca.crt)
pins=$(docker run --rm "${ca[@]}" -v "$PWD:/src:ro" -e HOME=/tmp -e PIP_DISABLE_PIP_VERSION_CHECK=1 \
    --user "$(id -u):$(id -g)" "$image" sh -c '
        cp -r /src/pyproject.toml /src/README.md /src/src /src/flows /src/tasks /src/deployments /tmp/ \
        && python3 -m venv /tmp/venv && /tmp/venv/bin/pip install --quiet --upgrade pip \
        && /tmp/venv/bin/pip install --quiet "/tmp[dev]" \
        && /tmp/venv/bin/pip freeze --exclude-editable' | grep -v "^epbatch")
{ sed -n '/^#/p' constraints.txt; echo "$pins"; } > constraints.txt.new  # the header kept
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
