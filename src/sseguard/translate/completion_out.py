"""A final Anthropic Message -> OpenAI ``chat.completion``, and OpenAI's error body.

It renders what ``Accumulator.message()`` adds up to; it must not judge the Message (repair did)
and never raises on it. ``error_body`` is the one spelling of an OpenAI error, for HTTP answers
and mid-stream errors alike.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from sseguard.translate.vocabulary import OPENAI_ERROR_TYPE, finish_reason, openai_usage


def chat_completion(
    message: dict[str, Any], *, completion_id: str, model: str, created: int
) -> dict[str, Any]:
    """Text blocks join without a separator, as a streaming client would concatenate them; thinking
    goes to ``reasoning_content``, the field OpenAI-compatible reasoning servers use; blocks with no
    chat equivalent (redacted thinking, server tools and their results) are left out."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
        elif kind == "tool_use":
            calls.append(tool_call(block))
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) or None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    if reasoning := "".join(thoughts):
        reply["reasoning_content"] = reasoning
    usage = message.get("usage")
    choice = {
        "index": 0,
        "message": reply,
        "finish_reason": finish_reason(message.get("stop_reason")),
        "logprobs": None,
    }
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": openai_usage(usage if isinstance(usage, dict) else {}),
    }


def tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """A tool_use block as an OpenAI tool call; arguments are the input as compact JSON."""
    function = {"name": block.get("name"), "arguments": compact_json(block.get("input", {}))}
    return {"id": block.get("id"), "type": "function", "function": function}


def compact_json(value: Any) -> str:
    """JSON without spaces. A Message parsed by the stdlib may hold integers beyond 64 bits,
    which orjson refuses; the stdlib writes them."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def error_body(error_type: str, message: str, *, param: str | None = None) -> bytes:
    """``{"error": {...}}`` as OpenAI sends it; ``code`` keeps the Anthropic type, which says more
    than the OpenAI one. A type the table does not know passes through rather than being guessed."""
    error = {
        "message": message,
        "type": OPENAI_ERROR_TYPE.get(error_type, error_type),
        "param": param,
        "code": error_type,
    }
    return orjson.dumps({"error": error})
