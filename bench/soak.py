"""Soak: many concurrent streams through a real gateway for minutes, every request a random fault
of the simulator's catalogue, every answer judged as a user would.

    python3 bench/soak.py                          # 200 streams for 10 minutes
    python3 bench/soak.py --streams 20 --seconds 30 --json

Starts ``sseguard sim`` and ``sseguard serve`` (short timeouts, so stalls end in seconds) and
keeps ``--streams`` official ``anthropic`` async clients busy until the time is up, streaming or
not at random. Each answer is one of: ``complete`` (exactly the simulator's expected answer),
``typed error`` (an API error of the SDK, counted by type), or a failure of the guarantee:
``hang`` (no end within the bound), ``truncated`` (a cut answer reported complete),
``duplicated`` (text delivered twice), ``wrong`` (any other answer reported complete, or an
error that is not an API error). The gateway's RSS and open file descriptors are sampled every
few seconds; the figures after warm-up (the first fifth) say whether they stay flat.
Exit status 1 when any failure of the guarantee was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic

from sseguard.sim import CATALOGUE, expected_answer

ROOT = Path(__file__).resolve().parent.parent
BANNER = re.compile(rb"(http://127\.0\.0\.1:\d+)")
HANG_BOUND = 120.0  # seconds for one answer: a stall ends within 3 x 4 s here, so far past it
SAMPLE_EVERY = 5.0  # seconds between RSS and file descriptor samples
SKIP = {"endless_text"}  # never ends by design (the client-gone tests play it)
FAILURES = ("hang", "truncated", "duplicated", "wrong")
TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
CONFIG = """
[server]
host = "127.0.0.1"
port = 0

[timeouts]
connect = 2
first_event = 4
idle = 4
progress = 4
total = 60
commit_ping = 5

[retry]
max_attempts = 2
backoff_base = 0.05
backoff_max = 0.2
retry_after_cap = 2

[[deployments]]
name = "sim"
base_url = "{sim}"
kind = "anthropic-compatible"
passthrough_key = true

[observe]
request_log = ""
"""


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one per failure kind
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds, KiB)
    fds: list[tuple[float, int]] = field(default_factory=list)


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m sseguard ARGS`` until it prints its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sseguard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tempfile.mkdtemp(prefix="sseguard-soak-"),
    )
    assert proc.stdout is not None
    seen = b""
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sseguard {' '.join(args)} exited: {seen.decode()!r}")
        seen += line
        found = BANNER.search(line)
        if found:
            # Keep draining its output in the background, or a full pipe would stall it.
            asyncio.get_running_loop().run_in_executor(None, _drain, proc)
            return proc, found.group(1).decode()


def _drain(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass


def request_for(name: str, stream: bool, n: int) -> dict[str, Any]:
    scenario = CATALOGUE[name]
    body: dict[str, Any] = {
        "model": f"claude-sonnet-4-5+{name}",
        "max_tokens": 2048,
        # Distinct per request: the simulator's _once faults count per conversation.
        "messages": [{"role": "user", "content": f"soak {n} {name} {stream}"}],
    }
    if scenario.tool or "tool" in name:
        body["tools"] = [TOOL]
    if scenario.thinking or "thinking" in name:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return body


def judge(body: dict[str, Any], message: Any) -> str:
    """A reported success, as a user would judge it."""
    want = expected_answer({**body, "model": "claude-sonnet-4-5"})
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [b.input for b in message.content if b.type == "tool_use"]
    want_tools = [b["input"] for b in want["content"] if b["type"] == "tool_use"]
    huge = any(len(json.dumps(t)) > 1_000_000 for t in tools)
    if text == want_text and (tools == want_tools or huge) and message.stop_reason:
        return "complete"
    if want_text.startswith(text) and len(text) < len(want_text):
        return "truncated"
    if len(text) > len(want_text) or len(tools) > len(want_tools):
        return "duplicated"
    return "wrong"


async def one(client: anthropic.AsyncAnthropic, name: str, stream: bool, n: int) -> str:
    body = request_for(name, stream, n)
    started = time.monotonic()
    try:
        async with asyncio.timeout(HANG_BOUND):
            if stream:
                async with client.messages.stream(**body) as s:
                    message = await s.get_final_message()
            else:
                message = await client.messages.create(**body)
    except TimeoutError:
        return "hang"
    except anthropic.APIStatusError as exc:
        if exc.status_code == 200:  # an error event after the stream began: its type says why
            kind = exc.body.get("error", {}).get("type") if isinstance(exc.body, dict) else None
            return f"typed error: 200 {kind or 'error event'}"
        return f"typed error: {exc.status_code}"
    except anthropic.APIError as exc:
        if time.monotonic() - started >= HANG_BOUND:
            return "hang"
        # An error event in a stream (no status) is an API error with its type in the body.
        kind = exc.body.get("error", {}).get("type") if isinstance(exc.body, dict) else None
        return f"typed error: {kind or type(exc).__name__}"
    except Exception as exc:  # a library error that is no API error: the user sees a crash
        return f"wrong: {type(exc).__name__}: {str(exc)[:80]}"
    return judge(body, message)


async def worker(
    client: anthropic.AsyncAnthropic, names: list[str], rng: random.Random, until: float, t: Tally
) -> None:
    n = 0
    while time.monotonic() < until:
        name, stream = rng.choice(names), rng.random() < 0.5
        n = rng.getrandbits(48)
        verdict = await one(client, name, stream, n)
        kind = verdict.split(":")[0]
        t.outcomes[kind] += 1
        if kind == "typed error":
            t.errors[verdict.split(": ", 1)[1]] += 1
        elif kind != "complete":
            t.examples.setdefault(kind, f"{name} ({'stream' if stream else 'json'}): {verdict}")


def sample(pid: int) -> tuple[int, int]:
    """The gateway's resident memory (KiB) and open file descriptors now."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def sampler(pid: int, started: float, until: float, t: Tally) -> None:
    while time.monotonic() < until:
        rss, fds = sample(pid)
        now = time.monotonic() - started
        t.rss.append((now, rss))
        t.fds.append((now, fds))
        await asyncio.sleep(SAMPLE_EVERY)


