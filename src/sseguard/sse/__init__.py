"""The SSE codec: WHATWG event-stream parsing and canonical framing. Pure, synchronous, no I/O."""

from sseguard.sse.decoder import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, SSEEvent
from sseguard.sse.encoder import encode, encode_comment
from sseguard.sse.errors import SSEEventTooLarge

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "SSEEvent",
    "SSEEventTooLarge",
    "encode",
    "encode_comment",
]
