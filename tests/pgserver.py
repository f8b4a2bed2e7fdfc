"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, pg_ctl start listening on a Unix
socket in that folder only (no TCP), a database per test copied from a migrated template.

initdb refuses to run as root, so as root the server runs as the `postgres` user (runuser), in a folder
that user owns. Debian's postgresql package provides the binaries (scripts/setup.sh --test installs it)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

USER = "loket"
TIMEOUT_S = 60


def binaries() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class PgServer:
    """One PostgreSQL server in a temporary folder."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh --test (Debian's postgresql)")
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="loket-pg-"))
        self.data = self.folder / "data"
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=TIMEOUT_S)

    def start(self) -> PgServer:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync")
        options = f"-k {self.folder} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "-t", "30", "start"
        )
        return self

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{USER}@/{dbname}?host={self.folder}"

    def admin(self, sql: str) -> None:
        """One statement on the `postgres` database, outside a transaction (CREATE DATABASE and such)."""
        with psycopg.connect(
            host=str(self.folder), user=USER, dbname="postgres", autocommit=True, connect_timeout=10
        ) as c:
            c.execute(sql.encode())

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its name."""
        name = f"gw_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def client(self, tool: str, *args: str) -> None:
        """A client program (pg_dump, pg_restore, psql) against this server as USER, within TIMEOUT_S."""
        cmd = [str(self.bin / tool), "-h", str(self.folder), "-U", USER, *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=TIMEOUT_S)

    def dump(self, dbname: str, file: Path) -> None:
        """pg_dump in the custom format (what docs/gateway-deployment.md's nightly backup makes)."""
        self.client("pg_dump", "--format=custom", "--file", str(file), dbname)

    def restore(self, file: Path, dbname: str) -> None:
        """pg_restore into an empty database, stopping at the first error."""
        self.client("pg_restore", "--exit-on-error", "--no-owner", "--dbname", dbname, str(file))

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
