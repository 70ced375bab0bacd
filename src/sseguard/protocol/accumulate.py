"""Events to the final Message, added up as the official SDKs do (F25: answering ``stream: false``).

It must not judge or repair the stream: it trusts the repair layer's order and ignores what it
cannot place, never raising on input.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    DELTA_BLOCKS,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    TOOL_BLOCKS,
    Event,
)

# Delta type -> the key in the delta whose string is appended to the block's parts.
_APPENDED = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}
# Block type -> the key its parts are joined into; tool blocks are parsed instead (_finish).
_JOINED = {"text": "text", "thinking": "thinking"}


class _Block:
    """A started block and the fragments appended to it, kept apart so a delta costs one append."""

    __slots__ = ("body", "kind", "parts")

    def __init__(self, start: dict[str, Any]) -> None:
        self.body = dict(start)
        kind = self.body.get("type")
        self.kind: str = kind if isinstance(kind, str) else ""
        citations = self.body.get("citations")
        if isinstance(citations, list):
            # The start's list belongs to the event, which may still be forwarded as is.
            self.body["citations"] = list(citations)
        key = _JOINED.get(self.kind)
        seed = self.body.get(key) if key else None
        self.parts: list[str] = [seed] if isinstance(seed, str) and seed else []


class Accumulator:
    """Feed valid Messages events in order; ``message()`` is the Message they add up to.

    Values taken whole from events (each citation, a tool result's content) are shared with the
    fed payloads, which may still be forwarded: copy the Message before editing deep inside it.
    """

    __slots__ = ("_blocks", "_message", "_usage", "complete", "input_errors")

    def __init__(self) -> None:
        self._message: dict[str, Any] | None = None
        self._usage: dict[str, Any] = {}
        self._blocks: list[_Block] = []
        self.complete = False
        # Indices of tool blocks whose input JSON did not parse at the last message() call.
        self.input_errors: list[int] = []

    @property
    def started(self) -> bool:
        return self._message is not None

    def feed(self, event: Event) -> None:
        if self.complete:
            return
        kind = event.type
        p = event.payload
        if self._message is None:
            if kind == MESSAGE_START and isinstance(p.get("message"), dict):
                self._start(p["message"])
            return
        if kind == CONTENT_BLOCK_DELTA:
            self._delta(p)
        elif kind == CONTENT_BLOCK_START:
            block = p.get("content_block")
            if isinstance(block, dict):
                self._blocks.append(_Block(block))
        elif kind == MESSAGE_DELTA:
            delta = p.get("delta")
            if isinstance(delta, dict):
                self._message.update(delta)
            usage = p.get("usage")
            if isinstance(usage, dict):
                # Usage on message_delta is cumulative: a value replaces, a null or absent field
                # leaves the earlier count (the SDKs keep message_start's input_tokens that way).
                self._usage.update((k, v) for k, v in usage.items() if v is not None)
        elif kind == MESSAGE_STOP:
            self.complete = True

    def _start(self, message: dict[str, Any]) -> None:
        self._message = dict(message)
        usage = message.get("usage")
        self._usage = dict(usage) if isinstance(usage, dict) else {}
        # The SDKs keep any content message_start carries and index deltas past it; so do we.
        content = message.get("content")
        if isinstance(content, list):
            self._blocks = [_Block(b) for b in content if isinstance(b, dict)]

    def _delta(self, p: dict[str, Any]) -> None:
        index = p.get("index")
        delta = p.get("delta")
        if not isinstance(index, int) or not 0 <= index < len(self._blocks):
            return
        if not isinstance(delta, dict) or not isinstance(dtype := delta.get("type"), str):
            return
        block = self._blocks[index]
        fits = DELTA_BLOCKS.get(dtype)
        if fits is None or block.kind not in fits:
            return  # like the SDKs, a delta that does not fit its block adds nothing
        key = _APPENDED.get(dtype)
        if key is not None:
            value = delta.get(key)
            if isinstance(value, str):
                block.parts.append(value)
        elif dtype == "signature_delta":
            block.body["signature"] = delta.get("signature")
        else:  # citations_delta
            citations = block.body.get("citations")
            if isinstance(citations, list):
                citations.append(delta.get("citation"))
            else:
                block.body["citations"] = [delta.get("citation")]

    def message(self) -> dict[str, Any]:
        """The Message so far (complete once ``complete``); raises if no message_start was fed."""
        if self._message is None:
            raise RuntimeError("no message_start has been fed")
        self.input_errors = []
        content = [self._finish(i, b) for i, b in enumerate(self._blocks)]
        return {**self._message, "content": content, "usage": dict(self._usage)}

    def _finish(self, index: int, block: _Block) -> dict[str, Any]:
        out = dict(block.body)
        kind = block.kind
        if kind in TOOL_BLOCKS:
            raw = "".join(block.parts)
            # An empty buffer leaves the start's input ({}), as the SDKs do.
            if raw:
                try:
                    out["input"] = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    self.input_errors.append(index)
        elif kind in _JOINED:
            out[_JOINED[kind]] = "".join(block.parts)
        citations = out.get("citations")
        if isinstance(citations, list):
            out["citations"] = list(citations)
        return out
