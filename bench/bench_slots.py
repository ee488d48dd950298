"""Slot utilisation of the ``energyplus`` limit: one batch alone, then two batches at once.

    python bench/bench_slots.py --model ../shared/models/1ZoneUncontrolled.idf --wait 10 1

For each tag-slot wait setting (PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS) it starts
``epbatch server`` with that setting, runs the batches through ``epbatch run`` and prints
utilisation = engine-busy seconds / (limit x seconds from the first engine start to the last end).
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    home: Path, slots: int, wait_s: float, postgres: bool
) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS=str(wait_s),
    )
    env.pop("PREFECT_API_URL", None)
    log = home / "server.log"
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "epbatch.ops.cli",
                "server",
                "--port",
                str(port),
                "--slots",
                str(slots),
                "--database=" + ("postgres" if postgres else "sqlite"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    while "export PREFECT_API_URL=" not in log.read_text():
        assert server.poll() is None, log.read_text()
        time.sleep(0.3)
    return server, f"http://127.0.0.1:{port}/api"


def study(folder: Path, model: Path, name: str, n: int, slots: int) -> Path:
    """``n`` variants whose content differs from every other batch's (no cache hits)."""
    offset = sum(map(ord, name)) / 1e4
    sets = {
        f"{name}-{i}": {
            "exterior_wall": {
                "layers": [
                    {
                        "material": "Insulation",
                        "thickness": round(0.02 + 0.01 * i + offset, 5),
                        "conductivity": 0.035,
                        "density": 30,
                        "specific_heat": 840,
                    }
                ]
            }
        }
        for i in range(n)
    }
    data = {
        "name": name,
        "models": [str(model.resolve())],
        "slots": slots,
        "weather": ["USA_CO_Golden-NREL.724666_TMY3.epw"],
        "run_period": "annual",
        "construction_sets": sets,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def task_intervals(api_url: str, since: datetime) -> list[tuple[datetime, datetime]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        TaskRunFilter,
        TaskRunFilterStartTime,
        TaskRunFilterTags,
    )

    async def read() -> list[tuple[datetime, datetime]]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                task_run_filter=TaskRunFilter(
                    tags=TaskRunFilterTags(all_=["energyplus"]),
                    start_time=TaskRunFilterStartTime(after_=since),
                )
            )
        return [(r.start_time, r.end_time) for r in runs if r.start_time and r.end_time]

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        return asyncio.run(read())


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    depth = peak = 0
    for _, step in events:
        depth += step
        peak = max(peak, depth)
    return peak


def utilisation(api_url: str, studies: list[Path], work: Path, slots: int) -> float:
    env = dict(
        os.environ,
        PREFECT_API_URL=api_url,
        EPBATCH_OUTPUT_DIR=str(work / "runs"),
        PREFECT_LOCAL_STORAGE_PATH=str(work / "results"),
    )  # no cache hits across runs
    since = datetime.now(UTC)
    batches = [
        subprocess.Popen(
            [sys.executable, "-m", "epbatch.ops.cli", "run", str(s)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in studies
    ]
    assert [b.wait() for b in batches] == [0] * len(batches)
    busy = sum(
        pd.read_parquet(p)["runtime_s"].sum()
        for s in studies
        for p in (work / "runs" / s.stem).glob("*/results.parquet")
    )
    expected = sum(
        len(pd.read_parquet(p))
        for s in studies
        for p in (work / "runs" / s.stem).glob("*/results.parquet")
    )
    deadline = time.monotonic() + 60
    while len(intervals := task_intervals(api_url, since)) < expected:  # states arrive as events
        assert time.monotonic() < deadline, f"{len(intervals)} of {expected} task runs recorded"
        time.sleep(1)
    span = (max(e for _, e in intervals) - min(s for s, _ in intervals)).total_seconds()
    assert max_overlap(intervals) <= slots, f"{max_overlap(intervals)} engines at once"
    return float(busy / (slots * span))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--variants", type=int, default=8, help="per batch")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--wait", type=float, nargs="+", default=[10.0, 1.0])
    parser.add_argument("--postgres", action="store_true", help="epbatch server --postgres")
    args = parser.parse_args()
    for wait_s in args.wait:
        work = Path(tempfile.mkdtemp(prefix="epbatch-slots-"))
        server, url = start_server(work, args.slots, wait_s, args.postgres)
        try:
            one = utilisation(
                url,
                [study(work, args.model, "one", args.variants, args.slots)],
                work / "one",
                args.slots,
            )
            two = utilisation(
                url,
                [study(work, args.model, n, args.variants, args.slots) for n in ("two-a", "two-b")],
                work / "two",
                args.slots,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
        database = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{database} server, tag slot wait {wait_s:g} s: utilisation one batch {one:.2f}, "
            f"two batches at once {two:.2f} ({args.variants} variants of {args.model.name} "
            f"per batch, {args.slots} slots)"
        )


if __name__ == "__main__":
    main()
