"""CPU per relayed event of two gateways, measured in alternating pairs: the comparison a shared
host's noise still allows. Each side is an sseguard commit or a bench target (nginx, the relay
floor).

On this machine one run's CPU per event moves by 20 % with what the neighbours do (stolen time,
and cache contention that steal accounting does not show), more than most changes are worth.
Measuring two versions in alternation, round after round, each window with the steal it saw,
cancels slow drift: compare the pairs, not the runs (harness/pairs.py). Against nginx, the
median ratio over the pairs is the "× nginx" that bench/run.py also measures this way.

    python3 bench/compare.py ea04296 HEAD                  # 6 rounds, 100 paced streams, 8 s
    python3 bench/compare.py ea04296 HEAD --rounds 10 --streams 250
    python3 bench/compare.py nginx HEAD --rounds 12 --clean 4  # sseguard's CPU over nginx's

Each commit is checked out with ``git worktree`` in a temporary directory and served as
``sseguard serve --upstream`` by the project's .venv with PYTHONPATH at that checkout's src, so
both use the dependencies installed now; nginx and the relay floor are started as bench/run.py
starts them (nginx installed with apt-get if missing). Each window gets a fresh process. The
gateway runs on CPU 1, the bench upstream and the load client on CPU 0. Progress goes to stderr,
a JSON summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import pairs
from harness.targets import ROOT, ensure_nginx, start_upstream

BENCH_TARGETS = ("nginx", "relay-floor")  # what a side may be besides an sseguard commit


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "before", help=f"a commit (anything git rev-parse takes) or {' or '.join(BENCH_TARGETS)}"
    )
    parser.add_argument("after", help="what to compare with it, the same way")
    parser.add_argument("--rounds", type=int, default=6, help="pairs of windows (6)")
    parser.add_argument("--streams", type=int, default=100, help="paced streams held (100)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window (8)")
    parser.add_argument(
        "--clean",
        type=int,
        metavar="N",
        help="stop once N pairs saw no steal; --rounds is then the most taken (a host that "
        "steals in bursts leaves most pairs out)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sseguard-compare-"))
    sides: dict[str, pairs.Side] = {}
    for arg in (args.before, args.after):
        if arg in BENCH_TARGETS:
            if arg == "nginx":
                ensure_nginx(log)
            sides[arg] = arg
        else:
            sha, tree = checkout(arg, workdir)
            sides[sha] = tree / "src"
    labels = list(sides)
    if len(labels) < 2:
        parser.error(f"{args.before} and {args.after} are the same")
    upstream = start_upstream(workdir, deltas=64, pace_ms=20.0, cpus="0")
    try:
        rounds = pairs.alternate(
            sides, args.rounds, upstream, workdir, args.streams, args.seconds, log, args.clean
        )
    finally:
        upstream.stop()
        for side in sides.values():
            if isinstance(side, Path):
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(side.parent)]
                )
    result = pairs.summary(labels, rounds)
    print(json.dumps(result, indent=2))
    a, b = labels
    log(
        f"median CPU per event: {a} {result[f'median_us_{a}']} µs, {b} {result[f'median_us_{b}']} "
        f"µs; over {result['clean_pairs']} clean pairs the median ratio is "
        f"{result['median_ratio']} ({result['median_change_pct']} %)"
    )


if __name__ == "__main__":
    main()
