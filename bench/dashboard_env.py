"""A simulator and a gateway with a request log and captures, for the dashboard's scripts
(bench/dashboard_scale.py, bench/dashboard_screenshots.py), and the browser that drives the page
(tests/clients/dashboard.mjs, with the Node packages and Chromium the client tests use).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "tests" / "clients"
URL = re.compile(r"http://127\.0\.0\.1:\d+")
BROWSER_FLAGS = (
    "--no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
    " --disable-component-update --disable-sync"
)


@contextmanager
def process(*args: str, banner: str, cwd: Path) -> Iterator[str]:
    """``python -m sseguard ARGS`` until the block ends; yields the URL its banner printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sseguard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"sseguard {' '.join(args)} exited")
            m = URL.search(line)
            if banner in line and m:
                break
        else:
            raise RuntimeError(f"sseguard {' '.join(args)} did not start")
        # Its request lines would fill the pipe: read them away.
        drain = subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
        yield m.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if "drain" in locals():
            drain.wait(timeout=5)


def config(work: Path, upstream: str, deployments: list[str], log: Path) -> Path:
    """Deployments all played by the simulator, one route over them in order, captures kept."""
    parts = ["[server]\nport = 0\n[timeouts]\nfirst_event = 5\nidle = 5\nprogress = 5\n"]
    parts.append("[retry]\nmax_attempts = 2\nbackoff_base = 0.05\nbackoff_max = 0.2\n")
    for name in deployments:
        parts.append(
            f'[[deployments]]\nname = "{name}"\nbase_url = "{upstream}"\n'
            'kind = "anthropic-compatible"\npassthrough_key = true\n'
        )
    chain = ", ".join(f'"{d}"' for d in deployments[:2])
    parts.append(f'[[routes]]\nmatch = "*"\ndeployments = [{chain}]\ncapture = true\n')
    parts.append(f'[observe]\nrequest_log = "{log}"\ncapture_dir = "{work / "captures"}"\n')
    path = work / "gateway.toml"
    path.write_text("\n".join(parts))
    return path


@contextmanager
def gateway(work: Path, deployments: list[str], log: Path) -> Iterator[str]:
    with process("sim", "--port", "0", banner="upstream at", cwd=work) as sim:
        path = config(work, sim, deployments, log)
        with process("serve", "--config", str(path), banner="listening on", cwd=work) as url:
            yield url


def drive(*args: str, timeout: float = 300) -> dict[str, Any]:
    """``node tests/clients/dashboard.mjs ARGS``: what the page showed, as one JSON object."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    node = shutil.which("node")
    if chromium is None or node is None or not (CLIENTS / "node_modules").is_dir():
        raise SystemExit(
            "needs Chromium, Node and tests/clients/node_modules (scripts/test installs them)"
        )
    proc = subprocess.run(
        [node, str(CLIENTS / "dashboard.mjs"), *args],
        cwd=CLIENTS,
        env={**os.environ, "CHROMIUM": chromium, "CHROMIUM_FLAGS": BROWSER_FLAGS},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise SystemExit(f"dashboard.mjs failed:\n{proc.stdout}\n{proc.stderr}")
    seen: dict[str, Any] = json.loads(proc.stdout.strip().split("\n")[-1])
    return seen
