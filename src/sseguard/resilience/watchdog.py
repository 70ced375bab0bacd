"""A read deadline that costs a comparison per read instead of a timer.

``asyncio.timeout`` around every upstream read schedules and cancels a timer handle per chunk, which
profiling showed at about a tenth of the gateway's CPU on paced streams (one event per read). The
watchdog keeps one timer per stream and moves it lazily: arming stores the new deadline, and a timer
that fires before the current deadline re-arms itself for it. It only cancels the task while a read
is in progress, so time spent writing to a slow client is never blamed on the upstream.
"""

from __future__ import annotations

import asyncio
import time


class Watchdog:
    """``arm(seconds)`` before a read, ``disarm()`` after it; ``expired`` tells a cancellation of
    ours (a timeout) from anyone else's.

    ``deadline`` (``time.monotonic()`` seconds) may also be moved by assignment, without a call, by
    a reader that stays armed while data keeps coming (the relay inside the upstream connection's
    callback, once per event) — but only later, never earlier: the timer catches up with a later
    deadline when it fires, while an earlier one needs ``arm`` to move the timer."""

    __slots__ = ("_handle", "_loop", "_task", "_when", "deadline", "expired", "reading")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "a Watchdog guards the task that creates it"
        self._task = task
        self.deadline = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0  # the deadline the timer was set for
        self.expired = False
        self.reading = False

    def arm(self, seconds: float) -> None:
        """A read starts and must end within ``seconds``."""
        now = time.monotonic()
        deadline = self.deadline = now + seconds
        self.reading = True
        handle = self._handle
        if handle is None or self._when > deadline:
            if handle is not None:
                handle.cancel()
            self._schedule(deadline, now)

    def disarm(self) -> None:
        self.reading = False

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, deadline: float, now: float) -> None:
        self._when = deadline
        self._handle = self._loop.call_later(deadline - now, self._fire)

    def _fire(self) -> None:
        if not self.reading:
            self._handle = None  # the next arm schedules afresh
            return
        now = time.monotonic()
        if now < self.deadline:
            self._schedule(self.deadline, now)
            return
        self._handle = None
        self.expired = True
        self._task.cancel()

    def consume(self) -> bool:
        """After a ``CancelledError`` from the read: True when it was this watchdog's alone (the
        cancellation is then withdrawn), False when anyone else asked too and it must propagate.

        The error always surfaces at the read's ``await``: ``_fire`` cancels only while the task is
        suspended there, and a task whose awaited result is already set is cancelled on its way
        back in, before the coroutine sees the result."""
        if not self.expired:
            return False
        self.expired = False
        return self._task.uncancel() == 0
