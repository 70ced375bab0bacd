"""Bytes of an upstream stream in, repaired Messages events out: the decoder and the repairer glued.

The one place that turns the SSE layer's size error (F09) into a repair failure, so callers of the
pipeline (gateway, probe, replay, benchmarks) handle one outcome type. Pure, synchronous.
"""

from __future__ import annotations

from typing import Protocol

import orjson

from sseguard.protocol.events import Event
from sseguard.protocol.repair import Phase, Repairer
from sseguard.sse.decoder import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, SSEEvent
from sseguard.sse.errors import SSEEventTooLarge

_FAILED = Phase.FAILED


class Translator(Protocol):
    """An upstream format's events in, Messages events out (``translate.chunks_in``): the stage an
    OpenAI-compatible upstream adds between the decoder and the repairer."""

    def feed(self, event: SSEEvent) -> list[SSEEvent]: ...

    def close(self) -> list[SSEEvent]: ...


class StreamRepair:
    """``feed(bytes) -> events`` and ``close() -> events``; ``repairer`` holds the verdict.

    ``quiet`` says the last read carried no event, whole or in part: keep-alive comments or blank
    lines only (F08), which an upstream that stalled can send forever (F21).
    """

    __slots__ = ("decoder", "quiet", "repairer", "translator")

    def __init__(
        self,
        repairer: Repairer | None = None,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        translator: Translator | None = None,
    ) -> None:
        self.repairer = repairer or Repairer()
        self.decoder = SSEDecoder(max_event_size=max_event_size, keep_partial=True)
        self.translator = translator
        self.quiet = False

    def feed(self, data: bytes) -> list[Event]:
        repairer = self.repairer
        if repairer.phase is _FAILED:  # the property costs a call per read
            return []
        try:
            sse_events = self.decoder.feed(data)
        except SSEEventTooLarge as exc:
            out = repairer.feed_many(self._translated(exc.events))
            repairer.fail("F09", "api_error", str(exc))
            return out
        if not sse_events:
            self.quiet = not self.decoder.mid_event
            return []
        self.quiet = False
        if self.translator is not None:
            sse_events = self._translated(sse_events)
        if len(sse_events) == 1:
            return repairer.feed(sse_events[0])
        return repairer.feed_many(sse_events)

    def _translated(self, events: list[SSEEvent]) -> list[SSEEvent]:
        translator = self.translator
        if translator is None:
            return events
        return [out for event in events for out in translator.feed(event)]

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
        whole: list[SSEEvent] = []
        for event in tail:
            if _parses(event.data) or event.data.strip() == "[DONE]":
                whole.append(event)
            else:
                # Cut mid-event by the end of the body: evidence of truncation (F16), not glue.
                repairer.anomalies.record("F16", f"last event cut short: {event.data[:60]!r}")
        translator = self.translator
        if translator is not None:
            whole = self._translated(whole) + translator.close()
        return repairer.feed_many(whole) + repairer.close()


def _parses(data: str) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True
