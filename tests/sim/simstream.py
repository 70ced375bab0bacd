"""Helpers for the simulator tests: a plan's bytes, SSE decoding, and a strict stream accumulator."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from sseguard.sim.wire import Loop, Plan, Write
from sseguard.sse import SSEDecoder

Event = tuple[str | None, Any]


def wire(plan: Plan) -> bytes:
    """Every byte the plan sends, one pass of each loop, gzip undone."""
    raw = b"".join(s.data for s in plan.steps if isinstance(s, Write | Loop))
    if ("content-encoding", "gzip") in plan.headers:
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
