"""A large design-day batch in this process: wall time, orchestrator peak memory, disk kept.

    PREFECT_API_URL=... python bench/bench_scale.py --variants 250 1000

Peak memory is this process's own maximum RSS (the flow, its task threads and Prefect client;
the engines are separate processes). Disk is what the batch folder keeps after aggregation
under the default retention policy (EPBATCH_KEEP_OUTPUTS=sql-err).
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def study(folder: Path, model: Path, n: int, slots: int) -> Path:
    sets = {
        f"r{i}": {"roof": {"layers": [{"material": "Board", "thermal_resistance": 1 + i / 100}]}}
        for i in range(n)
    }
    path = folder / f"scale-{n}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": f"scale-{n}",
                "models": [str(model.resolve())],
                "slots": slots,
                "weather": ["USA_CO_Golden-NREL.724666_TMY3.epw"],
                "run_period": "design-days",
                "construction_sets": sets,
            }
        )
    )
    return path


def one_batch(study_file: Path, work: Path) -> None:
    """Run in a fresh process so each size's peak memory is its own."""
    os.environ["EPBATCH_OUTPUT_DIR"] = str(work / "runs")
    from flows.batch import run_batch

    start = time.perf_counter()
    summary = run_batch(str(study_file))
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kept = sum(p.stat().st_size for p in summary.folder.rglob("*") if p.is_file()) / 2**20
    print(
        f"{summary.total} variants: {wall:.0f} s, {summary.failed} failed, orchestrator peak "
        f"RSS {peak_mb:.0f} MB, disk kept {kept / summary.total:.3f} MB per variant"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=Path("../shared/models/1ZoneUncontrolled.idf")
    )
    parser.add_argument("--variants", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_batch(args.one, args.one.parent)
        return
    for n in args.variants:
        work = Path(tempfile.mkdtemp(prefix="epbatch-scale-"))
        env = dict(os.environ, PREFECT_LOCAL_STORAGE_PATH=str(work / "results"))
        subprocess.run(
            [sys.executable, __file__, "--one", str(study(work, args.model, n, args.slots))],
            env=env,
            check=True,
            stderr=subprocess.DEVNULL,
        )


if __name__ == "__main__":
    main()
