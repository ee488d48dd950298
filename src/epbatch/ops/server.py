"""Start a local Prefect server (a subprocess, analytics off) and wait until it answers."""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import certifi

from epbatch.ops.prefectdb import DATABASE_URL, at_head, create_database, default_database
from epbatch.run.cachefiles import write_private

# Blocked `energyplus` tasks re-poll the server after min(mean run time, this) seconds
# (Prefect's default 10 s left slots idle between short runs; see docs/architecture.md).
TAG_SLOT_WAIT_S = 1

# Slot leases on disk (PREFECT_HOME/concurrency_leases), not in the server's memory: a restart
# mid-batch otherwise forgets the running tasks' leases while the limit keeps counting their
# slots, so they are never given back and every later `energyplus` task waits forever.
LEASE_STORAGE = "prefect.server.concurrency.lease_storage.filesystem"


class ServerUnavailable(RuntimeError):
    """The Prefect server exited or did not answer in time."""


# Task-run states are written in batches once a second, not one database transaction per
# state. On SQLite: fewer `database is locked` stalls (a temporary server, 12 x
# 1ZoneUncontrolled, 3 A/B pairs: 1.77 -> 1.59 of the engine alone). On PostgreSQL (`epbatch
# server`, 24 x 1ZoneUncontrolled, 4 A/B pairs): server CPU 102-155 -> 85-115 ms per variant,
# slot hand-over gaps 212-247 -> 190-218 ms. The UI shows a state up to 1 s later; the
# recorder writes what it holds when the server stops.
RECORDER_ENV = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}

SERVER_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # no upgrade prompts or marketing banners in the UI (a setting of the pinned Prefect 3.8)
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": str(TAG_SLOT_WAIT_S),
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": LEASE_STORAGE,
    **RECORDER_ENV,
}


DEFAULT_PORT = 4200
_PEM_END = b"-----END CERTIFICATE-----"


