"""The Prefect server stopped and started again while an ``epbatch run`` batch is running.

Each test has its own ``epbatch server`` (PostgreSQL-backed, `energyplus` limit 2), stopped
with SIGTERM (which also stops its private PostgreSQL cluster) while engines run, and started
again on the same port and PREFECT_HOME. Slots pass from variant to variant in the process's
pool meanwhile; a variant needing a new one waits for the server, and the slots released while
it is away are sent again until it takes them. A task run that fails for the lost API is
submitted again by the flow once the API answers (its result comes from the cache). Slot
leases are kept on disk (PREFECT_HOME/concurrency_leases), so the restarted server still knows
who holds its slots.
"""

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, text

from epbatch.ops.progress import PROGRESS_FILE
from tests.flows.helpers import busy_slots, epbatch_process, kill_if_running, task_runs
from tests.prefect_server import EpbatchServer
from tests.reliability.conftest import roof_study

pytestmark = [pytest.mark.reliability, pytest.mark.prefect, pytest.mark.engine]

VARIANTS = 8  # 1ZoneUncontrolled annual: ~5 s each on 2 slots, ~25 s of engine time in all
RESUBMITTED = "submitting it again once the API answers"


def wait_for_progress(
    out: Path, batch: subprocess.Popen[bytes], done: int, running: int, timeout_s: float
) -> dict[str, Any]:
    """The batch's progress.json once ``done`` variants ended and ``running`` engines run."""
    deadline = time.monotonic() + timeout_s
    while True:
        for path in out.glob(f"*/*/{PROGRESS_FILE}"):
            data: dict[str, Any] = json.loads(path.read_text())
            if data["done"] >= done and data["running"] >= running:
                return data
        assert batch.poll() is None, "the batch ended before the restart"
        assert time.monotonic() < deadline, f"no {done} variants done after {timeout_s} s"
        time.sleep(0.1)


@pytest.mark.parametrize("down_s", [0, 15], ids=["restarted-at-once", "down-15s"])
def test_server_restarted_mid_batch_every_variant_is_stored_once(tmp_path, down_s):
    server = EpbatchServer(tmp_path / "prefect-home")
    out = tmp_path / "runs"
    log = tmp_path / "batch.log"
    batch = None
    try:
        env = server.start() | {"EPBATCH_OUTPUT_DIR": str(out)}
        since = datetime.now(UTC)
        started = time.monotonic()
        batch = epbatch_process(roof_study(tmp_path, "restart", VARIANTS, "annual"), env, log)
        before = wait_for_progress(out, batch, done=2, running=1, timeout_s=300)

        stopped = time.monotonic()
        server.stop()  # while engines run: they end with the server away
        time.sleep(down_s)
        server.start()
        down = time.monotonic() - stopped

        status = batch.wait(timeout=600)
        output = log.read_text(errors="replace")
        assert status == 0, output[-3000:]
        resubmitted = output.count(RESUBMITTED)
        print(
            f"server down {down:.1f} s from {before['done']} of {VARIANTS} variants done "
            f"({before['running']} running); batch {time.monotonic() - started:.0f} s in all, "
            f"{resubmitted} task runs submitted again"
        )

        [db_file] = out.glob("epbatch.sqlite")
        with create_engine(f"sqlite:///{db_file}").connect() as db:
            batches = db.execute(text("SELECT batch_id, n_variants, n_succeeded FROM batches"))
            [(batch_id, n_variants, n_succeeded)] = batches.all()
            rows = db.execute(
                text("SELECT variant_id, status FROM results WHERE batch_id = :b"), {"b": batch_id}
            ).all()
        assert (n_variants, n_succeeded) == (VARIANTS, VARIANTS)
        ids = [variant_id for variant_id, _ in rows]
        assert len(ids) == len(set(ids)) == VARIANTS  # every variant once: none lost, no twin
        assert {status for _, status in rows} == {"succeeded"}

        with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
            runs = task_runs(since=since)
            assert busy_slots() == 0  # every slot given back, none leaked by the restart
            with get_client(sync_client=True) as client:
                [flow_run] = client.read_flow_runs()
        assert flow_run.state_name == "Completed"
        names = {run.name for run in runs}
        assert names == set(ids)  # every variant's task run is on the restarted server
        assert {run.state_name for run in runs} <= {"Completed", "Cached"}, [
            (run.name, run.state_name) for run in runs
        ]
        assert len(runs) == VARIANTS + resubmitted  # a resubmitted variant has two task runs
    finally:
        if batch is not None:
            kill_if_running(batch)
        server.stop()
