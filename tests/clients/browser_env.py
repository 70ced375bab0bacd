"""Debian's Chromium for the playground test: found, or installed with apt-get when this is a Debian
machine where we may (root, or passwordless sudo), so the test command installs what it needs like
node_env does.

A missing browser that cannot be installed is a test error that says what to do, never a skip.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser")
INSTALL_TIMEOUT = 900.0  # apt-get of Chromium and its libraries on a fresh machine
# Flags for a headless browser on a machine without a display or outbound network: without the
# background-networking ones it keeps trying to reach Google's hosts.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserEnvError(RuntimeError):
    """No Chromium, and none could be installed; the message says why."""


def _found() -> str | None:
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def chromium() -> str:
    """The path of a Chromium binary, installing Debian's package first if needed."""
    path = _found()
    if path:
        return path
    apt = shutil.which("apt-get")
    # As root, or through passwordless sudo: either way the test command installs what it needs.
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if apt is None or (sudo and shutil.which("sudo") is None):
        raise BrowserEnvError(
            "the playground test needs Chromium: install Debian's `chromium` package "
            "(`apt-get install chromium`) or put a chromium binary on PATH, and rerun"
        )
    lock = Path(tempfile.gettempdir()) / "sseguard-chromium-install.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # pytest-xdist workers or two test runs install once
        path = _found()
        if path:
            return path
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            [*sudo, apt, "update", "-qq"],
            [*sudo, apt, "install", "-y", "-qq", "chromium"],
        ):
            print(f"[browser_env] {' '.join(cmd)}", file=sys.stderr, flush=True)
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
            if proc.returncode != 0:
                raise BrowserEnvError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    path = _found()
    if path is None:
        raise BrowserEnvError("apt-get installed chromium, yet no chromium binary is on PATH")
    return path


def page_script(script: str, *args: str, timeout: float) -> dict[str, Any]:
    """``node SCRIPT ARGS`` for a script that prints one JSON line through browser.mjs: what its
    page showed, checked for a clean exit and for no uncaught errors in the page."""
    from node_env import CLIENTS_DIR, node_env

    proc = subprocess.run(
        [node_env().node, str(CLIENTS_DIR / script), *args],
        cwd=CLIENTS_DIR,
        env={**os.environ, "CHROMIUM": chromium(), "CHROMIUM_FLAGS": " ".join(FLAGS)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    # Not splitlines(): JSON.stringify leaves U+2028 raw (F06), a line break to Python.
    seen: dict[str, Any] = json.loads(proc.stdout.strip().split("\n")[-1])
    assert seen["pageErrors"] == [], seen["pageErrors"]
    return seen


if __name__ == "__main__":
    print(chromium())
