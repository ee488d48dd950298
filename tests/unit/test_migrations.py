"""Alembic migrations on real SQLite files: empty, already at head, made by the old create_all."""

from pathlib import Path

import pytest

from epbatch.batch import BatchSummary
from epbatch.migrate import MIGRATIONS, display_url
from epbatch.storage import upgrade_database
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


def test_tables_it_did_not_make_are_refused(url: str):
    storage_checks.check_foreign_tables_are_refused(url)


def test_the_migration_scripts_ship_inside_the_package():
    assert MIGRATIONS.parent.name == "epbatch"
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))


def test_the_batch_summary_never_shows_the_password():
    url = "postgresql+psycopg://epbatch:pw%40S3cret@db.example:5432/results"
    summary = BatchSummary("b1", Path("/o/b1"), 3, 2, 1, url)
    assert str(summary).endswith("postgresql+psycopg://epbatch:***@db.example:5432/results")
    assert "S3cret" not in f"{summary} {summary!r}"
    assert display_url("not a url") == "<unparseable database URL>"
