"""Per-variant overhead of the Docker runner over the local runner, on the same variant IDFs.

    python bench/bench_docker.py --model ../shared/models/1ZoneUncontrolled.idf --variants 6

Runs the variants one after another (one slot) through ``simulate_variant`` with each runner,
alternating runners round by round, for design-days and annual run periods. Needs a running
Docker daemon and the engine image (``docker/build-images.sh``).
"""

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Literal

import yaml

from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings
from epbatch.variants.plan import BatchPlan, plan_batch


def plan(folder: Path, model: Path, weather: str, n: int, run_period: str) -> BatchPlan:
    """``n`` construction sets, each a different wall insulation thickness."""
    layers = [
        {"material": "Insulation", "conductivity": 0.035, "density": 30, "specific_heat": 840}
    ]
    sets = {
        f"wall-{i:02d}": {"exterior_wall": {"layers": [{**layers[0], "thickness": 0.02 * (i + 1)}]}}
        for i in range(n)
    }
    data = {
        "name": "bench-docker",
        "models": [str(model.resolve())],
        "weather": [weather],
        "run_period": run_period,
        "construction_sets": sets,
    }
    study = folder / f"{run_period}.yaml"
    study.write_text(yaml.safe_dump(data))
    return plan_batch(study, Settings(output_dir=folder / "runs"))


def seconds(batch: BatchPlan, runner: Literal["local", "docker"]) -> float:
    """Wall seconds to run every variant in turn; fails loudly if one does not succeed."""
    options = replace(batch.options, runner=runner)
    start = time.perf_counter()
    for variant in batch.variants:
        result = simulate_variant(variant, options)
        if result.status != "succeeded":
            raise SystemExit(f"{runner}: {variant.variant_id} failed: {result.error}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--weather", default="USA_CO_Golden-NREL.724666_TMY3.epw")
    parser.add_argument("--variants", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.variants
    print(f"{n} variants of {args.model.name}, one at a time, {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="epbatch-bench-docker-") as work:
        for run_period in ("design-days", "annual"):
            batch = plan(Path(work), args.model, args.weather, n, run_period)
            seconds(batch, "docker")  # warm the page cache and the image's layers
            local, docker = [], []
            for _ in range(args.rounds):
                local.append(seconds(batch, "local"))
                docker.append(seconds(batch, "docker"))
            lo, do = statistics.median(local), statistics.median(docker)
            print(
                f"{run_period:>11}: local {lo / n:6.3f} s/variant | docker {do / n:6.3f} s/variant"
                f" | overhead {(do - lo) / n * 1000:5.0f} ms/variant | ratio {do / lo:.2f}"
            )


if __name__ == "__main__":
    main()
