"""Finished request records leave the event loop in batches, not one by one.

The JSON log line and the request log row are built on their own threads, and waking a thread per
record cost the loop more than the records themselves (a futex wake and a GIL hand-off each;
docs/benchmarks.md). The loop now appends each record to a list, and a timer hands the list to the
batch observers at most every ``interval`` seconds: one wake per thread per interval, whatever the
request rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sseguard.observe.record import RequestRecord

BatchObserver = Callable[[list[RequestRecord]], None]
INTERVAL = 0.05


class Handoff:
    """A per-record observer for the gateway; ``flush()`` at shutdown hands over what is left."""

    __slots__ = ("_interval", "_observers", "_pending")

    def __init__(self, observers: Sequence[BatchObserver], interval: float = INTERVAL) -> None:
        self._observers = tuple(observers)
        self._interval = interval
        self._pending: list[RequestRecord] = []

    def __call__(self, rec: RequestRecord) -> None:
        """On the event loop, for every finished request."""
        pending = self._pending
        pending.append(rec)
        if len(pending) == 1:
            asyncio.get_running_loop().call_later(self._interval, self.flush)

    def flush(self) -> None:
        batch = self._pending
        if not batch:
            return
        self._pending = []
        for observe in self._observers:
            observe(batch)
