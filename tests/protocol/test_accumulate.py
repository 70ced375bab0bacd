"""Accumulator against literal Messages streams, and against the official Python SDK's own adding-up."""

from __future__ import annotations

import textwrap
from typing import Any

import orjson
import pytest
from anthropic._models import construct_type
from anthropic.lib.streaming import _beta_messages, _messages
from anthropic.types import RawMessageStreamEvent
from anthropic.types.beta import BetaRawMessageStreamEvent

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event
from sseguard.protocol.render import render
from sseguard.sse import SSEDecoder


def sse(text: str) -> bytes:
    """A stream written as it appears on the wire, one event per paragraph."""
    return textwrap.dedent(text).lstrip("\n").encode()


def decode(raw: bytes, chunk: int = 0) -> list[Event]:
    decoder = SSEDecoder()
    step = chunk or len(raw)
    found = [e for i in range(0, len(raw), step) for e in decoder.feed(raw[i : i + step])]
    found += decoder.close()
    return [Event(e.event or "", e.data, orjson.loads(e.data)) for e in found]


def accumulate(events: list[Event]) -> Accumulator:
    acc = Accumulator()
    for event in events:
        acc.feed(event)
    return acc


def message(
    content: list[dict[str, Any]],
    usage: dict[str, Any],
    stop_reason: str = "end_turn",
    stop_sequence: str | None = None,
    mid: str = "msg_01",
) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


START = r"""
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

"""


def end(stop_reason: str = "end_turn", output_tokens: int = 15) -> str:
    return rf"""
    event: message_delta
    data: {{"type":"message_delta","delta":{{"stop_reason":"{stop_reason}","stop_sequence":null}},"usage":{{"output_tokens":{output_tokens}}}}}

    event: message_stop
    data: {{"type":"message_stop"}}

"""


TEXT_MULTIBYTE = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: ping
    data: {"type": "ping"}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Héllo, wörld "}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"👋 日本語"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" \u2028 ok"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}
"""
    + end()
)

TWO_TEXT_BLOCKS = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"First "}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"block."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: vertex_event
    data: {"type":"vertex_event","note":"unknown events are ignored"}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Second block."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}
"""
    + end()
)

TOOL_FRAGMENTS = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"loc"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ation\": \"Par"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is, Fran"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ce\", \"unit\": \"°"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"C\", \"days\": [1, 2"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"]}"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}
"""
    + end("tool_use", 48)
)

TOOLS_WITHOUT_INPUT = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_time","input":{}}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_date","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}
"""
    + end("tool_use", 30)
)

THINKING = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" about 2+2 → 4."}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkgIBhABGAIiQL+/x9/+=="}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}

    event: content_block_start
    data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"4."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":2}
"""
    + end()
)

CITE_1 = {
    "type": "char_location",
    "cited_text": "The grass is green.",
    "document_index": 0,
    "document_title": "Facts",
    "start_char_index": 0,
    "end_char_index": 19,
}
CITE_2 = {
    "type": "page_location",
    "cited_text": "The sky is blue.",
    "document_index": 1,
    "document_title": None,
    "start_page_number": 2,
    "end_page_number": 3,
}
CITATIONS = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"According to the documents, "}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"The grass is green.","document_index":0,"document_title":"Facts","start_char_index":0,"end_char_index":19}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"page_location","cited_text":"The sky is blue.","document_index":1,"document_title":null,"start_page_number":2,"end_page_number":3}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"the grass is green"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" and the sky is blue."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}
"""
    + end()
)

SEARCH_RESULT = {
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
}
SERVER_TOOLS = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"weather"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" Paris\"}"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_01","content":[{"type":"web_search_result","title":"Paris weather","url":"https://example.com/paris","encrypted_content":"EqgfCioIARgBIiQ3","page_age":null}]}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}

    event: content_block_start
    data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"It is sunny."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":2}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":1200,"output_tokens":90,"server_tool_use":{"web_search_requests":1}}}

    event: message_stop
    data: {"type":"message_stop"}

"""
)

USAGE_MERGE = sse(
    r"""
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":3,"service_tier":"standard"}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Cached."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":2100,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":42}}

    event: message_stop
    data: {"type":"message_stop"}

"""
)

STOP_SEQUENCE = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:"},"usage":{"output_tokens":2}}

    event: message_stop
    data: {"type":"message_stop"}

"""
)

