"""A real PostgreSQL server for the test run: a ``LocalPostgres`` cluster, loopback only.

Fixtures ``pg_server`` (session) and ``pg_url`` (a new database per test), made visible to the
tests by ``conftest.py``. Without server binaries every test here fails (it does not skip):
``.ci/run`` installs them.
"""

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from epbatch.ops.pgcluster import LocalPostgres, PostgresError

ROLE = "epbatch"
PASSWORD = "S3cret-pw@/%pg"  # noqa: S105 - a throwaway server; characters that need quoting


@dataclass(frozen=True)
class PgServer:
    cluster: LocalPostgres

    @property
    def port(self) -> int:
        return self.cluster.port

    def admin(self) -> psycopg.Connection[Any]:
        return self.cluster.admin()

    def url(self, database: str, password: str = PASSWORD) -> str:
        return URL.create(
            "postgresql+psycopg", ROLE, password, "127.0.0.1", self.port, database
        ).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="epbatch-pg-"))
    try:
        for attempt in range(3):  # the free port may be taken before the server binds it
            try:
                cluster = LocalPostgres(root, port=free_port(), tcp=True)
                cluster.start()
                break
            except PostgresError as error:
                if attempt == 2 or "initdb" in str(error) or "not on PATH" in str(error):
                    pytest.fail(str(error), pytrace=False)
        try:
            with cluster.admin() as admin:
                admin.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(ROLE), sql.Literal(PASSWORD)
                    )
                )
            yield PgServer(cluster)
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A URL (with the role's password) for a new, empty database owned by that role."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(ROLE)
            )
        )
    yield pg_server.url(name)
    with pg_server.admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
