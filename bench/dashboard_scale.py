"""The dashboard over a full request log: 100,000 requests in the last 24 hours, four deployments,
faults on one request in twenty, then the time of each API call and of the page in Chromium.

Run: ``.venv/bin/python bench/dashboard_scale.py [--rows 100000]``. The log is filled with direct
batched inserts (seconds, not the hours the gateway would take), then a real gateway with the
simulator serves it. Reports the median and the slowest of REPEAT calls of each API, and the
browser's time from opening /dashboard to the overview drawn and from a click to one deployment's
view drawn (tests/clients/dashboard.mjs). A benchmark reports; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson

from dashboard_env import drive, gateway
from sseguard.observe.log_sql import INSERT_ANOMALY, INSERT_REQUEST, _row
from sseguard.observe.record import Attempt, RequestRecord
from sseguard.observe.store import connect, migrate

DEPLOYMENTS = ["east", "west", "north", "local"]
FAULTS = ["F02", "F15", "F16", "F17", "F18", "F20", "F21"]
REPEAT = 7
BATCH = 5000


def fill(
    path: Path, rows: int, span: float = 86400.0, deployments: list[str] = DEPLOYMENTS
) -> float:
    """``rows`` requests spread over the last ``span`` seconds; returns the seconds it took."""
    started = time.perf_counter()
    conn = connect(path)
    migrate(conn)
    rng = random.Random(22)
    now = time.time()
    for first in range(0, rows, BATCH):
        requests, anomalies = [], []
        for _ in range(min(BATCH, rows - first)):
            rec = RequestRecord(f"sg_{rng.randbytes(10).hex()}", "/v1/messages", route="*")
            rec.client_model = "claude-sonnet-4-5"
            rec.stream = True
            rec.started_at = now - rng.random() * span
            deployment = rng.choice(deployments)
            rec.tried(deployment)
            if rng.random() < 0.02:  # fell back
                rec.tried(rng.choice([d for d in deployments if d != deployment] or deployments))
            rec.ttft = rng.lognormvariate(-1.0, 0.6)
            rec.duration = rec.ttft + rng.random() * 8
            rec.max_gap = rng.lognormvariate(-3.0, 1.2)
            rec.events_out = rng.randint(10, 400)
            rec.status = 200
            rec.attempts = [Attempt(rec.deployments[-1], 200, None, "", rec.duration)]
            if rng.random() < 0.05:
                rec.anomalies = {rng.choice(FAULTS): rng.randint(1, 3)}
            if rng.random() < 0.01:
                rec.outcome, rec.status = "error", 529
            elif rng.random() < 0.01:
                rec.outcome, rec.resumes, rec.midstream = "resumed", 1, "resumed"
            requests.append(_row(rec.as_dict()))
            anomalies += [(rec.request_id, f, n) for f, n in rec.anomalies.items()]
        conn.execute("BEGIN")
        conn.executemany(INSERT_REQUEST, requests)
        conn.executemany(INSERT_ANOMALY, anomalies)
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def timed(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return time.perf_counter() - started, body


def measure(name: str, url: str) -> bytes:
    times, body = [], b""
    for _ in range(REPEAT):
        seconds, body = timed(url)
        times.append(seconds)
    print(
        f"{name:44} median {statistics.median(times) * 1000:7.1f} ms"
        f"   slowest {max(times) * 1000:7.1f} ms   {len(body):>7} bytes"
    )
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sseguard-dashboard-scale-") as tmp:
        work = Path(tmp)
        log = work / "requests.sqlite3"
        print(f"filling {log} with {args.rows:,} requests...", file=sys.stderr)
        seconds = fill(log, args.rows)
        print(f"filled in {seconds:.1f} s ({os.path.getsize(log) / 2**20:.0f} MiB)")
        with gateway(work, DEPLOYMENTS, log) as url:
            api = f"{url}/dashboard/api"
            measure("GET /dashboard (page)", f"{url}/dashboard")
            measure("overview: deployments, 24h", f"{api}/deployments?range=24h")
            measure("overview: deployments, 1h", f"{api}/deployments?range=1h")
            measure(
                "deployment: series east, 24h, 60 slices",
                f"{api}/series?range=24h&deployment=east&buckets=60",
            )
            first = measure("requests: first page (50)", f"{api}/requests?range=24h")
            measure("requests: east, first page", f"{api}/requests?range=24h&deployment=east")
            measure("requests: with F02, first page", f"{api}/requests?range=24h&anomaly=F02")
            cursor = orjson.loads(first)["next"]
            for _ in range(200):  # 10,000 rows in: a keyset page costs what the first did
                cursor = orjson.loads(timed(f"{api}/requests?range=24h&cursor={cursor}")[1])["next"]
            measure("requests: page 202 (by cursor)", f"{api}/requests?range=24h&cursor={cursor}")
            some = orjson.loads(first)["requests"][0]["request_id"]
            measure("one request", f"{api}/requests/{some}")
            seen = drive("check", url, "east", "claude-sonnet-4-5+glued_text", "60000")
            print(f"{'browser: /dashboard to overview drawn':44} {seen['overviewMs']:7d} ms")
            print(f"{'browser: click to deployment view drawn':44} {seen['deploymentMs']:7d} ms")
            print(f"browser errors: {seen['pageErrors'] + seen['consoleErrors'] or 'none'}")


if __name__ == "__main__":
    main()
