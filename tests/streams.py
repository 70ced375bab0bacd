"""Builders for Messages streams as bytes, so repair tests read like the wire they describe."""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.protocol.stream import StreamRepair

MSG_ID = "msg_01TEST"


def frame(payload: dict[str, Any] | str, name: str | None = "", *, sep: str = "\n") -> bytes:
    """One SSE frame; ``name=""`` means the payload's own type, ``None`` means no event: line."""
    data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    if name == "" and isinstance(payload, dict):
        name = payload["type"]
    head = f"event: {name}{sep}" if name else ""
    return f"{head}data: {data}{sep}{sep}".encode()


def message_start(mid: str = MSG_ID, **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-test",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1, **usage},
        },
    }


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def text_start(index: int = 0) -> dict[str, Any]:
    return block_start(index, {"type": "text", "text": ""})


def tool_start(index: int, tool_id: str = "toolu_1", name: str = "get_weather") -> dict[str, Any]:
    return block_start(index, {"type": "tool_use", "id": tool_id, "name": name, "input": {}})


def thinking_start(index: int = 0) -> dict[str, Any]:
    return block_start(index, {"type": "thinking", "thinking": "", "signature": ""})


def delta(index: int, kind: str, value: str) -> dict[str, Any]:
    key = {
        "text_delta": "text",
        "input_json_delta": "partial_json",
        "thinking_delta": "thinking",
        "signature_delta": "signature",
    }[kind]
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, key: value}}


def text(index: int, value: str) -> dict[str, Any]:
    return delta(index, "text_delta", value)


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str = "end_turn", output_tokens: Any = 20) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }


MESSAGE_STOP: dict[str, Any] = {"type": "message_stop"}
PING: dict[str, Any] = {"type": "ping"}


def wire(*parts: dict[str, Any] | bytes, name_events: bool = True) -> bytes:
    """Frames for payloads (bytes parts are spliced in raw, to build faults)."""
    out = b""
    for part in parts:
        if isinstance(part, bytes):
            out += part
        else:
            out += frame(part, "" if name_events else None)
    return out


def clean_text_stream(*chunks: str) -> bytes:
    return wire(
        message_start(),
        text_start(0),
        *(text(0, c) for c in chunks),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )


def repair(raw: bytes, *, chunk: int = 0, **options: Any) -> tuple[list[Event], Repairer]:
    """Run bytes through decoder and repairer, whole or in ``chunk``-byte reads."""
    pipe = StreamRepair(Repairer(**options))
    out: list[Event] = []
    if chunk:
        for i in range(0, len(raw), chunk):
            out += pipe.feed(raw[i : i + chunk])
    else:
        out += pipe.feed(raw)
    out += pipe.close()
    return out, pipe.repairer


def assert_valid(events: list[Event]) -> None:
    problems = violations(events, allow_error_end=False)
    assert not problems, problems


def texts(events: list[Event]) -> str:
    return "".join(
        e.payload["delta"].get("text", "")
        for e in events
        if e.type == "content_block_delta" and e.payload["delta"]["type"] == "text_delta"
    )
