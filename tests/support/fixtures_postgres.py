"""A real PostgreSQL 15 for the store tests, and the fixture that runs a suite on both backends.

The server is initialised (initdb, as the ``postgres`` user when we are root: initdb refuses
root) into a fresh temporary directory and listens on 127.0.0.1 only, with password
authentication over TCP so wrong-password cases are real. Each test that asks for the
PostgreSQL backend gets its own database, cloned from a migrated template.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.support.faulty_server import free_port
from tests.support.fixtures_servers import missing

PASSWORD = "pg-test-secret-4711"
_TEMPLATE = "mlsre_template"
_count = itertools.count(1)


def pg_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    as_root: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, db: str = "postgres", *, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def pg_ctl(self, *args: str) -> None:
        # No pipes: the server inherits pg_ctl's output and would hold a pipe open forever.
        subprocess.run(
            self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
            timeout=120,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root / 'sock'} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self.pg_ctl("-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        self.pg_ctl("-m", "fast", "-l", str(self.root / "log"), "-w", "restart")

    def sql(self, statement: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), password=PASSWORD, autocommit=True) as conn:
            conn.execute(statement.encode())

    def new_database(self) -> str:
        """A fresh database at the latest schema; its URL (the password is in PGPASSWORD)."""
        name = f"t{os.getpid()}_{next(_count)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
        return self.url(name)

    def empty_database(self) -> str:
        name = f"e{os.getpid()}_{next(_count)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)


def start_postgres(bindir: Path) -> PgServer:
    """initdb into a fresh temporary directory and start on 127.0.0.1 (tests and bench/)."""
    as_root = os.geteuid() == 0
    root = Path(
        tempfile.mkdtemp(prefix="mlsre-pg-")
    )  # not under pytest's 0700 tmp: postgres reads it
    (root / "sock").mkdir()
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_root:
        subprocess.run(["chown", "-R", "postgres:", str(root)], check=True)
    server = PgServer(bindir, root, free_port(), as_root)
    subprocess.run(
        server._as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(server.data),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=180,
    )
    server.start()
    server.sql(f"CREATE DATABASE {_TEMPLATE}")
    from mlsre.incident.store import open_event_store

    os.environ["PGPASSWORD"] = PASSWORD
    try:
        open_event_store(server.url(_TEMPLATE)).close()  # migrated once; tests clone it
    finally:
        del os.environ["PGPASSWORD"]
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    bindir = pg_bindir()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        missing("PostgreSQL server (apt-get install postgresql-15)")
    assert bindir is not None
    server = start_postgres(bindir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PgServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated database of its own; PGPASSWORD set the libpq way."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on both backends: PostgreSQL through MLSRE_STORE_URL, as a team would.

    With SQLite nothing changes (the workspace's or user's default store file).
    """
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
        monkeypatch.setenv("MLSRE_STORE_URL", url)
        return url
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return "sqlite"


class Lines:
    """Lines from a child's stdout with a timeout (select on the raw fd: no hidden buffer)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self.buf = b""

    def next(self, timeout_s: float = 30) -> str | None:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()
