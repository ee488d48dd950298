"""A new Prefect database from the dump of Prefect's migrations (``epbatch.ops.prefectdb``)."""

import sqlite3
from importlib.metadata import version

import pytest

from epbatch.ops.prefectdb import (
    create_database,
    default_database,
    dump,
    migrated_dump,
    schema_file,
)


def test_the_installed_prefect_has_a_dump_at_its_alembic_head(tmp_path):
    path = tmp_path / "home" / "prefect.db"
    assert create_database(path)
    with sqlite3.connect(path) as db:
        [(head,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert head in schema_file().read_text()
    assert {"flow_run", "task_run", "concurrency_limit_v2", "log", "artifact"} <= tables
    assert not list(path.parent.glob("*.partial"))  # created atomically


def test_an_existing_database_is_never_replaced(tmp_path):
    path = tmp_path / "prefect.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mine (x)")
    before = dump(path)
    assert not create_database(path)
    assert dump(path) == before


def test_another_prefect_version_gets_prefects_own_migrations(tmp_path):
    path = tmp_path / "prefect.db"
    assert not create_database(path, schema_file("0.0.0"))
    assert not path.exists()


def test_only_prefects_default_database_is_created(tmp_path):
    home = {"PREFECT_HOME": str(tmp_path)}
    assert default_database(home, None) == tmp_path / "prefect.db"
    url = "postgresql+asyncpg://u@h/db"
    assert default_database(home | {"PREFECT_API_DATABASE_CONNECTION_URL": url}, None) is None
    assert default_database(home, "sqlite+aiosqlite:////elsewhere.db") is None  # the profile's


@pytest.mark.prefect
def test_the_dump_is_what_prefects_own_migrations_leave():
    """Fails when Prefect is upgraded without ``python -m epbatch.ops.prefectdb`` (the dump of
    another version would then be ignored, and a first server start slow, not wrong)."""
    assert _normalized(migrated_dump()) == _normalized(schema_file(version("prefect")).read_text())


def _normalized(sql: str) -> set[tuple[str, ...]]:
    """Each statement as its sorted lines: Alembic's table rebuilds list a table's constraints
    in a different order from one run of the migrations to the next."""
    statements = sql.split(";\n")
    return {tuple(sorted(line.strip().rstrip(",") for line in s.splitlines())) for s in statements}


def test_a_database_from_the_dump_is_at_head_and_others_are_not(tmp_path):
    from epbatch.ops.prefectdb import at_head

    path = tmp_path / "prefect.db"
    assert not at_head(path)  # missing
    assert create_database(path) and at_head(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = 'an-older-one'")
    assert not at_head(path)  # Prefect's migrations check must run
    (tmp_path / "broken.db").write_text("not SQLite")
    assert not at_head(tmp_path / "broken.db")
    assert not at_head(path, schema_file("0.0.0"))  # no dump for that Prefect version
