"""A throwaway PostgreSQL server for the request log's tests: a cluster in a temporary directory,
on 127.0.0.1 and a free port, trust authentication, no Unix socket; stopped and deleted after.

The binaries are Debian's (``scripts/bootstrap.sh`` installs the ``postgresql`` package): ``initdb``
and ``pg_ctl`` from PATH, else the newest ``/usr/lib/postgresql/*/bin``, where Debian keeps them
off PATH. ``initdb`` refuses to run as root, and tests run as root in CI: then the cluster belongs
to ``nobody`` and every server command runs through ``runuser -u nobody``, the util-linux way to
drop privileges without a password or a login shell (``pg_virtualenv`` would wrap a whole
command, not the start, stop and restart a test needs). The server only listens on loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg

UNPRIVILEGED = "nobody"
# Durability is not what these tests are about; speed on a shared machine is.
TEST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """``start()``, ``stop()`` (and start again, on the same port: the database "goes away"),
    ``database()`` for a fresh empty database's DSN, ``remove()`` at the end."""

    def __init__(self, bin_dir: Path, settings: Sequence[str] = TEST_SETTINGS) -> None:
        self.bin = bin_dir
        self.settings = tuple(settings)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sseguard-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", UNPRIVILEGED, "--"]
            shutil.chown(self.root, user=UNPRIVILEGED)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k ''" + "".join(
            f" -c {setting}" for setting in self.settings
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def database(self) -> str:
        """A new empty database; its DSN."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,  # runuser keeps the directory, which nobody may not be able to enter
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}{log}")
