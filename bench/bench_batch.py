"""Time ``epbatch run`` against the engine alone under ``xargs -P SLOTS`` on the same IDFs.

    python bench/bench_batch.py --model ../shared/models/1ZoneUncontrolled.idf --variants 12

Prints wall and CPU seconds per round and the ratio epbatch / engine-alone; orchestration CPU
per variant is the CPU epbatch's process tree used beyond the engine's own.
Set PREFECT_API_URL to measure against a running server; unset (and no ``epbatch server`` on
127.0.0.1:4200), each run starts a temporary one (the cold start).
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from epbatch.settings import Settings
from epbatch.variants.generate import Variant
from epbatch.variants.plan import plan_batch


def study_file(folder: Path, model: Path, weather: str, n: int, slots: int) -> Path:
    """``n`` construction sets, each a different wall insulation thickness."""
    sets = {
        f"wall-{i:02d}": {
            "exterior_wall": {
                "layers": [
                    {
                        "material": "Brick",
                        "thickness": 0.1,
                        "conductivity": 0.89,
                        "density": 1920,
                        "specific_heat": 790,
                    },
                    {
                        "material": "Insulation",
                        "thickness": round(0.02 + 0.02 * i, 3),
                        "conductivity": 0.035,
                        "density": 30,
                        "specific_heat": 840,
                    },
                ]
            }
        }
        for i in range(n)
    }
    data = {
        "name": "bench",
        "models": [str(model.resolve())],
        "weather": [weather],
        "run_period": "annual",
        "slots": slots,
        "construction_sets": sets,
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], **kwargs: object) -> tuple[float, float]:
    """Wall and CPU seconds (of the whole process tree) of one command."""
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start, children_cpu() - cpu


def engine_lines(variants: Sequence[Variant]) -> str:
    """The engine's arguments for each variant, a line each (``xargs -L 1``)."""
    return "".join(f"-w {v.epw} -d {v.folder / 'out'} {v.idf}\n" for v in variants)


