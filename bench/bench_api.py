"""Task runs the Prefect server records per second, on SQLite and on PostgreSQL.

    python bench/bench_api.py --runs 200

For each database it starts ``epbatch server --database=...`` (fresh PREFECT_HOME, an
``energyplus`` limit of ``--slots``) and runs one flow mapping ``--runs`` no-op tasks configured
like ``run_single_variant`` (the ``energyplus`` tag, a content cache key, a persisted result)
on ``--slots`` threads: no engine, so this is the orchestration's own ceiling. It prints task
runs per second until the flow returns and until the server has recorded them all as
Completed, and the CPU per task run of the client and of the server (with its database).
"""

import argparse
import asyncio
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_batch import tree_cpu
from bench_slots import start_server
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner


@task(
    tags=["energyplus"],
    task_run_name="noop-{i}",
    cache_key_fn=lambda context, parameters: f"bench-{parameters['salt']}-{parameters['i']}",
    persist_result=True,
)
def noop(i: int, salt: str) -> dict[str, Any]:
    return {"variant": i, "status": "succeeded"}


@flow(name="bench-api")
def noop_batch(runs: int, threads: int, salt: str) -> None:
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=threads)
    with runner as pool:
        for future in [pool.submit(noop, {"i": i, "salt": salt}) for i in range(runs)]:
            future.wait()


def completed(flow_run_id: uuid.UUID | None) -> int:
    """Task runs of the flow run that the server has recorded as Completed."""

    async def count() -> int:
        total = 0
        async with get_client() as client:
            while page := await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                task_run_filter=TaskRunFilter(
                    state=TaskRunFilterState(
                        type=TaskRunFilterStateType(any_=[StateType.COMPLETED])
                    )
                ),
                offset=total,
                limit=200,  # the API's maximum page
            ):
                total += len(page)
        return total

    return asyncio.run(count())


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(home: Path) -> float:
    pid_file = home / "epbatch-postgres" / "data" / "postmaster.pid"
    return tree_cpu(int(pid_file.read_text().split()[0])) if pid_file.is_file() else 0.0


def measure(database: str, runs: int, slots: int) -> str:
    home = Path(tempfile.mkdtemp(prefix=f"epbatch-api-{database}-"))
    server, url = start_server(home, slots, 1.0, database == "postgres")
    try:
        with temporary_settings({PREFECT_API_URL: url, PREFECT_LOCAL_STORAGE_PATH: home / "r"}):
            noop_batch(2, slots, "warm-up")  # the flow and task definitions exist afterwards
            server_before, client_before = tree_cpu(server.pid) + postgres_cpu(home), own_cpu()
            start = time.perf_counter()
            state = noop_batch(runs, slots, uuid.uuid4().hex, return_state=True)
            returned = time.perf_counter() - start
            while completed(state.state_details.flow_run_id) < runs:
                time.sleep(0.2)
            recorded = time.perf_counter() - start
            server_cpu = tree_cpu(server.pid) + postgres_cpu(home) - server_before
            client_cpu = own_cpu() - client_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    return (
        f"{database:10s} {runs} task runs on {slots} threads: flow returned after "
        f"{returned:.1f} s ({runs / returned:.1f} runs/s), all recorded Completed after "
        f"{recorded:.1f} s ({runs / recorded:.1f} runs/s); CPU per task run: client "
        f"{client_cpu / runs * 1000:.0f} ms, server + database {server_cpu / runs * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--slots", type=int, default=2, help="the energyplus limit and threads")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(measure(args.one, args.runs, args.slots), flush=True)
        return
    for database in args.databases:  # a process each: Prefect's services keep their first API
        command = [sys.executable, __file__, "--one", database, "--runs", str(args.runs)]
        subprocess.run([*command, "--slots", str(args.slots)], check=True)


if __name__ == "__main__":
    main()
