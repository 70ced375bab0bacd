"""The Messages stream vocabulary: event names, which delta fits which block, and the Event record.

An ``Event`` keeps the JSON text it will be sent as next to the parsed payload, so an event the
repair layer did not change goes out with its original data (F27: thinking and signatures stay
byte-exact) and later stages never parse it twice.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from sseguard.sse.names import COMMON_EVENT_NAMES

MESSAGE_START = "message_start"
CONTENT_BLOCK_START = "content_block_start"
CONTENT_BLOCK_DELTA = "content_block_delta"
CONTENT_BLOCK_STOP = "content_block_stop"
MESSAGE_DELTA = "message_delta"
MESSAGE_STOP = "message_stop"
PING = "ping"
ERROR = "error"

# The codec keeps the same names for its caches; one list, so the two can never drift apart.
KNOWN_EVENTS = frozenset(COMMON_EVENT_NAMES)

# Delta type -> the block types it may extend (F13). Delta types not listed are forward-compatible
# unknowns and pass through untouched.
DELTA_BLOCKS: dict[str, frozenset[str]] = {
    "text_delta": frozenset({"text"}),
    "citations_delta": frozenset({"text"}),
    "thinking_delta": frozenset({"thinking"}),
    "signature_delta": frozenset({"thinking"}),
    "input_json_delta": frozenset({"tool_use", "server_tool_use", "mcp_tool_use"}),
}

# The block a mismatched delta is re-homed in (F13), with the empty start a client expects.
DELTA_HOME_BLOCK: dict[str, dict[str, Any]] = {
    "text_delta": {"type": "text", "text": ""},
    "citations_delta": {"type": "text", "text": ""},
    "thinking_delta": {"type": "thinking", "thinking": "", "signature": ""},
    "signature_delta": {"type": "thinking", "thinking": "", "signature": ""},
}

TOOL_BLOCKS = DELTA_BLOCKS["input_json_delta"]


class Event(NamedTuple):
    """One Messages stream event as it will be sent: name, JSON text, parsed payload, and the
    frame it arrived in when that frame is already what encoding it would give.

    ``frame`` is set only where the repair layer passes an upstream event on unchanged and the
    decoder found its block canonical (``SSEEvent.canonical``): then ``frame ==
    encode(type, data)``, and the relay sends those bytes instead of framing the event again, the
    largest single cost of relaying a delta after parsing its JSON.
    """

    type: str
    data: str
    payload: dict[str, Any]
    frame: bytes | None = None

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Event:
        """An event built (or rebuilt after a repair) from its payload."""
        return cls(payload["type"], orjson.dumps(payload).decode(), payload)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