def engine_alone(study: Path, work: Path, slots: int) -> tuple[float, float]:
    plan = plan_batch(study, Settings(output_dir=work / "xargs"))
    lines = engine_lines(plan.variants)
    command = ["xargs", "-P", str(slots), "-L", "1", str(plan.options.executable)]
    return timed(
        command, input=lines.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def epbatch_run(study: Path, work: Path) -> tuple[float, float]:
    command = [
        sys.executable,
        "-m",
        "epbatch.ops.cli",
        "--output-dir",
        str(work / "epbatch"),
        "run",
        str(study),
    ]
    env = dict(os.environ, PREFECT_LOCAL_STORAGE_PATH=str(work / "results"))  # no cache hits
    return timed(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def eppy_run(
    variants: Sequence[Variant], slots: int, work: Path, engine: Path
) -> tuple[float, float]:
    """eppy's ``runIDFs`` (a multiprocessing pool); the IDFs are parsed before the clock starts."""
    from eppy.modeleditor import IDF
    from eppy.runner.run_functions import runIDFs

    version = "25-2-0"
    home = Path(f"/usr/local/EnergyPlus-{version}")  # where eppy looks for the engine on Linux
    if not home.exists():
        home.symlink_to(engine.parent)
    idfs = [IDF(str(v.idf), str(v.epw)) for v in variants]
    jobs = [
        (
            idf,
            {
                "output_directory": str(work / "eppy" / v.variant_id),
                "ep_version": version,
                "verbose": "q",
            },
        )
        for idf, v in zip(idfs, variants, strict=True)
    ]
    cwd = Path.cwd()
    os.chdir(work)  # runIDFs works in ./multi_runs
    try:
        return timed_call(lambda: runIDFs(jobs, processors=slots))
    finally:
        os.chdir(cwd)


def idfkit_run(
    variants: Sequence[Variant], slots: int, work: Path, engine: Path
) -> tuple[float, float]:
    """idfkit's ``simulate_batch``; the documents are loaded before the clock starts.

    idfkit refuses a model newer than the engine (the NREL files say 26.2, the engine is 25.2,
    which runs them with a warning), so its copies say 25.2; nothing else differs.
    """
    from idfkit import load_idf
    from idfkit.simulation import EnergyPlusConfig, SimulationJob, simulate_batch

    config = EnergyPlusConfig.from_path(engine)
    inputs = work / "idfkit-in"
    inputs.mkdir()
    jobs = []
    for v in variants:
        copy = inputs / f"{v.variant_id}.idf"
        copy.write_text(
            re.sub(
                r"(?i)(Version,\s*)\d+\.\d+",
                r"\g<1>25.2",
                v.idf.read_text(encoding="latin-1"),
                count=1,
            ),
            encoding="latin-1",
        )
        jobs.append(
            SimulationJob(
                model=load_idf(str(copy)),
                weather=v.epw,
                label=v.variant_id,
                output_dir=work / "idfkit" / v.variant_id,
                expand_objects=False,
            )
        )
    outcome: list[object] = []
    timing = timed_call(
        lambda: outcome.append(simulate_batch(jobs, energyplus=config, max_workers=slots))
    )
    failed = [r for r in outcome[0] if not r.success]  # type: ignore[attr-defined]
    assert not failed, f"idfkit: {len(failed)} runs failed: {failed[0].stderr[:300]}"
    return timing


def timed_call(call: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its reaped children) of one call."""

    def cpu() -> float:
        return sum(
            u.ru_utime + u.ru_stime
            for u in (
                resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN),
            )
        )

    before, start = cpu(), time.perf_counter()
    call()
    return time.perf_counter() - start, cpu() - before


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (e.g. a Prefect server)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ancestor = int(stat.parent.name)
        while ancestor not in (0, 1, pid):
            try:
                ancestor = int(
                    Path(f"/proc/{ancestor}/stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                break
        if ancestor == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--weather", default="USA_CO_Golden-NREL.724666_TMY3.epw")
    parser.add_argument("--variants", type=int, default=12)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-pid", type=int, help="count this server's CPU as epbatch's")
    parser.add_argument(
        "--others",
        nargs="*",
        default=["eppy", "idfkit"],
        help="other tools to time on the same IDFs: eppy, idfkit",
    )
    args = parser.parse_args()
    server = os.environ.get("PREFECT_API_URL", "none: a temporary server per run")
    print(f"{args.variants} variants of {args.model.name}, {args.slots} slots, server {server}")
    ratios: dict[str, list[float]] = {"epbatch": [], **{o: [] for o in args.others}}
    others = {"eppy": eppy_run, "idfkit": idfkit_run}
    for r in range(1, args.rounds + 1):
        work = Path(tempfile.mkdtemp(prefix="epbatch-bench-"))
        study = study_file(work, args.model, args.weather, args.variants, args.slots)
        engine_wall, engine_cpu = engine_alone(study, work, args.slots)
        server_before = tree_cpu(args.server_pid) if args.server_pid else 0.0
        batch_wall, batch_cpu = epbatch_run(study, work)
        if args.server_pid:
            batch_cpu += tree_cpu(args.server_pid) - server_before
        ratios["epbatch"].append(batch_wall / engine_wall)
        overhead = (batch_cpu - engine_cpu) / args.variants
        line = (
            f"round {r}: engine alone {engine_wall:6.2f} s | epbatch {batch_wall:6.2f} s "
            f"(x{ratios['epbatch'][-1]:.3f}, orchestration cpu/variant "
            f"{overhead * 1000:.0f} ms)"
        )
        plan = plan_batch(study, Settings(output_dir=work / "others"))
        for name in args.others:
            wall, _ = others[name](plan.variants, args.slots, work, plan.options.executable)
            ratios[name].append(wall / engine_wall)
            line += f" | {name} {wall:6.2f} s (x{ratios[name][-1]:.3f})"
        print(line, flush=True)
        shutil.rmtree(work)
    for name, values in ratios.items():
        print(
            f"{name} / engine alone: median {statistics.median(values):.3f} "
            f"(min {min(values):.3f}, max {max(values):.3f}) over {len(values)} rounds"
        )


if __name__ == "__main__":
    main()