MCP_TOOL = sse(
    START
    + r"""
    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"mcp_tool_use","id":"mcptoolu_01","name":"echo","server_name":"example","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"text\":"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" \"hi\"}"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"mcp_tool_result","tool_use_id":"mcptoolu_01","is_error":false,"content":[{"type":"text","text":"hi"}]}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}
"""
    + end()
)

USAGE = {"input_tokens": 25, "output_tokens": 15}

# name -> (wire bytes, the Message they add up to)
CASES: dict[str, tuple[bytes, dict[str, Any]]] = {
    "text_multibyte": (
        TEXT_MULTIBYTE,
        message([{"type": "text", "text": "Héllo, wörld 👋 日本語 \u2028 ok"}], USAGE),
    ),
    "two_text_blocks": (
        TWO_TEXT_BLOCKS,
        message(
            [{"type": "text", "text": "First block."}, {"type": "text", "text": "Second block."}],
            USAGE,
        ),
    ),
    "tool_input_in_fragments": (
        TOOL_FRAGMENTS,
        message(
            [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "get_weather",
                    "input": {"location": "Paris, France", "unit": "°C", "days": [1, 2]},
                },
            ],
            {"input_tokens": 25, "output_tokens": 48},
            stop_reason="tool_use",
        ),
    ),
    "tools_without_input": (
        TOOLS_WITHOUT_INPUT,
        message(
            [
                {"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_date", "input": {}},
            ],
            {"input_tokens": 25, "output_tokens": 30},
            stop_reason="tool_use",
        ),
    ),
    "thinking_signature_redacted": (
        THINKING,
        message(
            [
                {
                    "type": "thinking",
                    "thinking": "Let me think about 2+2 → 4.",
                    "signature": "EqQBCkgIBhABGAIiQL+/x9/+==",
                },
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
                {"type": "text", "text": "4."},
            ],
            USAGE,
        ),
    ),
    "citations": (
        CITATIONS,
        message(
            [
                {"type": "text", "text": "According to the documents, "},
                {
                    "type": "text",
                    "text": "the grass is green and the sky is blue.",
                    "citations": [CITE_1, CITE_2],
                },
            ],
            USAGE,
        ),
    ),
    "server_tool_and_search_result": (
        SERVER_TOOLS,
        message(
            [
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {"query": "weather Paris"},
                },
                SEARCH_RESULT,
                {"type": "text", "text": "It is sunny."},
            ],
            {
                "input_tokens": 1200,
                "output_tokens": 90,
                "server_tool_use": {"web_search_requests": 1},
            },
        ),
    ),
    "usage_merge_with_nulls": (
        USAGE_MERGE,
        message(
            [{"type": "text", "text": "Cached."}],
            {
                "input_tokens": 2100,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1800,
                "output_tokens": 42,
                "service_tier": "standard",
            },
            stop_reason="max_tokens",
            mid="msg_02",
        ),
    ),
    "stop_sequence": (
        STOP_SEQUENCE,
        message(
            [{"type": "text", "text": "Hello"}],
            {"input_tokens": 25, "output_tokens": 2},
            stop_reason="stop_sequence",
            stop_sequence="\n\nHuman:",
        ),
    ),
    "mcp_tool": (
        MCP_TOOL,
        message(
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
            ],
            USAGE,
        ),
    ),
}


@pytest.mark.parametrize("chunk", [0, 1, 7])
@pytest.mark.parametrize("name", CASES)
def test_stream_adds_up_to_message(name: str, chunk: int) -> None:
    raw, expected = CASES[name]
    acc = accumulate(decode(raw, chunk))
    assert acc.started and acc.complete
    assert acc.message() == expected
    assert acc.input_errors == []


@pytest.mark.parametrize("name", CASES)
def test_render_of_accumulated_message_adds_up_to_it_again(name: str) -> None:
    expected = CASES[name][1]
    assert accumulate(render(expected)).message() == expected


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def sdk_message(events: list[Event], *, beta: bool = False) -> dict[str, Any]:
    """The official SDK's final message, fed as its stream iterator feeds it.

    Events are built with ``construct_type``, unvalidated, as the SDK's own stream does; ``ping``
    and ``error`` never reach its accumulator (the iterator skips one and raises on the other).
    """
    module: Any = _beta_messages if beta else _messages
    event_type: Any = BetaRawMessageStreamEvent if beta else RawMessageStreamEvent
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for event in events:
        if event.type in ("ping", "error"):
            continue
        typed = construct_type(type_=event_type, value=event.payload)
        # The beta accumulator reads the request's anthropic-beta header; there is no request here.
        extra = {"request_headers": {}} if beta else {}
        snapshot = module.accumulate_event(
            event=typed, current_snapshot=snapshot, json_bufs=json_bufs, **extra
        )
    dumped: dict[str, Any] = without_none(snapshot.model_dump(mode="json"))
    return dumped


