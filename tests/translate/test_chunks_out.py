"""Messages events -> chat.completion.chunk bytes: literal streams, the official SDK, and a property."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai_wire import ASK, client

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event
from sseguard.translate.chunks_out import DONE, ChunkEncoder
from sseguard.translate.completion_out import chat_completion
from streams import (
    MESSAGE_STOP,
    PING,
    assert_valid,
    block_start,
    block_stop,
    delta,
    message_delta,
    message_start,
    text,
    text_start,
    thinking_start,
    tool_start,
)

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def events(*payloads: dict[str, Any]) -> list[Event]:
    return [Event.of(p) for p in payloads]


def encoder(include_usage: bool = False) -> ChunkEncoder:
    return ChunkEncoder(
        completion_id="chatcmpl-1",
        model="gpt-alias",
        created=1_700_000_000,
        include_usage=include_usage,
    )


def encode(stream: list[Event], include_usage: bool = False) -> bytes:
    """The stream fed one event per call; checked to equal the stream fed in one call."""
    one_by_one = encoder(include_usage)
    raw = b"".join(one_by_one.feed([e]) for e in stream)
    assert encoder(include_usage).feed(stream) == raw
    return raw


def frames(raw: bytes) -> list[Any]:
    """Each ``data:`` payload parsed, ``[DONE]`` kept as the string; every frame is data-only."""
    assert raw.endswith(b"\n\n") or not raw
    out: list[Any] = []
    for frame in raw.split(b"\n\n")[:-1]:
        assert frame.startswith(b"data: ") and b"\n" not in frame
        body = frame[len(b"data: ") :]
        out.append("[DONE]" if body == b"[DONE]" else orjson.loads(body))
    return out


def deltas(raw: bytes) -> list[dict[str, Any]]:
    return [
        f["choices"][0]["delta"] for f in frames(raw) if isinstance(f, dict) and f.get("choices")
    ]


TEXT = events(
    message_start(),
    text_start(0),
    text(0, "Hello"),
    text(0, ""),
    text(0, ", world"),
    block_stop(0),
    message_delta(),
    MESSAGE_STOP,
)

THINKING = events(
    message_start(),
    thinking_start(0),
    delta(0, "thinking_delta", "Let me think."),
    delta(0, "signature_delta", "c2ln"),
    block_stop(0),
    block_start(1, {"type": "redacted_thinking", "data": "opaque"}),
    block_stop(1),
    text_start(2),
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "citations_delta", "citation": {"type": "char_location"}},
    },
    text(2, "42"),
    block_stop(2),
    PING,
    {"type": "vendor_event", "x": 1},
    message_delta(),
    MESSAGE_STOP,
)

TOOLS = events(
    message_start(),
    text_start(0),
    text(0, "Checking both."),
    block_stop(0),
    tool_start(1, "toolu_a", "get_weather"),
    delta(1, "input_json_delta", ""),
    delta(1, "input_json_delta", '{"city": '),
    delta(1, "input_json_delta", '"Paris"}'),
    block_stop(1),
    block_start(2, {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}),
    delta(2, "input_json_delta", '{"q": "x"}'),
    block_stop(2),
    block_start(3, {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []}),
    block_stop(3),
    tool_start(4, "toolu_b", "get_time"),
    delta(4, "input_json_delta", '{"tz": "CET"}'),
    block_stop(4),
    message_delta("tool_use"),
    MESSAGE_STOP,
)

MAX_TOKENS = events(
    message_start(),
    text_start(0),
    text(0, "Once upon"),
    block_stop(0),
    message_delta("max_tokens", 3),
    MESSAGE_STOP,
)


def test_text_stream_exactly() -> None:
    # The model that answered (message_start), not the name the client asked for ("gpt-alias").
    head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"claude-test"'

    def chunk(delta: str, finish: str = "null") -> str:
        choice = f'{{"index":0,"delta":{delta},"finish_reason":{finish},"logprobs":null}}'
        return f'data: {head},"choices":[{choice}]}}\n\n'

    expected = (
        chunk('{"role":"assistant","content":""}')
        + chunk('{"content":"Hello"}')
        + chunk('{"content":", world"}')
        + chunk("{}", '"stop"')
        + "data: [DONE]\n\n"
    )
    assert encode(TEXT).decode() == expected


def test_thinking_becomes_reasoning_content_and_the_rest_is_skipped() -> None:
    assert deltas(encode(THINKING)) == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "Let me think."},
        {"content": "42"},
        {},
    ]


def test_two_tool_calls_are_numbered_from_zero() -> None:
    assert deltas(encode(TOOLS)) == [
        {"role": "assistant", "content": ""},
        {"content": "Checking both."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]},
        {},
    ]
    assert [f["choices"][0]["finish_reason"] for f in frames(encode(TOOLS))[:-1]][
        -1
    ] == "tool_calls"


def test_a_start_carrying_the_whole_input_sends_it_as_arguments() -> None:
    whole = {"type": "tool_use", "id": "t", "name": "f", "input": {"a": [1, "ü"]}}
    streamed = {**whole, "id": "u"}
    out = deltas(
        encode(
            events(
                message_start(),
                block_start(0, whole),
                block_stop(0),
                block_start(1, streamed),
                delta(1, "input_json_delta", '{"b": 2}'),
                block_stop(1),
                message_delta("tool_use"),
                MESSAGE_STOP,
            )
        )
    )
    arguments = [c["function"]["arguments"] for d in out for c in d.get("tool_calls", ())]
    # As Accumulator adds up: streamed input replaces the start's, an unstreamed start's stands.
    assert arguments == ["", '{"a":[1,"ü"]}', "", '{"b": 2}']


def test_max_tokens_finishes_with_length() -> None:
    chunks = frames(encode(MAX_TOKENS))
    assert chunks[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "finish_reason": "length",
        "logprobs": None,
    }
    assert chunks[-1] == "[DONE]"


def test_without_include_usage_no_usage_anywhere() -> None:
    assert all("usage" not in f for f in frames(encode(TEXT)) if isinstance(f, dict))


def test_include_usage_adds_null_usage_and_a_final_usage_chunk() -> None:
    stream = events(
        message_start(cache_read_input_tokens=100, cache_creation_input_tokens=None),
        text_start(0),
        text(0, "Hi"),
        block_stop(0),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 9, "input_tokens": None, "cache_creation_input_tokens": 5},
        },
        MESSAGE_STOP,
    )
    chunks = frames(encode(stream, include_usage=True))
    assert all(c["usage"] is None for c in chunks[:-2])
    assert chunks[-2] == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "claude-test",
        "choices": [],
        "usage": {
            "prompt_tokens": 117,
            "completion_tokens": 9,
            "total_tokens": 126,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }
    assert chunks[-1] == "[DONE]"


@pytest.mark.parametrize("include_usage", [False, True])
def test_error_mid_stream_ends_without_done_or_finish(include_usage: bool) -> None:
    stream = events(message_start(), text_start(0), text(0, "Half an ans"), OVERLOADED)
    enc = encoder(include_usage)
    raw = enc.feed(stream)
    # Nothing may follow the error, whatever arrives after it.
    assert enc.feed(events(text(0, "wer"), block_stop(0), message_delta(), MESSAGE_STOP)) == b""
    chunks = frames(raw)
    assert chunks[-1] == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "param": None,
            "code": "overloaded_error",
        }
    }
    assert "[DONE]" not in chunks
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_error_without_details_still_ends_the_stream() -> None:
    chunks = frames(encode(events(message_start(), {"type": "error"})))
    assert chunks[-1]["error"]["code"] == "api_error"
    assert chunks[-1]["error"]["message"]


def test_nothing_after_done() -> None:
    enc = encoder()
    raw = enc.feed(TEXT)
    assert raw.endswith(DONE) and raw.count(DONE) == 1
    assert enc.feed(TEXT) == b""


def test_a_batch_with_nothing_to_say_is_empty() -> None:
    enc = encoder()
    enc.feed(TEXT[:2])
    assert enc.feed(events(PING, delta(0, "signature_delta", "x"), text(0, ""))) == b""


# -- the official SDK reads it ----------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [False, True])
def test_sdk_stream_accumulates_to_the_same_answer(include_usage: bool) -> None:
    raw = encode(TOOLS, include_usage)
    with client(raw).chat.completions.stream(**ASK) as stream:  # type: ignore[arg-type]
        done = stream.get_final_completion()
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking both."
    calls = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or ()]
    assert calls == [
        ("toolu_a", "get_weather", '{"city": "Paris"}'),
        ("toolu_b", "get_time", '{"tz": "CET"}'),
    ]
    if include_usage:
        assert done.usage is not None and done.usage.completion_tokens == 20
    else:
        assert done.usage is None


def test_sdk_chunks_validate_strictly() -> None:
    raw = encode(THINKING, include_usage=True)
    chunks = list(client(raw).chat.completions.create(**ASK, stream=True))  # type: ignore[call-overload]
    assert [c.object for c in chunks] == ["chat.completion.chunk"] * len(chunks)
    assert chunks[1].choices[0].delta.model_extra == {"reasoning_content": "Let me think."}
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 32


def test_sdk_raises_on_the_mid_stream_error_after_the_partial_text() -> None:
    raw = encoder().feed(events(message_start(), text_start(0), text(0, "Half"), OVERLOADED))
    seen: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client(raw).chat.completions.create(**ASK, stream=True):  # type: ignore[call-overload]
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["", "Half"]
    assert caught.value.message == "Overloaded"
    assert caught.value.body == {
        "message": "Overloaded",
        "type": "server_error",
        "param": None,
        "code": "overloaded_error",
    }


# -- property: any clean stream renders to chunks that add up to its Message ---------------------------

pieces = st.lists(st.text(max_size=5), max_size=4)
tool_inputs = st.dictionaries(
    st.text(max_size=4),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=6)),
    max_size=3,
)
blocks = st.one_of(
    st.tuples(st.just("text"), pieces),
    st.tuples(st.just("thinking"), pieces),
    st.tuples(st.just("tool"), tool_inputs, st.integers(min_value=1, max_value=5)),
)


def clean_stream(content: list[tuple[Any, ...]], stop: str) -> list[Event]:
    out = [message_start()]
    for index, block in enumerate(content):
        kind = block[0]
        if kind == "text":
            out += [text_start(index), *(text(index, p) for p in block[1])]
        elif kind == "thinking":
            out.append(thinking_start(index))
            out += [delta(index, "thinking_delta", p) for p in block[1]]
            out.append(delta(index, "signature_delta", "c2ln"))
        else:
            raw = orjson.dumps(block[1]).decode()
            step = max(1, len(raw) // block[2])
            out.append(tool_start(index, f"toolu_{index}", f"tool_{index}"))
            out += [
                delta(index, "input_json_delta", raw[i : i + step])
                for i in range(0, len(raw), step)
            ]
        out.append(block_stop(index))
    return events(*out, message_delta(stop), MESSAGE_STOP)


@settings(max_examples=150, deadline=None)
@given(
    content=st.lists(blocks, max_size=5),
    stop=st.sampled_from(["end_turn", "tool_use", "max_tokens", "stop_sequence"]),
    include_usage=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=6),
)
def test_chunks_add_up_to_the_message(
    content: list[tuple[Any, ...]], stop: str, include_usage: bool, cuts: list[int]
) -> None:
    stream = clean_stream(content, stop)
    assert_valid(stream)
    acc = Accumulator()
    for event in stream:
        acc.feed(event)
    expected = chat_completion(acc.message(), completion_id="c", model="m", created=0)
    expected_reply = expected["choices"][0]["message"]

    enc = encoder(include_usage)
    bounds = [0, *sorted(cuts), len(stream)]
    raw = b"".join(enc.feed(stream[a:b]) for a, b in pairwise(bounds))

    assert raw.endswith(DONE) and raw.count(DONE) == 1
    ds = deltas(raw)
    assert "".join(d.get("content", "") for d in ds) == (expected_reply["content"] or "")
    assert "".join(d.get("reasoning_content", "") for d in ds) == expected_reply.get(
        "reasoning_content", ""
    )
    arguments: dict[int, str] = {}
    for d in ds:
        for call in d.get("tool_calls", ()):
            arguments[call["index"]] = (
                arguments.get(call["index"], "") + call["function"]["arguments"]
            )
    calls = expected_reply.get("tool_calls", [])
    assert sorted(arguments) == list(range(len(calls)))
    for k, call in enumerate(calls):
        assert orjson.loads(arguments[k]) == orjson.loads(call["function"]["arguments"])
    tools = [b for b in content if b[0] == "tool"]
    assert [orjson.loads(arguments[k]) for k in range(len(tools))] == [t[1] for t in tools]
    finishes = [
        f["choices"][0]["finish_reason"]
        for f in frames(raw)
        if isinstance(f, dict) and f["choices"]
    ]
    assert finishes[-1] == expected["choices"][0]["finish_reason"]
    assert all(f is None for f in finishes[:-1])
    if include_usage:
        assert frames(raw)[-2]["usage"] == expected["usage"]


def test_chunks_name_the_model_that_answered() -> None:
    """After a fallback the answering deployment's model, not the client's alias (accounting)."""
    start = message_start()
    start["message"]["model"] = "fallback-model"
    chunks = frames(
        encode(
            events(
                start, text_start(0), text(0, "Hi"), block_stop(0), message_delta(), MESSAGE_STOP
            )
        )
    )
    assert {c["model"] for c in chunks if isinstance(c, dict)} == {"fallback-model"}
