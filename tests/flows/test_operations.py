"""Retries by failure class, the content cache, resume after a kill, and slots shared by batches."""

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest
from prefect.client.schemas.objects import TaskRun
from sqlalchemy import create_engine, text

import flows.batch
from epbatch.ops.progress import PROGRESS_FILE
from flows.batch import batch_summary, run_energyplus_batch
from tasks.simulate import VARIANT_TAG
from tests.conftest import GOLDEN, INSULATED_WALL, TRIPLE_GLAZING, study_data
from tests.flows.conftest import SLOTS
from tests.flows.helpers import (
    busy_slots,
    engine_intervals,
    epbatch_process,
    held_slots,
    max_overlap,
    state_history,
    task_runs,
    timed_engine,
)

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


def function(run: TaskRun) -> str:
    """The task function a run belongs to (``task_key`` is ``<qualname>-<digest>``)."""
    return run.task_key.rsplit("-", 1)[0]


def engine_pids(marker: str) -> list[int]:
    """EnergyPlus processes whose command line mentions ``marker`` (a test's own folder)."""
    found = subprocess.run(
        ["pgrep", "-f", f"energyplus.*{marker}"], capture_output=True, text=True, check=False
    )
    return [int(p) for p in found.stdout.split()]


def kill_first_engine(marker: str, after_s: float) -> threading.Thread:
    """SIGKILL the first engine run under ``marker`` once it has run ``after_s`` seconds."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if pids := engine_pids(marker):
                time.sleep(after_s)
                os.kill(pids[0], signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_engine_killed_mid_run_is_retried_and_succeeds(
    output_dir, fresh_cache, write_study, models
):
    study = write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf")],
            weather=[GOLDEN],
            run_period={"start": "01-01", "end": "06-30"},
            construction_sets={"baseline": {}},
        )
    )
    killer = kill_first_engine(str(output_dir), after_s=0.5)
    state = run_energyplus_batch(str(study), return_state=True)
    killer.join()
    assert batch_summary(state).succeeded == 1
    [run] = task_runs(state.state_details.flow_run_id)
    assert run.run_count == 2
    names = [s.name for s in state_history(run.id)]
    assert "AwaitingRetry" in names and names[-1] == "Completed", names  # visible in the UI


def test_deterministic_failure_is_not_retried(
    output_dir, fresh_cache, write_study, models, tmp_path
):
    broken = tmp_path / "broken.idf"
    broken.write_text((models / "1ZoneUncontrolled.idf").read_text().replace("R31LAYER;", "NOPE;"))
    study = write_study(
        study_data(
            models=[str(broken)],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}},
        )
    )
    state = run_energyplus_batch(str(study), return_state=True)
    assert batch_summary(state).failed == 1
    [run] = task_runs(state.state_details.flow_run_id)
    assert (run.run_count, run.state_name) == (1, "Failed")


def test_rerun_of_a_finished_study_comes_from_the_cache(
    output_dir, fresh_cache, write_study, models
):
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={
                "a": {},
                "b": {"exterior_wall": INSULATED_WALL},
                "c": {"roof": INSULATED_WALL},
            },
        )
    )
    first = run_energyplus_batch(str(study), return_state=True)
    with held_slots(SLOTS):  # another batch holds every slot: cached variants need none
        second = run_energyplus_batch(str(study), return_state=True)
    one, two = batch_summary(first), batch_summary(second)
    assert one.batch_id != two.batch_id and two.succeeded == 3
    reruns = task_runs(second.state_details.flow_run_id, tag=VARIANT_TAG)
    assert Counter((function(r), r.state_name) for r in reruns) == {
        ("reuse_cached_variant", "Cached"): 3
    }
    assert not task_runs(second.state_details.flow_run_id)  # no energyplus task run at all
    columns = ["variant_id", "status", "site_energy_gj", "runtime_s"]
    tables = [pd.read_parquet(s.folder / "results.parquet")[columns] for s in (one, two)]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    progress = json.loads((two.folder / PROGRESS_FILE).read_text())
    assert (progress["cached"], progress["done"]) == (3, 3)


def test_a_cached_result_that_vanished_is_simulated_again(
    output_dir, fresh_cache, write_study, models, monkeypatch
):
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"a": {}, "b": {"exterior_wall": INSULATED_WALL}},
        )
    )
    # The flow sees a cached result that is gone by the time the task reads it.
    monkeypatch.setattr(flows.batch, "is_cached", lambda store, variant: True)
    state = run_energyplus_batch(str(study), return_state=True)
    summary = batch_summary(state)
    assert (summary.succeeded, summary.failed) == (2, 0)
    runs = task_runs(state.state_details.flow_run_id, tag=VARIANT_TAG)
    assert Counter((function(r), r.state_name) for r in runs) == {
        ("reuse_cached_variant", "Failed"): 2,  # the two misses, visible in the UI
        ("run_single_variant", "Completed"): 2,
    }
    progress = json.loads((summary.folder / PROGRESS_FILE).read_text())
    assert (progress["cached"], progress["succeeded"]) == (0, 2)


def test_killed_batch_resumes_with_only_the_missing_variants(
    prefect_env, write_study, models, tmp_path
):
    """The killed flow's slot leases expire on the server, so the re-run is not blocked forever."""
    out = tmp_path / "runs"
    env = prefect_env | {
        "EPBATCH_OUTPUT_DIR": str(out),
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
    }
    sets = {
        f"wall-{i}": {
            "exterior_wall": {
                "layers": [dict(INSULATED_WALL["layers"][1], thickness=0.05 * (i + 1))]
            }
        }
        for i in range(6)
    }
    study = write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf")], weather=[GOLDEN], construction_sets=sets
        )
    )
    first = epbatch_process(study, env, tmp_path / "first.log")
    deadline = time.monotonic() + 300
    while not (
        done := [
            p
            for p in out.glob(f"*/*/{PROGRESS_FILE}")
            if json.loads(p.read_text())["succeeded"] >= 2
        ]
    ):
        assert first.poll() is None and time.monotonic() < deadline, "batch ended too early"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the flow process dies mid-batch...
    for pid in engine_pids(str(out)):
        os.kill(pid, signal.SIGKILL)  # ...and its engines with it (as on a machine crash)
    first.wait()
    finished_before = json.loads(done[0].read_text())["succeeded"]

    start = time.monotonic()
    second = epbatch_process(study, env, tmp_path / "second.log")
    assert second.wait(timeout=600) == 0, (tmp_path / "second.log").read_text()[-3000:]
    print(f"re-run after the kill: {time.monotonic() - start:.0f} s (includes lease expiry)")

    [db_file] = out.glob("epbatch.sqlite")
    with create_engine(f"sqlite:///{db_file}").connect() as db:
        batches = db.execute(text("SELECT batch_id, n_variants FROM batches")).all()
        rows = db.execute(text("SELECT count(*), count(DISTINCT variant_id) FROM results")).one()
    assert len(batches) == 1 and batches[0][1] == 6  # the killed batch never wrote rows
    assert tuple(rows) == (6, 6)  # no duplicates, none lost
    progress = json.loads(next(out.glob(f"*/{batches[0][0]}/{PROGRESS_FILE}")).read_text())
    assert progress["cached"] >= finished_before  # only what was missing ran again