# Agreement on content, stop_reason, stop_sequence and usage. Compared with nulls left out on both
# sides: the SDK's models carry every optional key as None (citations, parsed_output, container...)
# where the wire had none. Keys that differ on purpose, none of them present in these streams:
# - a null output_tokens in message_delta: the SDK stores None; we keep the last number (F15);
# - usage keys the SDK does not know on message_delta (service_tier, cache_creation...): it drops
#   them, we merge them, since message_delta usage is cumulative for every field;
# - stop_details missing from message_delta: the SDK resets it to None, we keep what we had.
# mcp_tool_use is a beta block: the non-beta SDK parses it as a text block and drops its input, so
# that stream is checked against the beta accumulator.
@pytest.mark.parametrize("name", CASES)
def test_agrees_with_official_sdk(name: str) -> None:
    raw, _ = CASES[name]
    events = decode(raw)
    ours = without_none(accumulate(events).message())
    theirs = sdk_message(events, beta=name == "mcp_tool")
    for key in ("content", "stop_reason", "stop_sequence", "usage"):
        assert ours.get(key) == theirs.get(key), key


def test_started_and_complete_follow_the_stream() -> None:
    events = decode(TEXT_MULTIBYTE)
    acc = Accumulator()
    assert not acc.started and not acc.complete
    with pytest.raises(RuntimeError):
        acc.message()
    acc.feed(events[0])
    assert acc.started and not acc.complete
    assert acc.message()["content"] == []
    for event in events[1:-1]:
        acc.feed(event)
    assert not acc.complete
    assert acc.message()["content"] == [
        {"type": "text", "text": "Héllo, wörld 👋 日本語 \u2028 ok"}
    ]
    acc.feed(events[-1])
    assert acc.complete


def test_events_before_start_and_after_stop_are_ignored() -> None:
    events = decode(TWO_TEXT_BLOCKS)
    late = Event.of(
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "!"}}
    )
    acc = accumulate([events[1], events[2], *events, late])
    assert acc.message() == CASES["two_text_blocks"][1]


def test_error_unknown_and_misplaced_deltas_are_ignored() -> None:
    events = decode(TWO_TEXT_BLOCKS)
    noise = [
        Event.of({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        Event.of(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "x"},
            }
        ),
        Event.of(
            {
                "type": "content_block_delta",
                "index": 9,
                "delta": {"type": "text_delta", "text": "x"},
            }
        ),
        Event.of(
            {
                "type": "content_block_delta",
                "index": -1,
                "delta": {"type": "text_delta", "text": "x"},
            }
        ),
        Event.of(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "future_delta", "x": 1}}
        ),
    ]
    acc = accumulate([*events[:3], *noise, *events[3:]])
    assert acc.message() == CASES["two_text_blocks"][1]


def test_unparsable_tool_input_is_recorded_and_leaves_empty_input() -> None:
    events = decode(TOOL_FRAGMENTS)
    # Drop the closing fragment: the guard case the repair layer is meant to make impossible.
    cut = [e for e in events if '"partial_json":"]}"' not in e.data]
    acc = accumulate(cut)
    assert acc.message()["content"][1] == {
        "type": "tool_use",
        "id": "toolu_01",
        "name": "get_weather",
        "input": {},
    }
    assert acc.input_errors == [1]


def test_message_is_a_fresh_copy_and_events_are_untouched() -> None:
    events = decode(CITATIONS)
    before = [e.data for e in events]
    acc = accumulate(events)
    first = acc.message()
    first["usage"]["output_tokens"] = 0
    first["content"][1]["citations"].clear()
    first["content"][1]["text"] = ""
    assert acc.message() == CASES["citations"][1]
    assert [orjson.dumps(e.payload).decode() for e in events] == before


def test_F15_null_usage_in_message_delta_keeps_the_last_counts() -> None:
    # The SDK would store output_tokens=None here; a stream:false client gets numbers instead.
    events = decode(STOP_SEQUENCE)
    nulls = Event.of(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"input_tokens": None, "output_tokens": None},
        }
    )
    acc = accumulate([*events[:4], nulls, events[-1]])
    assert acc.message()["usage"] == {"input_tokens": 25, "output_tokens": 1}
    assert acc.message()["stop_reason"] == "end_turn"
