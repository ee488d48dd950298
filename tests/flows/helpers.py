"""Running ``epbatch`` as a user would and reading what the Prefect server recorded."""

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterStartTime,
    TaskRunFilterTags,
)
from prefect.client.schemas.objects import State, TaskRun

from epbatch.run.engine import Engine
from tests.reliability.conftest import stand_in_engine

# The server writes task-run states in batches, once a second (server.RECORDER_ENV).
RECORDER_SETTLE_S = 1.5
RECORDER_WAIT_S = 30.0


def task_runs(
    flow_run_id: UUID | None = None, since: datetime | None = None, tag: str = "energyplus"
) -> list[TaskRun]:
    """Task runs tagged ``tag`` of one flow run, or of every flow run started since ``since``,
    once the server has written what it was sent: two reads ``RECORDER_SETTLE_S`` apart agree.
    """

    async def read() -> list[TaskRun]:
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
                if flow_run_id
                else None,
                task_run_filter=TaskRunFilter(
                    tags=TaskRunFilterTags(all_=[tag]),
                    start_time=TaskRunFilterStartTime(after_=since) if since else None,
                ),
            )

    runs, deadline = asyncio.run(read()), time.monotonic() + RECORDER_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(RECORDER_SETTLE_S)
        again = asyncio.run(read())
        if _states(again) == _states(runs):
            break
        runs = again
    return runs


def _states(runs: list[TaskRun]) -> list[tuple[UUID, str | None]]:
    return sorted((run.id, run.state_name) for run in runs)


def busy_slots() -> int:
    """Slots of the ``energyplus`` limit held right now, by any run on the server."""

    async def read() -> int:
        async with get_client() as client:
            limit = await client.read_global_concurrency_limit_by_name("tag:energyplus")
            return limit.active_slots

    return asyncio.run(read())


@contextmanager
def held_slots(slots: int) -> Iterator[None]:
    """Hold ``slots`` of the ``energyplus`` limit, as another batch would; fail if they were
    taken back (the lease expired) before the block ended."""

    async def acquire() -> UUID:
        async with get_client() as client:
            response = await client.increment_concurrency_slots_with_lease(
                names=["tag:energyplus"], slots=slots, mode="concurrency", lease_duration=60
            )
            return UUID(response.json()["lease_id"])

    async def release(lease_id: UUID) -> None:
        async with get_client() as client:
            await client.release_concurrency_slots_with_lease(lease_id)

    lease_id = asyncio.run(acquire())
    try:
        yield
        assert busy_slots() >= slots, "the held slots were reclaimed before the block ended"
    finally:
        asyncio.run(release(lease_id))


def state_history(task_run_id: UUID) -> list[State]:
    async def read() -> list[State]:
        async with get_client() as client:
            return await client.read_task_run_states(task_run_id)

    return asyncio.run(read())


Instant = TypeVar("Instant", datetime, float)


def max_overlap(intervals: list[tuple[Instant, Instant]]) -> int:
    """The most intervals open at one instant (an end and a start at once do not overlap);
    datetimes (task runs) or epoch seconds (logged engine processes)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    depth = peak = 0
    for _, step in events:
        depth += step
        peak = max(peak, depth)
    return peak


def epbatch_process(study: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``epbatch run STUDY`` as its own process (and process group), output appended to ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "epbatch.ops.cli", "run", str(study)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_if_running(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process``'s group (a batch and its engines) if it is still running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def timed_engine(engine: Engine, folder: Path, log: Path) -> Path:
    """The real engine, with a ``start|end <epoch s> <pid> <cwd>`` line per simulation in
    ``log`` (the input check, ``--convert-only``, runs outside the slots and is not logged)."""
    line = f'"$(date +%s.%N) $$ $PWD" >> {shlex.quote(str(log))}'
    return stand_in_engine(
        engine,
        folder,
        'case " $* " in *" --convert-only "*) exec "$ENERGYPLUS" "$@" ;; esac\n'
        f"echo start {line}\n"
        '"$ENERGYPLUS" "$@"\n'
        "code=$?\n"
        f"echo end {line}\n"
        "exit $code\n",
    )


def engine_runs(log: Path) -> dict[str, tuple[float, float | None, str]]:
    """pid -> (start, end or None, working folder) of each simulation logged so far."""
    runs: dict[str, tuple[float, float | None, str]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        kind, stamp, pid, cwd = line.split(" ", 3)
        if kind == "start":
            runs[pid] = (float(stamp), None, cwd)
        else:
            start, _, cwd = runs[pid]
            runs[pid] = (start, float(stamp), cwd)
    return runs


def engine_intervals(log: Path) -> list[tuple[float, float]]:
    """(start, end) of each finished simulation: what the ``energyplus`` slots bound."""
    runs = engine_runs(log)
    intervals = [(start, end) for start, end, _ in runs.values() if end is not None]
    assert len(intervals) == len(runs), "an engine without its end line"
    return intervals
