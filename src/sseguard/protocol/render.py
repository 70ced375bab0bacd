"""A whole Message as the valid stream a client expects (F25: answering ``stream: true`` with JSON).

It must not fix the Message: odd or missing fields go out as they came, for repair to judge.
"""

from __future__ import annotations

from typing import Any

from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    TOOL_BLOCKS,
    Event,
    dumps,
)


def render(message: dict[str, Any]) -> list[Event]:
    """``message_start``, each block as start / deltas / stop, ``message_delta``, ``message_stop``.

    Each block's content goes out in one delta, so ``Accumulator`` adds the stream back up to
    ``message``. Nested values are shared with ``message``; top-level dicts are fresh per event,
    because later stages may rewrite one event's payload (usage, F15) and must not touch another's.
    """
    usage = message.get("usage")
    usage = dict(usage) if isinstance(usage, dict) else {}  # a missing usage is repair's (F15)
    opening = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
    ending = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
    }
    if "stop_details" in message:
        # Refusal details arrive with the stop reason, on message_delta, as the API streams them.
        opening["stop_details"] = None
        ending["stop_details"] = message["stop_details"]
    events = [Event.of({"type": MESSAGE_START, "message": opening})]
    content = message.get("content")
    for index, block in enumerate(content if isinstance(content, list) else []):
        start, deltas = _split(block)
        events.append(
            Event.of({"type": CONTENT_BLOCK_START, "index": index, "content_block": start})
        )
        events.extend(
            Event.of({"type": CONTENT_BLOCK_DELTA, "index": index, "delta": d}) for d in deltas
        )
        events.append(Event.of({"type": CONTENT_BLOCK_STOP, "index": index}))
    events.append(Event.of({"type": MESSAGE_DELTA, "delta": ending, "usage": dict(usage)}))
    events.append(Event.of({"type": MESSAGE_STOP}))
    return events


def _split(block: Any) -> tuple[Any, list[dict[str, Any]]]:
    """A block's empty start, as the API sends it, and the deltas that fill it."""
    if not isinstance(block, dict):
        return block, []
    kind = block.get("type")
    if kind == "text":
        start = {**block, "text": ""}
        citations = block.get("citations")
        deltas = []
        if isinstance(citations, list) and citations:
            # The API's text start has no citations; a null or empty list stays, for the round trip.
            del start["citations"]
            deltas = [{"type": "citations_delta", "citation": c} for c in citations]
        if text := block.get("text"):
            deltas.append({"type": "text_delta", "text": text})
        return start, deltas
    if kind in TOOL_BLOCKS:
        tool_input = block.get("input", {})
        deltas = (
            []
            if tool_input == {}
            else [{"type": "input_json_delta", "partial_json": dumps(tool_input)}]
        )
        return {**block, "input": {}}, deltas
    if kind == "thinking":
        deltas = []
        if thinking := block.get("thinking"):
            deltas.append({"type": "thinking_delta", "thinking": thinking})
        # The signature goes out as the same string, never re-encoded (F27).
        if signature := block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": signature})
        return {**block, "thinking": "", "signature": ""}, deltas
    return dict(block), []
