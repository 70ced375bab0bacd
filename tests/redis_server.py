"""A real ``redis-server`` for tests: on 127.0.0.1, a free port, a scratch directory, nothing
persisted; started and awaited by its readiness line, never a sleep. ``scripts/bootstrap.sh``
installs it (Debian's package); tests that need it are skipped with that hint when it is absent.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

READY = b"Ready to accept connections"
START_TIMEOUT = 20.0  # only detects a server that never comes up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def require_redis() -> str:
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip(
            "needs redis-server: scripts/bootstrap.sh installs it (apt-get install redis-server)"
        )
    return found


class RedisServer:
    """One server; ``stop`` kills it (as a crash would), ``start`` brings it back on its port."""

    def __init__(self, port: int | None = None) -> None:
        self.binary = require_redis()
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="sseguard-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "notice",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        seen = b""
        while READY not in seen:
            line = proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"redis-server did not start: {seen.decode(errors='replace')}")
            seen += line
        self.proc = proc
        # What it logs later must not fill the pipe and block it.
        threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None


def _drain(stream: IO[bytes]) -> None:
    for _ in iter(stream.readline, b""):
        pass


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
