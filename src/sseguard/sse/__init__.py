"""The SSE codec: WHATWG event-stream parsing and canonical framing. Pure, synchronous, no I/O."""

from sseguard.sse.decoder import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, SSEEvent
from sseguard.sse.encoder import (
    encode,
    encode_comment,
    escape_line_separators,
    escape_line_separators_in,
    has_line_separators,
)
from sseguard.sse.errors import SSEEventTooLarge

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "SSEEvent",
    "SSEEventTooLarge",
    "encode",
    "encode_comment",
    "escape_line_separators",
    "escape_line_separators_in",
    "has_line_separators",
]
