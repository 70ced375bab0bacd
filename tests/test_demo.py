"""``sseguard demo`` as a user runs it: a real process that prints the side-by-side table."""

from __future__ import annotations

import subprocess
import sys


def test_demo_shows_the_sdk_failing_straight_and_succeeding_through_sseguard() -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sseguard",
            "demo",
            "glued_text",
            "close_in_text_once",
            "eof_after_text_delta",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line for line in res.stdout.splitlines() if line[:1].isalpha()}
    assert "✘ WRONG" in rows["glued_text"].split("✔")[0]  # raw JSON error straight at the upstream
    assert rows["glued_text"].rstrip().split("  ")[-1].startswith("✔ complete")
    assert rows["close_in_text_once"].count("✔ complete") == 1  # only through sseguard
    # A cut answer: wrong (reported complete) straight, a clean typed error through sseguard.
    assert "reported as success" in rows["eof_after_text_delta"]
    assert "✔ typed error" in rows["eof_after_text_delta"]
    assert "through sseguard: 3 of 3" in res.stdout


def test_demo_refuses_unknown_scenarios() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "sseguard", "demo", "no_such_fault"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "unknown scenario(s) no_such_fault" in res.stderr
