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

from epbatch.ops.server import is_healthy
from epbatch.run.engine import Engine

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


class EpbatchServer:
    """``epbatch server --database=postgres`` in ``home`` (its PREFECT_HOME) on ``port``.

    ``stop()`` sends SIGTERM (the server also stops its private PostgreSQL cluster in
    ``home/epbatch-postgres``); ``start()`` again restarts it on the same port and home.
    """

    def __init__(self, home: Path, port: int | None = None, slots: int = SLOTS) -> None:
        self.home, self.port, self.slots = home, port or free_port(), slots
        self.log = home / "server.log"  # the latest start's output
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        self.env = env | {
            "PREFECT_HOME": str(home),
            "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
            "PREFECT_API_URL": f"http://127.0.0.1:{self.port}/api",
        }

    def start(self, timeout_s: float = 180) -> dict[str, str]:
        """Start the server and wait until it is ready; its clients' environment."""
        command = [
            sys.executable,
            "-m",
            "epbatch.ops.cli",
            "server",
            "--port",
            str(self.port),
            "--slots",
            str(self.slots),
            "--database=postgres",  # the default where installed: no SQLite write-lock stalls
        ]
        self.starts += 1
        self.home.mkdir(parents=True, exist_ok=True)
        self.log = self.home / ("server.log" if self.starts == 1 else f"server.{self.starts}.log")
        server_env = {k: v for k, v in self.env.items() if k != "PREFECT_API_URL"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env=server_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = wait_for_line(self.log, "export PREFECT_API_URL=", self.process, timeout_s)
        assert url == self.env["PREFECT_API_URL"], url
        banner = wait_for_line(self.log, "Prefect UI (database: ", self.process, timeout_s)
        assert banner.startswith(f"PostgreSQL in {self.home / 'epbatch-postgres'}):"), banner
        return self.env

    def stop(self, timeout_s: float = 60) -> None:
        """SIGTERM, as an operator would; the server stops its children and PostgreSQL."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout_s)
        self.process = None


@pytest.fixture(scope="session")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of a running ``epbatch server``: PREFECT_API_URL, PREFECT_HOME, storage."""
    server = EpbatchServer(tmp_path_factory.mktemp("prefect-home"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stock_prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A stock ``prefect server start`` (SQLite, Prefect's default settings) as most Prefect
    users run it, with ``prefect concurrency-limit create energyplus SLOTS``."""
    home = tmp_path_factory.mktemp("stock-prefect-home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EPBATCH_"))}
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
    }
    prefect = [sys.executable, "-m", "prefect"]
    with (home / "server.log").open("wb") as out:
        server = subprocess.Popen(
            [*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while not is_healthy(env["PREFECT_API_URL"]):
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the stock Prefect server did not answer"
            time.sleep(0.5)
        limit = [*prefect, "concurrency-limit", "create", "energyplus", str(SLOTS)]
        subprocess.run(limit, env=env, check=True, capture_output=True, timeout=120)
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


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
def engine_log(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Flows run in this process use the real engine through a wrapper that logs each
    simulation's start and end in the returned file (``helpers.engine_intervals``)."""
    from epbatch.settings import get_settings
    from tests.flows.helpers import timed_engine

    log = tmp_path / "engines.log"
    monkeypatch.setenv("EPBATCH_ENERGYPLUS", str(timed_engine(engine, tmp_path / "engine", log)))
    get_settings.cache_clear()
    yield log
    get_settings.cache_clear()


@pytest.fixture
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """EPBATCH_OUTPUT_DIR for flows run in this process."""
    from epbatch.settings import get_settings

    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    yield tmp_path / "runs"
    get_settings.cache_clear()
