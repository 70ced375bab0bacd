"""CPU per relayed event of two gateways in alternating windows: the comparison a shared host's
noise still allows.

One run's CPU per event moves by 20 % on this machine with what the neighbours do (stolen time,
and cache contention that steal accounting does not show). Windows of the two sides taken in
turn, round after round, each with the steal it saw, cancel the slow drift: the median of the
per-round ratios over rounds without steal is the figure. ``bench/compare.py`` compares commits
this way; ``bench/run.py`` measures sseguard against nginx this way besides its own cpu phase.

A side is a bench target's name (``nginx``, ``sseguard``, ``relay-floor``...), started as
``bench/run.py`` starts it, or the ``src`` folder of a checkout, served as ``sseguard serve
--upstream`` by the project's .venv with PYTHONPATH there. Each window gets a fresh process on
CPU 1; the load client runs on CPU 0 with the upstream.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from harness import procstat
from harness.targets import (
    BENCH,
    VENV_PY,
    Log,
    Process,
    _spawn,
    _wait_port,
    bench_env,
    check_stream,
    free_port,
    start_target,
)

STEAL_LIMIT = 0.10  # CPUs stolen per window beyond which a window is left out of the medians

Side = Path | str


def start_side(side: Side, upstream: Process, workdir: Path, cpus: str | None, log: Log) -> Process:
    """A fresh gateway process for one window."""
    if isinstance(side, str):
        return start_target(side, upstream, workdir / side, cpus, log)
    port = free_port()
    cmd = [str(VENV_PY), "-c", "from sseguard.cli import main; main()"]
    cmd += ["serve", "--upstream", upstream.url, "--port", str(port)]
    name = side.parent.name
    # The request log goes to the working directory, as for the sseguard target.
    proc, logs = _spawn(cmd, workdir, name, cpus, dict(bench_env(), PYTHONPATH=str(side)))
    gateway = Process(name, f"http://127.0.0.1:{port}", proc, workdir, logs)
    try:
        _wait_port(port, proc, 60)
    except RuntimeError:
        gateway.stop()
        raise
    return gateway


def window(
    side: Side, upstream: Process, workdir: Path, streams: int, seconds: float, log: Log
) -> dict[str, float]:
    """One gateway process, one load window: its CPU per event and the steal seen."""
    pin = procstat.cpu_count_allowed() >= 2
    gateway = start_side(side, upstream, workdir, "1" if pin else None, log)
    try:
        for _ in range(3):  # first-use paths are not the steady state
            check_stream(gateway.url)
        load = subprocess.Popen(
            [
                *(["taskset", "-c", "0"] if pin else []),
                *(str(VENV_PY), "-m", "harness.load", "--url", f"{gateway.url}/v1/messages"),
                *("-c", str(streams), "-t", str(seconds), "--ramp", "1", "--settle", "1"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=BENCH,
        )
        assert load.stdout is not None and gateway.pid is not None
        w0, w1 = json.loads(load.stdout.readline())["window"]
        time.sleep(max(0.0, w0 - time.monotonic()))
        m0, c0 = procstat.machine_times(), procstat.cpu_seconds(gateway.pid)
        time.sleep(max(0.0, w1 - time.monotonic()))
        c1, m1 = procstat.cpu_seconds(gateway.pid), procstat.machine_times()
        result = json.loads(load.stdout.read())
        load.wait()
    finally:
        gateway.stop()
    if not result["events"] or result["errors"]:
        raise RuntimeError(f"the load window failed: {result['errors']} {result['error_examples']}")
    return {
        "us_per_event": round((c1 - c0) / result["events"] * 1e6, 2),
        "steal": round((m1.steal - m0.steal) / (w1 - w0), 3),
        "events_per_s": result["events_per_s"],
    }


def alternate(
    sides: dict[str, Side],
    rounds: int,
    upstream: Process,
    workdir: Path,
    streams: int,
    seconds: float,
    log: Log,
    enough: int | None = None,
) -> list[dict[str, dict[str, float]]]:
    """Up to ``rounds`` pairs of windows, the two sides taking turns at going first; with
    ``enough``, no more once that many pairs saw no steal (the host steals in bursts)."""
    labels = list(sides)
    out: list[dict[str, dict[str, float]]] = []
    clean = 0
    for i in range(rounds):
        pair = {}
        for label in labels if i % 2 == 0 else labels[::-1]:
            pair[label] = w = window(sides[label], upstream, workdir, streams, seconds, log)
            flag = "" if w["steal"] < STEAL_LIMIT else "  (steal: left out)"
            log(
                f"pair {i + 1}/{rounds} {label}: {w['us_per_event']} µs/event, "
                f"steal {w['steal']}{flag}"
            )
        out.append(pair)
        clean += all(w["steal"] < STEAL_LIMIT for w in pair.values())
        if enough is not None and clean >= enough:
            break
    return out


def summary(labels: list[str], rounds: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Medians over the windows without steal, and the median of the second side's CPU per
    event over the first's, over the rounds where neither window saw steal."""
    a, b = labels
    out: dict[str, Any] = {"sides": labels, "rounds": rounds, "steal_limit": STEAL_LIMIT}
    for label in labels:
        clean = [r[label]["us_per_event"] for r in rounds if r[label]["steal"] < STEAL_LIMIT]
        out[f"median_us_{label}"] = round(statistics.median(clean), 2) if clean else None
    ratios = [
        r[b]["us_per_event"] / r[a]["us_per_event"]
        for r in rounds
        if r[a]["steal"] < STEAL_LIMIT and r[b]["steal"] < STEAL_LIMIT
    ]
    out["clean_pairs"] = len(ratios)
    median = statistics.median(ratios) if ratios else None
    out["median_ratio"] = None if median is None else round(median, 3)
    out["median_change_pct"] = None if median is None else round(100 * (median - 1), 1)
    out["ratio_range"] = [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None
    return out
