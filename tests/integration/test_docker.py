"""The Docker runner against a real Docker daemon and the real engine image.

The session fixture starts ``dockerd`` if none answers and builds the images
(``docker/build-images.sh``, a no-op when they exist); if Docker cannot be made available the
tests fail: they are not optional.
"""

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import docker
import pytest

from epbatch.results.records import VariantResult
from epbatch.run.runners import get_runner
from epbatch.run.runners.base import SimulationJob
from epbatch.run.runners.docker import DockerRunner, create_container, exit_code
from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings, get_settings
from epbatch.variants.plan import BatchPlan, plan_batch
from tests.conftest import GOLDEN, INSULATED_WALL, MODELS
from tests.integration.docker_daemon import running_daemon

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
WEEK = {"start": "01-01", "end": "01-07"}


@pytest.fixture(scope="session")
def docker_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[docker.DockerClient]:
    """A client of a running daemon that has the engine image; starts and stops dockerd if needed."""
    with running_daemon(tmp_path_factory.mktemp("dockerd")):
        build = subprocess.run(
            ["bash", str(ROOT / "docker" / "build-images.sh"), "runner"],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if build.returncode != 0:
            pytest.fail(f"docker/build-images.sh failed:\n{build.stdout}\n{build.stderr}")
        client = docker.from_env()
        yield client
        client.close()


def containers(client: docker.DockerClient) -> list[str]:
    """Every container, running or not, that a Docker runner made."""
    return [
        c.id or ""
        for c in client.containers.list(all=True, filters={"label": "epbatch.runner=docker"})
    ]


@pytest.fixture
def no_leftovers(docker_client: docker.DockerClient) -> Iterator[None]:
    before = set(containers(docker_client))
    yield
    assert set(containers(docker_client)) <= before, "the runner left a container behind"


def plan(write_study, tmp_path: Path, **overrides) -> BatchPlan:
    return plan_batch(write_study(**overrides), Settings(output_dir=tmp_path / "runs"))


def job_of(batch: BatchPlan, index: int = 0, timeout_s: float = 120) -> SimulationJob:
    variant = batch.variants[index]
    options = batch.options
    out = variant.folder / "out"
    return SimulationJob(options.executable, variant.idf, variant.epw, out, options.mode, timeout_s)


def comparable(result: VariantResult) -> dict[str, object]:
    values = asdict(result)
    del values["runtime_s"]
    return values


@pytest.mark.usefixtures("no_leftovers")
def test_docker_gives_the_local_results(write_study, tmp_path):
    batch = plan(
        write_study,
        tmp_path,
        models=[str(MODELS / "5ZoneAirCooled.idf"), str(MODELS / "1ZoneUncontrolled.idf")],
        run_period=WEEK,
        construction_sets={"baseline": {}, "insulated-walls": {"exterior_wall": INSULATED_WALL}},
    )
    assert len(batch.variants) == 4
    docker_options = replace(batch.options, runner="docker")
    for variant in batch.variants:
        local = simulate_variant(variant, batch.options)
        in_docker = simulate_variant(variant, docker_options)
        assert local.status == in_docker.status == "succeeded", (local, in_docker)
        assert in_docker.site_energy_gj and in_docker.site_energy_gj > 0
        assert comparable(in_docker) == pytest.approx(comparable(local), abs=0.011)
        assert (variant.folder / "out" / "energyplus.log").read_text().strip()


def test_get_runner_knows_docker():
    runner = get_runner("docker")
    assert isinstance(runner, DockerRunner)
    assert runner.image == get_settings().docker_image


@pytest.mark.usefixtures("no_leftovers")
def test_container_is_offline_capped_and_mounts_inputs_read_only(
    docker_client, write_study, tmp_path
):
    batch = plan(write_study, tmp_path, run_period="annual", construction_sets={"baseline": {}})
    job = job_of(batch)
    job.out_dir.mkdir(parents=True)
    settings = get_settings()
    container = create_container(
        docker_client,
        job,
        settings.docker_image,
        "0:0",
        settings.docker_memory,
        settings.docker_cpus,
    )
    try:
        container.start()  # a year of 5ZoneAirCooled: running long enough to look inside
        config, host = container.attrs["Config"], container.attrs["HostConfig"]
        assert config["NetworkDisabled"] is True
        assert host["NetworkMode"] == "none"
        assert host["Memory"] == 1024**3 and host["NanoCpus"] == 1_000_000_000
        interfaces = container.exec_run(["cat", "/proc/net/dev"]).output
        assert isinstance(interfaces, bytes)
        assert [line.split(":")[0].strip() for line in interfaces.decode().splitlines()[2:]] == [
            "lo"
        ]
        assert container.exec_run(["touch", "/in/x"]).exit_code != 0, "/in must be read-only"
        assert container.exec_run(["touch", "/out/x"]).exit_code == 0
    finally:
        container.remove(force=True)


@pytest.mark.usefixtures("no_leftovers")
def test_timeout_kills_and_removes_the_container(write_study, tmp_path):
    batch = plan(write_study, tmp_path, run_period="annual", construction_sets={"baseline": {}})
    options = replace(batch.options, runner="docker", timeout_s=1.5)
    start = time.monotonic()
    result = simulate_variant(batch.variants[0], options)
    assert time.monotonic() - start < 15
    assert result.status == "failed" and result.retryable
    stopped = re.fullmatch(r"timeout after (\d+\.\d) s", result.error or "")
    assert stopped and 1.5 <= float(stopped[1]) < 15  # killed at the timeout, not at the end
    assert result.exit_code == -9


@pytest.mark.usefixtures("no_leftovers")
def test_fatal_model_error_is_parsed_and_the_container_removed(write_study, tmp_path):
    broken = tmp_path / "broken.idf"
    text = (MODELS / "1ZoneUncontrolled.idf").read_text()
    broken.write_text(
        text.replace("R13WALL,                 !- Construction Name", "NO SUCH WALL,", 1)
    )
    batch = plan(
        write_study,
        tmp_path,
        models=[str(broken)],
        weather=[GOLDEN],
        construction_sets={"baseline": {}},
    )
    result = simulate_variant(batch.variants[0], replace(batch.options, runner="docker"))
    assert result.status == "failed" and not result.retryable
    assert result.error is not None and "NO SUCH WALL" in result.error
    assert result.severe_errors >= 1 and result.exit_code == 1


@pytest.mark.usefixtures("no_leftovers")
def test_engine_killed_in_the_container_reads_as_a_signal(write_study, tmp_path):
    """Out of memory, the kernel kills the engine: 137 from Docker, -9 like a local SIGKILL."""
    batch = plan(
        write_study, tmp_path, run_period="design-days", construction_sets={"baseline": {}}
    )
    outcome = DockerRunner(memory="8m").run(job_of(batch))
    assert (outcome.exit_code, outcome.timed_out) == (-9, False)
    assert [exit_code(s) for s in (0, 1, 137, 139, 255)] == [0, 1, -9, -11, 255]


@pytest.mark.usefixtures("no_leftovers")
def test_container_is_removed_when_the_runner_itself_fails(write_study, tmp_path, monkeypatch):
    import epbatch.run.runners.docker as module

    class Broken(Exception):
        pass

    def fail(*args: object) -> tuple[int, bool]:
        raise Broken

    monkeypatch.setattr(module, "wait_container", fail)
    batch = plan(
        write_study, tmp_path, run_period="design-days", construction_sets={"baseline": {}}
    )
    with pytest.raises(Broken):
        DockerRunner().run(job_of(batch))


@pytest.mark.usefixtures("no_leftovers")
def test_outputs_belong_to_the_calling_user(write_study, tmp_path):
    """Run as a non-root uid (1000 when the tests run as root): no root-owned outputs."""
    uid = os.getuid() or 1000
    gid = os.getgid() if os.getuid() else 1000
    batch = plan(
        write_study, tmp_path, run_period="design-days", construction_sets={"baseline": {}}
    )
    job = job_of(batch)
    job.out_dir.mkdir(parents=True)
    os.chown(job.out_dir, uid, gid)  # what mkdir gives a non-root caller
    user = None if os.getuid() else f"{uid}:{gid}"  # None: the runner's default, the caller
    outcome = DockerRunner(user=user).run(job)
    assert outcome.exit_code == 0, outcome.log_tail
    written = list(job.out_dir.glob("eplusout.*"))
    assert written and {(p.stat().st_uid, p.stat().st_gid) for p in written} == {(uid, gid)}
