"""A real PostgreSQL server for the test run: initdb in a temporary folder, loopback only.

Fixtures ``pg_server`` (session) and ``pg_url`` (a new database per test), made visible to the
tests by ``conftest.py``.

The server binaries come from PATH or ``/usr/lib/postgresql/*/bin``; with none, every test here
fails (it does not skip): ``.ci/run`` installs them. ``initdb`` refuses to run as root, so under
root the server runs as the ``postgres`` user (or ``epbatch-pg``, created if missing).
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

ROLE = "epbatch"
PASSWORD = "S3cret-pw@/%pg"  # noqa: S105 - a throwaway server; characters that need quoting
ADMIN = "epbatch_admin"  # the superuser: unix socket only, no password, no TCP


@dataclass(frozen=True)
class PgServer:
    port: int
    socket_dir: Path

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=ADMIN,
            dbname="postgres",
            autocommit=True,
        )

    def url(self, database: str, password: str = PASSWORD) -> str:
        return URL.create(
            "postgresql+psycopg", ROLE, password, "127.0.0.1", self.port, database
        ).render_as_string(hide_password=False)


def server_binaries() -> Path:
    """The folder holding initdb, pg_ctl and postgres."""
    on_path = shutil.which("initdb")
    folders = [Path(on_path).resolve().parent] if on_path else []
    versions = glob("/usr/lib/postgresql/*/bin/initdb")
    folders += [Path(p).parent for p in sorted(versions, key=lambda p: int(p.split("/")[4]))][::-1]
    for folder in folders:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH nor in "
        "/usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql; "
        ".ci/run does this before the tests)",
        pytrace=False,
    )


def server_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "epbatch-pg"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "epbatch-pg"],
        check=True,
    )
    return pwd.getpwnam("epbatch-pg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    binaries = server_binaries()
    user = server_user()
    root = Path(tempfile.mkdtemp(prefix="epbatch-pg-"))
    data, log = root / "data", root / "server.log"
    as_user: dict[str, Any] = {"cwd": root, "capture_output": True, "text": True}
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user |= {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def run(*cmd: str | Path, fail: bool = True) -> bool:
        done = subprocess.run([str(c) for c in cmd], check=False, **as_user)
        if done.returncode != 0 and fail:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"{cmd[0]} failed:\n{done.stdout}{done.stderr}{server_log}", pytrace=False)
        return done.returncode == 0

    pg_ctl = binaries / "pg_ctl"
    try:
        run(
            binaries / "initdb",
            "-D",
            data,
            "-U",
            ADMIN,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-locale",
            "-E",
            "UTF8",
            "--no-sync",
        )
        for attempt in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
            start = (pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")
            if run(*start, fail=attempt == 2):
                break
        server = PgServer(port, root)
        try:
            with server.admin() as admin:
                admin.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(ROLE), sql.Literal(PASSWORD)
                    )
                )
            yield server
        finally:
            run(pg_ctl, "-D", data, "-m", "fast", "-w", "stop")
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
