"""Results storage and migrations on a real PostgreSQL server over TCP, with a
password-protected role: round trip, concurrent writers, replacement, atomicity, upgrades.

The server is started by the ``pg_server`` fixture (pg_server.py); without PostgreSQL's binaries
these tests fail, they do not skip."""

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from epbatch.results.records import VariantResult
from epbatch.store.database import (
    BatchRow,
    ResultRow,
    VariantRow,
    database,
    store_batch,
    upgrade_database,
)
from epbatch.variants.plan import BatchSummary
from tests import storage_checks
from tests.integration.pg_server import PASSWORD, PgServer
from tests.storage_checks import assert_stored, batch_row, count, store, variant_results

pytestmark = pytest.mark.postgres


def in_threads(n: int, work: Callable[[int], None]) -> None:
    """Run ``work(0..n-1)`` in ``n`` threads released together; re-raise the first failure."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            work(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


def test_the_role_needs_its_password(pg_server: PgServer, pg_url: str):
    assert PASSWORD not in pg_url  # quoted in the URL, but it is the real one:
    with create_engine(pg_url).connect() as connection:
        assert connection.scalar(text("select current_user")) == "epbatch"
    wrong = create_engine(pg_server.url(pg_url.rsplit("/", 1)[1], password="wrong"))  # noqa: S106
    with pytest.raises(OperationalError, match="password authentication failed"):
        wrong.connect()


def test_a_batch_reads_back_as_stored_failures_included(pg_url: str):
    engine = database(pg_url)
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    results = store(engine, "b1", 30)
    assert sum(r.status == "failed" for r in results) == 10
    assert_stored(engine, "b1", results)
    assert count(engine, BatchRow) == 1
    engine.dispose()


def test_concurrent_batches_lose_no_rows(pg_url: str):
    engine = database(pg_url)
    rounds, per_batch = 4, 200
    stored: dict[str, list[VariantResult]] = {}

    def writer(round_: int, start: int) -> Callable[[int], None]:
        def write(i: int) -> None:
            batch_id = f"writer{i}-round{round_}"
            stored[batch_id] = store(engine, batch_id, per_batch, start=start + i * 1000)

        return write

    for round_ in range(rounds):
        in_threads(2, writer(round_, 0))
    in_threads(2, writer(0, 10_000))  # replacing earlier batches while the other writer does too

    assert count(engine, BatchRow) == 2 * rounds
    assert count(engine, ResultRow) == count(engine, VariantRow) == 2 * rounds * per_batch
    for batch_id, results in stored.items():
        assert_stored(engine, batch_id, results)
    engine.dispose()


def test_storing_again_replaces_without_duplicates(pg_url: str):
    engine = database(pg_url)
    store(engine, "b1", 10)
    store(engine, "b2", 5)
    again = store(engine, "b1", 6, start=100)
    assert_stored(engine, "b1", again)
    assert (count(engine, BatchRow), count(engine, ResultRow)) == (2, 11)
    engine.dispose()


def test_a_failing_write_leaves_no_half_written_rows(pg_url: str):
    engine = database(pg_url)
    kept = store(engine, "b1", 5)
    duplicate = variant_results("b1", 40) + variant_results("b1", 1)
    with pytest.raises(IntegrityError):
        store_batch(engine, batch_row("b1", duplicate), duplicate)
    assert_stored(engine, "b1", kept)  # the old rows, whole
    fresh = variant_results("b2", 40) + variant_results("b2", 1, start=39)
    with pytest.raises(IntegrityError):
        store_batch(engine, batch_row("b2", fresh), fresh)
    assert (count(engine, BatchRow, "b2"), count(engine, VariantRow, "b2")) == (0, 0)
    engine.dispose()


def test_upgrading_an_empty_database(pg_url: str, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        storage_checks.check_upgrade_empty_database(pg_url)
    assert "Running upgrade" in caplog.text
    assert PASSWORD not in caplog.text


def test_a_second_upgrade_is_a_no_op(pg_url: str, monkeypatch: pytest.MonkeyPatch):
    storage_checks.check_second_upgrade_is_a_no_op(pg_url, monkeypatch)


def test_a_database_from_the_old_create_all_upgrades_in_place(pg_url: str):
    storage_checks.check_old_create_all_database_upgrades_in_place(pg_url)


def test_a_database_at_0002_gets_the_end_use_columns_in_place(pg_url: str):
    storage_checks.check_revision_0002_database_gets_the_end_uses_in_place(pg_url)


def test_tables_it_did_not_make_are_refused(pg_url: str):
    storage_checks.check_foreign_tables_are_refused(pg_url)


def test_concurrent_first_upgrades_wait_for_each_other(pg_url: str):
    in_threads(4, lambda i: upgrade_database(pg_url))
    engine = create_engine(pg_url)
    storage_checks.assert_at_head_matching_models(engine)
    with engine.connect() as connection:
        assert connection.scalar(text("select count(*) from alembic_version")) == 1
    engine.dispose()


def test_the_password_is_never_shown(pg_url: str):
    summary = BatchSummary("b1", Path("/o/b1"), 3, 2, 1, pg_url)
    quoted = pg_url.split("epbatch:", 1)[1].split("@127.0.0.1", 1)[0]
    shown = f"{summary} {summary!r}"
    assert "***" in str(summary) and "127.0.0.1" in str(summary)
    assert PASSWORD not in shown and quoted not in shown
    assert psycopg.__version__.startswith("3.")
