"""A real Prefect server, started with ``epbatch server --database=postgres`` (its own PREFECT_HOME).

The fixtures are registered once, in tests/conftest.py, so every tier (flows, reliability)
shares one server per test session.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

SLOTS = 2  # the server's `energyplus` limit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_line(
    log: Path, marker: str, process: subprocess.Popen[bytes], timeout_s: float
) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(marker):
                return line.removeprefix(marker).strip()
        assert process.poll() is None, f"epbatch server exited:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)
    raise TimeoutError(f"no {marker!r} in {log} after {timeout_s} s")


@pytest.fixture(scope="session")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of a running ``epbatch server``: PREFECT_API_URL, PREFECT_HOME, storage."""
    home = tmp_path_factory.mktemp("prefect-home")
    log = home / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(home), "PREFECT_LOCAL_STORAGE_PATH": str(home / "results")}
    command = [
        sys.executable,
        "-m",
        "epbatch.cli",
        "server",
        "--port",
        str(free_port()),
        "--slots",
        str(SLOTS),
        "--database=postgres",  # the default where installed: no SQLite write-lock stalls
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = wait_for_line(log, "export PREFECT_API_URL=", process, timeout_s=180)
        yield env | {"PREFECT_API_URL": url}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture(scope="session")
def prefect_api(prefect_env: dict[str, str]) -> Iterator[str]:
    """The server's API URL; flows run in this process report to it and share its cache."""
    settings = {
        PREFECT_API_URL: prefect_env["PREFECT_API_URL"],
        PREFECT_LOCAL_STORAGE_PATH: Path(prefect_env["PREFECT_LOCAL_STORAGE_PATH"]),
    }
    with temporary_settings(settings):
        yield prefect_env["PREFECT_API_URL"]


@pytest.fixture
def fresh_cache(prefect_api: str, tmp_path: Path) -> Iterator[Path]:
    """A result store of this test's own, so no other test's results are reused."""
    storage = tmp_path / "prefect-results"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield storage


@pytest.fixture
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """EPBATCH_OUTPUT_DIR for flows run in this process."""
    from epbatch.settings import get_settings

    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    yield tmp_path / "runs"
    get_settings.cache_clear()
