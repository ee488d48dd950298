"""A new Prefect SQLite database in one step, not by replaying Prefect's migrations.

A Prefect server on a new ``PREFECT_HOME`` (a newcomer's first ``epbatch demo``) replays every
Alembic migration (114 for SQLite in Prefect 3.8.8): 15 s of CPU, taken from the engines that
run beside it. The database those migrations leave is dumped once per Prefect version
(``python -m epbatch.ops.prefectdb``, into ``prefect_sqlite/``); a server about to start on a
missing default database gets it from that dump in milliseconds, at the same Alembic head.
Any other Prefect version, database URL or an existing file: Prefect's own migrations.
"""

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

SCHEMA_DIR = Path(__file__).with_name("prefect_sqlite")
DATABASE_URL = "PREFECT_API_DATABASE_CONNECTION_URL"


def schema_file(prefect_version: str | None = None) -> Path:
    """The dump of a freshly migrated database of this Prefect version (may not exist)."""
    return SCHEMA_DIR / f"prefect-{prefect_version or version('prefect')}.sql"


def default_database(env: dict[str, str], profile_url: str | None) -> Path | None:
    """The SQLite file a server started with ``env`` uses, when it is Prefect's default one
    (no database URL in the environment or the active profile)."""
    if env.get(DATABASE_URL) or profile_url:
        return None
    home = Path(env.get("PREFECT_HOME") or "~/.prefect").expanduser()
    return home / "prefect.db"


def create_database(path: Path, schema: Path | None = None) -> bool:
    """Create ``path`` from the dump (atomically) if it does not exist yet and this Prefect
    version has one; whether it did."""
    schema = schema or schema_file()
    if path.exists() or not schema.is_file():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as connection:
        connection.executescript(schema.read_text())
    connection.close()
    try:
        os.link(partial, path)  # never over a database another process created meanwhile
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True


def at_head(path: Path, schema: Path | None = None) -> bool:
    """Whether the SQLite database at ``path`` is at the Alembic head of this Prefect version's
    dump (then a server need not run its migrations check: ~0.4 s of CPU, Alembic's import)."""
    schema = schema or schema_file()
    if not (path.is_file() and schema.is_file()):
        return False
    head = re.search(r"INSERT INTO \"?alembic_version\"? VALUES\('([^']+)'\)", schema.read_text())
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        connection.close()
    except sqlite3.Error:
        return False
    return head is not None and rows == [(head.group(1),)]


def dump(path: Path) -> str:
    """Every table, index and row of the SQLite database at ``path``, as SQL."""
    with sqlite3.connect(path) as connection:
        text = "\n".join(connection.iterdump()) + "\n"
    connection.close()
    return text


def migrated_dump() -> str:
    """The dump of a new database that Prefect's own migrations brought to head."""
    with tempfile.TemporaryDirectory(prefix="epbatch-prefectdb-") as home:
        env = {k: v for k, v in os.environ.items() if k != DATABASE_URL}
        command = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"]
        subprocess.run(
            command,
            env=env | {"PREFECT_HOME": home},
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
        return dump(Path(home) / "prefect.db")


def main() -> None:
    """Write the dump for the installed Prefect version."""
    path = schema_file()
    path.parent.mkdir(exist_ok=True)
    path.write_text(migrated_dump())
    print(path)


if __name__ == "__main__":
    main()
