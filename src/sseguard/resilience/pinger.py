"""Pings through silences (F22) with one timer per stream instead of a task.

A sleeping task per open stream costs a coroutine frame and a task object for the stream's whole
life; a timer handle is a fraction of that and wakes only when a ping may be due. The ping itself,
an async write, gets a short-lived task when one is actually sent.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class PingSink(Protocol):
    last_write: float  # time.monotonic() of the last write, events or ping
    committed: bool  # the status line went out

    async def ping(self) -> None: ...


class Pinger:
    """Sends ``sink.ping()`` after ``interval`` seconds without a write, until ``close()``.

    Before the sink committed, the first ping waits ``first`` seconds instead: that ping commits
    a 200, after which no failure can be answered with its real status, so it is sent only when
    the client (or a proxy before it) would otherwise give up on a silent request."""

    __slots__ = ("_first", "_handle", "_interval", "_loop", "_sending", "_sink")

    def __init__(self, sink: PingSink, interval: float, first: float | None = None) -> None:
        self._sink = sink
        self._interval = interval
        self._first = interval if first is None else first
        self._loop = asyncio.get_running_loop()
        self._sending: asyncio.Task[None] | None = None
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(
            min(interval, self._first), self._fire
        )

    def _fire(self) -> None:
        sink = self._sink
        wait = self._interval if sink.committed else self._first
        delay = sink.last_write + wait - time.monotonic()
        if delay > 0:
            self._handle = self._loop.call_later(delay, self._fire)
            return
        self._handle = None
        self._sending = self._loop.create_task(self._ping())

    async def _ping(self) -> None:
        try:
            await self._sink.ping()
        except Exception:  # the client is gone or the response is over: nothing more to keep alive
            return
        self._handle = self._loop.call_later(self._interval, self._fire)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._sending is not None:
            self._sending.cancel()
