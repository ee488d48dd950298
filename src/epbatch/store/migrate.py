"""Schema migrations with Alembic, configured in code: upgrade a results database in place.

The migration scripts live in ``epbatch/migrations`` (package data; no alembic.ini). A database
made by the old ``Base.metadata.create_all`` (the three tables, no ``alembic_version``) is
stamped as the initial revision first, so its rows are kept. URLs are only ever shown with the
password hidden (``display_url``).
"""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
"""The revision whose schema ``create_all`` made before migrations existed."""
BASELINE_TABLES = frozenset({"batches", "variants", "results"})
_PG_LOCK_KEY = 0x65706261746368  # "epbatch": serialises concurrent upgrades on PostgreSQL


class SchemaError(RuntimeError):
    """The database holds tables that migrations cannot take over."""


def display_url(url: str) -> str:
    """``url`` safe to print or log: the password is replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code; ``env.py`` migrates ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def upgrade_engine(engine: Engine) -> None:
    """Bring the schema to the head revision; a single query when it is there already.

    Runs in one transaction: on PostgreSQL (transactional DDL) a failed upgrade changes nothing.
    """
    with engine.connect() as connection:
        if current_revisions(connection) == head_revisions():
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # a concurrent upgrader waits, then skips
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        elif connection.dialect.name == "sqlite":  # the write lock first: the same, for SQLite
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # (DDL would not start a transaction)
        current = current_revisions(connection)
        if current == head_revisions():
            return
        config = alembic_config(connection)
        if not current:
            present = BASELINE_TABLES & set(inspect(connection).get_table_names())
            if present == BASELINE_TABLES:
                command.stamp(config, BASELINE)
            elif present:
                shown = engine.url.render_as_string(hide_password=True)
                raise SchemaError(
                    f"{shown} has tables {sorted(present)} but not "
                    f"{sorted(BASELINE_TABLES - present)}, and no alembic_version: "
                    "refusing to migrate it"
                )
        command.upgrade(config, "head")
