"""``sseguard demo`` as a user runs it: a real process that prints, per scenario, what the official
SDK made of the stream straight from the upstream and through sseguard.

Judged on what each outcome says, never on where it sits: the columns are as wide as the longest
outcome text (an SDK's exception message, with a port number in it), which differs between runs,
SDK versions and machines."""

from __future__ import annotations

import re
import subprocess
import sys

from sseguard.sim import CATALOGUE

SCENARIOS = ("glued_text", "close_in_text_once", "eof_after_text_delta")
# One outcome as the demo words it: its mark, verdict and detail (Outcome.cell in demo.py).
OUTCOME = re.compile(r"([✔✘]) (complete|typed error|WRONG|hang): ")


def outcomes(line: str) -> list[tuple[str, str]]:
    """(verdict, detail) of each outcome in a line, in the order printed: straight, then through."""
    found = list(OUTCOME.finditer(line))
    ends = [m.start() for m in found[1:]] + [len(line)]
    return [(m.group(2), line[m.end() : end].strip()) for m, end in zip(found, ends, strict=True)]


def test_demo_shows_the_sdk_failing_straight_and_succeeding_through_sseguard() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "sseguard", "demo", *SCENARIOS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "SDK straight at the upstream" in res.stdout and "through sseguard" in res.stdout
    rows = {}
    for line in res.stdout.splitlines():
        named = [n for n in SCENARIOS if re.search(rf"\b{n}\b", line)]
        if named:
            assert len(named) == 1 and named[0] not in rows, line
            assert CATALOGUE[named[0]].fault in line.split(), line  # the fault ID it plays
            rows[named[0]] = outcomes(line)
    assert set(rows) == set(SCENARIOS), res.stdout
    assert all(len(pair) == 2 for pair in rows.values()), rows

    straight, guarded = rows["glued_text"]
    assert straight[0] == "WRONG"  # the SDK's raw JSON error
    assert guarded[0] == "complete" and guarded[1].startswith("the whole answer")
    straight, guarded = rows["close_in_text_once"]
    assert straight[0] != "complete"  # a cut connection: the SDK raises
    assert guarded[0] == "complete"  # resumed through sseguard
    # A cut answer: passed off as complete straight, a clean typed error through sseguard.
    straight, guarded = rows["eof_after_text_delta"]
    assert straight[0] == "WRONG" and "reported as success" in straight[1]
    assert guarded[0] == "typed error"
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