def lean_client_env(api: str | None, cache_dir: Path) -> dict[str, str]:
    """Environment that makes Prefect's API clients cheap on a plain-HTTP server.

    Prefect builds a TLS context for every API client, two per task run, each loading
    certifi's ~150 CAs (20-25 ms of CPU). Plain HTTP uses no TLS, so the context may as well
    load one CA. And every new client first asks for a CSRF token, one more request per task
    run, which a server with CSRF protection off (Prefect's default) refuses: asked once here.
    Set before Prefect is imported; https servers and the user's own settings are left alone.
    """
    if api and not api.startswith("http://"):
        return {}
    env = {}
    if api and "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED" not in os.environ and csrf_off(api):
        env["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] = "false"
    path = cache_dir / "plain-http-ca.pem"
    if os.environ.get("PREFECT_API_SSL_CERT_FILE"):
        return env
    if not path.is_file():
        bundle = Path(certifi.where()).read_bytes()
        first = bundle[: bundle.index(_PEM_END) + len(_PEM_END)] + b"\n"
        if not write_private(path, first):  # cannot write it: Prefect's default, only slower
            return env
    return env | {"PREFECT_API_SSL_CERT_FILE": str(path)}


def csrf_off(api: str) -> bool:
    """Whether the Prefect server at ``api`` says its CSRF protection is disabled."""
    probe = f"{api}/csrf-token?client=epbatch-probe"
    try:
        with urllib.request.urlopen(probe, timeout=2):  # noqa: S310 - an http:// API URL
            return False  # a token: protection is on
    except urllib.error.HTTPError as error:
        return error.code == 422 and b"CSRF protection is disabled" in error.read()
    except (urllib.error.URLError, OSError):
        return False


def profile_api_url() -> str | None:
    """PREFECT_API_URL of the active Prefect profile (``profiles.toml``), read without Prefect."""
    return profile_setting("PREFECT_API_URL")


def profile_setting(key: str) -> str | None:
    """Setting ``key`` of the active Prefect profile (``profiles.toml``), read without Prefect."""
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = os.environ.get("PREFECT_PROFILE") or data.get("active", "ephemeral")
    value = data.get("profiles", {}).get(name, {}).get(key)
    return value if isinstance(value, str) else None


def api_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


UI_API_SETTINGS = ("PREFECT_UI_API_URL", "PREFECT_SERVER_UI_API_URL")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - names, not a bind


def ui_env(host: str, port: int) -> dict[str, str]:
    """Where the UI's pages send their API requests: the host and port the server listens on.

    Prefect builds that address from its default port, whatever ``--port`` says, so every page
    of a server on another port said "Can't connect to Server API". A wildcard bind gets the
    loopback address (a browser on another machine needs ``PREFECT_UI_API_URL`` set to a name
    it can reach); the user's own setting (environment or Prefect profile) wins.
    """
    if any(os.environ.get(key) or profile_setting(key) for key in UI_API_SETTINGS):
        return {}
    reachable = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"  # an IPv6 literal in a URL
    return {"PREFECT_UI_API_URL": api_url(reachable, port)}


MIGRATE_ON_START = "PREFECT_API_DATABASE_MIGRATE_ON_START"


def start_server(
    host: str, port: int, extra_env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``prefect server start`` in its own process group, with epbatch's server settings.

    With a ``log`` (a temporary server) its output goes there, and it gets SIGTERM if its
    parent dies (``setpriv --pdeathsig``, where util-linux has it), so even a ``kill -9`` of
    the run leaves no server.
    """
    # the caller's environment wins
    env = SERVER_ENV | ui_env(host, port) | (extra_env or {}) | dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    database = default_database(env, profile_setting(DATABASE_URL))
    if database is not None:
        create_database(database)  # a new one: at Prefect's head without its migrations
        if at_head(database):  # nothing to migrate: no Alembic import, no migrations check
            env = {MIGRATE_ON_START: "false"} | env
    setpriv = shutil.which("setpriv") if log else None
    watchdog = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
    command = [
        *watchdog,
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        host,
        "--port",
        str(port),
        "--analytics-off",
    ]
    with log.open("ab") if log else contextlib.nullcontext() as out:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )


# A one-run server: no UI, and only the services a run needs (task runs, events, automations,
# lease expiry), like Prefect's ephemeral server; the others' periodic SQLite writes stalled
# slot hand-overs for seconds.
TEMPORARY_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    **{
        f"PREFECT_SERVER_SERVICES_{service}_ENABLED": "false"
        for service in (
            "CANCELLATION_CLEANUP",
            "CLEANUP_RECONCILER",
            "FOREMAN",
            "LATE_RUNS",
            "PAUSE_EXPIRATIONS",
            "SCHEDULER",
        )
    },
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "[]",
    # block types are for deployments and the UI; a later lasting server registers them (and
    # no memo of them: it imports every Prefect collection installed, prefect-dask's Dask too)
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


LOG_TAIL_LINES = 15  # of a temporary server's output, shown when it failed to start


class TemporaryServer:
    """A Prefect server (SQLite in PREFECT_HOME, no UI) for one ``epbatch`` run with none to
    report to. Its address is fixed before Prefect is imported; started once the study file is
    valid, it boots while Prefect loads and the models are checked, instead of after, as
    Prefect's ephemeral server does.
    """

    def __init__(self) -> None:
        with socket.socket() as probe:  # a port free now; taken again only in a rare race
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = api_url("127.0.0.1", self.port)
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None  # its output; deleted when it stops, unless it failed
        self.keep_log = False

    def client_env(self) -> dict[str, str]:
        """Its clients need no CSRF token unless the user turned the protection on."""
        if os.environ.get("PREFECT_SERVER_CSRF_PROTECTION_ENABLED", "").lower() in ("1", "true"):
            return {"PREFECT_API_URL": self.url}
        return {"PREFECT_API_URL": self.url, "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false"}

    def start(self) -> None:
        fd, name = tempfile.mkstemp(prefix="epbatch-prefect-server-", suffix=".log")
        os.close(fd)
        self.log = Path(name)
        self.process = start_server("127.0.0.1", self.port, TEMPORARY_SERVER_ENV, self.log)
        atexit.register(self.stop)

    def wait(self) -> None:
        """Return once it answers; else ``ServerUnavailable`` with the end of its output."""
        assert self.process is not None and self.log is not None, "start() first"
        try:
            wait_healthy(self.url, self.process)
        except ServerUnavailable as error:
            self.keep_log = True
            self.stop()
            tail = self.log.read_text(errors="replace").strip().splitlines()[-LOG_TAIL_LINES:]
            lines = [f"could not start a Prefect server for this run: {error}", *tail]
            lines.append(f"(its whole output: {self.log})")
            raise ServerUnavailable("\n".join(lines)) from None

    def stop(self, timeout_s: float = 20) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log is not None and not self.keep_log:
            self.log.unlink(missing_ok=True)


def is_healthy(url: str, timeout_s: float = 0.5) -> bool:
    """Whether a Prefect API answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout_s):  # noqa: S310 - local
            return True
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 120
) -> None:
    """Return once ``{url}/health`` answers; raise if the server (``process``, when it is
    ours) exits, or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerUnavailable(f"the Prefect server exited with code {process.returncode}")
        if is_healthy(url, timeout_s=2):
            return
        time.sleep(0.3)
    raise ServerUnavailable(f"the Prefect server at {url} did not answer within {timeout_s:.0f} s")
