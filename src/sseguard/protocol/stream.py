"""Bytes of an upstream stream in, repaired Messages events out: the decoder and the repairer glued.

The one place that turns the SSE layer's size error (F09) into a repair failure, so callers of the
pipeline (gateway, probe, replay, benchmarks) handle one outcome type. Pure, synchronous.
"""

from __future__ import annotations

import orjson

from sseguard.protocol.events import Event
from sseguard.protocol.repair import Repairer
from sseguard.sse.decoder import DEFAULT_MAX_EVENT_SIZE, SSEDecoder
from sseguard.sse.errors import SSEEventTooLarge


class StreamRepair:
    """``feed(bytes) -> events`` and ``close() -> events``; ``repairer`` holds the verdict."""

    __slots__ = ("decoder", "repairer")

    def __init__(
        self, repairer: Repairer | None = None, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE
    ) -> None:
        self.repairer = repairer or Repairer()
        self.decoder = SSEDecoder(max_event_size=max_event_size, keep_partial=True)

    def feed(self, data: bytes) -> list[Event]:
        repairer = self.repairer
        if repairer.failed:
            return []
        try:
            sse_events = self.decoder.feed(data)
        except SSEEventTooLarge as exc:
            out = repairer.feed_many(exc.events)
            repairer.fail("F09", "api_error", str(exc))
            return out
        if len(sse_events) == 1:
            return repairer.feed(sse_events[0])
        return repairer.feed_many(sse_events)

    def close(self) -> list[Event]:
        """End of the upstream body: the last, unterminated event is evidence too (F16)."""
        repairer = self.repairer
        if repairer.failed:
            return []
        try:
            tail = self.decoder.close()
        except SSEEventTooLarge as exc:
            repairer.fail("F09", "api_error", str(exc))
            return []
        out: list[Event] = []
        for event in tail:
            if _parses(event.data) or event.data.strip() == "[DONE]":
                out += repairer.feed(event)
            else:
                # Cut mid-event by the end of the body: evidence of truncation (F16), not glue.
                repairer.anomalies.record("F16", f"last event cut short: {event.data[:60]!r}")
        return out + repairer.close()


def _parses(data: str) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True
