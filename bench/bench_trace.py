"""Where a batch's extra time goes: every engine start and end traced, for the engine alone
under ``xargs -P SLOTS``, ``epbatch run`` and (``--bare``) the least Prefect flow of the same
design (bare_prefect_flow.py), on the same IDFs.

    python bench/bench_trace.py --model ../shared/models/1ZoneUncontrolled.idf --variants 24 \
        --bare --server-pid "$(pgrep -f 'epbatch server')"

Wall-clock ratios on a shared machine swing with the engines' own speed (±25 % between two
identical runs here); the gaps when a slot has no engine swing much less. Per run: the time to
the first engine, the mean idle gap per hand-over (one engine's end to the next start on that
slot), the tail (the last engine's end to the command's exit), the mean engine run time, the
command's own CPU per variant (not its engines') and the server tree's CPU per variant.
The engines run through a wrapper that logs ``$EPOCHREALTIME`` and ``exec``s the real engine
(same process: its niceness and process group are the engine's); an engine's end is the last
write of its ``eplusout.err``, ~80 ms before it exits, for every contender alike.
"""

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_batch import engine_lines, study_file, tree_cpu

from epbatch.run.engine import find_engine
from epbatch.settings import Settings
from epbatch.variants.plan import plan_batch

WRAPPER = """#!/bin/bash
out=.
for ((i = 1; i <= $#; i++)); do [[ ${!i} == -d ]] && { j=$((i + 1)); out=${!j}; }; done
echo "$EPOCHREALTIME $out" >> "$EPBATCH_TRACE"
exec "$EPBATCH_REAL_ENGINE" "$@"
"""


@dataclass
class Trace:
    wall: float
    cpu: float  # the command's own CPU seconds, not its children's (the engines)
    server_cpu: float  # the server's process tree's CPU seconds meanwhile
    first_start: float  # after the command started
    handover_gap: float  # mean idle seconds of a slot between two engines
    tail: float  # last engine end to the command's exit
    engine_mean: float


def shadow_engine(real: Path, folder: Path) -> Path:
    """A copy of the engine's folder (symlinks) whose ``energyplus`` is the tracing wrapper."""
    folder.mkdir()
    for entry in real.parent.iterdir():
        (folder / entry.name).symlink_to(entry)
    wrapper = folder / real.name
    wrapper.unlink()
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    return wrapper


def idle_slot_seconds(spans: list[tuple[float, float]], slots: int) -> float:
    """Slot-seconds with no engine between the first start and the last end."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    idle, running, previous = 0.0, 0, events[0][0]
    for t, step in events:
        idle += max(0, slots - running) * (t - previous)
        running, previous = running + step, t
    return idle


def own_cpu(pid: int) -> float:
    """CPU seconds ``pid`` itself has used (utime + stime, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def traced(
    command: list[str], trace: Path, slots: int, server_pid: int | None, **kwargs: object
) -> Trace:
    """Run ``command``, sampling its own CPU time until it exits."""
    trace.write_text("")
    server_cpu = tree_cpu(server_pid) if server_pid else 0.0
    start = time.time()
    process = subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]
    cpu = 0.0
    while process.poll() is None:
        with contextlib.suppress(OSError):  # it may exit between poll and read
            cpu = own_cpu(process.pid)
        time.sleep(0.02)
    end = time.time()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    spans = []
    for line in trace.read_text().splitlines():
        stamp, out = line.split(" ", 1)
        err = Path(out) / "eplusout.err"
        if err.exists():  # not the input check's --convert-only run (its folder is gone)
            spans.append((float(stamp), err.stat().st_mtime))
    spans.sort()
    handovers = len(spans) - slots
    return Trace(
        wall=end - start,
        cpu=cpu,
        server_cpu=tree_cpu(server_pid) - server_cpu if server_pid else 0.0,
        first_start=spans[0][0] - start,
        handover_gap=idle_slot_seconds(spans, slots) / max(1, handovers),
        tail=end - max(e for _, e in spans),
        engine_mean=statistics.mean(e - s for s, e in spans),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--weather", default="USA_CO_Golden-NREL.724666_TMY3.epw")
    parser.add_argument("--variants", type=int, default=24)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--bare", action="store_true", help="also time bare_prefect_flow.py (Prefect alone)"
    )
    parser.add_argument("--server-pid", type=int, help="e.g. `epbatch server`: its tree's CPU")
    args = parser.parse_args()
    server = os.environ.get("PREFECT_API_URL", "none: a temporary one per run")
    print(f"{args.variants} x {args.model.name}, {args.slots} slots, server {server}")
    print(
        f"{'':8}{'wall s':>8}{'first s':>9}{'gap ms':>8}{'tail s':>8}{'engine s':>10}"
        f"{'cpu ms/v':>10}{'server ms/v':>13}"
    )
    real = find_engine(Settings().energyplus).executable
    with tempfile.TemporaryDirectory(prefix="epbatch-trace-engine-") as folder:
        wrapper = shadow_engine(real, Path(folder) / "engine")
        rounds(args, real, wrapper)


