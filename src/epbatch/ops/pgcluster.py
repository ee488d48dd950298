"""A private PostgreSQL cluster in a folder: initdb once, then start/stop with pg_ctl.

Used by ``epbatch server --postgres`` (Prefect's own database: no SQLite write locks) and by
the tests. The server listens on a Unix socket in the folder only, unless a TCP port is given
(then on 127.0.0.1 with password authentication). ``initdb`` refuses root, so as root the
cluster runs as the ``postgres`` user (or ``epbatch-pg``, created when missing).
"""

import glob
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SUPERUSER = "epbatch_admin"


class PostgresError(RuntimeError):
    """The server binaries are missing or a pg_ctl/initdb step failed."""


def server_binaries() -> Path:
    """The folder holding initdb, pg_ctl and postgres (PATH first, then Debian's)."""
    on_path = shutil.which("initdb")
    folders = [Path(on_path).resolve().parent] if on_path else []
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    folders += [Path(p).parent for p in reversed(debian)]
    for folder in folders:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH nor in "
        "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
    )


def _server_user() -> pwd.struct_passwd | None:
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


class LocalPostgres:
    """The cluster in ``root`` (data in ``root/data``, socket and log in ``root``)."""

    def __init__(self, root: Path, port: int = 5432, tcp: bool = False) -> None:
        self.root, self.port, self.tcp = root, port, tcp
        self.binaries = server_binaries()
        self.user = _server_user()

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *command: str | Path) -> None:
        options: dict[str, Any] = {"cwd": self.root, "capture_output": True, "text": True}
        if self.user is not None:
            options |= {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        done = subprocess.run([str(c) for c in command], check=False, **options)
        if done.returncode != 0:
            log = (
                (self.root / "server.log").read_text()
                if (self.root / "server.log").exists()
                else ""
            )
            raise PostgresError(f"{Path(command[0]).name} failed:\n{done.stdout}{done.stderr}{log}")

    def start(self) -> None:
        """initdb on first use, then start and wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            for parent in self.root.resolve().parents:  # let the server user reach its folder
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)  # traverse only, nothing listable
        if not (self.data / "PG_VERSION").is_file():
            self._run(
                self.binaries / "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-locale",
                "-E",
                "UTF8",
            )
        listen = "127.0.0.1" if self.tcp else ""
        options = f"-c listen_addresses='{listen}' -p {self.port} -k {self.root}"
        self._run(
            self.binaries / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "server.log",
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._run(self.binaries / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def admin(self) -> psycopg.Connection[Any]:
        """A superuser connection over the socket (autocommit)."""
        return psycopg.connect(
            host=str(self.root), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def ensure_database(self, name: str) -> None:
        """Create ``name`` (owned by the superuser) unless it exists."""
        with self.admin() as admin:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def socket_url(self, database: str, driver: str = "asyncpg") -> str:
        """An SQLAlchemy URL over the Unix socket (no password: only this machine can reach it)."""
        return f"postgresql+{driver}://{SUPERUSER}@/{database}?host={self.root}&port={self.port}"
