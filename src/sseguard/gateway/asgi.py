"""The ASGI contract as sseguard speaks it: type aliases, reading a bounded body, plain responses,
and the streaming response that commits on its first write.

Raw ASGI rather than a framework's streaming response: Starlette's measured at +20 %
CPU, and a streaming response must watch ``receive()`` for the client leaving (F36).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sseguard.errors import STATUS_FOR_ERROR_TYPE, GatewayError
from sseguard.gateway.direct import DirectSend
from sseguard.gateway.edges import Edge, Framing
from sseguard.observe.capture import Capture
from sseguard.observe.metrics import GAP_BUCKETS, GapTally
from sseguard.observe.record import RequestRecord
from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    # F24: no intermediary may buffer or compress an event stream.
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


def header_dict(scope: Scope) -> dict[str, str]:
    """Request headers by lower-cased name; repeated lines combine with ", " (RFC 9110 5.3), so
    two ``anthropic-beta`` lines keep all their values (F28)."""
    out: dict[str, str] = {}
    for k, v in scope["headers"]:
        name = k.decode("latin-1").lower()
        value = v.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refused with 413 past ``limit`` bytes before it is all buffered."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise GatewayError(413, f"request body exceeds the gateway's limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class AddHeaders:
    """An ASGI ``send`` that adds headers to the response's head (CORS for a listed web page).

    A stream behind it loses the direct path (``DirectSend.of`` finds no uvicorn cycle) and awaits
    every write: the price is paid by browser pages on other origins only."""

    __slots__ = ("_extra", "_send")

    def __init__(self, send: Send, extra: list[tuple[bytes, bytes]]) -> None:
        self._send = send
        self._extra = extra

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *self._extra]}
        await self._send(message)


class ClientGone(Exception):
    """The client disconnected; nothing more is to be sent."""


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> None:
    raw = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": raw + encode_headers(headers or {}),
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: GatewayError, request_id: str, edge: Edge) -> None:
    """An error before commit, with its real status, in the format of the endpoint called."""
    headers = {**error.headers, "x-sseguard-request-id": request_id}
    content_type, body = edge.error(error, request_id)
    await send_json(send, error.status, body, headers, content_type)


class StreamSink:
    """The client's event stream: the status line goes out with the first write (commit)."""

    streaming = True

    def __init__(
        self,
        send: Send,
        headers: Callable[[], dict[str, str]],
        record: RequestRecord,
        gaps: GapTally,
        framing: Framing,
    ) -> None:
        self._send = send
        self._encode = framing.encode
        self._ping = framing.ping
        self._headers = headers  # read at commit: the upstream's headers are known by then
        self._record = record
        self.capture: Capture | None = None  # set for routes that keep raw captures
        self.gaps = gaps  # the inter-event metric, counted once per write, not per event
        self._last_events = 0.0  # when events were last written; 0.0 before the first
        self.committed = False
        self.last_write = time.monotonic()
        self._direct: DirectSend | None = None  # after commit, when the server allows it
        # False until committed; then DirectSend.ready itself: one call per relayed event, not two.
        self.can_write_now: Callable[[], bool] = _cannot

    async def _commit(self) -> None:
        self.committed = True
        self._record.status = 200
        await self._send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": SSE_HEADERS + encode_headers(self._headers()),
            }
        )
        self._direct = direct = DirectSend.of(self._send)
        if direct is not None:
            self.can_write_now = direct.ready

    def _framed(self, events: list[Event]) -> bytes:
        """The events' bytes, counted in the record and the gap tally as they go out."""
        data = self._encode(events)
        now = time.monotonic()
        self.last_write = now
        rec = self._record
        rec.events_out += len(events)
        rec.bytes_out += len(data)
        last = self._last_events
        if last:
            gap = now - last
            gaps = self.gaps
            gaps.counts[bisect_left(GAP_BUCKETS, gap)] += 1  # GapTally.add, inlined
            gaps.total += gap
            if gaps.values is not None:
                gaps.values.append(gap)
            if rec.max_gap is None or gap > rec.max_gap:
                rec.max_gap = gap
        else:
            rec.mark_first_event()
        self._last_events = now
        if self.capture is not None:
            self.capture.add_to(self.capture.client_bytes, data)
        return data

    async def write(self, events: list[Event]) -> None:
        if not self.committed:
            await self._commit()
        await self._send(
            {"type": "http.response.body", "body": self._framed(events), "more_body": True}
        )

    def write_now(self, events: list[Event]) -> None:
        assert self._direct is not None
        self._direct.body(self._framed(events))

    async def ping(self) -> None:
        if not self.committed:
            await self._commit()
        self.last_write = time.monotonic()
        frame = self._ping
        self._record.bytes_out += len(frame)
        if self.capture is not None:
            self.capture.add_to(self.capture.client_bytes, frame)
        await self._send({"type": "http.response.body", "body": frame, "more_body": True})

    async def end(self) -> None:
        if self.committed:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})


def _cannot() -> bool:
    return False


class CollectSink:
    """A ``stream: false`` client: events are gathered and answered as one JSON Message."""

    streaming = False

    def __init__(self, record: RequestRecord) -> None:
        self._record = record
        self.committed = False
        self.last_write = time.monotonic()
        self.events: list[Event] = []

    async def write(self, events: list[Event]) -> None:
        self.write_now(events)

    def can_write_now(self) -> bool:
        return True

    def write_now(self, events: list[Event]) -> None:
        self._record.mark_first_event()
        self._record.events_out += len(events)
        self.events += events

    async def ping(self) -> None:  # nothing can keep a plain HTTP response alive; nothing to do
        return None

    def message(self, headers: dict[str, str]) -> dict[str, Any]:
        """The Message the events add up to; an ``error`` event among them is the answer instead,
        as a ``GatewayError`` with its type's status and ``headers``."""
        acc = Accumulator()
        for ev in self.events:
            if ev.type == "error":
                error = ev.payload.get("error") or {}
                etype = error.get("type", "api_error")
                raise GatewayError(
                    STATUS_FOR_ERROR_TYPE.get(etype, 502),
                    error.get("message", "upstream error"),
                    etype,
                    headers,
                )
            acc.feed(ev)
        return acc.message()
