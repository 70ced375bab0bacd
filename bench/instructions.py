"""Instructions per relayed event, counted by valgrind's callgrind: the noise-free companion of
bench/run.py's CPU seconds.

CPU time on a shared machine moves by tens of percent between repeats (docs/benchmarks.md), which
hides differences of a few percent such as what observation costs. An instruction count does not
depend on what else runs. Each variant of the gateway runs under callgrind with instrumentation off
through start-up and a warm-up stream, on for N paced streams sent one after another (one event per
read, the real case), then off; the count over the events relayed is the figure. The same number
of 4-delta streams follows, counted apart: two stream lengths over the same requests split the
figure into a cost per event and a cost per request (connection, parsing, routing, the record).

    python3 bench/instructions.py              # default gateway and the no-observer gateway
    python3 bench/instructions.py --streams 10 # quicker
    python3 bench/instructions.py --variants sseguard-bare,relay-floor,nginx

Installs valgrind with apt-get if missing. Callgrind runs the gateway ~50x slower; a paced stream
leaves it the time it needs, so the stream keeps one event per read.
"""

from __future__ import annotations

import argparse
import atexit
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.targets import (
    Process,
    _spawn,
    _wait_port,
    apt_install,
    check_stream,
    free_port,
    start_upstream,
    target_command,
)

VARIANTS = {
    "sseguard": "sseguard serve --upstream URL: the default (request log, JSON log line, metrics)",
    "sseguard-nolog": 'the default with the request log off (observe.request_log: "")',
    "sseguard-metrics": "the record and the Prometheus metrics only: no JSON log line, no request log",
    "sseguard-bare": "the same gateway with no per-request observer (bench/harness/bare_gateway.py)",
    "sseguard-noop": "sseguard-bare with a noop policy on its route: the policy layer's own cost",
    "sseguard-redact": "sseguard-bare with the redact policy (default patterns) on its route",
    "sseguard-keys": "sseguard-bare requiring a gateway key, its limits and budget kept in a "
    "redis-server started for it",
    "relay-floor": "decode -> repair -> encode on bare protocol callbacks (bench/harness/relay_floor.py)",
    "nginx": "nginx with proxy_buffering off: what a plain reverse proxy costs",
}
OBSERVER_VARIANTS = ("sseguard", "sseguard-nolog", "sseguard-metrics", "sseguard-bare")
LONG_TOKENS = 64  # the measured streams: 64 deltas, 70 events
SHORT_TOKENS = 4  # then as many 4-delta streams (10 events), for the per-request share
STARTUP_TIMEOUT = 600.0  # Python's imports under callgrind take minutes


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_valgrind() -> str:
    found = shutil.which("valgrind")
    if found:
        return found
    apt_install("valgrind", log)
    return shutil.which("valgrind") or "valgrind"


