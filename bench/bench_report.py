"""The batch report's two figures (issue 16):

1. ``report.html`` generation time for a 1,000-variant batch (10 models x 10 weather files x
   10 sets, every third variant of each 30 failed; made-up figures, every end use non-zero),
   ``--repeat`` times in this process (the first includes the report's imports): must stay
   under 10 s; and the Prefect artifact's markdown for the same batch, made right after as the
   flow does (it reuses report.html's read of the folder and its charts).
2. The disk cost per variant of hourly series for two meters (Electricity:Facility,
   NaturalGas:Facility): one annual run of the demo's shoebox with them and one without
   (real engine, 2 at a time): the size of the variant's ``timeseries`` part and how much
   bigger its kept ``eplusout.sql`` is.

    .venv/bin/python bench/bench_report.py [--repeat 3] [--skip-engine]
"""

import argparse
import json
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from epbatch.report.html import report_markdown, write_report
from epbatch.results.records import END_USES, VariantResult
from epbatch.store.database import results_frame, write_tables

SERIES = ["Electricity:Facility", "NaturalGas:Facility"]


def fake_batch(folder: Path, models: int = 10, weathers: int = 10, sets: int = 10) -> int:
    rnd = random.Random(16)  # noqa: S311 - made-up figures
    rows: list[VariantResult] = []
    for m in range(models):
        for w in range(weathers):
            for s in range(sets):
                name = "baseline" if s == 0 else f"package-{s}"
                result = VariantResult(
                    "bench", f"model{m}__{name}__weather{w}", f"Model{m}.idf",
                    f"Weather{w}_TMY3.epw", name, "succeeded", 20 + rnd.random() * 10,
                )  # fmt: skip
                if len(rows) % 30 == 29:
                    rows.append(
                        replace(result, status="failed", error="** Severe ** bad", exit_code=1)
                    )
                    continue
                uses: dict[str, Any] = {c: rnd.uniform(1, 40) for c in END_USES}
                site = sum(uses.values())
                rows.append(
                    replace(
                        result,
                        site_energy_gj=site,
                        eui_mj_m2=site * 1000 / 927.0,
                        floor_area_m2=927.0,
                        unmet_hours_heating=rnd.uniform(0, 100),
                        unmet_hours_cooling=rnd.uniform(0, 100),
                        **uses,
                    )
                )
    write_tables(results_frame(rows), folder)
    info = {
        "batch_id": "bench",
        "study_name": "bench",
        "study_file": "/bench/study.yaml",
        "folder": str(folder),
        "engine_version": "25.2.0",
        "started_at": "2026-12-01T10:00:00+00:00",
        "finished_at": "2026-12-01T12:00:00+00:00",
    }
    (folder / "batch.json").write_text(json.dumps(info))
    return len(rows)


def time_report(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = fake_batch(folder)
        times, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            page = write_report(folder)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        start = time.perf_counter()
        markdown = report_markdown(folder)
        md_s = time.perf_counter() - start
        print(
            f"report.html, {n} variants: first {times[0]:.2f} s (imports included), "
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s; CPU median "
            f"{statistics.median(cpu):.2f} s (wall > CPU: other work on the cores); "
            f"{page.stat().st_size / 1e6:.2f} MB"
        )
        print(f"Prefect markdown artifact: {md_s:.2f} s, {len(markdown.encode()) / 1e3:.0f} kB")


def series_cost() -> None:
    from epbatch.run.simulate import simulate_variant
    from epbatch.settings import Settings
    from epbatch.study.demo import DEMO_STUDY
    from epbatch.study.demo_model import write_demo_model
    from epbatch.variants.plan import plan_batch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_demo_model(root / "shoebox.idf")
        plans = []
        for name, series in (("lean", []), ("series", SERIES)):
            study = dict(DEMO_STUDY, name=name, construction_sets={"baseline": {}})
            study["timeseries"] = series
            path = root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(study))
            plans.append(plan_batch(path, Settings(output_dir=root / "runs")))
        variants = [(p, next(iter(p.variants))) for p in plans]
        start = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda pv: simulate_variant(pv[1], pv[0].options), variants))
        took = time.perf_counter() - start
        assert all(r.status == "succeeded" for r in results), [r.error for r in results]
        sql = [v.folder / "out" / "eplusout.sql" for _, v in variants]
        parts = list((plans[1].folder / "timeseries").rglob("*.parquet"))
        part = sum(p.stat().st_size for p in parts)
        extra_sql = sql[1].stat().st_size - sql[0].stat().st_size
        print(
            f"hourly series, 2 meters, 1 annual variant ({took:.0f} s for both runs): "
            f"timeseries part {part / 1024:.0f} KiB, eplusout.sql +{extra_sql / 1024:.0f} KiB "
            f"({sql[0].stat().st_size / 1024:.0f} -> {sql[1].stat().st_size / 1024:.0f} KiB); "
            f"{(part + extra_sql) / 1024:.0f} KiB per variant in all; peak electricity "
            f"{results[1].peak_electricity_w:.0f} W, gas {results[1].peak_natural_gas_w:.0f} W"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-engine", action="store_true", help="only the report timing")
    args = parser.parse_args()
    time_report(args.repeat)
    if not args.skip_engine:
        series_cost()


if __name__ == "__main__":
    main()
