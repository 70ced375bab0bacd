"""The benchmark's upstream: every POST answers the same well-formed Anthropic Messages stream, its
text deltas written at a fixed pace (or all at once), each stamped with the moment it was written.

Deliberately not ``sseguard sim``: no fault machinery and as little work per event as possible, so
that what the load client measures through a proxy is the proxy. Raw asyncio protocol on uvloop,
requests parsed by httptools, every byte but the stamp prepared before the first request.

The stamp opens each delta's text, ``[t=<CLOCK_MONOTONIC seconds>]``: the text is the one field
every proxy passes on byte for byte, and CLOCK_MONOTONIC is the same clock in every process of the
machine, so the load client's lateness is receive time minus this stamp, exactly.

Run alone: ``python -m harness.upstream --port 9000 --deltas 64 --pace-ms 20`` (from ``bench/``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, cast

import httptools
import orjson
import uvloop

STAMP = b"[t="
WORDS = (
    "The answer",
    " streams in",
    " small pieces,",
    " a few words",
    " at a time —",
    " naïve café",
    " 日本語",
    " and so on.",
)


def _event(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _opening() -> bytes:
    """What Anthropic sends before the first delta, in one write: message_start, the first block's
    start and a ping."""
    message = {
        "id": "msg_bench0000000000000000",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 1},
    }
    return (
        _event({"type": "message_start", "message": message})
        + _event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        )
        + _event({"type": "ping"})
    )


def _closing(deltas: int) -> bytes:
    return (
        _event({"type": "content_block_stop", "index": 0})
        + _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": deltas * 3},
            }
        )
        + _event({"type": "message_stop"})
    )


# A delta is DELTA_HEAD + stamp + one of DELTA_TAILS: only the stamp is formatted per event.
DELTA_HEAD = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"' + STAMP
)
DELTA_TAILS = tuple(b"]" + orjson.dumps(w)[1:-1] + b'"}}\n\n' for w in WORDS)
RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"request-id: req_bench\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
LAST_CHUNK = b"0\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def _plain(status: bytes, body: bytes, keep_alive: bool) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\n"
        + (b"" if keep_alive else b"connection: close\r\n")
        + b"\r\n"
        + body
    )


def _deltas_for(body: bytes, most: int) -> int:
    """A request's ``max_tokens`` below the configured length shortens its stream (one delta per
    token): how the load client asks for short streams when it measures time to first event."""
    try:
        asked = orjson.loads(body).get("max_tokens")
    except (orjson.JSONDecodeError, AttributeError):
        return most
    return max(1, min(most, asked)) if isinstance(asked, int) else most


@dataclass(frozen=True, slots=True)
class Settings:
    deltas: int = 64
    pace: float = 0.020  # seconds between deltas; 0 writes the whole stream at once
    opening: bytes = b""
    closing: bytes = b""


class StreamServer(asyncio.Protocol):
    """One client connection (keep-alive): each POST gets a stream, paced by loop timers."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body = b""
        self.deltas = settings.deltas
        self.keep_alive = True
        self.timer: asyncio.TimerHandle | None = None
        self.sent = 0
        self.base = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        t = self.transport
        if t is None:
            return
        self.keep_alive = self.parser.should_keep_alive()
        path = self.url.split(b"?", 1)[0]
        method = self.parser.get_method()
        if method == b"POST" and path.endswith(b"/v1/messages"):
            self._start()
        elif method == b"GET" and path == b"/health":
            t.write(_plain(b"200 OK", b'{"status":"ok"}', self.keep_alive))
            self._maybe_close()
        else:
            body = b'{"type":"error","error":{"type":"not_found_error","message":"no such path"}}'
            t.write(_plain(b"404 Not Found", body, self.keep_alive))
            self._maybe_close()

    # the stream
    def _start(self) -> None:
        t = self.transport
        assert t is not None
        s = self.s
        self.deltas = _deltas_for(self.body, s.deltas)
        if s.pace <= 0:
            stamp = b"%.6f" % time.monotonic()
            body = [s.opening]
            tails = DELTA_TAILS
            for k in range(self.deltas):
                body.append(DELTA_HEAD + stamp + tails[k % len(tails)])
            body.append(s.closing)
            t.write(RESPONSE_HEAD + _chunk(b"".join(body)) + LAST_CHUNK)
            self._maybe_close()
            return
        t.write(RESPONSE_HEAD + _chunk(s.opening))
        self.sent = 0
        loop = asyncio.get_running_loop()
        # An absolute schedule: a late timer does not push every later delta back.
        self.base = loop.time()
        self.timer = loop.call_at(self.base + s.pace, self._tick)

    def _tick(self) -> None:
        t = self.transport
        if t is None:
            return
        s = self.s
        k = self.sent
        data = DELTA_HEAD + (b"%.6f" % time.monotonic()) + DELTA_TAILS[k % len(DELTA_TAILS)]
        k += 1
        self.sent = k
        if k >= self.deltas:
            self.timer = None
            t.write(_chunk(data + s.closing) + LAST_CHUNK)
            self._maybe_close()
            return
        t.write(_chunk(data))
        self.timer = asyncio.get_running_loop().call_at(self.base + (k + 1) * s.pace, self._tick)

    def _maybe_close(self) -> None:
        if not self.keep_alive:
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def raise_nofile() -> None:
    """Thousands of streams need thousands of descriptors: take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(host: str, port: int, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: StreamServer(settings), host, port, backlog=8192, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    # The harness reads this line to learn the port (``--port 0`` picks a free one).
    print(json.dumps({"listening": f"http://{host}:{bound}"}), flush=True)
    await serve_until_signalled(server)


async def serve_until_signalled(server: asyncio.Server) -> None:
    """Serve until SIGTERM or SIGINT: the harness stops its processes with a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--deltas", type=int, default=64, help="text deltas per stream (64)")
    parser.add_argument(
        "--pace-ms",
        type=float,
        default=20.0,
        help="milliseconds between deltas (20); 0 writes each stream in one piece",
    )
    args = parser.parse_args(argv)
    raise_nofile()
    settings = Settings(
        deltas=args.deltas,
        pace=args.pace_ms / 1000.0,
        opening=_opening(),
        closing=_closing(args.deltas),
    )
    uvloop.run(serve(args.host, args.port, settings))
    sys.exit(0)


if __name__ == "__main__":
    main()
