"""The benchmark's load client: C concurrent streaming requests held for T seconds, each finished
stream replaced at once, measuring time to first event and each delta's lateness.

Lateness is receive time minus the send time the upstream stamped into the delta's text
(``[t=...]``, CLOCK_MONOTONIC, the same clock in every process of the machine): what the proxy
added plus what the client itself took to notice. Requests are staggered over a ramp, and only what
happens inside the measurement window counts (TTFT of streams whose first event lands in it,
lateness of deltas received in it, streams that complete in it).

A raw asyncio protocol with httptools rather than aiohttp's client: aiohttp costs ~16 µs of CPU per
streamed event (measured on a two-core machine), which at 50,000 events/s would make the client, not the proxy,
the bottleneck on this two-core machine. Each connection is kept alive across its streams, as the
SDKs do.

Prints one JSON line ``{"window": [start, end]}`` (monotonic seconds) as soon as it knows them, so
the harness can sample the proxy's CPU at the same instants, then the results as one JSON object.

Run alone: ``python -m harness.load --url http://127.0.0.1:8080/v1/messages -c 100 -t 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import time
from array import array
from collections import Counter
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import orjson
import uvloop

from harness.upstream import raise_nofile

STAMP_RE = re.compile(rb"\[t=([0-9]+\.[0-9]+)\]")
MAX_PENDING = 1 << 20  # bytes of an unfinished event before the response counts as broken


def request_bytes(host: str, path: str, model: str, max_tokens: int) -> bytes:
    body = orjson.dumps(
        {
            "model": model,
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": "Write a few paragraphs about streams."}],
        }
    )
    return (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        "accept: text/event-stream\r\nanthropic-version: 2023-06-01\r\n"
        "x-api-key: sk-bench\r\nauthorization: Bearer sk-bench\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


def percentiles(values: array[float] | list[float]) -> dict[str, float | int | None]:
    """p50, p90, p99 and max in milliseconds; None when there are no samples."""
    n = len(values)
    if not n:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    s = sorted(values)

    def at(q: float) -> float:
        return round(s[min(n - 1, int(q * n))] * 1000.0, 3)

    return {
        "n": n,
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(s[-1] * 1000, 3),
    }


class Measure:
    """Everything counted in the window, shared by all connections of the process."""

    def __init__(self, w0: float, w1: float, stamps: bool) -> None:
        self.w0 = w0
        self.w1 = w1
        self.stamps = stamps
        self.events = 0
        self.bytes = 0
        self.lateness: array[float] = array("d")
        self.ttft: array[float] = array("d")
        self.completed = 0
        self.started = 0
        self.errors: Counter[str] = Counter()
        self.first_error: dict[str, str] = {}

    def error(self, kind: str, detail: str) -> None:
        now = time.monotonic()
        if self.w0 <= now < self.w1:
            self.errors[kind] += 1
        self.first_error.setdefault(kind, detail[:300])


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange()`` sends a request and resolves to an outcome."""

    def __init__(self, m: Measure) -> None:
        self.m = m
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.parser: Any = None
        self.done: asyncio.Future[str] | None = None
        self.rest = b""
        self.first = True
        self.status = 0
        self.stop_seen = False
        self.error_seen = False
        self.t_req = 0.0
        self.error_body = b""

    def exchange(self, request: bytes) -> asyncio.Future[str]:
        assert self.transport is not None
        self.parser = httptools.HttpResponseParser(self)
        self.rest = b""
        self.first = True
        self.status = 0
        self.stop_seen = self.error_seen = False
        self.error_body = b""
        self.done = asyncio.get_running_loop().create_future()
        self.t_req = time.monotonic()
        self.transport.write(request)
        return self.done

    def _finish(self, outcome: str) -> None:
        done = self.done
        if done is not None and not done.done():
            done.set_result(outcome)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(f"protocol: {exc}")
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        self._finish("connection lost before the end of the response")

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.status != 200:
            if len(self.error_body) < 2000:
                self.error_body += body
            return
        now = time.monotonic()
        buf = self.rest + body if self.rest else body
        end = buf.rfind(b"\n\n")
        if end < 0:
            self.rest = buf
            if len(buf) > MAX_PENDING:
                self._finish("an event larger than 1 MiB")
                self._close()
            return
        done = buf[: end + 2]
        self.rest = buf[end + 2 :]
        m = self.m
        inside = m.w0 <= now < m.w1
        if self.first:
            self.first = False
            if inside:
                m.ttft.append(now - self.t_req)
        if inside:
            m.events += done.count(b"\n\n")
            m.bytes += len(done)
            if m.stamps:
                lateness = m.lateness
                for stamp in STAMP_RE.findall(done):
                    lateness.append(now - float(stamp))
        if b"message_stop" in done:
            self.stop_seen = True
        if b"event: error" in done:
            self.error_seen = True
            m.first_error.setdefault("error event", done[-300:].decode("utf-8", "replace"))

    def on_message_complete(self) -> None:
        if self.status != 200:
            self._finish(f"HTTP {self.status}: {self.error_body[:300]!r}")
        elif self.error_seen:
            self._finish("error event")
        elif not self.stop_seen:
            self._finish("ended without message_stop")
        else:
            self._finish("ok")
        if not self.parser.should_keep_alive():
            self._close()


