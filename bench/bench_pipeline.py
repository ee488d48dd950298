"""Per-variant cost of epbatch's own steps: generation (eppy), result parsing, storage.

python bench/bench_pipeline.py --model ../shared/models/5ZoneAirCooled.idf --variants 100
python bench/bench_pipeline.py --model ../shared/models/5ZoneAirCooled.idf --variants 200 \
    --parameters   # one set, 4 parameters (a companion, a scale), LHS: the variants are samples
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
    parser.add_argument(
        "--parameters", action="store_true", help="parameter samples instead of construction sets"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="epbatch-pipeline-"))
    if args.parameters:
        parametrised(args.model, args.variants, work)
        return
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


PARAMETERS = {
    "infiltration_ach": {
        "set": {
            "object": "ZoneInfiltration:DesignFlowRate",
            "field": "Air Changes per Hour",
            "also": {"Design Flow Rate Calculation Method": "AirChanges/Hour"},
        },
        "range": [0.1, 2.0],
    },
    "lighting_w_m2": {
        "set": {
            "object": "Lights",
            "field": "Watts per Floor Area",
            "also": {"Design Level Calculation Method": "Watts/Area"},
        },
        "range": [4.0, 14.0],
    },
    "north_axis": {"set": {"object": "Building", "field": "North Axis"}, "values": [0, 90, 180]},
    "equipment": {
        "set": {"object": "ElectricEquipment", "field": "Design Level"},
        "scale": [0.5, 1.5],
    },
}


def parametrised(model: Path, samples: int, work: Path) -> None:
    """Plan-time cost per parametrised variant: the samples drawn and written
    (samples.parquet/.csv), then each sample applied to the parsed model, written and undone."""
    from epbatch.variants.generate import parameter_plan
    from epbatch.variants.sampling import write_samples

    study = work / "study.yaml"
    study.write_text(
        yaml.safe_dump(
            {
                "name": "pipeline-parameters",
                "models": [str(model.resolve())],
                "run_period": "design-days",
                "weather": ["USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"],
                "construction_sets": {"baseline": {}},
                "parameters": PARAMETERS,
                "sampling": {"method": "lhs", "samples": samples, "seed": 1},
            }
        )
    )
    start = time.perf_counter()
    plan = plan_batch(study, Settings(output_dir=work / "runs"))
    planned = time.perf_counter()
    targets, drawn = parameter_plan(plan.study)  # what plan_batch did: timed on its own
    assert drawn is not None
    write_samples(drawn, work)
    sampled = time.perf_counter()
    variants = list(plan.variants)
    generated = time.perf_counter()
    per_variant = 1000 * ((sampled - planned) + (generated - sampled)) / len(variants)
    print(f"plan (study, engine input check, IDD, eppy parse, samples): {planned - start:.2f} s")
    print(
        f"samples drawn (LHS, {len(PARAMETERS)} parameters) and written: "
        f"{1000 * (sampled - planned):.1f} ms for {len(drawn)}"
    )
    print(
        f"generation: {1000 * (generated - sampled) / len(variants):.1f} ms per variant "
        f"({len(variants)} variants of {model.name})"
    )
    print(f"plan-time cost per parametrised variant: {per_variant:.1f} ms (limit 20 ms)")
    del targets


if __name__ == "__main__":
    main()
