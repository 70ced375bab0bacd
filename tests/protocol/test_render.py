"""render() against literal Messages: the exact events, the stream grammar, and the round trip."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic._models import construct_type
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import DELTA_BLOCKS, Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.render import render

SIGNATURE = "EqQBCkgIBhABGAIiQL+/x9/+fOo1Ra0bQ\\u00e9=="  # a backslash in it, to be kept as is
CITATION = {
    "type": "char_location",
    "cited_text": "The grass is green.",
    "document_index": 0,
    "document_title": "Facts",
    "start_char_index": 0,
    "end_char_index": 19,
}


def message(content: list[Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 15},
        **fields,
    }


MESSAGES: dict[str, dict[str, Any]] = {
    "text_multibyte": message([{"type": "text", "text": "Héllo, wörld 👋 日本語 \u2028"}]),
    "empty_content": message([], stop_reason="max_tokens"),
    "two_text_blocks": message(
        [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    ),
    "citations": message(
        [
            {"type": "text", "text": "According to the document, ", "citations": None},
            {
                "type": "text",
                "text": "the grass is green.",
                "citations": [CITATION, {**CITATION, "cited_text": "Green."}],
            },
        ]
    ),
    "tool_use": message(
        [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {"location": "Paris, France", "unit": "°C", "days": [1, 2], "x": None},
            },
            {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    ),
    "thinking": message(
        [
            {"type": "thinking", "thinking": "2+2 → 4.", "signature": SIGNATURE},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
            {"type": "text", "text": "4."},
        ]
    ),
    "server_tools": message(
        [
            {
                "type": "server_tool_use",
                "id": "srvtoolu_01",
                "name": "web_search",
                "input": {"query": "weather Paris"},
            },
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_01",
                "content": [
                    {
                        "type": "web_search_result",
                        "title": "Paris weather",
                        "url": "https://example.com/paris",
                        "encrypted_content": "EqgfCioIARgBIiQ3",
                        "page_age": None,
                    }
                ],
            },
            {"type": "text", "text": "It is sunny."},
        ],
        usage={
            "input_tokens": 2095,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1800,
            "output_tokens": 90,
            "server_tool_use": {"web_search_requests": 1},
            "service_tier": "standard",
        },
    ),
    "mcp_tool": message(
        [
            {
                "type": "mcp_tool_use",
                "id": "mcptoolu_01",
                "name": "echo",
                "server_name": "example",
                "input": {"text": "hi"},
            },
            {
                "type": "mcp_tool_result",
                "tool_use_id": "mcptoolu_01",
                "is_error": False,
                "content": [{"type": "text", "text": "hi"}],
            },
        ]
    ),
    "stop_sequence": message(
        [{"type": "text", "text": "Hello"}], stop_reason="stop_sequence", stop_sequence="\n\nHuman:"
    ),
    "refusal": message(
        [{"type": "text", "text": "I can't"}],
        stop_reason="refusal",
        stop_details={"type": "refusal", "category": "cyber", "explanation": None},
    ),
}


def accumulate(events: list[Event]) -> dict[str, Any]:
    acc = Accumulator()
    for event in events:
        acc.feed(event)
    assert acc.complete
    return acc.message()


@pytest.mark.parametrize("name", MESSAGES)
def test_round_trip(name: str) -> None:
    assert accumulate(render(MESSAGES[name])) == MESSAGES[name]


@pytest.mark.parametrize("name", MESSAGES)
def test_output_satisfies_the_grammar(name: str) -> None:
    events = render(MESSAGES[name])
    assert violations(events, allow_error_end=False) == []
    # The same rules spelled out, so this test does not rest on grammar.py alone.
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds.count("message_start") == 1
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("message_delta") == 1 and kinds.count("message_stop") == 1
    assert "ping" not in kinds
    blocks = [e.payload for e in events[1:-2]]
    starts = [p["index"] for p in blocks if p["type"] == "content_block_start"]
    stops = [p["index"] for p in blocks if p["type"] == "content_block_stop"]
    n = len(MESSAGES[name]["content"])
    assert starts == stops == list(range(n))
    open_type = None
    for p in blocks:
        if p["type"] == "content_block_start":
            assert open_type is None
            open_type = p["content_block"]["type"]
        elif p["type"] == "content_block_delta":
            assert open_type in DELTA_BLOCKS[p["delta"]["type"]]
        else:
            open_type = None


@pytest.mark.parametrize("name", MESSAGES)
def test_each_event_is_its_compact_payload(name: str) -> None:
    for event in render(MESSAGES[name]):
        assert event.type == event.payload["type"]
        assert event.data == orjson.dumps(event.payload).decode()


def test_exact_events_for_every_block_kind() -> None:
    msg = message(
        [
            {"type": "thinking", "thinking": "Hmm.", "signature": SIGNATURE},
            {"type": "text", "text": "Green.", "citations": [CITATION]},
            {"type": "tool_use", "id": "toolu_01", "name": "f", "input": {"a": [1, "é"]}},
            {"type": "tool_use", "id": "toolu_02", "name": "g", "input": {}},
            {"type": "redacted_thinking", "data": "abc"},
        ],
        stop_reason="tool_use",
        usage={"input_tokens": 25, "cache_read_input_tokens": None, "output_tokens": 15},
    )
    usage = msg["usage"]

    def delta(index: int, d: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": d}

    def start(index: int, block: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_start", "index": index, "content_block": block}

    def stop(index: int) -> dict[str, Any]:
        return {"type": "content_block_stop", "index": index}

    opening = {**msg, "content": [], "stop_reason": None}
    assert [e.payload for e in render(msg)] == [
        {"type": "message_start", "message": opening},
        start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, {"type": "thinking_delta", "thinking": "Hmm."}),
        delta(0, {"type": "signature_delta", "signature": SIGNATURE}),
        stop(0),
        start(1, {"type": "text", "text": ""}),
        delta(1, {"type": "citations_delta", "citation": CITATION}),
        delta(1, {"type": "text_delta", "text": "Green."}),
        stop(1),
        start(2, {"type": "tool_use", "id": "toolu_01", "name": "f", "input": {}}),
        delta(2, {"type": "input_json_delta", "partial_json": '{"a":[1,"é"]}'}),
        stop(2),
        start(3, {"type": "tool_use", "id": "toolu_02", "name": "g", "input": {}}),
        stop(3),
        start(4, {"type": "redacted_thinking", "data": "abc"}),
        stop(4),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": usage,
        },
        {"type": "message_stop"},
    ]


def test_signature_goes_out_byte_exact() -> None:
    events = render(MESSAGES["thinking"])
    (sig,) = [e for e in events if e.payload.get("delta", {}).get("type") == "signature_delta"]
    assert sig.payload["delta"]["signature"] == SIGNATURE
    assert orjson.dumps(SIGNATURE).decode() in sig.data


def test_payloads_are_independent_of_each_other_and_of_the_message() -> None:
    msg = MESSAGES["server_tools"]
    before = orjson.dumps(msg)
    events = render(msg)
    events[-2].payload["usage"]["output_tokens"] = 0
    events[0].payload["message"]["usage"]["input_tokens"] = 0
    assert orjson.dumps(msg) == before
    assert accumulate(render(msg)) == msg


def test_message_without_usage_is_rendered_as_is_for_repair_to_fill() -> None:
    msg = message([{"type": "text", "text": "Hi"}])
    del msg["usage"]
    events = render(msg)
    assert events[0].payload["message"]["usage"] == {}
    assert events[-2].payload["usage"] == {}
    assert violations(events, allow_error_end=False) == [
        "event 4 (message_delta): usage.output_tokens is not a number"
    ]


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


# The official SDK adds our rendering up to the same Message. Nulls are left out on both sides: its
# models carry every optional key as None. mcp_tool is beta (test_accumulate checks it with the beta
# accumulator); refusal's stop_details are not compared, only content, stop and usage.
@pytest.mark.parametrize("name", [n for n in MESSAGES if n != "mcp_tool"])
def test_official_sdk_adds_the_rendering_up_to_the_message(name: str) -> None:
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for event in render(MESSAGES[name]):
        typed: Any = construct_type(type_=RawMessageStreamEvent, value=event.payload)
        snapshot = accumulate_event(event=typed, current_snapshot=snapshot, json_bufs=json_bufs)
    theirs = without_none(snapshot.model_dump(mode="json"))
    ours = without_none(MESSAGES[name])
    for key in ("content", "stop_reason", "stop_sequence", "usage"):
        assert theirs.get(key) == ours.get(key), key
