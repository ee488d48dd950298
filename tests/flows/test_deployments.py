"""prefect.yaml for real: deploy --all, a process worker, `prefect deployment run`, results stored."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun
from sqlalchemy import create_engine, text

from tests.conftest import GOLDEN, INSULATED_WALL, study_data

pytestmark = [pytest.mark.prefect, pytest.mark.engine]
ROOT = Path(__file__).resolve().parents[2]


def prefect(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def read_flow_run(flow_run_id: UUID) -> FlowRun:
    async def read() -> FlowRun:
        async with get_client() as client:
            return await client.read_flow_run(flow_run_id)

    return asyncio.run(read())


@pytest.fixture(scope="module")
def worker_env(prefect_env, prefect_api, tmp_path_factory) -> Iterator[dict[str, str]]:
    """Deployments applied from prefect.yaml and a process worker polling the pool."""
    out = tmp_path_factory.mktemp("worker-runs")
    env = prefect_env | {"EPBATCH_OUTPUT_DIR": str(out), "PREFECT_WORKER_QUERY_SECONDS": "2"}
    deployed = prefect("--no-prompt", "deploy", "--all", env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    log = out / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "epbatch-process"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield env
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: do not fail the test for it
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def run_deployment(name: str, env: dict[str, str], *params: str) -> FlowRun:
    """``prefect deployment run NAME --param P...``, waited for until its run is final."""
    options = [arg for param in params for arg in ("--param", param)]
    started = prefect("deployment", "run", name, *options, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", started.stdout)
    assert match, started.stdout
    deadline = time.monotonic() + 600  # generous: a loaded 2-core machine
    while not (run := read_flow_run(UUID(match.group(1)))).state or not run.state.is_final():
        assert time.monotonic() < deadline, f"flow run still {run.state_name}"
        time.sleep(1)
    return run


def test_deployment_run_is_picked_up_and_stores_results(worker_env, write_study, models):
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}, "insulated": {"exterior_wall": INSULATED_WALL}},
        )
    )
    run = run_deployment("run-energyplus-batch/study", worker_env, f"study={study}", "slots=2")
    assert run.state_name == "Completed", run.state
    assert run.start_time and run.created
    latency = (run.start_time - run.created).total_seconds()
    print(f"deployment pickup latency: {latency:.1f} s")  # reported in the closing note

    database = create_engine(f"sqlite:///{worker_env['EPBATCH_OUTPUT_DIR']}/epbatch.sqlite")
    with database.connect() as db:
        rows = db.execute(text("SELECT status FROM results")).scalars().all()
    assert rows == ["succeeded", "succeeded"]


def test_nightly_schedule_is_declared(worker_env):
    async def read() -> object:
        async with get_client() as client:
            return await client.read_deployment_by_name("run-energyplus-batch/nightly-demo")

    deployment = asyncio.run(read())
    [schedule] = deployment.schedules  # type: ignore[attr-defined]
    assert schedule.schedule.cron == "0 2 * * *" and schedule.active
    assert deployment.parameters["study"] == "demo"  # type: ignore[attr-defined]


def test_the_nightly_demo_runs_and_writes_nothing_into_the_checkout(worker_env):
    run = run_deployment("run-energyplus-batch/nightly-demo", worker_env)
    assert run.state_name == "Completed", run.state
    inputs = Path(worker_env["EPBATCH_OUTPUT_DIR"]) / "demo-inputs"
    assert (inputs / "study.yaml").is_file() and (inputs / "shoebox.idf").is_file()
    assert not (ROOT / "studies").exists()  # the bootstrap once wrote studies/demo/ here


def test_the_server_scheduler_creates_the_nightly_runs(worker_env):
    """The server's scheduler service turns the cron schedule into Scheduled flow runs.

    It broke silently once: with SQLAlchemy 2.1, Prefect 3.8's scheduler raises on its bulk
    insert ("Can't evaluate bulk DML statement") and no scheduled run is ever created.
    """

    async def scheduled() -> list[FlowRun]:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name("run-energyplus-batch/nightly-demo")
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            )
            return [run for run in runs if run.auto_scheduled]  # not one run by hand

    # the scheduler looks at recently changed deployments every 5 s
    deadline = time.monotonic() + 120
    while not (runs := asyncio.run(scheduled())):
        assert time.monotonic() < deadline, "the scheduler created no run for nightly-demo"
        time.sleep(2)
    assert {run.state_name for run in runs} == {"Scheduled"}
    times = sorted(run.expected_start_time for run in runs if run.expected_start_time)
    assert times and all((t.hour, t.minute) == (2, 0) for t in times), times
