"""What a route's policies add to a request, end to end, against the built-in simulator.

    python3 bench/policy_overhead.py                 # 40 requests per case
    python3 bench/policy_overhead.py --requests 200 --json out.json

Starts ``sseguard sim`` and ``sseguard serve`` with one route per case and sends the same
streaming requests through each, one at a time: an agent answer with a tool call, plain and with
``tool_judge`` (the simulator's judge answers at once, so the difference is the judging machinery:
the held call, the judge's request through the gateway's exchange, the verdict); a text answer
plain, with ``noop`` and with ``redact``. Prints p50/p90 of the whole request's wall time per
case and the judge's own time as the decisions record it. Wall time on a shared two-core machine
is noisy: compare p50s, and see bench/instructions.py (variants sseguard-noop, sseguard-redact) for
the per-event cost without noise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BANNER = re.compile(rb"(http://127\.0\.0\.1:\d+)")
BASH = {
    "name": "Bash",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
CASES = {  # name: (model, tools offered)
    "tool call, no policy": ("plain-claude+agent", True),
    "tool call, tool_judge": ("guarded-claude+agent", True),
    "text, no policy": ("plain-claude", False),
    "text, noop": ("noop-claude", False),
    "text, redact": ("redact-claude", False),
}
CONFIG = """
observe:
  request_log: ""
deployments:
  - {{name: sim, base_url: "{sim}", kind: anthropic-compatible, passthrough_key: true}}
routes:
  - {{match: "guarded-*", deployments: [sim], policies: [{{use: tool_judge, judge: sim, model: judge}}]}}
  - {{match: "noop-*", deployments: [sim], policies: [{{use: noop}}]}}
  - {{match: "redact-*", deployments: [sim], policies: [{{use: redact}}]}}
  - {{match: "*", deployments: [sim]}}
"""


def start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m sseguard ARGS`` until it prints its URL; its output is kept for the log lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sseguard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tempfile.mkdtemp(prefix="sseguard-bench-"),
    )
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sseguard {' '.join(args)} exited before listening")
        found = BANNER.search(line)
        if found:
            return proc, found.group(1).decode()


def one(url: str, model: str, tools: bool, n: int) -> float:
    """Seconds for one streaming request, read to its end."""
    host, port = url.removeprefix("http://").split(":")
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 256,
        "stream": True,
        "messages": [{"role": "user", "content": f"Please run `ls -la /tmp/{n}`"}],
    }
    if tools:
        body["tools"] = [BASH]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    started = time.perf_counter()
    conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    took = time.perf_counter() - started
    conn.close()
    if response.status != 200 or b"message_stop" not in raw:
        raise RuntimeError(f"{model}: {response.status} {raw[:200]!r}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per case (40)")
    parser.add_argument("--json", type=Path, help="also write the figures to FILE")
    args = parser.parse_args()
    sim, sim_url = start("sim", "--port", "0")
    conf = Path(tempfile.mkdtemp(prefix="sseguard-bench-")) / "sseguard.yaml"
    conf.write_text(CONFIG.format(sim=sim_url))
    gateway, url = start("serve", "--config", str(conf), "--port", "0")
    results: dict[str, dict[str, float]] = {}
    try:
        for model, tools in CASES.values():
            one(url, model, tools, -1)  # warm-up: first-use paths are not the steady state
        for case, (model, tools) in CASES.items():
            times = sorted(one(url, model, tools, n) for n in range(args.requests))
            p50 = statistics.median(times) * 1000
            p90 = times[int(0.9 * (len(times) - 1))] * 1000
            results[case] = {"p50_ms": round(p50, 3), "p90_ms": round(p90, 3)}
            print(f"{case:24} p50 {p50:7.2f} ms   p90 {p90:7.2f} ms", flush=True)
    finally:
        gateway.terminate()
        out, _ = gateway.communicate(timeout=30)
        sim.terminate()
        sim.communicate(timeout=30)
    judged = [
        d["seconds"] * 1000
        for line in out.splitlines()
        if line.startswith(b"{")
        for d in json.loads(line).get("decisions", ())
        if d.get("policy") == "tool_judge" and d.get("seconds") is not None
    ]
    if judged:
        results["judge call (decision seconds)"] = {"p50_ms": round(statistics.median(judged), 3)}
        print(f"{'judge call, as recorded':24} p50 {statistics.median(judged):7.2f} ms")
    base, judge = results["tool call, no policy"], results["tool call, tool_judge"]
    print(f"tool_judge adds {judge['p50_ms'] - base['p50_ms']:.2f} ms per tool call (p50)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
