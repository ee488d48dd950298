"""Per-variant cost of epbatch's own steps: generation (eppy), result parsing, storage.

python bench/bench_pipeline.py --model ../shared/models/5ZoneAirCooled.idf --variants 100
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from epbatch.results.errfile import parse_err_file
from epbatch.results.records import VariantResult
from epbatch.results.sqlresults import read_metrics
from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings
from epbatch.store.database import BatchRow, database, store_batch
from epbatch.variants.plan import plan_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--variants", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="epbatch-pipeline-"))
    sets = {
        f"wall-{i}": {
            "exterior_wall": {
                "layers": [
                    {
                        "material": "Insulation",
                        "thickness": 0.02 + 0.001 * i,
                        "conductivity": 0.035,
                        "density": 30,
                        "specific_heat": 840,
                    }
                ]
            }
        }
        for i in range(args.variants)
    }
    study = work / "study.yaml"
    study.write_text(
        yaml.safe_dump(
            {
                "name": "pipeline",
                "models": [str(args.model.resolve())],
                "run_period": "design-days",
                "weather": ["USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"],
                "construction_sets": sets,
            }
        )
    )

    start = time.perf_counter()
    plan = plan_batch(study, Settings(output_dir=work / "runs"))
    planned = time.perf_counter()
    variants = list(plan.variants)
    generated = time.perf_counter()
    print(f"plan (study, engine input check, IDD, eppy parse): {planned - start:.2f} s once")
    print(
        f"generation: {1000 * (generated - planned) / len(variants):.1f} ms per variant "
        f"({len(variants)} variants of {args.model.name})"
    )

    first = simulate_variant(variants[0], plan.options)  # one real run to parse
    out = variants[0].folder / "out"
    start = time.perf_counter()
    for _ in range(args.variants):
        parse_err_file(out / "eplusout.err")
        read_metrics(out / "eplusout.sql")
    print(
        f"parsing eplusout.err + eplusout.sql: "
        f"{1000 * (time.perf_counter() - start) / args.variants:.2f} ms per variant"
    )

    results: list[VariantResult] = [replace(first, variant_id=v.variant_id) for v in variants]
    engine = database(f"sqlite:///{work / 'results.sqlite'}")
    row = BatchRow(
        batch_id=plan.batch_id,
        study_name="pipeline",
        study_file=str(study),
        output_dir=str(plan.folder),
        engine_version=plan.engine_version,
        started_at=plan.started_at,
        finished_at=plan.started_at,
        n_variants=len(results),
        n_succeeded=len(results),
        n_failed=0,
    )
    start = time.perf_counter()
    store_batch(engine, row, results)
    print(
        f"storing (SQLite, one transaction): "
        f"{1000 * (time.perf_counter() - start) / len(results):.2f} ms per variant"
    )


if __name__ == "__main__":
    main()
