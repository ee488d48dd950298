"""The Dask path: a real scheduler and two worker processes on loopback, started by the test."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from flows.batch import batch_summary, run_batch, run_energyplus_batch
from tasks.slots import IDLE_S
from tests.conftest import GOLDEN, INSULATED_WALL, TRIPLE_GLAZING, study_data
from tests.flows.conftest import SLOTS
from tests.flows.helpers import busy_slots, engine_intervals, max_overlap
from tests.prefect_server import free_port

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


@pytest.fixture(scope="module")
def dask_cluster(
    prefect_env: dict[str, str], prefect_api: str, tmp_path_factory
) -> Iterator[tuple[str, Path]]:
    """``dask scheduler`` plus two ``dask worker`` processes with 2 threads each (4 > SLOTS)."""
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    processes = []
    with (logs / "scheduler.log").open("wb") as out:
        processes.append(
            subprocess.Popen(
                [
                    *dask,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                env=prefect_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    for i in range(2):
        with (logs / f"worker-{i}.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "2",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                    ],
                    env=prefect_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    while (
        sum(
            "Starting established connection" in p.read_text(errors="replace")
            or "Registered to" in p.read_text(errors="replace")
            for p in logs.glob("worker-*.log")
        )
        < 2
    ):
        assert time.monotonic() < deadline, "dask workers did not register"
        time.sleep(0.5)
    try:
        yield address, logs
    finally:  # after the workers' slot pools gave back their idle slots (within IDLE_S)
        deadline = time.monotonic() + IDLE_S + 10
        while busy_slots() and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


def test_dask_results_match_the_local_run_and_the_limit_holds(
    prefect_api, dask_cluster, output_dir, write_study, models, tmp_path: Path, engine_log
):
    dask_address, logs = dask_cluster
    sets = {
        "base": {},
        "walls": {"exterior_wall": INSULATED_WALL},
        "windows": {"window": TRIPLE_GLAZING},
        "both": {"exterior_wall": INSULATED_WALL, "window": TRIPLE_GLAZING},
    }
    study = str(
        write_study(
            study_data(
                models=[str(models / "5ZoneAirCooled.idf")],
                weather=[GOLDEN],
                slots=4,
                construction_sets=sets,
            )
        )
    )
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "local"}):
        local = run_batch(study, slots=2)
    engine_log.unlink()  # the engines of the Dask run only
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "dask"}):
        state = run_energyplus_batch(study, dask_address=dask_address, return_state=True)
    on_dask = batch_summary(state)
    assert on_dask.succeeded == 4
    intervals = engine_intervals(engine_log)
    assert len(intervals) == 4 and max_overlap(intervals) <= SLOTS  # 4 Dask threads, 2 slots
    columns = [
        "variant_id",
        "status",
        "site_energy_gj",
        "heating_gj",
        "cooling_gj",
        "electricity_gj",
        "unmet_hours_heating",
    ]
    tables = [pd.read_parquet(s.folder / "results.parquet")[columns] for s in (local, on_dask)]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    worker_logs = "".join(p.read_text(errors="replace") for p in logs.glob("worker-*.log"))
    assert all(v in worker_logs for v in tables[1]["variant_id"])  # ran in the Dask workers
