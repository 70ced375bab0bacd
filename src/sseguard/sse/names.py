"""The event names the codec meets on nearly every event: the Anthropic Messages stream's.

Knowing them lets the decoder skip decoding a name it has seen and the encoder reuse a ready
frame head; any other name still works, the slower way. A fixed set, so upstream input can
never grow a cache.
"""

from __future__ import annotations

COMMON_EVENT_NAMES = (
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
)
