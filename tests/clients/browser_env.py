"""Debian's Chromium for the browser tests, which scripts/test installs beforehand
(scripts/bootstrap.sh, ``sseguard_test_tools``).

A missing browser is a test error that says what to do, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

CANDIDATES = ("chromium", "chromium-browser")
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
    """The path of a Chromium binary. scripts/test installs Debian's package before the tests
    (scripts/bootstrap.sh): a test never installs system packages."""
    path = _found()
    if path is None:
        raise BrowserEnvError(
            "the browser tests need Chromium: scripts/test installs Debian's `chromium` package "
            "(as root or with passwordless sudo); or `apt-get install chromium`, or put a "
            "chromium binary on PATH, and rerun"
        )
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
