"""Whole OpenAI answers in, Anthropic ones out: a ``chat.completion`` body and an error body.

Also the few rules the streaming edge (``chunks_in``) shares with them, so a streamed and a
non-streamed answer from the same upstream translate alike. Pure; never raises on upstream input.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from sseguard import errors
from sseguard.protocol.upstream_errors import error_message_of, error_type_of
from sseguard.translate.vocabulary import anthropic_usage, stop_reason

# Finish reasons that report a failed generation, not an ending (OpenRouter, vLLM).
FAILED_FINISH = frozenset({"error", "abort"})


def error_type_for_status(status: int) -> str:
    """An OpenAI-compatible server's status as Anthropic's type. Such servers answer 503 when
    overloaded (vLLM, Ollama behind a proxy), where Anthropic uses 529."""
    return "overloaded_error" if status == 503 else errors.error_type_for_status(status)


def message_id(upstream_id: object) -> str | None:
    """Anthropic ids read ``msg_…``; the upstream id stays inside so logs still correlate."""
    if type(upstream_id) is not str or not upstream_id:
        return None
    return upstream_id if upstream_id.startswith("msg_") else "msg_" + upstream_id


def final_stop_reason(finish: object, tool_calls: int) -> tuple[str, str | None]:
    """The stop reason to send and, when it differs from what the upstream said, why (F14).

    Anthropic clients run tools only on ``stop_reason: tool_use``, so the blocks decide: calls
    under ``stop`` are still calls, and ``tool_calls`` without a call would leave a client waiting
    for tools that do not exist. A cut answer (``length``) stays cut whatever it holds.
    """
    reason = stop_reason(finish)
    if tool_calls and reason == "end_turn":
        return "tool_use", f"finish_reason {finish!r} with {tool_calls} tool call(s); tool_use sent"
    if not tool_calls and reason == "tool_use":
        return "end_turn", f"finish_reason {finish!r} without a tool call; end_turn sent"
    return reason, None


def generated_tool_id(message: str | None, n: int) -> str:
    """An id for a call the upstream sent without one (F14): derived from the message id so it is
    the same on every replay of the stream yet unlikely to collide with another turn's calls,
    in the characters Anthropic allows in tool ids."""
    base = (message or "").removeprefix("msg_")[-24:]
    tail = "".join(c for c in base if c.isascii() and (c.isalnum() or c in "-_"))
    return f"call_{tail}_{n}" if tail else f"call_{n}"


def anthropic_error_from_openai(status: int, body: bytes) -> bytes | None:
    """An upstream's JSON error body as an Anthropic error body; None when it is no JSON error
    shape we know, so the caller treats the answer as garbage (F26) rather than guess. Under a
    200, which says nothing of its own, an error object is typed by its code or words."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    kind = error_type_for_status(status)
    if isinstance(error, dict | str) and error:
        message = error_message_of(error)
        if status == 200:
            kind = error_type_of(error)
    elif "detail" in obj and obj["detail"] is not None:
        # FastAPI-style servers: a string, or a list of validation problems.
        detail = obj["detail"]
        message = detail if isinstance(detail, str) else orjson.dumps(detail).decode()
    elif type(obj.get("message")) is str:
        message = obj["message"]
    elif isinstance(error, dict):
        message = f"the upstream answered HTTP {status} with an empty error object"
    else:
        return None
    out = {"type": "error", "error": {"type": kind, "message": message}}
    return orjson.dumps(out)


def message_from_completion(obj: dict[str, Any], *, model: str) -> dict[str, Any] | None:
    """A ``chat.completion`` (an upstream that ignored ``stream: true``, F25) as a Message.

    None when it is not one: an error object, no first choice, a failed generation
    (``finish_reason: error``), or tool arguments that are not a JSON object — a tool_use with invented input would be worse than an honest failure.
    """
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list) or not choices or obj.get("error") is not None:
        return None
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or (isinstance(finish, str) and finish in FAILED_FINISH):
        return None
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    parts = content_parts(message.get("content"))
    thought = "".join(value for kind, value in parts if kind == "thinking")
    if isinstance(reasoning, str) and reasoning:
        thought = reasoning + thought
    if thought:
        content.append({"type": "thinking", "thinking": thought, "signature": ""})
    text = "".join(value for kind, value in parts if kind == "text")
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    mid = message_id(obj.get("id"))
    for n, call in enumerate(calls if isinstance(calls, list) else ()):
        block = _tool_use(call, generated_tool_id(mid, n))
        if block is None:
            return None
        content.append(block)
    tools = len(content) - sum(b["type"] != "tool_use" for b in content)
    reason, _ = final_stop_reason(finish, tools)
    upstream_model = obj.get("model")
    return {
        "id": mid or f"msg_sseguard_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": upstream_model if type(upstream_model) is str and upstream_model else model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": None,
        "usage": anthropic_usage(obj.get("usage")),
    }


def content_parts(content: object) -> list[tuple[str, str]]:
    """A message's or a delta's ``content`` as ("text" | "thinking", text) in order.

    A string is text. Some servers send a list of parts even to requests of plain strings:
    ``{"type": "text", "text": …}``, and Mistral's reasoning models ``{"type": "thinking",
    "thinking": [{"type": "text", "text": …}]}``. Other parts (images, audio) carry no text.
    """
    if isinstance(content, str):
        return [("text", content)] if content else []
    out: list[tuple[str, str]] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "thinking":
            inner = part.get("thinking")
            value = inner if isinstance(inner, str) else "".join(t for _, t in content_parts(inner))
            if value:
                out.append(("thinking", value))
        elif isinstance(part.get("text"), str) and part["text"]:
            out.append(("text", part["text"]))
    return out


def _tool_use(call: object, fallback_id: str) -> dict[str, Any] | None:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        return None
    args = fn.get("arguments")
    if args is None or args == "":
        value: object = {}
    elif isinstance(args, dict):
        value = args  # some servers send the object itself instead of its JSON text
    else:
        try:
            value = orjson.loads(args) if isinstance(args, str) else None
        except orjson.JSONDecodeError:
            return None
    if not isinstance(value, dict):
        return None
    cid = call.get("id") if isinstance(call, dict) else None
    return {
        "type": "tool_use",
        "id": cid if isinstance(cid, str) and cid else fallback_id,
        "name": fn["name"],
        "input": value,
    }
