"""Load: three ``epbatch run`` processes on one Prefect server whose `energyplus` limit is 2
(``epbatch server``, and a stock ``prefect server start``).

Two batches start at once, a third once both slots are busy (so it queues behind them). Each
batch has its own construction sets (no cache hit between them); all three write to the same
output folder and so to one results database (the default SQLite file there). A stand-in
``energyplus`` logs when each simulation starts and ends: the engines actually running at once,
measured from outside Prefect.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, text

from tests.flows.conftest import SLOTS
from tests.flows.helpers import (
    busy_slots,
    engine_intervals,
    engine_runs,
    epbatch_process,
    kill_if_running,
    max_overlap,
    task_runs,
    timed_engine,
)
from tests.reliability.conftest import roof_study

pytestmark = [pytest.mark.reliability, pytest.mark.prefect, pytest.mark.engine]

BATCHES = ("load-a", "load-b", "load-c")  # load-c starts once both slots are busy
VARIANTS = 5
HALF_YEAR = {"start": "01-01", "end": "06-30"}  # 1ZoneUncontrolled: ~2-3 s per run


def running_engines(log: Path) -> list[str]:
    """pids of the simulations started and not yet ended."""
    return [pid for pid, (_, end, _) in engine_runs(log).items() if end is None]


@pytest.fixture(params=["epbatch-server", "stock-server"])
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """``epbatch server``, or a stock ``prefect server start`` (SQLite, Prefect's defaults),
    this process's Prefect client pointed at it too."""
    fixture = "prefect_env" if request.param == "epbatch-server" else "stock_prefect_env"
    env: dict[str, str] = request.getfixturevalue(fixture)
    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        yield env


def test_three_batches_share_two_slots_and_store_every_variant_once(server_env, engine, tmp_path):
    since = datetime.now(UTC)
    out = tmp_path / "runs"
    log = tmp_path / "engines.log"
    env = server_env | {
        "EPBATCH_OUTPUT_DIR": str(out),  # one folder, so one results database for all three
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
        "EPBATCH_ENERGYPLUS": str(timed_engine(engine, tmp_path / "engine", log)),
    }
    studies = {
        name: roof_study(tmp_path, name, VARIANTS, HALF_YEAR, first_r=1.0 + 10 * k)
        for k, name in enumerate(BATCHES)
    }

    processes = {
        name: epbatch_process(studies[name], env, tmp_path / f"{name}.log") for name in BATCHES[:2]
    }
    try:
        deadline = time.monotonic() + 300
        while len(running := running_engines(log)) < SLOTS:
            assert all(p.poll() is None for p in processes.values()), "a batch ended too early"
            assert time.monotonic() < deadline, "the first two batches never filled the slots"
            time.sleep(0.1)
        processes["load-c"] = epbatch_process(studies["load-c"], env, tmp_path / "load-c.log")
        statuses = {name: p.wait(timeout=600) for name, p in processes.items()}
    finally:
        for process in processes.values():
            kill_if_running(process)
    assert statuses == dict.fromkeys(BATCHES, 0), {
        name: (tmp_path / f"{name}.log").read_text(errors="replace")[-2000:] for name in BATCHES
    }

    # The results database: three batches, every variant of each exactly once, all succeeded.
    [db_file] = out.glob("epbatch.sqlite")
    with create_engine(f"sqlite:///{db_file}").connect() as db:
        batches = db.execute(
            text("SELECT study_name, batch_id, n_variants, n_succeeded FROM batches")
        ).all()
        rows = db.execute(text("SELECT batch_id, variant_id, status FROM results")).all()
    assert sorted((s, n, ok) for s, _, n, ok in batches) == [
        (name, VARIANTS, VARIANTS) for name in BATCHES
    ]
    keys = [(batch_id, variant_id) for batch_id, variant_id, _ in rows]
    assert len(keys) == len(set(keys)) == len(BATCHES) * VARIANTS  # none lost, no duplicate
    assert {status for _, _, status in rows} == {"succeeded"}
    for study_name, batch_id, _, _ in batches:
        stored = {v.split("__")[1] for b, v in keys if b == batch_id}
        assert stored == {f"roof-{i}" for i in range(VARIANTS)}, study_name

    # The engines themselves: one simulation per variant, never more than the limit at once.
    runs = engine_runs(log)
    assert len(runs) == len(BATCHES) * VARIANTS  # no retry, no cache hit between batches
    intervals = engine_intervals(log)
    assert max_overlap(intervals) == SLOTS  # the limit held, and was used, across batches
    by_batch = {name: [s for s, _, cwd in runs.values() if f"/{name}/" in cwd] for name in BATCHES}
    assert [len(starts) for starts in by_batch.values()] == [VARIANTS] * len(BATCHES)
    first_freed = min(end for pid, (_, end, _) in runs.items() if pid in running and end)
    assert min(by_batch["load-c"]) >= first_freed  # it queued until a slot was given back

    # What Prefect recorded: a task run per variant, none cached, slots all given back.
    prefect_runs = task_runs(since=since)
    assert len(prefect_runs) == len(BATCHES) * VARIANTS
    assert {run.state_name for run in prefect_runs} == {"Completed"}
    assert busy_slots() == 0
    span = max(e for _, e in intervals) - min(s for s, _ in intervals)
    busy = sum(e - s for s, e in intervals)
    print(
        f"3 batches x {VARIANTS} variants on {SLOTS} slots: {span:.0f} s of engines, "
        f"slot utilisation {busy / (SLOTS * span):.2f}"
    )
