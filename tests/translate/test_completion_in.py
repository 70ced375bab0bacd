"""Whole OpenAI answers as Anthropic ones: a chat.completion (F25) and error bodies (F17-F19, F26)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sseguard.translate.completion_in import anthropic_error_from_openai, message_from_completion

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
messages = st.fixed_dictionaries(
    {},
    optional={
        k: json_values for k in ("content", "reasoning_content", "reasoning", "tool_calls", "role")
    },
)
choices = st.fixed_dictionaries(
    {}, optional={"message": messages | json_values, "finish_reason": json_values}
)
completions = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "model": json_values,
        "choices": st.lists(choices | json_values, max_size=2) | json_values,
        "usage": json_values,
        "error": json_values,
    },
)

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def completion(message: dict[str, Any], finish: Any = "stop", **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1,
        "model": "qwen3",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": USAGE,
    }
    body.update(top)
    return body


def call(call_id: str | None, name: str, args: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args}}
    if call_id is not None:
        out["id"] = call_id
    return out


def test_text_completion() -> None:
    assert message_from_completion(completion({"content": "Hello"}), model="claude-x") == {
        "id": "msg_chatcmpl-9",
        "type": "message",
        "role": "assistant",
        "model": "qwen3",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }


@pytest.mark.parametrize(
    ("message", "finish", "content", "stop_reason"),
    [
        ({"content": "x"}, "length", [{"type": "text", "text": "x"}], "max_tokens"),
        ({"content": "x"}, "content_filter", [{"type": "text", "text": "x"}], "refusal"),
        ({"content": "x"}, None, [{"type": "text", "text": "x"}], "end_turn"),
        ({"content": None}, "stop", [], "end_turn"),
        ({"content": ""}, "stop", [], "end_turn"),
        (
            {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            "stop",
            [{"type": "text", "text": "ab"}],
            "end_turn",
        ),
        (
            {"reasoning_content": "think", "content": "say"},
            "stop",
            [
                {"type": "thinking", "thinking": "think", "signature": ""},
                {"type": "text", "text": "say"},
            ],
            "end_turn",
        ),
        (
            {"reasoning": "think"},
            "stop",
            [{"type": "thinking", "thinking": "think", "signature": ""}],
            "end_turn",
        ),
        (
            {
                "content": None,
                "tool_calls": [call("call_1", "f", '{"a": 1}'), call("call_2", "g", "")],
            },
            "tool_calls",
            [
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "call_2", "name": "g", "input": {}},
            ],
            "tool_use",
        ),
        (
            {"tool_calls": [call("call_1", "f", {"a": 1})]},
            "stop",
            [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}],
            "tool_use",
        ),
        (
            {"tool_calls": [call(None, "f", "{}")]},
            "tool_calls",
            [{"type": "tool_use", "id": "call_chatcmpl-9_0", "name": "f", "input": {}}],
            "tool_use",
        ),
        ({"content": "no calls"}, "tool_calls", [{"type": "text", "text": "no calls"}], "end_turn"),
        (
            {
                "content": [
                    {"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]},
                    {"type": "text", "text": "ok"},
                ]
            },
            "stop",
            [
                {"type": "thinking", "thinking": "hm", "signature": ""},
                {"type": "text", "text": "ok"},
            ],
            "end_turn",
        ),
    ],
)
def test_completion_content_and_stop_reason(
    message: dict[str, Any], finish: Any, content: list[Any], stop_reason: str
) -> None:
    out = message_from_completion(completion(message, finish), model="m")
    assert out is not None
    assert out["content"] == content
    assert out["stop_reason"] == stop_reason


def test_model_and_id_fallbacks_and_usage_details() -> None:
    body = completion({"content": "x"}, model=None, id=None)
    body["usage"] = {
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    out = message_from_completion(body, model="claude-client")
    assert out is not None
    assert out["model"] == "claude-client"
    assert out["id"].startswith("msg_sseguard_")
    assert out["usage"] == {"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 8}
    del body["usage"]
    assert message_from_completion(body, model="m")["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
    }  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "bad", "type": "invalid_request_error"}},
        {"object": "error", "message": "bad", "code": 400},
        {"choices": []},
        {"choices": "x"},
        {"choices": [None]},
        {"choices": [{"index": 0, "delta": {"content": "a chunk, not a completion"}}]},
        completion({"tool_calls": [call("c", "f", "{not json")]}),
        completion({"tool_calls": [call("c", "f", "[1, 2]")]}),
        completion({"tool_calls": [call("c", "", "{}")]}),
        completion({"tool_calls": [{"id": "c"}]}),
        completion({"content": "half an answ"}, "error"),
        completion({"content": "x"}, error={"message": "late failure"}),
    ],
)
def test_not_a_completion_is_none(body: dict[str, Any]) -> None:
    assert message_from_completion(body, model="m") is None


# -- error bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
        (200, "api_error"),
    ],
)
def test_error_type_follows_the_status(status: int, error_type: str) -> None:
    body = orjson.dumps({"error": {"message": "nope", "type": "x", "code": None, "param": None}})
    out = anthropic_error_from_openai(status, body)
    assert out is not None
    assert orjson.loads(out) == {"type": "error", "error": {"type": error_type, "message": "nope"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "error": {
                    "message": "Rate limit reached for requests",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
            "Rate limit reached for requests",
        ),
        ({"error": "model 'llama9' not found"}, "model 'llama9' not found"),
        ({"detail": "Not Found"}, "Not Found"),
        (
            {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]},
            '[{"loc":["body","messages"],"msg":"field required"}]',
        ),
        ({"message": "Invalid API key"}, "Invalid API key"),
        (
            {"object": "error", "message": "maximum context length is 8192 tokens", "code": 400},
            "maximum context length is 8192 tokens",
        ),
        ({"error": {"code": 500}}, '{"code":500}'),
        ({"error": {}}, "the upstream answered HTTP 400 with an empty error object"),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "Overloaded",
        ),
    ],
)
def test_error_shapes(body: dict[str, Any], message: str) -> None:
    out = anthropic_error_from_openai(400, orjson.dumps(body))
    assert out is not None
    assert orjson.loads(out)["error"]["message"] == message


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b"upstream connect error",
        b"[1, 2]",
        b'"error"',
        b'{"status": "down"}',
        b'{"error": null}',
        b'{"error": ""}',
        b'{"detail": null}',
        b'{"message": 5}',
    ],
)
def test_unknown_bodies_are_none_for_the_caller_to_treat_as_F26(body: bytes) -> None:
    assert anthropic_error_from_openai(502, body) is None


@given(completions)
def test_any_completion_shape_never_raises(body: dict[str, Any]) -> None:
    out = message_from_completion(body, model="m")
    if out is not None:
        assert out["stop_reason"] in ("end_turn", "max_tokens", "tool_use", "refusal")
        assert all(isinstance(b["input"], dict) for b in out["content"] if b["type"] == "tool_use")


@given(st.integers(100, 599), completions.map(orjson.dumps) | st.binary(max_size=40))
def test_any_error_body_never_raises(status: int, body: bytes) -> None:
    out = anthropic_error_from_openai(status, body)
    if out is not None:
        error = orjson.loads(out)["error"]
        assert isinstance(error["message"], str) and isinstance(error["type"], str)
