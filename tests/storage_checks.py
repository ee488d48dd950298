"""Storage and migration checks shared by the SQLite (unit) and PostgreSQL (integration) tests."""

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from epbatch.results.records import VariantResult
from epbatch.store.database import (
    Base,
    BatchRow,
    ResultRow,
    VariantRow,
    database,
    load_results,
    results_frame,
    store_batch,
    upgrade_database,
)
from epbatch.store.migrate import (
    BASELINE,
    SchemaError,
    alembic_config,
    current_revisions,
    head_revisions,
)

TABLES = {"alembic_version", "batches", "variants", "results"}


def variant_results(batch_id: str, n: int, start: int = 0) -> list[VariantResult]:
    """``n`` results, every third one failed (no energy values, an error message)."""
    out = []
    for i in range(start, start + n):
        base = VariantResult(
            batch_id, f"m__set{i:04d}__w", "m.idf", "w.epw", f"set{i:04d}", "succeeded", 1.0 + i
        )
        if i % 3 == 2:
            out.append(replace(base, status="failed", exit_code=1, error=f"Fatal {i}"))
        else:
            out.append(
                replace(
                    base,
                    site_energy_gj=100.0 + i / 7,
                    eui_mj_m2=250.5,
                    floor_area_m2=80.0,
                    heating_gj=40.0 + i,
                    warnings=i % 5,
                    exit_code=0,
                )
            )
    return out


def batch_row(batch_id: str, results: list[VariantResult]) -> BatchRow:
    now = datetime.now(UTC)
    failed = sum(r.status == "failed" for r in results)
    return BatchRow(
        batch_id=batch_id,
        study_name="s",
        study_file="/s/study.yaml",
        output_dir="/o",
        engine_version="25.2.0",
        started_at=now,
        finished_at=now,
        n_variants=len(results),
        n_succeeded=len(results) - failed,
        n_failed=failed,
    )


def store(engine: Engine, batch_id: str, n: int, start: int = 0) -> list[VariantResult]:
    results = variant_results(batch_id, n, start)
    store_batch(engine, batch_row(batch_id, results), results)
    return results


def count(engine: Engine, table: type[Base], batch_id: str | None = None) -> int:
    query = select(func.count()).select_from(table)
    if batch_id is not None:
        query = query.where(table.__table__.c.batch_id == batch_id)
    with Session(engine) as session:
        return session.scalar(query) or 0


def assert_stored(engine: Engine, batch_id: str, results: list[VariantResult]) -> None:
    """The batch's rows are exactly ``results``: none lost, none duplicated, values equal."""
    assert (count(engine, VariantRow, batch_id), count(engine, ResultRow, batch_id)) == (
        len(results),
        len(results),
    )
    pd.testing.assert_frame_equal(
        load_results(engine, batch_id), results_frame(results), check_dtype=False
    )


def assert_at_head_matching_models(engine: Engine) -> None:
    """Stamped at head, and the migrated schema is exactly what the ORM models describe."""
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        assert current_revisions(connection) == head_revisions()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


# The migration checks, each on an empty database at ``url``:


def check_upgrade_empty_database(url: str) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    assert_at_head_matching_models(engine)
    results = store(engine, "b1", 5)
    assert_stored(engine, "b1", results)
    engine.dispose()


def check_second_upgrade_is_a_no_op(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = database(url)
    results = store(engine, "b1", 4)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("alembic ran although the schema was at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    monkeypatch.setattr(command, "stamp", refuse)
    upgrade_database(url)
    again = database(url)
    assert_at_head_matching_models(again)
    assert_stored(again, "b1", results)
    engine.dispose()
    again.dispose()


def _create_all_of_old(engine: Engine) -> None:
    """What ``database()`` did before migrations: the tables of revision 0001 (what
    ``create_all`` made then), with no ``alembic_version``."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))


def _store_in_old_schema(engine: Engine, batch_id: str, n: int) -> list[VariantResult]:
    """``store``, with only the columns the database has (an older revision's)."""
    results = variant_results(batch_id, n)
    tables = MetaData()
    tables.reflect(engine)
    batch = batch_row(batch_id, results)
    rows = {
        "batches": [{c.name: getattr(batch, c.name) for c in BatchRow.__table__.columns}],
        "variants": [r.row() for r in results],
        "results": [r.row() for r in results],
    }
    with engine.begin() as connection:
        for name in ("batches", "variants", "results"):
            table = tables.tables[name]
            kept = [{k: v for k, v in row.items() if k in table.c} for row in rows[name]]
            connection.execute(insert(table), kept)
    return results


def check_old_create_all_database_upgrades_in_place(url: str) -> None:
    old = create_engine(url)
    _create_all_of_old(old)
    assert "cached_from" not in {c["name"] for c in inspect(old).get_columns("results")}
    results = _store_in_old_schema(old, "old-batch", 7)
    assert "alembic_version" not in inspect(old).get_table_names()
    old.dispose()

    engine = database(url)
    assert_at_head_matching_models(engine)
    assert_stored(engine, "old-batch", results)  # rows kept
    more = store(engine, "new-batch", 3)
    assert_stored(engine, "new-batch", more)
    engine.dispose()


END_USE_COLUMNS = {"interior_lighting_gj", "fans_gj", "water_systems_gj", "peak_electricity_w"}


def check_revision_0002_database_gets_the_end_uses_in_place(url: str) -> None:
    """A database at 0002 (before the end-use columns) with rows: upgraded in place to head,
    its rows kept (the new columns empty), new batches stored with their end uses."""
    old = create_engine(url)
    with old.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
    assert not END_USE_COLUMNS & {c["name"] for c in inspect(old).get_columns("results")}
    results = _store_in_old_schema(old, "batch-0002", 5)
    old.dispose()

    engine = database(url)
    assert_at_head_matching_models(engine)
    assert {c["name"] for c in inspect(engine).get_columns("results")} >= END_USE_COLUMNS
    assert_stored(engine, "batch-0002", results)  # the old rows, the new columns None
    more = [
        replace(r, fans_gj=1.5 + i, interior_lighting_gj=2.25, peak_electricity_w=1234.5)
        for i, r in enumerate(variant_results("with-end-uses", 3))
    ]
    store_batch(engine, batch_row("with-end-uses", more), more)
    assert_stored(engine, "with-end-uses", more)
    stored = load_results(engine, "with-end-uses")
    assert stored["fans_gj"].tolist() == [1.5, 2.5, 3.5]
    engine.dispose()


def check_foreign_tables_are_refused(url: str) -> None:
    """Some of our table names but no alembic_version: not ours to migrate; nothing changed."""
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[BatchRow.__table__])  # type: ignore[list-item]
    with pytest.raises(SchemaError, match=r"\['batches'\] but not \['results', 'variants'\]"):
        database(url)
    assert set(inspect(engine).get_table_names()) == {"batches"}
    engine.dispose()