def start_redis(workdir: Path) -> str:
    """A redis-server for the keys variant (nothing persisted; ends with this script); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("the sseguard-keys variant needs redis-server (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    atexit.register(proc.terminate)
    _wait_port(port, proc, 30)
    return f"redis://127.0.0.1:{port}/0"


def control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def total_instructions(out_dir: Path) -> int:
    """The sum of the dumps' totals (``callgrind_control -d`` writes one file per dump, exit one
    more; with instrumentation off outside the measured streams, the rest count nothing)."""
    total = 0
    for path in out_dir.glob("callgrind.out.*"):
        match = re.search(rb"^totals: (\d+)", path.read_bytes(), re.MULTILINE)
        if match:
            total += int(match.group(1))
    return total


def measure(name: str, upstream: Process, workdir: Path, streams: int) -> dict[str, object]:
    port = free_port()
    if name == "sseguard-metrics":
        cmd, _, _ = target_command("sseguard-bare", upstream, workdir, port)
        cmd.append("--keep-metrics")
    elif name in ("sseguard-noop", "sseguard-redact"):
        cmd, _, _ = target_command("sseguard-bare", upstream, workdir, port)
        cmd += ["--policy", name.removeprefix("sseguard-")]
    elif name == "sseguard-keys":
        cmd, _, _ = target_command("sseguard-bare", upstream, workdir, port)
        cmd += ["--keys-redis", start_redis(workdir)]
    else:
        cmd, _, _ = target_command(name, upstream, workdir, port)
    out_dir = workdir / name
    out_dir.mkdir()
    grind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes"]
    grind.append(f"--callgrind-out-file={out_dir}/callgrind.out.%p")
    proc, logs = _spawn([*grind, *cmd], out_dir, name, None)
    target = Process(name, f"http://127.0.0.1:{port}", proc, out_dir, logs)
    try:
        log(f"{name}: starting under callgrind (minutes: Python's imports run ~50x slower)")
        _wait_port(port, proc, STARTUP_TIMEOUT)
        check_stream(target.url, timeout=300)  # warm-up: first-use paths are not the steady state
        started = time.monotonic()
        events, long_count = _counted(name, target.url, streams, LONG_TOKENS, out_dir)
        short_events, short_count = _counted(name, target.url, streams, SHORT_TOKENS, out_dir)
        seconds = time.monotonic() - started
    finally:
        target.stop()
    instructions = long_count
    # Two stream lengths, the same requests: the difference is events alone (two equations).
    per_event = (long_count - short_count) / (events - short_events)
    per_request = (short_count - per_event * short_events) / streams
    return {
        "description": VARIANTS[name],
        "streams": streams,
        "events": events,
        "instructions": instructions,
        "instructions_per_event": round(instructions / events) if events else None,
        "of_which_per_event": round(per_event),
        "of_which_per_request": round(per_request),
        "short_streams_events": short_events,
        "seconds": round(seconds, 1),
    }


def _counted(name: str, url: str, streams: int, max_tokens: int, out_dir: Path) -> tuple[int, int]:
    """(events, instructions) of ``streams`` streams sent one after another, instrumentation on."""
    before = total_instructions(out_dir)
    control("-i", "on")
    events = 0
    for i in range(streams):
        events += check_stream(url, timeout=300, max_tokens=max_tokens)[1]
        log(f"{name}: stream {i + 1}/{streams} ({max_tokens} deltas), {events} events so far")
    control("-d")
    control("-i", "off")
    return events, total_instructions(out_dir) - before


def observation_shares(results: dict[str, dict[str, object]]) -> dict[str, float]:
    """Shares of the no-observer gateway's instructions per event (which keeps the record's
    per-write counters; bench/observe_overhead.py measures those alone)."""
    per_event = {n: results[n]["instructions_per_event"] for n in OBSERVER_VARIANTS}
    full, nolog, metrics, bare = (per_event[n] for n in OBSERVER_VARIANTS)
    assert isinstance(full, int) and isinstance(nolog, int)
    assert isinstance(metrics, int) and isinstance(bare, int)
    return {
        "all_observation_pct": round(100 * (full - bare) / bare, 2),
        "metrics_pct": round(100 * (metrics - bare) / bare, 2),
        "json_log_line_pct": round(100 * (nolog - metrics) / bare, 2),
        "request_log_pct": round(100 * (full - nolog) / bare, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=20, help="paced streams per variant (20)")
    parser.add_argument("--out", type=Path, help="JSON file for the figures")
    parser.add_argument(
        "--pace-ms",
        type=float,
        default=20.0,
        help="milliseconds between the upstream's deltas (20: one event per read); 0 writes each "
        "stream in one piece, as the workers phase of bench/run.py does",
    )
    parser.add_argument(
        "--variants",
        default=",".join(OBSERVER_VARIANTS),
        help=f"comma-separated, from: {', '.join(VARIANTS)} (default: the four sseguard ones, "
        "which give observation's share)",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    ensure_valgrind()
    workdir = Path(tempfile.mkdtemp(prefix="sseguard-instructions-"))
    upstream = start_upstream(workdir, deltas=64, pace_ms=args.pace_ms, cpus=None)
    results: dict[str, dict[str, object]] = {}
    try:
        for name in names:
            results[name] = measure(name, upstream, workdir, args.streams)
            log(f"{name}: {results[name]['instructions_per_event']:,} instructions per event")
    finally:
        upstream.stop()
    summary: dict[str, object] = {"pace_ms": args.pace_ms, "results": results}
    if all(name in results for name in OBSERVER_VARIANTS):
        summary.update(observation_shares(results))
    if "nginx" in results:
        per_event = {n: r["instructions_per_event"] for n, r in results.items()}
        nginx = per_event["nginx"]
        assert isinstance(nginx, int)
        summary["ratio_to_nginx"] = {
            n: round(v / nginx, 2) for n, v in per_event.items() if isinstance(v, int) and nginx
        }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    log(f"work files in {workdir}")


if __name__ == "__main__":
    main()
