"""Helpers for the simulator tests: a plan's bytes, SSE decoding, and strict accumulators for a
Messages stream and a chat.completions chunk stream."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from sseguard.sim.wire import Loop, Plan, Write
from sseguard.sse import SSEDecoder

Event = tuple[str | None, Any]

# An OpenAI-format tool both OpenAI-side simulator test modules ask for.
FORECAST = {
    "type": "function",
    "function": {
        "name": "get_forecast",
        "description": "forecast",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def wire(plan: Plan) -> bytes:
    """Every byte the plan sends, one pass of each loop, gzip undone (where it was done: a
    stale content-encoding header labels bytes that are not compressed)."""
    raw = b"".join(s.data for s in plan.steps if isinstance(s, Write | Loop))
    if ("content-encoding", "gzip") in plan.headers and raw.startswith(b"\x1f\x8b"):
        return zlib.decompress(raw, wbits=31)
    return raw


def header(plan: Plan, name: str) -> str | None:
    return dict(plan.headers).get(name)


def decode(raw: bytes) -> list[Event]:
    """SSE events as (event name, parsed data, or the data text when it is not JSON)."""
    decoder = SSEDecoder()
    out: list[Event] = []
    for ev in [*decoder.feed(raw), *decoder.close()]:
        try:
            out.append((ev.event, orjson.loads(ev.data)))
        except orjson.JSONDecodeError:
            out.append((ev.event, ev.data))
    return out


def accumulate(events: list[Event]) -> dict[str, Any]:
    """The Message a well-formed stream adds up to; asserts the order a strict client demands."""
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    message: dict[str, Any] = {}
    partial_json: dict[int, str] = {}
    for name, data in events:
        assert name is None or name == data["type"], (name, data)
        if name == "message_start":
            message = {**data["message"], "content": []}
        elif name == "content_block_start":
            assert data["index"] == len(message["content"]), data
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            kind = delta["type"]
            if kind == "input_json_delta":
                partial_json[data["index"]] = (
                    partial_json.get(data["index"], "") + delta["partial_json"]
                )
            else:
                field = {"text_delta": "text", "thinking_delta": "thinking"}.get(kind, "signature")
                assert block["type"] == ("text" if kind == "text_delta" else "thinking"), data
                block[field] = block[field] + delta[field]
        elif name == "content_block_stop":
            if data["index"] in partial_json:
                message["content"][data["index"]]["input"] = orjson.loads(
                    partial_json[data["index"]]
                )
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
    return message


def chunk_data(raw: bytes) -> list[Any]:
    """The data of each SSE event of a chat.completions stream: parsed JSON, or the text ([DONE])."""
    return [data for _, data in decode(raw)]


def accumulate_chunks(items: list[Any]) -> dict[str, Any]:
    """The chat.completion a well-formed chunk stream adds up to; asserts what a strict client needs:
    the role chunk first, one call head per index then bare fragments, one finish_reason, only the
    usage chunk after it, ``[DONE]`` last."""
    assert items and items[-1] == "[DONE]", items[-1:]
    chunks = items[:-1]
    first = chunks[0]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}, first
    message: dict[str, Any] = {"role": "assistant", "content": None}
    calls: dict[int, dict[str, Any]] = {}
    finish, usage = None, None
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == first["id"], chunk
        if not chunk["choices"]:
            assert finish is not None and usage is None, chunk
            usage = chunk["usage"]
            continue
        assert finish is None, f"a chunk after the finish chunk: {chunk}"
        choice = chunk["choices"][0]
        delta, finish = choice["delta"], choice["finish_reason"]
        for field in ("content", "reasoning_content"):
            if delta.get(field):
                message[field] = (message.get(field) or "") + delta[field]
        for call in delta.get("tool_calls", []):
            index = call["index"]
            if index not in calls:
                assert call["type"] == "function" and call["id"] and call["function"]["name"], call
                calls[index] = {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
            else:
                assert set(call) == {"index", "function"}, call
                assert set(call["function"]) == {"arguments"}, call
            calls[index]["function"]["arguments"] += call["function"]["arguments"]
    assert finish is not None, "no finish_reason"
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    head = {k: first[k] for k in ("id", "created", "model")}
    return {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
