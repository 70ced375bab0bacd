"""The live view's feed: each finished request's summary, pushed to the dashboard pages that are
open, as Server-Sent Events.

``Live.publish`` is a gateway observer: it runs on the event loop for every finished request, so
it never waits. With no page open it returns at once. Otherwise it encodes the summary once and
appends it to each subscriber's bounded queue; a subscriber whose queue is full has fallen behind
(a stalled tab, a slow network) and is dropped, told so on its stream, and its page reconnects.
Per worker process: with ``server.workers`` above 1 a page sees the requests of the worker that
answered its stream (the overview reads the shared request log and sees all).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import orjson

from sseguard.gateway.asgi import SSE_HEADERS, Receive, Scope, Send
from sseguard.observe.record import RequestRecord

QUEUE_EVENTS = 256  # summaries a page may have waiting before it counts as fallen behind
MAX_SUBSCRIBERS = 32  # open live views per worker; more are refused with 503
HEARTBEAT = 1.0  # seconds between looks at the server closing and at the keep-alive comment
KEEP_ALIVE = 15.0  # seconds of no summary before a comment, so idle proxies keep the stream
LIFETIME = 600.0  # seconds a stream lasts before the page is asked to reconnect (a fresh check)
RETRY_MS = 2000


def summary(rec: RequestRecord) -> dict[str, Any]:
    """What a live row shows: the record's health without its attempts' details."""
    return {
        "request_id": rec.request_id,
        "started_at": rec.started_at,
        "endpoint": rec.endpoint,
        "client_model": rec.client_model,
        "deployment": rec.deployments[-1] if rec.deployments else None,
        "deployments": rec.deployments,
        "status": rec.status,
        "outcome": rec.outcome,
        "midstream": rec.midstream,
        "resumes": rec.resumes,
        "ttft": rec.ttft,
        "duration": rec.duration,
        "max_gap": rec.max_gap,
        "anomalies": rec.anomalies,
        "parent_id": rec.parent_id,
        "stream": rec.stream,
    }


class Subscriber:
    __slots__ = ("dropped", "pending", "ready")

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.dropped = False


class Live:
    """The publisher and its subscribers (one per open live view)."""

    def __init__(self, queue_events: int = QUEUE_EVENTS) -> None:
        self.queue_events = queue_events
        self.subscribers: set[Subscriber] = set()
        self.published = 0
        self.dropped = 0  # subscribers dropped for falling behind

    def publish(self, rec: RequestRecord) -> None:
        """A gateway observer: on the event loop, for every finished request."""
        if not self.subscribers or not rec.route:  # no page open, or no model call (/metrics)
            return
        self.published += 1
        frame = b"event: request\ndata: " + orjson.dumps(summary(rec)) + b"\n\n"
        for sub in tuple(self.subscribers):
            if len(sub.pending) >= self.queue_events:
                sub.dropped = True
                self.subscribers.discard(sub)
                self.dropped += 1
            else:
                sub.pending.append(frame)
            sub.ready.set()

    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /dashboard/api/live``: the summaries as they come, until the page leaves, falls
        behind, the server shuts down, or LIFETIME has passed."""
        if len(self.subscribers) >= MAX_SUBSCRIBERS:
            body = b'{"error":{"message":"too many live views are open"}}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"10")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        sub = Subscriber()
        self.subscribers.add(sub)
        gone = asyncio.ensure_future(_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await _body(send, b"retry: %d\nevent: hello\ndata: {}\n\n" % RETRY_MS)
            await self._relay(sub, send, gone)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.subscribers.discard(sub)
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone

    async def _relay(self, sub: Subscriber, send: Send, gone: asyncio.Future[None]) -> None:
        keeps_alive = _keep_alive(send)
        started = last = time.monotonic()
        while not gone.done():
            waiter = asyncio.ensure_future(sub.ready.wait())
            await asyncio.wait((waiter, gone), timeout=HEARTBEAT, return_when="FIRST_COMPLETED")
            waiter.cancel()
            sub.ready.clear()
            now = time.monotonic()
            if sub.pending:
                frames = b"".join(sub.pending)
                sub.pending.clear()
                await _body(send, frames)
                last = now
            if sub.dropped:
                await _body(send, b'event: behind\ndata: {"reconnect":true}\n\n')
                return
            if now - last >= KEEP_ALIVE:
                await _body(send, b": keep-alive\n\n")
                last = now
            # uvicorn turns a response's keep-alive off when the server begins to shut down; an
            # endless stream would otherwise hold the shutdown for its whole grace period.
            if (keeps_alive and not _keep_alive(send)) or now - started >= LIFETIME:
                return


def _keep_alive(send: Send) -> bool:
    """uvicorn's flag for the connection outliving this response (its cycle's ``keep_alive``);
    True under a server that has no such flag."""
    return getattr(getattr(send, "__self__", None), "keep_alive", True) is not False


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
