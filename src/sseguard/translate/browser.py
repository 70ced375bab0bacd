"""The browser edge: a simple event stream for web pages, rendered from valid Messages events.

A front end wants text to append, whole tool calls, one ``done`` with usage and one readable
``error``, not the Messages block bookkeeping; ``EventSource`` wants an ``id:`` on each event. Tool
calls are sent whole at their block's end because a page cannot use half a JSON object.
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
    TOOL_BLOCKS,
    Event,
)
from sseguard.sse.encoder import escape_line_separators_in
from sseguard.translate.errors import TranslationError

PING = b": ping\n\n"  # a comment: EventSource ignores it, idle proxies see traffic
DEFAULT_MAX_TOKENS = 1024
_QUERY_FIELDS = frozenset({"model", "prompt", "system", "max_tokens"})


def messages_request(body: dict[str, Any]) -> dict[str, Any]:
    """A browser request (a Messages request, or ``prompt`` with optional ``system`` and
    ``max_tokens``) as a streaming Messages request. Query parameters of a ``GET`` arrive here as
    strings, so ``max_tokens`` is accepted as digits too."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("a model name (string) is required", "model")
    out = {k: v for k, v in body.items() if k != "prompt"}
    prompt = body.get("prompt")
    if prompt is not None:
        if "messages" in body:
            raise TranslationError("give prompt or messages, not both", "prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise TranslationError("must be a non-empty string", "prompt")
        out["messages"] = [{"role": "user", "content": prompt}]
    elif not isinstance(body.get("messages"), list) or not body["messages"]:
        raise TranslationError("a prompt (string) or a list of messages is required", "prompt")
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise TranslationError("must be a string or a list of text blocks", "system")
    out["max_tokens"] = _max_tokens(body.get("max_tokens", DEFAULT_MAX_TOKENS))
    out["stream"] = True
    return out


def query_body(params: dict[str, str]) -> dict[str, Any]:
    """``GET /v1/chat/sse?model=..&prompt=..``: the fields ``EventSource`` can carry, checked by
    name here so a misspelt parameter is an error rather than silently ignored."""
    unknown = sorted(set(params) - _QUERY_FIELDS)
    if unknown:
        raise TranslationError(
            f"unknown query parameter(s) {', '.join(unknown)}; use {', '.join(sorted(_QUERY_FIELDS))}",
            unknown[0],
        )
    return dict(params)


def _max_tokens(value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TranslationError("must be a positive integer", "max_tokens")
    return value


class BrowserFraming:
    """Messages events in, ``delta``/``thinking``/``tool``/``done``/``error`` frames out."""

    ping = PING

    def __init__(self) -> None:
        self._next_id = 1
        self._tool: dict[str, Any] | None = None  # the tool_use block being gathered
        self._tool_json: list[str] = []
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None

    def encode(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        for ev in events:
            frame = self._frame(ev)
            if frame is not None:
                name, payload = frame
                payload = escape_line_separators_in(payload)  # F06, as for the other endpoints
                out.append(b"event: %s\nid: %d\ndata: %s\n\n" % (name, self._next_id, payload))
                self._next_id += 1
        return b"".join(out)

    def _frame(self, ev: Event) -> tuple[bytes, bytes] | None:
        p = ev.payload
        etype = ev.type
        if etype == CONTENT_BLOCK_DELTA:
            delta = p.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return b"delta", orjson.dumps({"text": delta.get("text", "")})
            if dtype == "thinking_delta":
                return b"thinking", orjson.dumps({"text": delta.get("thinking", "")})
            if dtype == "input_json_delta" and self._tool is not None:
                self._tool_json.append(delta.get("partial_json", ""))
            return None
        if etype == CONTENT_BLOCK_START:
            block = p.get("content_block") or {}
            if block.get("type") in TOOL_BLOCKS:
                self._tool = block
                self._tool_json = []
            elif block.get("type") == "text" and block.get("text"):
                # A text block may start with text of its own: the page shows it like a delta.
                return b"delta", orjson.dumps({"text": block["text"]})
            return None
        if etype == CONTENT_BLOCK_STOP:
            return self._tool_frame()
        if etype == MESSAGE_START:
            self._usage = dict((p.get("message") or {}).get("usage") or {})
            return None
        if etype == MESSAGE_DELTA:
            self._usage.update(p.get("usage") or {})
            self._stop_reason = (p.get("delta") or {}).get("stop_reason")
            return None
        if etype == MESSAGE_STOP:
            done = {"stop_reason": self._stop_reason, "usage": self._usage}
            return b"done", orjson.dumps(done)
        if etype == ERROR:
            error = p.get("error") or {}
            readable = {
                "type": error.get("type", "api_error"),
                "message": error.get("message", "the answer could not be completed"),
            }
            return b"error", orjson.dumps(readable)
        return None

    def _tool_frame(self) -> tuple[bytes, bytes] | None:
        tool = self._tool
        if tool is None:
            return None
        self._tool = None
        text = "".join(self._tool_json)
        try:
            tool_input = orjson.loads(text) if text else tool.get("input", {})
        except orjson.JSONDecodeError:
            tool_input = text  # the repair layer holds tools until they parse; kept, not dropped
        call = {"id": tool.get("id"), "name": tool.get("name"), "input": tool_input}
        return b"tool", orjson.dumps(call)
