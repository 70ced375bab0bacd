"""What the client gets instead of a tool call a policy blocked: a text block in its place that
says which tool, with what input, and why — valid in the stream and in the next turn's history
(no ``tool_use`` is left for a ``tool_result`` to answer)."""

from __future__ import annotations

from sseguard.policy.base import ToolCall
from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    Event,
    dumps,
)

SHOWN_INPUT = 300  # characters of the call's input quoted in the text


def blocked_call(call: ToolCall, policy: str, reason: str) -> list[Event]:
    """The block's three events, at the call's index."""
    shown = dumps(call.input) if call.input is not None else "(input that is not valid JSON)"
    if len(shown) > SHOWN_INPUT:
        shown = shown[:SHOWN_INPUT] + "…"
    reason = reason.strip().rstrip(".") or "no reason given"
    text = (
        f"[sseguard: the {policy} policy blocked a call to the tool {call.name!r} "
        f"with input {shown}: {reason}.]"
    )
    index = call.index
    return [
        Event.of(
            {
                "type": CONTENT_BLOCK_START,
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        Event.of(
            {
                "type": CONTENT_BLOCK_DELTA,
                "index": index,
                "delta": {"type": "text_delta", "text": text},
            }
        ),
        Event.of({"type": CONTENT_BLOCK_STOP, "index": index}),
    ]
