"""Final Message -> chat.completion, and the OpenAI error body, read back by the official SDK."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from openai_wire import ASK, client

from sseguard.translate.completion_out import chat_completion, error_body

IDS = {"completion_id": "chatcmpl-1", "model": "gpt-alias", "created": 1_700_000_000}
USAGE = {"input_tokens": 10, "output_tokens": 5}


def message(
    content: list[dict[str, Any]], stop: str | None = "end_turn", **extra: Any
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": USAGE,
        **extra,
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool(tool_id: str, tool_input: Any, name: str = "get_weather") -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": "sig"}


def test_envelope() -> None:
    out = chat_completion(message([text("Hi")]), **IDS)
    assert out == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-alias",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


REPLIES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    ("texts joined", [text("Hello, "), text("world")], {"content": "Hello, world"}),
    ("no content", [], {"content": None}),
    (
        "tool calls, compact JSON",
        [text("Let me check."), tool("t1", {"city": "Paris", "n": [1, 2]}), tool("t2", {})],
        {
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris","n":[1,2]}'},
                },
                {
                    "id": "t2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                },
            ],
        },
    ),
    ("only a tool call", [tool("t1", {"a": "é"})], {"content": None}),
    (
        "thinking joined",
        [
            thinking("first "),
            {"type": "redacted_thinking", "data": "xx"},
            thinking("then"),
            text("A"),
        ],
        {"content": "A", "reasoning_content": "first then"},
    ),
    (
        "empty thinking left out",
        [thinking(""), text("A")],
        {"content": "A", "reasoning_content": None},
    ),
    (
        "server tools left out",
        [
            {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"q": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "s1", "content": []},
            text("Found."),
        ],
        {"content": "Found.", "tool_calls": None},
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in REPLIES], ids=[c[0] for c in REPLIES]
)
def test_reply(content: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    reply = chat_completion(message(content, "tool_use"), **IDS)["choices"][0]["message"]
    for key, value in expected.items():
        assert reply.get(key) == value


def test_arguments_parse_back_to_the_input() -> None:
    tool_input = {"query": "naïve \u2028 line", "nested": {"x": None, "y": 1.5}}
    reply = chat_completion(message([tool("t1", tool_input)]), **IDS)["choices"][0]["message"]
    assert orjson.loads(reply["tool_calls"][0]["function"]["arguments"]) == tool_input


def test_integers_beyond_64_bits_still_render() -> None:
    reply = chat_completion(message([tool("t1", {"n": 2**70})]), **IDS)["choices"][0]["message"]
    assert reply["tool_calls"][0]["function"]["arguments"] == '{"n":1180591620717411303424}'


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("some_future_reason", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reason(stop: str | None, finish: str) -> None:
    assert (
        chat_completion(message([text("x")], stop), **IDS)["choices"][0]["finish_reason"] == finish
    )


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {
                "input_tokens": 10,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 7,
            },
            {
                "prompt_tokens": 1110,
                "completion_tokens": 7,
                "total_tokens": 1117,
                "prompt_tokens_details": {"cached_tokens": 1000},
            },
        ),
        (
            {"input_tokens": 3, "cache_read_input_tokens": None, "output_tokens": 0},
            {
                "prompt_tokens": 3,
                "completion_tokens": 0,
                "total_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        ),
        (
            None,
            {
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        ),
    ],
    ids=["cache tokens", "null cache", "no usage"],
)
def test_usage(usage: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert chat_completion(message([text("x")], usage=usage), **IDS)["usage"] == expected


def test_malformed_message_does_not_raise() -> None:
    odd = {"content": [None, "x", {"type": "text", "text": None}], "usage": "lots"}
    out = chat_completion(odd, **IDS)
    assert out["choices"][0]["message"]["content"] is None
    assert out["choices"][0]["finish_reason"] == "stop"


def test_the_sdk_reads_the_completion() -> None:
    content = [thinking("hmm"), text("Checking."), tool("t1", {"city": "Paris"})]
    body = orjson.dumps(chat_completion(message(content, "tool_use"), **IDS))
    done = client(body, stream=False).chat.completions.create(**ASK)  # type: ignore[call-overload]
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert choice.message.tool_calls[0].function.arguments == '{"city":"Paris"}'
    assert choice.message.model_extra == {"reasoning_content": "hmm"}
    assert done.usage.total_tokens == 15


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anthropic_type", "openai_type"),
    [
        ("invalid_request_error", "invalid_request_error"),
        ("overloaded_error", "server_error"),
        ("api_error", "server_error"),
        ("rate_limit_error", "rate_limit_error"),
        ("request_too_large", "invalid_request_error"),
        ("timeout_error", "timeout"),
        ("brand_new_error", "brand_new_error"),
    ],
)
def test_error_body(anthropic_type: str, openai_type: str) -> None:
    body = orjson.loads(error_body(anthropic_type, "it broke"))
    assert body == {
        "error": {"message": "it broke", "type": openai_type, "param": None, "code": anthropic_type}
    }


def test_error_body_param() -> None:
    body = orjson.loads(error_body("invalid_request_error", "bad", param="messages[0].content"))
    assert body["error"]["param"] == "messages[0].content"


def test_the_sdk_reads_the_error_body() -> None:
    body = error_body("invalid_request_error", "n=2 is not supported", param="n")
    with pytest.raises(openai.BadRequestError) as caught:
        client(body, status=400, stream=False).chat.completions.create(**ASK)  # type: ignore[call-overload]
    assert caught.value.message.endswith("n=2 is not supported")
    assert caught.value.param == "n"
    assert caught.value.code == "invalid_request_error"
    assert caught.value.type == "invalid_request_error"