def rounds(args: argparse.Namespace, real: Path, wrapper: Path) -> None:
    """Time every contender ``args.rounds`` times; print each round and the medians."""
    extra: dict[str, list[float]] = {}
    for r in range(1, args.rounds + 1):
        work = Path(tempfile.mkdtemp(prefix="epbatch-trace-"))
        trace = work / "trace.txt"
        os.environ.update(  # the bench's own plan_batch runs the engine's input check too
            EPBATCH_TRACE=str(trace),
            EPBATCH_REAL_ENGINE=str(real),
            EPBATCH_ENERGYPLUS=str(wrapper),
            PREFECT_LOCAL_STORAGE_PATH=str(work / "results"),  # no cache hits
        )
        study = study_file(work, args.model, args.weather, args.variants, args.slots)
        plan = plan_batch(study, Settings(output_dir=work / "xargs", energyplus=wrapper))
        lines = engine_lines(plan.variants)
        jobs = work / "xargs.txt"
        jobs.write_text(lines)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        runs: dict[str, Trace] = {}
        with jobs.open() as stdin:
            xargs = ["xargs", "-P", str(args.slots), "-L", "1", str(wrapper)]
            runs["alone"] = traced(xargs, trace, args.slots, None, stdin=stdin, **quiet)
        if args.bare:
            bare_jobs = work / "bare.txt"
            bare_jobs.write_text("".join(f"{wrapper} {line}\n" for line in lines.splitlines()))
            bare = [sys.executable, str(Path(__file__).with_name("bare_prefect_flow.py"))]
            command = [*bare, str(args.slots), str(bare_jobs)]
            runs["prefect"] = traced(command, trace, args.slots, args.server_pid, **quiet)
        command = [sys.executable, "-m", "epbatch.ops.cli", "--output-dir", str(work / "epbatch")]
        command += ["run", str(study)]
        runs["epbatch"] = traced(command, trace, args.slots, args.server_pid, **quiet)
        for name, t in runs.items():
            print(
                f"{name:8}{t.wall:8.2f}{t.first_start:9.2f}{t.handover_gap * 1000:8.0f}"
                f"{t.tail:8.2f}{t.engine_mean:10.3f}{t.cpu / args.variants * 1000:10.0f}"
                f"{t.server_cpu / args.variants * 1000:13.0f}"
            )
        alone, batch = runs["alone"], runs["epbatch"]
        if args.bare:
            extra.setdefault("bare prefect ratio", []).append(runs["prefect"].wall / alone.wall)
        steps = args.variants / args.slots
        parts = {
            "ratio": batch.wall / alone.wall,
            "extra": batch.wall - alone.wall,
            "start": batch.first_start - alone.first_start,
            "hand-overs": (batch.handover_gap - alone.handover_gap) * (steps - 1),
            "tail": batch.tail - alone.tail,
            "slower engines": (batch.engine_mean - alone.engine_mean) * steps,
        }
        for key, value in parts.items():
            extra.setdefault(key, []).append(value)
        print(
            f"round {r}: ratio {parts['ratio']:.3f}; extra wall {parts['extra']:.2f} s = "
            + " + ".join(f"{k} {v:.2f}" for k, v in list(parts.items())[2:]),
            flush=True,
        )
        shutil.rmtree(work)
    print("medians: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in extra.items()))


if __name__ == "__main__":
    main()