def test_a_killed_batch_does_not_hold_its_slots_forever(
    prefect_env, prefect_api, write_study, models, tmp_path
):
    env = prefect_env | {
        "EPBATCH_OUTPUT_DIR": str(tmp_path / "runs"),
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
    }
    sets = {
        f"s{i}": {"roof": {"layers": [dict(INSULATED_WALL["layers"][1], thickness=0.1 * (i + 1))]}}
        for i in range(4)
    }
    study = write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf")],
            weather=[GOLDEN],
            run_period="annual",
            construction_sets=sets,
        )
    )
    batch = epbatch_process(study, env, tmp_path / "batch.log")
    deadline = time.monotonic() + 180
    while len(engine_pids(str(tmp_path / "runs"))) < SLOTS:
        assert batch.poll() is None and time.monotonic() < deadline, "engines never started"
        time.sleep(0.2)
    os.killpg(batch.pid, signal.SIGKILL)
    for pid in engine_pids(str(tmp_path / "runs")):
        os.kill(pid, signal.SIGKILL)
    batch.wait()
    killed = time.monotonic()
    assert busy_slots() == SLOTS  # the dead process's leases still hold the slots...
    while busy_slots():
        assert time.monotonic() - killed < 180, "slots still held 3 minutes after the kill"
        time.sleep(1)
    print(
        f"slots reclaimed {time.monotonic() - killed:.0f} s after the kill"
    )  # ...until they expire


def test_two_batches_at_once_share_the_energyplus_limit(
    prefect_env, prefect_api, write_study, models, engine, tmp_path
):
    since = datetime.now(UTC)
    log = tmp_path / "engines.log"
    env = prefect_env | {
        "EPBATCH_OUTPUT_DIR": str(tmp_path / "runs"),
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
        "EPBATCH_ENERGYPLUS": str(timed_engine(engine, tmp_path / "engine", log)),
    }
    processes = []
    for name, glazing in (("a", {}), ("b", {"window": TRIPLE_GLAZING})):
        sets = {
            f"{name}-{i}": {
                "exterior_wall": {
                    "layers": [dict(INSULATED_WALL["layers"][1], thickness=0.05 * (i + 1))]
                }
            }
            | glazing
            for i in range(4)
        }
        study = write_study(
            study_data(
                models=[str(models / "5ZoneAirCooled.idf")],
                weather=[GOLDEN],
                run_period={"start": "01-01", "end": "01-03"},
                slots=SLOTS,
                construction_sets=sets,
            ),
            name=f"{name}.yaml",
        )
        processes.append(epbatch_process(study, env, tmp_path / f"{name}.log"))
    assert [p.wait(timeout=900) for p in processes] == [0, 0]
    assert len(task_runs(since=since)) == 8
    intervals = engine_intervals(log)
    assert len(intervals) == 8
    assert max_overlap(intervals) == SLOTS  # never more engines than the limit, across batches
    busy = sum(end - start for start, end in intervals)
    span = max(e for _, e in intervals) - min(s for s, _ in intervals)
    print(f"slot utilisation, two batches on {SLOTS} slots: {busy / (SLOTS * span):.2f}")
