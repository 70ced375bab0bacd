"""What gateway keys with Redis-kept limits add to time to first token.

Starts a redis-server (scratch directory, nothing persisted), the simulator, and two gateways on
it: one without keys, one with a key that has every limit (rpm, tpm, max_streams, budget_usd,
kept in that Redis). Sends N sequential streaming requests (concurrency 1, loopback) through
each, alternating, and prints p50/p90 of the time from sending a request to the first byte of
its first event, and the difference.

    python3 bench/keys_overhead.py            # 500 requests each
    python3 bench/keys_overhead.py -n 2000
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson

URL = re.compile(rb"(http://127\.0\.0\.1:\d+)")
KEY = "sg-bench-key"


@contextmanager
def process(args: list[str], ready: bytes) -> Iterator[bytes]:
    """A process until the block ends; yields the line that said it is ready."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"{args[0]} exited before it was ready")
            if ready in line:
                break
        # Drained from here on: a gateway logs a line per request, and a full pipe would block it.
        threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
        yield line
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sseguard(*args: str) -> list[str]:
    return [sys.executable, "-m", "sseguard", *args]


def config(tmp: Path, name: str, sim: str, redis_url: str | None) -> str:
    text = (
        "server: {host: 127.0.0.1, port: 0}\n"
        'observe: {request_log: ""}\n'
        "deployments:\n"
        f"  - {{name: sim, kind: anthropic-compatible, base_url: '{sim}', api_key: x}}\n"
    )
    if redis_url:
        text += (
            "keys:\n"
            f"  - {{name: bench, key: {KEY}, rpm: 1000000, tpm: 1000000000, max_streams: 100,"
            " budget_usd: 1000000}\n"
            'prices: {"*": {input: 3.0, output: 15.0}}\n'
            f"state: {{redis_url: '{redis_url}'}}\n"
        )
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def ttft(conn: http.client.HTTPConnection, body: bytes) -> float:
    """Seconds from sending the request to the first byte of the first event."""
    start = time.perf_counter()
    conn.request(
        "POST",
        "/v1/messages",
        body=body,
        headers={"content-type": "application/json", "x-api-key": KEY},
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    response.read1(1)
    first = time.perf_counter() - start
    response.read()
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="requests through each gateway")
    args = parser.parse_args()
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("needs redis-server (apt-get install redis-server)")
    tmp = Path(tempfile.mkdtemp(prefix="sseguard-bench-keys-"))
    port = free_port()
    with ExitStack() as stack:
        stack.enter_context(
            process(
                [
                    redis_server,
                    "--bind", "127.0.0.1", "--port", str(port), "--dir", str(tmp),
                    "--save", "", "--appendonly", "no",
                ],
                b"Ready to accept connections",
            )
        )  # fmt: skip
        line = stack.enter_context(
            process(sseguard("sim", "--port", "0"), b"an Anthropic-compatible upstream at")
        )
        sim = URL.search(line).group(1).decode()  # type: ignore[union-attr]
        gateways = {}
        for name, redis_url in (("off", None), ("on", f"redis://127.0.0.1:{port}/0")):
            cfg = config(tmp, name, sim, redis_url)
            line = stack.enter_context(
                process(sseguard("serve", "--config", cfg), b"sseguard listening on")
            )
            gateways[name] = URL.search(line).group(1).decode()  # type: ignore[union-attr]
        body = orjson.dumps(
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 16,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
        conns = {
            name: http.client.HTTPConnection(
                url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1])
            )
            for name, url in gateways.items()
        }
        times: dict[str, list[float]] = {name: [] for name in gateways}
        for _ in range(50):  # warm-up: connections, imports, script cache
            for conn in conns.values():
                ttft(conn, body)
        for _ in range(args.n):
            for name, conn in conns.items():
                times[name].append(ttft(conn, body))
        for conn in conns.values():
            conn.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{args.n} sequential streaming requests each, loopback, concurrency 1 (pid {os.getpid()})"
    )
    p50 = {}
    for name, values in times.items():
        q = statistics.quantiles(values, n=10)
        p50[name] = statistics.median(values)
        what = "keys + Redis limits" if name == "on" else "no keys"
        print(f"  {what:20} TTFT p50 {p50[name] * 1000:7.3f} ms   p90 {q[8] * 1000:7.3f} ms")
    print(f"  added at p50: {(p50['on'] - p50['off']) * 1000:+.3f} ms")


if __name__ == "__main__":
    main()
