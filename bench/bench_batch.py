"""Time ``epbatch run`` against the engine alone under ``xargs -P SLOTS`` on the same IDFs.

    python bench/bench_batch.py --model ../shared/models/1ZoneUncontrolled.idf --variants 12

Prints wall and CPU seconds per round and the ratio epbatch / engine-alone; orchestration CPU
per variant is the CPU epbatch's process tree used beyond the engine's own.
Set PREFECT_API_URL to measure against a running server; unset, each run starts an
ephemeral one (the cold start).
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from epbatch.batch import plan_batch
from epbatch.settings import Settings


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


def engine_alone(study: Path, work: Path, slots: int) -> tuple[float, float]:
    plan = plan_batch(study, Settings(output_dir=work / "xargs"))
    lines = "".join(f"-w {v.epw} -d {v.folder / 'out'} {v.idf}\n" for v in plan.variants)
    command = ["xargs", "-P", str(slots), "-L", "1", str(plan.options.executable)]
    return timed(
        command, input=lines.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def epbatch_run(study: Path, work: Path) -> tuple[float, float]:
    command = [
        sys.executable,
        "-m",
        "epbatch.cli",
        "--output-dir",
        str(work / "epbatch"),
        "run",
        str(study),
    ]
    return timed(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--weather", default="USA_CO_Golden-NREL.724666_TMY3.epw")
    parser.add_argument("--variants", type=int, default=12)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = os.environ.get("PREFECT_API_URL", "none: ephemeral server per run")
    print(f"{args.variants} variants of {args.model.name}, {args.slots} slots, server {server}")
    ratios = []
    for r in range(1, args.rounds + 1):
        work = Path(tempfile.mkdtemp(prefix="epbatch-bench-"))
        study = study_file(work, args.model, args.weather, args.variants, args.slots)
        engine_wall, engine_cpu = engine_alone(study, work, args.slots)
        batch_wall, batch_cpu = epbatch_run(study, work)
        ratios.append(batch_wall / engine_wall)
        overhead = (batch_cpu - engine_cpu) / args.variants
        print(
            f"round {r}: engine alone {engine_wall:6.2f} s wall {engine_cpu:6.2f} s cpu | "
            f"epbatch {batch_wall:6.2f} s wall {batch_cpu:6.2f} s cpu | "
            f"ratio {ratios[-1]:.3f} | orchestration cpu/variant {overhead * 1000:.0f} ms"
        )
        shutil.rmtree(work)
    print(
        f"ratio epbatch/engine: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
