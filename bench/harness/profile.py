"""Where sseguard's CPU goes under load: py-spy samples the gateway process while the load
client drives it, once with paced streams (one event per read, the real case) and once unpaced
(each stream arrives in one piece), and the samples are summed per function.

py-spy lives in its own virtualenv (bench/.venv-profile), installed on first use. The raw
collapsed stacks are kept next to the results for flame graphs (``flamegraph.pl``, speedscope).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness.targets import (
    BENCH,
    VENV_PY,
    Process,
    bench_env,
    check_stream,
    run_cmd,
    start_target,
    start_upstream,
)

PROFILE_VENV = BENCH / ".venv-profile"
PY_SPY_VERSION = "0.4.3"

Log = Any


def ensure_py_spy(log: Log) -> Path:
    exe = PROFILE_VENV / "bin" / "py-spy"
    if exe.exists():
        return exe
    log(f"installing py-spy {PY_SPY_VERSION} into {PROFILE_VENV} (first --profile run)")
    run_cmd([sys.executable, "-m", "venv", str(PROFILE_VENV)], log)
    run_cmd(
        [str(PROFILE_VENV / "bin" / "pip"), "install", "--quiet", f"py-spy=={PY_SPY_VERSION}"],
        log,
    )
    return exe


def _frame(frame: str) -> str:
    """``send (uvicorn/protocols/http/httptools_impl.py:540)`` -> ``uvicorn/.../httptools_impl.py:send``
    with the site-packages prefix cut."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for cut in ("site-packages/", "/src/", "lib/python3.11/"):
        if cut in path:
            path = path.split(cut, 1)[1]
    return f"{path}:{name}" if path else name


def summarize_raw(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        # The first frame is the thread ("process 123:..." / "thread (0x...)"); not a function.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n

    def share(c: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": f, "pct": round(100 * n / total, 1)} for f, n in c.most_common(top)]

    # Frames on (nearly) every stack are the entry chain (click, uvicorn.run, the loop): noise.
    for f in [f for f, n in inclusive.items() if n > 0.95 * total]:
        del inclusive[f]
    return {"samples": total, "self": share(own), "inclusive": share(inclusive)}


def _profile_once(
    label: str,
    pace_ms: float,
    base: Path,
    args: argparse.Namespace,
    exe: Path,
    log: Log,
) -> dict[str, Any]:
    workdir = base / f"profile-{label}"
    workdir.mkdir(parents=True, exist_ok=True)
    upstream = start_upstream(workdir, args.deltas, pace_ms, "0")
    target: Process | None = None
    try:
        target = start_target("sseguard", upstream, workdir / "sseguard", "1", log)
        for _ in range(3):
            check_stream(target.url)
        c = args.cpu_concurrency if pace_ms > 0 else 64
        seconds = 10.0
        cmd = ["taskset", "-c", "0", str(VENV_PY), "-m", "harness.load", "--url"]
        cmd += [target.url + "/v1/messages", "-c", str(c), "-t", str(seconds + 3), "--ramp", "1"]
        if pace_ms <= 0:
            cmd.append("--no-stamps")
        load = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=bench_env()
        )
        time.sleep(3.0)
        raw = workdir / f"sseguard-{label}.collapsed.txt"
        log(f"  py-spy: sseguard under {label} load, {c} streams, {seconds:g} s")
        spy = [str(exe), "record", "-p", str(target.pid), "-d", str(int(seconds))]
        # --gil: only samples holding the GIL, so threads blocked on a queue do not count as work.
        spy += ["-r", "250", "--gil", "--function", "-f", "raw", "-o", str(raw)]
        subprocess.run(
            spy,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load.communicate(timeout=60)
        summary = summarize_raw(raw)
        summary["collapsed"] = str(raw)
        summary["concurrency"] = c
        return summary
    finally:
        if target is not None:
            target.stop()
        upstream.stop()


def profile_sseguard(base: Path, args: argparse.Namespace, log: Log) -> dict[str, Any]:
    exe = ensure_py_spy(log)
    log("profile: py-spy on sseguard (CPU 1), upstream and load client on CPU 0")
    out = {
        "paced": _profile_once("paced", args.pace_ms, base, args, exe, log),
        "unpaced": _profile_once("unpaced", 0.0, base, args, exe, log),
    }
    for label, s in out.items():
        log(f"  top self time, {label}:")
        for row in s["self"][:12]:
            log(f"    {row['pct']:5.1f} %  {row['function']}")
    return out
