"""The one error the SSE layer raises on upstream bytes: an event larger than the configured bound."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sseguard.sse.decoder import SSEEvent


class SSEEventTooLarge(Exception):
    """One event grew past ``limit`` bytes (F09).

    The remote peer's fault, not ours; it carries the first bytes of the offending event for the
    report, and the events that were complete before it so nothing already received is lost.
    """

    fault = "F09"

    def __init__(
        self, limit: int, size: int, head: bytes, events: list[SSEEvent] | None = None
    ) -> None:
        self.limit = limit
        self.size = size
        self.head = head
        self.events: list[SSEEvent] = list(events or [])
        super().__init__(
            f"upstream SSE event exceeds {limit} bytes (at least {size} received); "
            f"it starts with {head!r}"
        )
