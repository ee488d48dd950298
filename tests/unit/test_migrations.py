"""Alembic migrations on real SQLite files: empty, already at head, made by the old create_all."""

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from epbatch.store.database import upgrade_database
from epbatch.store.migrate import MIGRATIONS, display_url, head_revisions
from epbatch.variants.plan import BatchSummary
from tests import storage_checks


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.sqlite'}"


def test_upgrading_an_empty_database(url: str):
    storage_checks.check_upgrade_empty_database(url)


def test_upgrade_database_makes_the_sqlite_folder(tmp_path: Path):
    upgrade_database(f"sqlite:///{tmp_path / 'new' / 'folder' / 'results.sqlite'}")
    assert (tmp_path / "new" / "folder" / "results.sqlite").is_file()


def test_a_second_upgrade_is_a_no_op(url: str, monkeypatch: pytest.MonkeyPatch):
    storage_checks.check_second_upgrade_is_a_no_op(url, monkeypatch)


def test_a_database_from_the_old_create_all_upgrades_in_place(url: str):
    storage_checks.check_old_create_all_database_upgrades_in_place(url)


def test_a_database_at_0002_gets_the_end_use_columns_in_place(url: str):
    storage_checks.check_revision_0002_database_gets_the_end_uses_in_place(url)


def test_tables_it_did_not_make_are_refused(url: str):
    storage_checks.check_foreign_tables_are_refused(url)


def test_the_migration_scripts_ship_inside_the_package():
    assert MIGRATIONS.parent.name == "store" and MIGRATIONS.parent.parent.name == "epbatch"
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))


def test_the_batch_summary_never_shows_the_password():
    url = "postgresql+psycopg://epbatch:pw%40S3cret@db.example:5432/results"
    summary = BatchSummary("b1", Path("/o/b1"), 3, 2, 1, url)
    assert str(summary).endswith("postgresql+psycopg://epbatch:***@db.example:5432/results")
    assert "S3cret" not in f"{summary} {summary!r}"
    assert display_url("not a url") == "<unparseable database URL>"


def _upgrade_together(url: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait(timeout=60)
    upgrade_database(url)


def test_concurrent_first_upgrades_wait_for_each_other(tmp_path: Path):
    """Batches that end at once, in separate processes, into a new SQLite file: the first
    creates the tables, the others wait for its write lock, then find them at head."""
    context = multiprocessing.get_context("spawn")  # fork copies Prefect's exit hooks (exit 1)
    for attempt in range(3):  # the race is narrow: a few fresh files
        url = f"sqlite:///{tmp_path / f'results-{attempt}.sqlite'}"
        start = context.Barrier(4)
        workers = [context.Process(target=_upgrade_together, args=(url, start)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [0] * 4, f"an upgrade failed (attempt {attempt})"
        engine = create_engine(url)
        storage_checks.assert_at_head_matching_models(engine)
        with engine.connect() as connection:
            assert connection.scalar(text("select count(*) from alembic_version")) == 1
        engine.dispose()


def test_the_head_read_from_the_scripts_is_alembics():
    from alembic.script import ScriptDirectory

    from epbatch.store.migrate import alembic_config

    assert head_revisions() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_a_batch_prepares_its_new_database_ahead_and_leaves_a_bad_one_to_the_end(tmp_path: Path):
    from epbatch.store.aggregate import prepare_database

    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    prepare_database(url)
    with create_engine(url).connect() as db:
        [(head,)] = db.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    assert {head} == head_revisions()
    (tmp_path / "a-file").write_text("")
    prepare_database(f"sqlite:///{tmp_path / 'a-file' / 'results.sqlite'}")  # no raise
