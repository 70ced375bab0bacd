"""Valid Anthropic Messages events -> OpenAI ``chat.completion.chunk`` SSE bytes.

It renders, one event at a time, a stream the repair layer already made valid; it must not repair,
buffer or invent an ending: an ``error`` event ends the output with OpenAI's error object and no
``[DONE]``, so a cut answer never looks complete.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    ERROR,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    Event,
)
from sseguard.sse.encoder import escape_line_separators_in
from sseguard.translate.completion_out import compact_json, error_body
from sseguard.translate.vocabulary import finish_reason, openai_usage

DONE = b"data: [DONE]\n\n"

# Delta type -> (the key holding its text, the chunk delta's opening up to the JSON string).
_TEXT_DELTAS = {
    "text_delta": ("text", b'{"content":'),
    "thinking_delta": ("thinking", b'{"reasoning_content":'),
}
# Block type -> (the key of text a start may already carry, the same opening).
_TEXT_STARTS = {
    "text": ("text", b'{"content":'),
    "thinking": ("thinking", b'{"reasoning_content":'),
}


class ChunkEncoder:
    """Feed valid Messages events in order; each call returns the chunk bytes they render to.

    Only ``tool_use`` blocks become tool calls: server tools (web search, code execution, MCP) run
    on Anthropic's side and a chat client has nothing to answer them with, so they and their result
    blocks are skipped, as are signatures, citations, redacted thinking and pings. The chunk's
    constant parts are serialized once, here; an event costs one small ``orjson.dumps``.
    """

    __slots__ = (
        "_closed",
        "_completion",
        "_head",
        "_model",
        "_pending",
        "_tail",
        "_tools",
        "_usage",
        "_usage_head",
        "include_usage",
    )

    def __init__(
        self, *, completion_id: str, model: str, created: int, include_usage: bool
    ) -> None:
        self.include_usage = include_usage
        self._completion = (completion_id, created)
        self._model = model
        self._frame(model)
        self._tail = b',"logprobs":null}]' + (b',"usage":null' if include_usage else b"") + b"}\n\n"
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index
        self._pending: dict[int, bytes] = {}  # tool block index -> input its start carried
        self._usage: dict[str, Any] = {}
        self._closed = False

    def _frame(self, model: str) -> None:
        """Every chunk's leading bytes, naming ``model``."""
        completion_id, created = self._completion
        head = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        # The object's closing brace is cut so the choices can be spliced in after the model.
        self._usage_head = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[],"usage":'
        self._head = self._usage_head[: -len(b'[],"usage":')] + b'[{"index":0,"delta":'

    def feed(self, events: list[Event]) -> bytes:
        if self._closed:
            return b""
        out: list[bytes] = []
        for event in events:
            self._event(event, out)
            if self._closed:
                break
        return b"".join(out)

    def _chunk(self, delta: bytes, finish: bytes = b"null") -> bytes:
        # F06: no raw U+2028/U+2029/U+0085, which line readers built on str.splitlines() split at.
        delta = escape_line_separators_in(delta)
        return b"".join((self._head, delta, b',"finish_reason":', finish, self._tail))

    def _event(self, event: Event, out: list[bytes]) -> None:
        kind = event.type
        p = event.payload
        if kind == CONTENT_BLOCK_DELTA:
            delta = p["delta"]
            dtype = delta.get("type")
            if dtype in _TEXT_DELTAS:
                key, opening = _TEXT_DELTAS[dtype]
                text = delta.get(key)
                if text:
                    out.append(self._chunk(opening + orjson.dumps(text) + b"}"))
            elif dtype == "input_json_delta":
                k = self._tools.get(p["index"])
                partial = delta.get("partial_json")
                if k is not None and partial:
                    # The streamed input replaces what the start carried, as Accumulator does.
                    self._pending.pop(p["index"], None)
                    out.append(self._arguments(k, orjson.dumps(partial)))
        elif kind == CONTENT_BLOCK_START:
            self._start(p["index"], p["content_block"], out)
        elif kind == CONTENT_BLOCK_STOP:
            pending = self._pending.pop(p["index"], None)
            if pending is not None:
                out.append(self._arguments(self._tools[p["index"]], pending))
        elif kind == MESSAGE_START:
            answered = p["message"].get("model")
            if isinstance(answered, str) and answered and answered != self._model:
                # The model that answered, after any fallback: not the one the client named.
                self._model = answered
                self._frame(answered)
            usage = p["message"].get("usage")
            self._usage = dict(usage) if isinstance(usage, dict) else {}
            out.append(self._chunk(b'{"role":"assistant","content":""}'))
        elif kind == MESSAGE_DELTA:
            usage = p.get("usage")
            if isinstance(usage, dict):
                # Cumulative counts: a value replaces, a null keeps message_start's (as Accumulator).
                self._usage.update((k, v) for k, v in usage.items() if v is not None)
            reason = finish_reason(p.get("delta", {}).get("stop_reason"))
            out.append(self._chunk(b"{}", orjson.dumps(reason)))
        elif kind == MESSAGE_STOP:
            if self.include_usage:
                usage = orjson.dumps(openai_usage(self._usage))
                out.append(self._usage_head + usage + b"}\n\n")
            out.append(DONE)
            self._closed = True
        elif kind == ERROR:
            error = p.get("error")
            error = error if isinstance(error, dict) else {}
            etype = error.get("type")
            message = error.get("message")
            body = error_body(
                etype if isinstance(etype, str) else "api_error",
                message if isinstance(message, str) else "the upstream stream failed",
            )
            out.append(b"data: " + escape_line_separators_in(body) + b"\n\n")
            self._closed = True

    def _start(self, index: int, block: dict[str, Any], out: list[bytes]) -> None:
        btype = block.get("type")
        if btype in _TEXT_STARTS:
            key, opening = _TEXT_STARTS[btype]
            text = block.get(key)
            if isinstance(text, str) and text:
                out.append(self._chunk(opening + orjson.dumps(text) + b"}"))
        elif btype == "tool_use":
            k = self._tools[index] = len(self._tools)
            call = {"index": k, "id": block.get("id"), "type": "function"}
            call["function"] = {"name": block.get("name"), "arguments": ""}
            out.append(self._chunk(b'{"tool_calls":[' + orjson.dumps(call) + b"]}"))
            tool_input = block.get("input")
            if isinstance(tool_input, dict) and tool_input:
                # Sent at block stop unless input_json_delta streams the input instead.
                self._pending[index] = orjson.dumps(compact_json(tool_input))

    def _arguments(self, k: int, arguments: bytes) -> bytes:
        """``arguments`` is already a JSON string literal."""
        call = b'{"tool_calls":[{"index":%d,"function":{"arguments":%b}}]}' % (k, arguments)
        return self._chunk(call)