async def slot(m: Measure, host: str, port: int, request: bytes, delay: float, end: float) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(delay)
    conn: Connection | None = None
    try:
        while loop.time() < end:
            if conn is None or conn.closed:
                try:
                    _, conn = await loop.create_connection(lambda: Connection(m), host, port)
                except OSError as exc:
                    m.error("connect", str(exc))
                    conn = None
                    await asyncio.sleep(0.05)
                    continue
            m.started += 1
            outcome = await conn.exchange(request)
            if outcome == "ok":
                if m.w0 <= time.monotonic() < m.w1:
                    m.completed += 1
            else:
                kind = outcome.split(":", 1)[0]
                m.error(kind, outcome)
                conn._close()
                await asyncio.sleep(0.01)  # an answering-at-once error must not spin the loop
    finally:
        if conn is not None:
            conn._close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    request = request_bytes(
        f"{host}:{port}", url.path or "/v1/messages", args.model, args.max_tokens
    )
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    w0 = t0 + args.ramp + args.settle
    w1 = w0 + args.seconds
    print(json.dumps({"window": [w0, w1]}), flush=True)
    m = Measure(w0, w1, stamps=not args.no_stamps)
    # loop.time() and time.monotonic() are both CLOCK_MONOTONIC; the slots stop at w1.
    end = loop.time() + (w1 - time.monotonic())
    c = args.concurrency
    tasks = [
        asyncio.create_task(slot(m, host, port, request, args.ramp * i / c, end)) for i in range(c)
    ]
    await asyncio.sleep(max(0.0, w0 - time.monotonic()))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(max(0.0, w1 - time.monotonic()))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    window = w1 - w0
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "concurrency": c,
        "window_s": round(window, 3),
        "events": m.events,
        "events_per_s": round(m.events / window, 1),
        "bytes": m.bytes,
        "streams_started": m.started,
        "streams_completed": m.completed,
        "streams_per_s": round(m.completed / window, 2),
        "errors": dict(m.errors),
        "error_examples": m.first_error,
        "ttft_ms": percentiles(m.ttft),
        "lateness_ms": percentiles(m.lateness),
        "client_cpu_s": round(client_cpu, 3),
        "client_cpu_share": round(client_cpu / window, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://HOST:PORT/v1/messages")
    parser.add_argument("-c", "--concurrency", type=int, default=10)
    parser.add_argument("-t", "--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds to start all streams")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds between ramp and window")
    parser.add_argument("--model", default="claude-bench")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=1024,
        help="sent as max_tokens; the bench upstream sends at most this many deltas (short streams)",
    )
    parser.add_argument(
        "--no-stamps", action="store_true", help="skip the lateness stamps (unpaced runs)"
    )
    args = parser.parse_args(argv)
    raise_nofile()
    result = uvloop.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
