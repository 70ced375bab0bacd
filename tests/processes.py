"""Real sseguard processes on loopback for integration tests: started, awaited by their banner, stopped.

Readiness is the banner line each command prints once its socket is bound, never a sleep.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

URL = re.compile(rb"(http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 30.0  # only detects a process that never comes up


@contextmanager
def sseguard_process(*args: str, env: dict[str, str] | None = None, banner: bytes) -> Iterator[str]:
    """Run ``python -m sseguard ARGS`` until the block ends; yields the URL its banner printed."""
    with running(*args, env=env, banner=banner) as (url, _, _):
        yield url


class Lines:
    """The last lines a process printed, filled by a reader thread; tests wait on it for lines
    that come later (request log lines leave the gateway in batches)."""

    def __init__(self, maxlen: int = 200) -> None:
        self._lines: deque[bytes] = deque(maxlen=maxlen)
        self._changed = threading.Condition()

    def append(self, line: bytes) -> None:
        with self._changed:
            self._lines.append(line)
            self._changed.notify_all()

    def __iter__(self) -> Iterator[bytes]:
        with self._changed:
            return iter(list(self._lines))

    def wait_until(self, done: Callable[[list[bytes]], bool], timeout: float) -> list[bytes]:
        """The lines once ``done(lines)`` holds; raises after ``timeout`` (a hang, not a race)."""
        with self._changed:
            if not self._changed.wait_for(lambda: done(list(self._lines)), timeout):
                raise TimeoutError(f"expected output not printed within {timeout:g} s")
            return list(self._lines)


class Running(NamedTuple):
    url: str
    proc: subprocess.Popen[bytes]
    output: Lines  # the last lines it printed after its banner (request logs)


@contextmanager
def running(*args: str, env: dict[str, str] | None = None, banner: bytes) -> Iterator[Running]:
    """Like ``sseguard_process``, also yielding the process (to signal it) and what it prints."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sseguard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=full_env,
        # Anything it writes by default (the request log) lands in a scratch folder, not the repo.
        cwd=tempfile.mkdtemp(prefix="sseguard-test-"),
    )
    assert proc.stdout is not None
    seen = b""
    url = None
    tail = Lines()
    drain: threading.Thread | None = None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                raise RuntimeError(f"sseguard {' '.join(args)} did not start: {seen.decode()!r}")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"sseguard {' '.join(args)} exited: {seen.decode()!r}")
            seen += line
            if banner in line:
                m = URL.search(line)
                assert m, line
                url = m.group(1).decode()
        # Keep reading what it prints (request logs): a full pipe would block the process.
        drain = threading.Thread(target=_drain, args=(proc.stdout, tail), daemon=True)
        drain.start()
        yield Running(url, proc, tail)
    finally:
        sel.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if drain is not None:
            drain.join(timeout=5)  # the pipe is at EOF once the process is gone
        proc.stdout.close()


def _drain(stream: IO[bytes], tail: Lines) -> None:
    for line in iter(stream.readline, b""):
        tail.append(line)


@contextmanager
def simulator(scenario: str = "clean") -> Iterator[str]:
    with sseguard_process(
        "sim", "--port", "0", "--scenario", scenario, banner=b"an Anthropic-compatible upstream at"
    ) as url:
        yield url


@contextmanager
def gateway(config: Path) -> Iterator[str]:
    with sseguard_process("serve", "--config", str(config), banner=b"sseguard listening on") as url:
        yield url


def gateway_config(
    tmp: Path, upstream: str, extra: str = "", server: str = "", **overrides: str
) -> Path:
    """A TOML config with short timeouts, so failures show within seconds in tests; ``server``
    adds lines to its ``[server]`` table, ``extra`` to its route."""
    settings = {
        "connect": "2",
        "first_event": "4",
        "idle": "4",
        "progress": "4",
        "total": "60",
        "ping_interval": "1",
        **overrides,
    }
    timeouts = "\n".join(f"{k} = {v}" for k, v in settings.items())
    text = f"""
[server]
host = "127.0.0.1"
port = 0
{server}

[timeouts]
{timeouts}

[retry]
max_attempts = 2
backoff_base = 0.05
backoff_max = 0.2
retry_after_cap = 2

[[deployments]]
name = "sim"
base_url = "{upstream}"
kind = "anthropic-compatible"
passthrough_key = true

[[routes]]
match = "*"
deployments = ["sim"]
{extra}
"""
    if "[observe]" not in extra:
        text += '\n[observe]\nrequest_log = ""  # tests leave no database behind\n'
    path = tmp / "sseguard.toml"
    path.write_text(text)
    return path
