"""Time ``store_batch`` of one batch of N result rows (a third failed) on each database URL given.

    .venv/bin/python bench/bench_storage.py sqlite:////tmp/b.sqlite \
        postgresql+psycopg://epbatch:PW@127.0.0.1:PORT/bench [--rows 1000] [--repeat 5]

Prints, per URL (password hidden): the first ``database()`` call (on an empty database: creating
the schema), ``database()`` again (connect, find the schema at head), and the median and range
of storing (replacing) the batch ``--repeat`` times.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime

from epbatch.results.records import VariantResult
from epbatch.store.database import BatchRow, database, store_batch
from epbatch.store.migrate import display_url


def variant_results(n: int) -> list[VariantResult]:
    """Result rows like a real batch's: every third one failed, with an error message."""
    out = []
    for i in range(n):
        keys = ("bench", f"m__set{i:04d}__w", "m.idf", "w.epw", f"set{i:04d}")
        if i % 3 == 2:
            out.append(VariantResult(*keys, "failed", 2.0, exit_code=1, error="** Fatal ** x"))
            continue
        gj = 100.0 + i
        out.append(
            VariantResult(
                *keys,
                "succeeded",
                30.0,
                site_energy_gj=gj,
                heating_gj=gj / 2,
                cooling_gj=gj / 4,
                warnings=3,
                exit_code=0,
            )
        )
    return out


def batch_row(results: list[VariantResult]) -> BatchRow:
    now = datetime.now(UTC)
    failed = sum(r.status == "failed" for r in results)
    return BatchRow(
        batch_id="bench",
        study_name="bench",
        study_file="/s.yaml",
        output_dir="/o",
        engine_version="25.2.0",
        started_at=now,
        finished_at=now,
        n_variants=len(results),
        n_succeeded=len(results) - failed,
        n_failed=failed,
    )


def bench(url: str, rows: int, repeat: int) -> str:
    started = time.perf_counter()
    engine = database(url)
    upgrade_s = time.perf_counter() - started
    started = time.perf_counter()
    database(url).dispose()
    noop_s = time.perf_counter() - started
    results = variant_results(rows)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        store_batch(engine, batch_row(results), results)
        times.append(time.perf_counter() - started)
    engine.dispose()
    return (
        f"{display_url(url)}: first database() call {upgrade_s * 1000:.0f} ms, at head in "
        f"{noop_s * 1000:.1f} ms; store {rows} rows: median {statistics.median(times):.3f} s "
        f"({min(times):.3f}-{max(times):.3f} s, {repeat} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for url in args.urls:
        print(bench(url, args.rows, args.repeat))


if __name__ == "__main__":
    main()
