"""Schema migrations with Alembic, configured in code: upgrade a results database in place.

The migration scripts live in ``epbatch/migrations`` (package data; no alembic.ini). A database
made by the old ``Base.metadata.create_all`` (the three tables, no ``alembic_version``) is
stamped as the initial revision first, so its rows are kept. URLs are only ever shown with the
password hidden (``display_url``).
"""

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from alembic.config import Config

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


def alembic_config(connection: Connection | None = None) -> "Config":
    """Alembic's configuration, in code; ``env.py`` migrates ``connection`` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_REVISION = re.compile(r"^(revision|down_revision)\b[^=]*=(.+)$", re.MULTILINE)


@cache
def head_revisions() -> frozenset[str]:
    """The revisions no script revises, read from the scripts' text: a batch whose database is
    at head never imports Alembic (0.5 s of CPU beside the engines)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = {
            key: ast.literal_eval(value.strip())
            for key, value in _REVISION.findall(script.read_text())
        }
        revisions.add(found["revision"])
        down = found["down_revision"]
        revised.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - revised)


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions in the database's ``alembic_version`` table (none without it)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    return frozenset(str(revision) for (revision,) in rows)


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
        from alembic import command

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
