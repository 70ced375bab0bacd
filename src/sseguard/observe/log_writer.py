"""The request log's writer: what the SQLite and PostgreSQL stores share between the event loop and
their database.

The loop only enqueues (``observe``) and never blocks or raises into a request; a thread of the
store's own takes the queue in batches, writes them, and runs retention between batches, a bounded
amount at a time, never per insert. ``close`` (the gateway's lifespan shutdown, SIGTERM included)
writes what is queued before the process exits. A store says how to write a batch, how to run one
retention pass, and how to let go of its connection.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypedDict

from sseguard.observe.record import RequestRecord

LOGGER = logging.getLogger("sseguard.request_log")

BATCH_ROWS = 200
FLUSH_INTERVAL = 0.5  # seconds a row may wait for others before its batch is written
QUEUE_ROWS = 10_000  # beyond this the writer has fallen behind: records are dropped, not waited for
# Retention runs on the writer thread, never per insert: a pass every PRUNE_INTERVAL seconds (and
# one when the writer starts) deletes at most PRUNE_PASS_ROWS rows, PRUNE_CHUNK per transaction so
# that other writers wait for the rows it locks briefly. A pass that stops at its bound leaves a
# backlog (an old log, a new bound): the next one comes after PRUNE_BACKLOG_INTERVAL.
PRUNE_INTERVAL = 60.0
PRUNE_BACKLOG_INTERVAL = 1.0
PRUNE_CHUNK = 1000
PRUNE_PASS_ROWS = 10_000

_STOP = None  # the queue's end marker


class WriterOptions(TypedDict, total=False):
    """What a store's constructor passes on to ``QueuedLog`` (retention and batching)."""

    max_age: float | None
    max_rows: int | None
    prune_interval: float
    batch_rows: int
    flush_interval: float
    queue_rows: int


def in_chunks(delete: Callable[[int], int], *, chunk: int, budget: int) -> tuple[int, bool]:
    """A retention pass: ``delete(limit)`` (one transaction, returns the rows it deleted) until
    it deletes fewer than asked, or ``budget`` rows are gone. Returns the rows deleted and
    whether nothing more is due."""
    deleted = 0
    while deleted < budget:
        want = min(chunk, budget - deleted)
        got = delete(want)
        deleted += got
        if got < want:
            return deleted, True
    return deleted, False


class QueuedLog(ABC):
    """``observe`` is the gateway observer; a writer thread batches rows; ``close`` flushes.

    A subclass opens its database, then calls ``_start``.
    """

    def __init__(
        self,
        name: str,
        *,
        max_age: float | None = None,
        max_rows: int | None = None,
        prune_interval: float = PRUNE_INTERVAL,
        batch_rows: int = BATCH_ROWS,
        flush_interval: float = FLUSH_INTERVAL,
        queue_rows: int = QUEUE_ROWS,
    ) -> None:
        self.name = name  # for messages: a path, or a DSN without its password
        self.batch_rows = batch_rows
        self.flush_interval = flush_interval
        # Retention (observe.request_log_max_age, _max_rows); None is no bound.
        self.max_age = max_age
        self.max_rows = max_rows
        self.prune_interval = prune_interval
        self._next_prune = time.monotonic()  # the writer's first pass is when it starts
        # One counter per thread, so neither needs a lock: the loop's drops, the writer's results.
        self.rejected = 0  # queue full or store closed
        self.failed = 0  # in a batch the database refused, or could not be reached for
        self.written = 0
        self.pruned = 0
        # Batches from the loop (``observe.handoff``). A SimpleQueue: queue.Queue's Python-level
        # condition variable cost more per put than the record itself. Its bound in rows is kept
        # by two counters, each written by one thread: rows enqueued (loop), rows taken (writer).
        self._queue: queue.SimpleQueue[list[RequestRecord] | None] = queue.SimpleQueue()
        self.queue_rows = queue_rows
        self._enqueued = 0
        self._taken = 0
        self._closed = False
        # A daemon: a worker killed without its lifespan shutdown must still be able to exit.
        self._writer = threading.Thread(target=self._run, name="sseguard-request-log", daemon=True)

    def _start(self) -> None:
        self._writer.start()

    @property
    def dropped(self) -> int:
        """Records that will never be written."""
        return self.rejected + self.failed

    def health(self) -> str | None:
        """None while records reach the database; otherwise why not (readiness shows it)."""
        return None

    @property
    def waiting(self) -> int:
        """Rows enqueued and not yet taken by the writer (approximate off the loop's thread)."""
        return self._enqueued - self._taken

    def observe(self, batch: list[RequestRecord]) -> None:
        """Called on the event loop with finished requests (``observe.handoff``): enqueue, never
        wait. Past ``queue_rows`` waiting rows the writer has fallen behind: the rest is dropped."""
        if self._closed:
            self.rejected += len(batch)
            return
        room = self.queue_rows - (self._enqueued - self._taken)
        if room < len(batch):
            dropped = len(batch) - max(room, 0)
            if self.rejected == 0:
                LOGGER.warning(
                    "request log %s is falling behind: records are being dropped", self.name
                )
            self.rejected += dropped
            batch = batch[: max(room, 0)]
            if not batch:
                return
        self._enqueued += len(batch)
        self._queue.put(batch)  # finished records, no longer written to: rows made off the loop

    def close(self) -> None:
        """Write what is queued, stop the writer and let go of the database. Blocks: call off
        the loop."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join()
        self._disconnect()

    @abstractmethod
    def _write(self, batch: list[RequestRecord]) -> None:
        """Write one batch; count it in ``written`` or ``failed``; never raise."""

    @abstractmethod
    def _prune_pass(self) -> tuple[int, bool]:
        """One retention pass: the rows deleted and whether nothing more is due; never raise."""

    @abstractmethod
    def _disconnect(self) -> None:
        """Close the connection, once the writer has stopped."""

    def _run(self) -> None:
        retains = self.max_age is not None or self.max_rows is not None
        stop = False
        while not stop:  # until the end marker, after writing what came before it
            # Idle, the writer still wakes for retention: an unused log is trimmed too.
            wait = max(0.0, self._next_prune - time.monotonic()) if retains else None
            try:
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                first = []
            records: list[RequestRecord] = []
            stop = first is _STOP
            if first is not _STOP:
                records += first
            deadline = time.monotonic() + self.flush_interval
            while records and not stop and len(records) < self.batch_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                else:
                    records += more
            if records:
                self._write(records)
            # Taken once written: while a batch waits on the database, it counts against the
            # queue's bound, so the rows held in memory stay bounded however long that lasts.
            self._taken += len(records)
            if retains and time.monotonic() >= self._next_prune:
                deleted, done = self._prune_pass()
                self.pruned += deleted
                interval = self.prune_interval
                if not done:
                    interval = min(interval, PRUNE_BACKLOG_INTERVAL)
                self._next_prune = time.monotonic() + interval
