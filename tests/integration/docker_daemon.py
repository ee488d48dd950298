"""A Docker daemon for the docker tier: this machine's, or a dockerd started (and stopped) here."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def daemon_answers() -> bool:
    docker = shutil.which("docker")
    return (
        bool(docker)
        and subprocess.run(
            [docker or "docker", "info"], capture_output=True, check=False
        ).returncode
        == 0
    )


@contextmanager
def running_daemon(log_dir: Path) -> Iterator[None]:
    """Yield with a daemon answering; fail (not skip) if none can be started."""
    if daemon_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail(
            "no Docker daemon answers and dockerd is not installed (apt-get install docker.io)"
        )
    log = log_dir / "dockerd.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not daemon_answers():
        if daemon.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dockerd did not start (run as root?); its log: {log}")
        time.sleep(0.5)
    try:
        yield
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
