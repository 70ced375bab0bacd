"""CPU per relayed event of two sseguard commits, measured in alternating pairs: the comparison a
shared host's noise still allows.

On this machine one run's CPU per event moves by 20 % with what the neighbours do (stolen time,
and cache contention that steal accounting does not show), more than most changes are worth.
Measuring two versions in alternation, round after round, each window with the steal it saw,
cancels slow drift: compare the pairs, not the runs.

    python3 bench/compare.py ea04296 HEAD                  # 6 rounds, 100 paced streams, 8 s
    python3 bench/compare.py ea04296 HEAD --rounds 10 --streams 250

Each commit is checked out with ``git worktree`` in a temporary directory and served as
``sseguard serve --upstream`` by the project's .venv with PYTHONPATH at that checkout's src, so
both use the dependencies installed now. The gateway runs on CPU 1, the bench upstream and the
load client on CPU 0. Progress goes to stderr, a JSON summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import procstat
from harness.targets import (
    ROOT,
    VENV_PY,
    _wait_port,
    check_stream,
    free_port,
    start_upstream,
)

STEAL_LIMIT = 0.10  # CPUs stolen per window beyond which a window is left out of the medians


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def checkout(commit: str, into: Path) -> tuple[str, Path]:
    """(short hash, a detached worktree of it)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = into / sha
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), sha],
            check=True,
        )
    return sha, path


def window(
    src: Path, upstream_url: str, workdir: Path, streams: int, seconds: float
) -> dict[str, float]:
    """One gateway process of ``src``, one load window: its CPU per event and the steal seen."""
    port = free_port()
    pin = procstat.cpu_count_allowed() >= 2
    gateway = subprocess.Popen(
        [
            *(["taskset", "-c", "1"] if pin else []),
            *(str(VENV_PY), "-c", "from sseguard.cli import main; main()"),
            *("serve", "--upstream", upstream_url, "--port", str(port)),
        ],
        env=dict(os.environ, PYTHONPATH=str(src)),
        cwd=workdir,  # the request log goes to the working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, gateway, 60)
        url = f"http://127.0.0.1:{port}"
        for _ in range(3):  # first-use paths are not the steady state
            check_stream(url)
        load = subprocess.Popen(
            [
                *(["taskset", "-c", "0"] if pin else []),
                *(str(VENV_PY), "-m", "harness.load", "--url", f"{url}/v1/messages"),
                *("-c", str(streams), "-t", str(seconds), "--ramp", "1", "--settle", "1"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent,
        )
        assert load.stdout is not None
        w0, w1 = json.loads(load.stdout.readline())["window"]
        time.sleep(max(0.0, w0 - time.monotonic()))
        m0, c0 = procstat.machine_times(), procstat.cpu_seconds(gateway.pid)
        time.sleep(max(0.0, w1 - time.monotonic()))
        c1, m1 = procstat.cpu_seconds(gateway.pid), procstat.machine_times()
        result = json.loads(load.stdout.read())
        load.wait()
    finally:
        gateway.terminate()
        gateway.wait()
    if not result["events"] or result["errors"]:
        raise RuntimeError(f"the load window failed: {result['errors']} {result['error_examples']}")
    return {
        "us_per_event": round((c1 - c0) / result["events"] * 1e6, 2),
        "steal": round((m1.steal - m0.steal) / (w1 - w0), 3),
        "events_per_s": result["events_per_s"],
    }


def summary(commits: list[str], rounds: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    a, b = commits
    out: dict[str, Any] = {"commits": commits, "rounds": rounds, "steal_limit": STEAL_LIMIT}
    for c in commits:
        clean = [r[c]["us_per_event"] for r in rounds if r[c]["steal"] < STEAL_LIMIT]
        out[f"median_us_{c}"] = round(statistics.median(clean), 2) if clean else None
    pairs = [
        100 * (r[b]["us_per_event"] / r[a]["us_per_event"] - 1)
        for r in rounds
        if r[a]["steal"] < STEAL_LIMIT and r[b]["steal"] < STEAL_LIMIT
    ]
    out["clean_pairs"] = len(pairs)
    out["median_change_pct"] = round(statistics.median(pairs), 1) if pairs else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="a commit (anything git rev-parse takes)")
    parser.add_argument("after", help="the commit to compare with it")
    parser.add_argument("--rounds", type=int, default=6, help="pairs of windows (6)")
    parser.add_argument("--streams", type=int, default=100, help="paced streams held (100)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window (8)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sseguard-compare-"))
    trees = dict(checkout(c, workdir) for c in (args.before, args.after))
    commits = list(trees)
    if len(commits) < 2:
        parser.error(f"{args.before} and {args.after} are the same commit")
    upstream = start_upstream(workdir, deltas=64, pace_ms=20.0, cpus="0")
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        for i in range(args.rounds):
            pair = {}
            for c in commits if i % 2 == 0 else commits[::-1]:  # alternate who goes first
                pair[c] = w = window(
                    trees[c] / "src", upstream.url, workdir, args.streams, args.seconds
                )
                flag = "" if w["steal"] < STEAL_LIMIT else "  (steal: left out)"
                log(
                    f"round {i + 1}/{args.rounds} {c}: {w['us_per_event']} µs/event, steal {w['steal']}{flag}"
                )
            rounds.append(pair)
    finally:
        upstream.stop()
        for path in trees.values():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)])
    result = summary(commits, rounds)
    print(json.dumps(result, indent=2))
    log(
        f"median CPU per event: {commits[0]} {result[f'median_us_{commits[0]}']} µs, "
        f"{commits[1]} {result[f'median_us_{commits[1]}']} µs; median change over "
        f"{result['clean_pairs']} clean pairs {result['median_change_pct']} %"
    )


if __name__ == "__main__":
    main()