def after_warmup(series: list[tuple[float, int]], seconds: float) -> tuple[int, int, int]:
    """(first, min, max) of the samples after the first fifth of the run."""
    later = [v for at, v in series if at >= seconds / 5] or [v for _, v in series]
    return later[0], min(later), max(later)


async def soak(streams: int, seconds: float, seed: int, log: Any) -> Tally:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tally = Tally()
    sim, sim_url = start(["sim", "--port", "0"], env)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "soak.toml"
        config.write_text(CONFIG.format(sim=sim_url))
        gw, gw_url = start(["serve", "--config", str(config)], env)
        try:
            names = sorted(set(CATALOGUE) - SKIP)
            rng = random.Random(seed)
            client = anthropic.AsyncAnthropic(
                base_url=gw_url, api_key="sk-soak", max_retries=0, timeout=HANG_BOUND + 10
            )
            started = time.monotonic()
            until = started + seconds
            log(f"{streams} streams for {seconds:g} s through {gw_url} ({len(names)} scenarios)")
            tasks = [
                worker(client, names, random.Random(rng.getrandbits(64)), until, tally)
                for _ in range(streams)
            ]
            progress = asyncio.create_task(_progress(tally, started, until, log))
            await asyncio.gather(sampler(gw.pid, started, until, tally), *tasks)
            progress.cancel()
            await client.close()
        finally:
            for proc in (gw, sim):
                proc.terminate()
                proc.wait(timeout=10)
    return tally


async def _progress(t: Tally, started: float, until: float, log: Any) -> None:
    while True:
        await asyncio.sleep(30)
        done = sum(t.outcomes.values())
        rss = t.rss[-1][1] // 1024 if t.rss else 0
        left = max(0.0, until - time.monotonic())
        log(f"{time.monotonic() - started:.0f} s: {done} answers, RSS {rss} MiB, {left:.0f} s left")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200, help="concurrent clients (200)")
    parser.add_argument("--seconds", type=float, default=600.0, help="how long (600)")
    parser.add_argument("--seed", type=int, default=1, help="the scenario draw (1)")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(f"[soak] {message}", file=sys.stderr, flush=True)

    t = asyncio.run(soak(args.streams, args.seconds, args.seed, log))
    rss = after_warmup(t.rss, args.seconds)
    fds = after_warmup(t.fds, args.seconds)
    figures = {
        "streams": args.streams,
        "seconds": args.seconds,
        "answers": sum(t.outcomes.values()),
        "outcomes": dict(t.outcomes),
        "errors_by_type": dict(t.errors),
        "failures": {k: t.outcomes.get(k, 0) for k in FAILURES},
        "examples": t.examples,
        "rss_kib_after_warmup": {"first": rss[0], "min": rss[1], "max": rss[2]},
        "fds_after_warmup": {"first": fds[0], "min": fds[1], "max": fds[2]},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"answers: {figures['answers']} in {args.seconds:g} s, {args.streams} streams")
        for kind, n in sorted(t.outcomes.items()):
            print(f"  {kind:12} {n}")
        for kind, n in sorted(t.errors.items(), key=lambda kv: -kv[1]):
            print(f"    {kind:28} {n}")
        print(f"RSS after warm-up: {rss[0] // 1024} MiB first, {rss[1] // 1024}-{rss[2] // 1024}")
        print(f"open fds after warm-up: {fds[0]} first, {fds[1]}-{fds[2]}")
        for kind, example in t.examples.items():
            print(f"  e.g. {kind}: {example}")
    return 1 if any(figures["failures"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
