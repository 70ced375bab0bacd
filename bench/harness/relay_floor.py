"""The floor of a repairing relay in Python: sseguard's own decode -> repair -> encode, with the I/O
written as asyncio protocol callbacks instead of aiohttp's stream reader and an ASGI server.

Benchmark only, and deliberately incomplete: no retries, timeouts, pings, record, disconnect
handling or flow control. It answers one question: how much of sseguard's CPU per relayed event
is the repair work itself, and how much is the I/O glue around it. What it shares with sseguard is
``StreamRepair`` and the gateway's Anthropic framing (an unchanged event's own bytes, or
``encode``); what it drops is aiohttp's ``StreamReader`` (a future per read),
``asyncio.timeout`` per read, the coroutine chain from ``Exchange._pump`` to the socket, and
uvicorn's per-message ASGI machinery.

Run: ``python -m harness.relay_floor --upstream http://127.0.0.1:9000 --port 8095`` (from bench/).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import uvloop

from harness.upstream import raise_nofile, serve_until_signalled
from sseguard.gateway.edges import AnthropicFraming
from sseguard.protocol.stream import StreamRepair

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache, no-transform\r\ntransfer-encoding: chunked\r\n\r\n"
)
PASSED = (b"content-type", b"x-api-key", b"authorization", b"anthropic-version", b"anthropic-beta")
FRAMING = AnthropicFraming()


class Upstream(asyncio.Protocol):
    """One pooled upstream connection; streams one response at a time into its client."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.client: Client | None = None
        self.parser: Any = None
        self.pipe = StreamRepair()
        self.started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.client is not None:
            self.client.close()

    def start(self, client: Client, request: bytes) -> None:
        assert self.transport is not None
        self.client = client
        self.parser = httptools.HttpResponseParser(self)
        self.pipe = StreamRepair()
        self.started = False
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        events = self.pipe.feed(body)
        if events:
            self._write(FRAMING.encode(events))

    def on_message_complete(self) -> None:
        events = self.pipe.close()
        data = FRAMING.encode(events)
        client = self.client
        self.client = None
        if client is not None:
            client.finish(self._frame(data) + b"0\r\n\r\n" if data else b"0\r\n\r\n", self.started)
        if self.parser.should_keep_alive():
            self.relay.idle.append(self)
        elif self.transport is not None:
            self.transport.close()

    def _frame(self, data: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(data), data)

    def _write(self, data: bytes) -> None:
        client = self.client
        if client is None or client.transport is None:
            return
        if not self.started:
            self.started = True
            client.transport.write(HEAD + self._frame(data))
        else:
            client.transport.write(self._frame(data))


class Client(asyncio.Protocol):
    """One client connection (keep-alive): each request is relayed through a pooled upstream."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.close()

    def on_message_begin(self) -> None:
        self.url, self.headers, self.body = b"", [], []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in PASSED:
            self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        head = b"".join(b"%b: %b\r\n" % h for h in self.headers)
        request = b"POST %b HTTP/1.1\r\nhost: %b\r\n%bcontent-length: %d\r\n\r\n%b" % (
            self.url,
            self.relay.host_header,
            head,
            len(body),
            body,
        )
        asyncio.get_running_loop().create_task(self.relay.forward(self, request))

    def finish(self, tail: bytes, started: bool) -> None:
        if self.transport is not None:
            self.transport.write(tail if started else HEAD + tail)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Relay:
    def __init__(self, upstream: str) -> None:
        url = urlsplit(upstream)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.idle: list[Upstream] = []

    async def forward(self, client: Client, request: bytes) -> None:
        while self.idle:
            conn = self.idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                conn.start(client, request)
                return
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: Upstream(self), self.host, self.port)
        conn.start(client, request)


async def serve(upstream: str, host: str, port: int) -> None:
    relay = Relay(upstream)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(relay), host, port, backlog=4096)
    print(f"relay floor listening on http://{host}:{port}", file=sys.stderr, flush=True)
    await serve_until_signalled(server)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    args = parser.parse_args(argv)
    raise_nofile()
    uvloop.run(serve(args.upstream, args.host, args.port))


if __name__ == "__main__":
    main()
