"""Who relays a committed stream's body, chunk by chunk: the request's task or the upstream
connection's callback, and the read deadlines both keep.

A committed stream is relayed inside the upstream connection's ``data_received`` once events flow
and the client's socket takes writes without waiting (docs/design.md, "The gateway"): no task
wake-up and no awaited ``send`` per event. ``Relay`` is the one place that knows which side has
the body (``Diversion``), how the callback gives it back, and the two deadlines every read moves:
idle (no bytes of an event) and progress (no content: pings and keep-alive comments do not count,
F21 and F38).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from sseguard.observe.record import RequestRecord
from sseguard.protocol.events import PING, Event
from sseguard.protocol.repair import Phase, Repairer
from sseguard.protocol.stream import StreamRepair
from sseguard.resilience.watchdog import Watchdog
from sseguard.upstream.connection import Connection

_MESSAGE = Phase.MESSAGE
_monotonic = time.monotonic


class Diversion(enum.Enum):
    """OFF → ON (``divert``, while the client takes writes at once) → OFF (the callback declined a
    chunk: the client is slow or gone) or DONE (the stream ended or failed) or RAISED (an
    exception, raised again in the task). DONE and RAISED hand the body back to the task."""

    OFF = "the request's task reads each chunk and writes its events"
    ON = "the upstream connection's callback relays each chunk as it arrives"
    DONE = "the callback saw the stream end or fail and handed the body back"
    RAISED = "the callback met an exception, to be raised in the request's task"


class Relay:
    """One committed-or-not stream's relay state. The task's loop calls ``moved`` after each read
    and ``divert`` when it may let go; the connection calls ``consume`` while diverted."""

    __slots__ = (
        "_can_write_now",
        "_conn",
        "_deadline",
        "_idle",
        "_pipe",
        "_progress",
        "_record",
        "_watchdog",
        "_write_now",
        "content_deadline",
        "error",
        "idle_deadline",
        "state",
    )

    def __init__(
        self,
        pipe: StreamRepair,
        conn: Connection,
        watchdog: Watchdog,
        record: RequestRecord,
        *,
        can_write_now: Callable[[], bool],
        write_now: Callable[[list[Event]], None],
        idle: float,
        progress: float,
        deadline: float,
    ) -> None:
        self._pipe = pipe
        self._conn = conn
        self._watchdog = watchdog
        self._record = record
        self._can_write_now = can_write_now
        self._write_now = write_now
        self._idle = idle
        self._progress = progress
        self._deadline = deadline  # the request's total time limit
        now = _monotonic()
        self.idle_deadline = now + idle  # no event, whole or in part, since (F21)
        self.content_deadline = now + progress  # no content since: not pings, not comments (F38)
        self.state = Diversion.OFF
        self.error: Exception | None = None

    def moved(self, events: list[Event]) -> None:
        """After a read was fed: the deadlines its bytes earned (``events``: what it gave the
        client). Runs once per read: kept flat."""
        pipe = self._pipe
        if pipe.quiet:  # keep-alive comments only
            return
        now = _monotonic()
        self.idle_deadline = now + self._idle
        r = pipe.repairer
        if r.pinged and not _content(r, events):
            return
        self.content_deadline = now + self._progress

    def until(self, now: float, started: bool, first_deadline: float) -> float:
        """When the next read times out: the first-event limit until the stream started, then
        the earlier of idle and progress; never past the total limit."""
        if started:
            until = self.idle_deadline
            if self.content_deadline < until:
                until = self.content_deadline
        else:
            until = first_deadline
        return until if until < self._deadline else self._deadline

    def divert(self, can_write_now: Callable[[], bool]) -> None:
        """Let the connection's callback take the body while the client takes writes at once."""
        self._can_write_now = can_write_now
        if can_write_now():
            self.state = Diversion.ON
            self._conn.divert(self.consume)

    def consume(self, chunk: bytes) -> bool:
        """The diverted callback: repair and write one chunk where it arrives. False declines it
        (queued for the task, whose awaited write waits for the client)."""
        if not self._can_write_now():
            self.state = Diversion.OFF
            return False
        self._record.bytes_in += len(chunk)
        pipe = self._pipe
        r = pipe.repairer
        try:
            events = pipe.feed(chunk)
            if events:
                self._write_now(events)
        except Exception as exc:  # raised again in the request's task, not in the event loop
            self.error = exc
            self.state = Diversion.RAISED
            self._conn.hand_back()
            return True
        if not pipe.quiet:
            # ``moved`` inlined (hot path: once per event). The loop armed the watchdog for this
            # read in the same terms, so this only moves its deadline later, needing no call.
            now = _monotonic()
            until = self.idle_deadline = now + self._idle
            if not r.pinged or _content(r, events):
                self.content_deadline = now + self._progress
            content = self.content_deadline
            if content < until:
                until = content
            deadline = self._deadline
            self._watchdog.deadline = until if until < deadline else deadline
        if r.phase is not _MESSAGE and (r.ended or r.failed):
            self.state = Diversion.DONE
            self._conn.hand_back()
        return True


def _content(r: Repairer, events: list[Event]) -> bool:
    """A read in which the repairer met a ping (rare, so only it pays): progress only if it also
    gave the client something else, or grew a block held whole (thinking until its signature).
    Clears the marks for the next read."""
    grew, r.pinged, r.held_grew = r.held_grew, False, False
    return grew or any(e.type != PING for e in events)
