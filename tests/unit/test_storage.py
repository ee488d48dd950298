"""Results storage on a real SQLite database: one transaction, re-runs replace, tables on disk."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from epbatch.results.records import RESULT_COLUMNS, VariantResult
from epbatch.store.aggregate import aggregate_saved_batch
from epbatch.store.database import (
    BatchRow,
    ResultRow,
    VariantRow,
    database,
    load_results,
    results_frame,
    store_batch,
    write_tables,
)
from epbatch.variants.plan import BatchInfo
from tests.storage_checks import batch_row


def result(i: int, status="succeeded", **extra) -> VariantResult:
    return VariantResult(
        "b1", f"v{i}", "m.idf", "w.epw", f"set{i}", status, 1.5, site_energy_gj=10.0 + i, **extra
    )


def count(engine, table) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_store_and_read_back_including_failures(tmp_path: Path):
    engine = database(f"sqlite:///{tmp_path / 'sub' / 'r.sqlite'}")
    rows = [result(1), result(2, status="failed", error="Fatal: boom")]
    store_batch(engine, batch_row("b1", rows), rows)
    frame = load_results(engine, "b1")
    assert list(frame.columns) == RESULT_COLUMNS
    assert frame["status"].tolist() == ["succeeded", "failed"]
    assert frame["error"].tolist()[1] == "Fatal: boom"
    pd.testing.assert_frame_equal(frame, results_frame(rows), check_dtype=False)


def test_storing_again_replaces_rows_instead_of_duplicating(tmp_path: Path):
    engine = database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store_batch(engine, batch_row("b1", [result(1), result(2)]), [result(1), result(2)])
    store_batch(engine, batch_row("b1", [result(1), result(2)]), [result(1), result(2)])
    assert (count(engine, BatchRow), count(engine, VariantRow), count(engine, ResultRow)) == (
        1,
        2,
        2,
    )


def test_a_failing_write_leaves_no_half_written_rows(tmp_path: Path):
    engine = database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store_batch(engine, batch_row("b1", [result(1)]), [result(1)])
    with pytest.raises(Exception):  # noqa: B017 - the duplicate key is the point
        store_batch(engine, batch_row("b1", [result(3)] * 2), [result(3), result(3)])
    assert load_results(engine, "b1")["variant_id"].tolist() == ["v1"]  # old rows kept whole


def test_tables_written_whole(tmp_path: Path):
    frame = results_frame([result(1), result(2, status="failed", error="x")])
    parquet, csv = write_tables(frame, tmp_path)
    assert pd.read_parquet(parquet)["variant_id"].tolist() == ["v1", "v2"]
    assert pd.read_csv(csv)["status"].tolist() == ["succeeded", "failed"]
    assert not list(tmp_path.glob("*.partial"))


def test_a_saved_batch_with_skipped_variants_is_stored_again(tmp_path: Path):
    """``epbatch aggregate`` reads ``skipped`` rows back (a stopped batch) and counts them."""
    folder = tmp_path / "runs" / "s" / "s-20200101T000000-abcdef"
    folder.mkdir(parents=True)
    BatchInfo(
        folder.name, "s", "s.yaml", str(folder), "25.2.0", "2020-01-01T00:00:00+00:00"
    ).write()
    rows = [
        result(1),
        result(2, status="failed", error="Fatal: boom"),
        result(3, status="skipped", error="stopped: the first 3 finished variants all failed"),
    ]
    write_tables(results_frame([replace(r, batch_id=folder.name) for r in rows]), folder)
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    stored = aggregate_saved_batch(tmp_path / "runs", folder.name, url)
    assert str(stored).startswith(
        f"batch {folder.name}: stored 3 variants (1 succeeded, 1 failed, 1 skipped) in sqlite"
    )
    frame = load_results(database(url), folder.name)
    assert frame["status"].tolist() == ["succeeded", "failed", "skipped"]


def test_a_saved_batch_with_cached_variants_keeps_where_they_came_from(tmp_path: Path):
    """``cached_from`` goes to the tables and the database, and ``epbatch aggregate`` counts
    the cached variants among the succeeded."""
    folder = tmp_path / "runs" / "s" / "s-20200102T000000-abcdef"
    folder.mkdir(parents=True)
    BatchInfo(
        folder.name, "s", "s.yaml", str(folder), "25.2.0", "2020-01-02T00:00:00+00:00"
    ).write()
    rows = [result(1, cached_from="s-20200101T000000-012345"), result(2)]
    write_tables(results_frame([replace(r, batch_id=folder.name) for r in rows]), folder)
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    stored = aggregate_saved_batch(tmp_path / "runs", folder.name, url)
    assert "stored 2 variants (2 succeeded, 0 failed, 1 cached)" in str(stored)
    frame = load_results(database(url), folder.name)
    assert frame["cached_from"].tolist()[0] == "s-20200101T000000-012345"
    assert pd.isna(frame["cached_from"].tolist()[1])
    assert pd.read_csv(folder / "results.csv")["cached_from"].tolist()[0] == (
        "s-20200101T000000-012345"
    )
