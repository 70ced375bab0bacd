"""Round trips through both translation directions: what survives chat.completions and back.

A stream rendered for an OpenAI client and read back by the upstream edge must add up to the same
answer (text, reasoning, tool calls, stop reason, usage); requests must keep their meaning both
ways. What cannot survive is named in the test (block boundaries of adjacent text blocks, the
stop_sequence / end_turn distinction, thinking signatures).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chunks_out import blocks, clean_stream

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.sse import SSEDecoder
from sseguard.translate.chat_to_messages import messages_request
from sseguard.translate.chunks_in import ChunkTranslator
from sseguard.translate.chunks_out import ChunkEncoder
from sseguard.translate.messages_to_chat import chat_request

LOSSY_STOP = {"stop_sequence": "end_turn"}  # OpenAI has one "stop" for both


def accumulate(events: list[Event]) -> dict[str, Any]:
    acc = Accumulator()
    for event in events:
        acc.feed(event)
    return acc.message()


def summary(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    tools = [(b["id"], b["name"], b["input"]) for b in content if b["type"] == "tool_use"]
    stop = LOSSY_STOP.get(message["stop_reason"], message["stop_reason"])
    # The upstream edge's F14 rule: the stop reason follows the calls a client can run.
    if stop == "tool_use" and not tools:
        stop = "end_turn"
    elif stop == "end_turn" and tools:
        stop = "tool_use"
    return {
        "text": "".join(b["text"] for b in content if b["type"] == "text"),
        "thinking": "".join(b["thinking"] for b in content if b["type"] == "thinking"),
        "tools": tools,
        "stop_reason": stop,
        "output_tokens": message["usage"]["output_tokens"],
    }


@settings(max_examples=150, deadline=None)
@given(
    content=st.lists(blocks, max_size=5),
    stop=st.sampled_from(["end_turn", "tool_use", "max_tokens", "stop_sequence"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_a_stream_survives_openai_chunks_and_back(
    content: list[tuple[Any, ...]], stop: str, cuts: list[int]
) -> None:
    original = clean_stream(content, stop)
    encoder = ChunkEncoder(completion_id="c", model="m", created=0, include_usage=True)
    raw = encoder.feed(original)
    repairer = Repairer()
    translator = ChunkTranslator(repairer.anomalies, model="m")
    decoder = SSEDecoder()
    back: list[Event] = []
    bounds = [0, *sorted(c for c in cuts if c < len(raw)), len(raw)]
    for a, b in pairwise(bounds):  # any chunking of the bytes on the way
        for sse in decoder.feed(raw[a:b]):
            for translated in translator.feed(sse):
                back += repairer.feed(translated)
    for translated in translator.close():
        back += repairer.feed(translated)
    back += repairer.close()
    assert violations(back, allow_error_end=False) == []
    assert summary(accumulate(back)) == summary(accumulate(original))
    assert translator.done


MESSAGES_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1000,
    "system": "Be brief.",
    "stop_sequences": ["END"],
    "temperature": 0.5,
    "metadata": {"user_id": "u-1"},
    "tools": [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "messages": [
        {"role": "user", "content": "Weather in Zürich?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Z"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ],
}


def test_a_messages_request_survives_chat_completions_and_back() -> None:
    back = messages_request(chat_request(MESSAGES_REQUEST))
    for key in ("model", "max_tokens", "system", "stop_sequences", "temperature", "metadata"):
        assert back[key] == MESSAGES_REQUEST[key], key
    assert back["tools"] == MESSAGES_REQUEST["tools"]
    assert back["tool_choice"] == MESSAGES_REQUEST["tool_choice"]
    assert back["messages"][0]["content"] in (
        "Weather in Zürich?",
        [{"type": "text", "text": "Weather in Zürich?"}],
    )
    assert back["messages"][1]["content"] == MESSAGES_REQUEST["messages"][1]["content"]
    results = back["messages"][2]["content"]
    assert results[0]["type"] == "tool_result" and results[0]["tool_use_id"] == "toolu_1"
    assert results[-1] == {"type": "text", "text": "And tomorrow?"}
    assert back["stream"] is True  # the upstream edge always streams


CHAT_REQUEST: dict[str, Any] = {
    "model": "gpt-alias",
    "max_completion_tokens": 500,
    "stop": ["END"],
    "top_p": 0.9,
    "user": "u-2",
    "tool_choice": "required",
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look a word up",
                "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
            },
        }
    ],
    "messages": [
        {"role": "system", "content": "You are terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"word":"png"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "an image format"},
    ],
}


@pytest.mark.parametrize("field", ["stop", "top_p", "user", "tool_choice", "tools"])
def test_a_chat_request_survives_messages_and_back(field: str) -> None:
    back = chat_request(messages_request(CHAT_REQUEST))
    assert back[field] == CHAT_REQUEST[field]


def test_chat_conversation_survives_messages_and_back() -> None:
    back = chat_request(messages_request(CHAT_REQUEST))
    assert back["max_tokens"] == 500
    assert back["messages"][0] == {"role": "system", "content": "You are terse."}
    assert (
        orjson.loads(orjson.dumps(back["messages"][1]["content"]))
        == CHAT_REQUEST["messages"][1]["content"]
    )
    call = back["messages"][2]["tool_calls"][0]
    assert call["id"] == "call_1" and orjson.loads(call["function"]["arguments"]) == {"word": "png"}
    assert back["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "an image format",
    }
