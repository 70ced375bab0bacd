"""chat.completions request -> Messages request: every field, accepted and refused, by table."""

from __future__ import annotations

from typing import Any

import pytest

from sseguard.translate.chat_to_messages import IGNORED_FIELDS, messages_request
from sseguard.translate.errors import TranslationError

HI = {"role": "user", "content": "hi"}
MISSING = object()  # an expected value meaning "the key is absent"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def translate(**fields: Any) -> dict[str, Any]:
    return messages_request({"model": "claude-test", "messages": [HI], **fields})


def call(call_id: str, arguments: str, name: str = "get_weather") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_use(call_id: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": tool_input}


def result(call_id: str, content: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# -- scalar and top-level fields ------------------------------------------------------------------

ACCEPTED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("minimal", {}, {"model": "claude-test", "stream": False, "max_tokens": 4096}),
    ("stream true", {"stream": True}, {"stream": True}),
    ("stream null", {"stream": None}, {"stream": False}),
    ("stream_options dropped", {"stream_options": {"include_usage": True}}, {}),
    ("max_tokens", {"max_tokens": 100}, {"max_tokens": 100}),
    ("max_completion_tokens", {"max_completion_tokens": 200}, {"max_tokens": 200}),
    ("completion wins", {"max_completion_tokens": 200, "max_tokens": 100}, {"max_tokens": 200}),
    ("null limit", {"max_completion_tokens": None, "max_tokens": 7}, {"max_tokens": 7}),
    ("stop string", {"stop": "END"}, {"stop_sequences": ["END"]}),
    ("stop list", {"stop": ["a", "b", "c", "d"]}, {"stop_sequences": ["a", "b", "c", "d"]}),
    ("stop over 4 passed", {"stop": list("abcde")}, {"stop_sequences": list("abcde")}),
    ("stop empty list", {"stop": []}, {"stop_sequences": MISSING}),
    ("stop null", {"stop": None}, {"stop_sequences": MISSING}),
    ("temperature", {"temperature": 0.3}, {"temperature": 0.3}),
    ("temperature 0", {"temperature": 0}, {"temperature": 0}),
    ("temperature clamped", {"temperature": 1.7}, {"temperature": 1.0}),
    ("temperature 2", {"temperature": 2}, {"temperature": 1.0}),
    ("top_p", {"top_p": 0.9}, {"top_p": 0.9}),
    ("top_k extra_body", {"top_k": 40}, {"top_k": 40}),
    ("user", {"user": "u-1"}, {"metadata": {"user_id": "u-1"}}),
    ("safety_identifier", {"safety_identifier": "s-1"}, {"metadata": {"user_id": "s-1"}}),
    ("user wins", {"user": "u", "safety_identifier": "s"}, {"metadata": {"user_id": "u"}}),
    ("empty user", {"user": ""}, {"metadata": MISSING}),
    ("openai metadata dropped", {"metadata": {"tag": "x"}}, {"metadata": MISSING}),
    ("n 1", {"n": 1}, {}),
    ("logprobs false", {"logprobs": False, "top_logprobs": 3}, {}),
    ("modalities text", {"modalities": ["text"]}, {}),
    ("response_format text", {"response_format": {"type": "text"}}, {}),
    ("unknown field", {"x_vendor_flag": True}, {"x_vendor_flag": MISSING}),
    ("reasoning none", {"reasoning_effort": "none"}, {"thinking": MISSING}),
    ("reasoning minimal", {"reasoning_effort": "minimal"}, {"thinking": MISSING}),
    (
        "reasoning low",
        {"reasoning_effort": "low", "max_tokens": 8000},
        {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 8000},
    ),
    (
        "reasoning medium raises default limit",
        {"reasoning_effort": "medium"},
        {"thinking": {"type": "enabled", "budget_tokens": 4096}, "max_tokens": 8192},
    ),
    (
        "reasoning high raises given limit",
        {"reasoning_effort": "high", "max_completion_tokens": 1000},
        {"thinking": {"type": "enabled", "budget_tokens": 16384}, "max_tokens": 17384},
    ),
    (
        "thinking drops sampling knobs",
        {"reasoning_effort": "low", "temperature": 0.2, "top_p": 0.5, "top_k": 5},
        {"temperature": MISSING, "top_p": MISSING, "top_k": MISSING},
    ),
    (
        "anthropic thinking passed",
        {"thinking": {"type": "enabled", "budget_tokens": 2000}, "max_tokens": 9000},
        {"thinking": {"type": "enabled", "budget_tokens": 2000}, "max_tokens": 9000},
    ),
    (
        "anthropic thinking wins over effort",
        {"thinking": {"type": "adaptive"}, "reasoning_effort": "high"},
        {"thinking": {"type": "adaptive"}, "max_tokens": 4096},
    ),
    (
        "disabled thinking keeps temperature",
        {"thinking": {"type": "disabled"}, "temperature": 0.5},
        {"thinking": {"type": "disabled"}, "temperature": 0.5},
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    out = translate(**fields)
    for key, value in expected.items():
        if value is MISSING:
            assert key not in out
        else:
            assert out[key] == value


@pytest.mark.parametrize("field", sorted(IGNORED_FIELDS))
def test_ignored_fields_leave_no_trace(field: str) -> None:
    assert translate(**{field: {"any": "value"}}) == translate()


REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("no model", {"model": None}, "model"),
    ("empty model", {"model": ""}, "model"),
    ("model not string", {"model": 3}, "model"),
    ("stream string", {"stream": "yes"}, "stream"),
    ("max_tokens zero", {"max_tokens": 0}, "max_tokens"),
    ("max_tokens negative", {"max_tokens": -5}, "max_tokens"),
    ("max_tokens float", {"max_tokens": 10.5}, "max_tokens"),
    ("max_tokens bool", {"max_tokens": True}, "max_tokens"),
    ("max_completion_tokens string", {"max_completion_tokens": "9"}, "max_completion_tokens"),
    ("stop number", {"stop": 5}, "stop"),
    ("stop item number", {"stop": ["ok", 5]}, "stop[1]"),
    ("stop whitespace", {"stop": ["\n"]}, "stop[0]"),
    ("stop empty string", {"stop": ""}, "stop[0]"),
    ("temperature negative", {"temperature": -0.1}, "temperature"),
    ("temperature over 2", {"temperature": 2.5}, "temperature"),
    ("temperature string", {"temperature": "0.5"}, "temperature"),
    ("temperature bool", {"temperature": True}, "temperature"),
    ("temperature nan", {"temperature": float("nan")}, "temperature"),
    ("top_p over 1", {"top_p": 1.5}, "top_p"),
    ("top_k zero", {"top_k": 0}, "top_k"),
    ("user number", {"user": 42}, "user"),
    ("n 2", {"n": 2}, "n"),
    ("logprobs", {"logprobs": True}, "logprobs"),
    ("audio", {"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
    ("modalities audio", {"modalities": ["text", "audio"]}, "modalities"),
    ("json_object", {"response_format": {"type": "json_object"}}, "response_format"),
    (
        "json_schema",
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        "response_format",
    ),
    ("legacy functions", {"functions": [{"name": "f"}]}, "functions"),
    ("legacy function_call", {"function_call": "auto"}, "function_call"),
    ("web search", {"web_search_options": {}}, "web_search_options"),
    ("effort unknown", {"reasoning_effort": "extreme"}, "reasoning_effort"),
    ("effort number", {"reasoning_effort": 3}, "reasoning_effort"),
    ("thinking not object", {"thinking": True}, "thinking"),
    ("thinking without type", {"thinking": {"budget_tokens": 2000}}, "thinking"),
]


@pytest.mark.parametrize(
    ("fields", "param"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_rejected(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(**fields)
    assert caught.value.param == param
    assert caught.value.detail


def test_body_not_object() -> None:
    with pytest.raises(TranslationError):
        messages_request([HI])  # type: ignore[arg-type]


def test_refusal_names_response_format_type_not_its_schema() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"a": "b" * 500}}}
    with pytest.raises(TranslationError) as caught:
        translate(response_format=schema)
    assert "json_schema" in caught.value.detail
    assert len(caught.value.detail) < 100


def test_default_max_tokens_is_the_callers() -> None:
    body = {"model": "m", "messages": [HI]}
    assert messages_request(body, default_max_tokens=321)["max_tokens"] == 321


def test_input_is_not_modified() -> None:
    body = {
        "model": "m",
        "messages": [HI, {"role": "tool", "tool_call_id": "t", "content": "x"}, HI],
        "tools": [WEATHER],
        "parallel_tool_calls": False,
    }
    snapshot = repr(body)
    messages_request(body)
    assert repr(body) == snapshot


# -- conversation -----------------------------------------------------------------------------------

CONVERSATIONS: list[tuple[str, list[Any], str | None, list[dict[str, Any]]]] = [
    ("plain user", [HI], None, [{"role": "user", "content": "hi"}]),
    (
        "system and developer anywhere, in order",
        [
            {"role": "system", "content": "A"},
            HI,
            {"role": "developer", "content": [text("B"), text("C")]},
            {"role": "assistant", "content": "ok"},
        ],
        "A\n\nB\n\nC",
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}],
    ),
    (
        "empty system skipped",
        [{"role": "system", "content": ""}, HI],
        None,
        [{"role": "user", "content": "hi"}],
    ),
    (
        "user text parts",
        [{"role": "user", "content": [text("a"), {"type": "text", "text": ""}, text("b")]}],
        None,
        [{"role": "user", "content": [text("a"), text("b")]}],
    ),
    (
        "image data url",
        [
            {
                "role": "user",
                "content": [
                    text("what is this?"),
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/PNG;base64,iVBORw0KGgo=", "detail": "low"},
                    },
                ],
            }
        ],
        None,
        [
            {
                "role": "user",
                "content": [
                    text("what is this?"),
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    },
                ],
            }
        ],
    ),
    (
        "image https url",
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.jpg"}}],
            }
        ],
        None,
        [
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}}],
            }
        ],
    ),
    (
        "conversation may start with assistant",
        [{"role": "assistant", "content": "Hello!"}, HI],
        None,
        [{"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "hi"}],
    ),
    (
        "assistant text and two tool calls, reasoning dropped, name ignored",
        [
            HI,
            {
                "role": "assistant",
                "name": "bot",
                "content": "Checking.",
                "reasoning_content": "the user wants weather",
                "tool_calls": [call("c1", '{"city": "Paris"}'), call("c2", "")],
            },
        ],
        None,
        [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    text("Checking."),
                    tool_use("c1", {"city": "Paris"}),
                    tool_use("c2", {}),
                ],
            },
        ],
    ),
    (
        "assistant null content with tool calls",
        [HI, {"role": "assistant", "content": None, "tool_calls": [call("c1", "{}")]}],
        None,
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [tool_use("c1", {})]}],
    ),
    (
        "assistant text and refusal parts",
        [
            HI,
            {
                "role": "assistant",
                "content": [text("a"), {"type": "refusal", "refusal": "no"}],
                "tool_calls": [],
            },
        ],
        None,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [text("a"), text("no")]},
        ],
    ),
    (
        "tool results then user merged, results first",
        [
            HI,
            {"role": "assistant", "tool_calls": [call("c1", "{}"), call("c2", "{}")]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "c2", "content": [text("rain"), text("cold")]},
            {"role": "user", "content": "thanks"},
        ],
        None,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [tool_use("c1", {}), tool_use("c2", {})]},
            {
                "role": "user",
                "content": [
                    result("c1", "sunny"),
                    result("c2", [text("rain"), text("cold")]),
                    text("thanks"),
                ],
            },
        ],
    ),
    (
        "user before tool result is reordered behind it",
        [
            HI,
            {"role": "assistant", "tool_calls": [call("c1", "{}")]},
            {"role": "user", "content": "also"},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ],
        None,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [tool_use("c1", {})]},
            {"role": "user", "content": [result("c1", "done"), text("also")]},
        ],
    ),
    (
        "consecutive users merged, empty string dropped",
        [HI, {"role": "user", "content": ""}, {"role": "user", "content": [text("again")]}],
        None,
        [{"role": "user", "content": [text("hi"), text("again")]}],
    ),
    (
        "consecutive assistants merged",
        [HI, {"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}],
        None,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [text("a"), text("b")]},
        ],
    ),
]


@pytest.mark.parametrize(
    ("messages", "system", "expected"),
    [c[1:] for c in CONVERSATIONS],
    ids=[c[0] for c in CONVERSATIONS],
)
def test_conversation(
    messages: list[Any], system: str | None, expected: list[dict[str, Any]]
) -> None:
    out = translate(messages=messages)
    assert out.get("system") == system
    assert out["messages"] == expected


def image(url: Any) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}


def assistant_call(arguments: Any, **changes: Any) -> dict[str, Any]:
    tool_call = {**call("c1", "{}"), **changes}
    tool_call["function"] = {"name": "f", "arguments": arguments, **changes.get("function", {})}
    return {"role": "assistant", "tool_calls": [tool_call]}


BAD_MESSAGES: list[tuple[str, Any, str]] = [
    ("not a list", "hi", "messages"),
    ("empty", [], "messages"),
    ("only system", [{"role": "system", "content": "x"}], "messages"),
    ("not an object", [HI, "hi"], "messages[1]"),
    ("unknown role", [{"role": "critic", "content": "x"}], "messages[0].role"),
    (
        "legacy function role",
        [{"role": "function", "name": "f", "content": "x"}],
        "messages[0].role",
    ),
    ("system number", [{"role": "system", "content": 5}, HI], "messages[0].content"),
    (
        "system image part",
        [{"role": "system", "content": [{"type": "image_url", "image_url": {}}]}, HI],
        "messages[0].content[0].type",
    ),
    ("user null content", [{"role": "user", "content": None}], "messages[0].content"),
    (
        "user audio part",
        [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
        "messages[0].content[0].type",
    ),
    (
        "user file part",
        [{"role": "user", "content": [text("x"), {"type": "file", "file": {}}]}],
        "messages[0].content[1].type",
    ),
    ("user part not object", [{"role": "user", "content": ["x"]}], "messages[0].content[0].type"),
    (
        "text part without text",
        [{"role": "user", "content": [{"type": "text"}]}],
        "messages[0].content[0].text",
    ),
    ("image url missing", [image(None)], "messages[0].content[0].image_url.url"),
    (
        "image_url not object",
        [{"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]}],
        "messages[0].content[0].image_url.url",
    ),
    ("data url not base64", [image("data:image/png,abc")], "messages[0].content[0].image_url.url"),
    ("data url no media type", [image("data:;base64,abc")], "messages[0].content[0].image_url.url"),
    ("data url no comma", [image("data:image/png;base64")], "messages[0].content[0].image_url.url"),
    ("data url no data", [image("data:image/png;base64,")], "messages[0].content[0].image_url.url"),
    (
        "data url svg",
        [image("data:image/svg+xml;base64,PHN2Zz4=")],
        "messages[0].content[0].image_url.url",
    ),
    ("file scheme", [image("file:///etc/passwd")], "messages[0].content[0].image_url.url"),
    ("assistant empty", [HI, {"role": "assistant", "content": None}], "messages[1]"),
    (
        "assistant legacy function_call",
        [HI, {"role": "assistant", "content": None, "function_call": {"name": "f"}}],
        "messages[1].function_call",
    ),
    (
        "assistant image part",
        [HI, {"role": "assistant", "content": [{"type": "image_url"}], "tool_calls": []}],
        "messages[1].content[0].type",
    ),
    (
        "assistant refusal not string",
        [HI, {"role": "assistant", "content": [{"type": "refusal"}]}],
        "messages[1].content[0].refusal",
    ),
    (
        "assistant content number",
        [HI, {"role": "assistant", "content": 3, "tool_calls": [call("c", "{}")]}],
        "messages[1].content",
    ),
    (
        "tool_calls not list",
        [HI, {"role": "assistant", "tool_calls": {}}],
        "messages[1].tool_calls",
    ),
    (
        "tool call not object",
        [HI, {"role": "assistant", "tool_calls": ["x"]}],
        "messages[1].tool_calls[0]",
    ),
    (
        "custom tool call",
        [HI, assistant_call("{}", type="custom")],
        "messages[1].tool_calls[0].type",
    ),
    ("tool call without id", [HI, assistant_call("{}", id=None)], "messages[1].tool_calls[0].id"),
    (
        "tool call without function",
        [HI, {"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}],
        "messages[1].tool_calls[0].function",
    ),
    (
        "tool call without name",
        [HI, assistant_call("{}", function={"name": ""})],
        "messages[1].tool_calls[0].function.name",
    ),
    (
        "arguments not JSON",
        [HI, assistant_call('{"city": ')],
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "arguments a JSON list",
        [HI, assistant_call("[1, 2]")],
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "arguments an object, not a string",
        [HI, assistant_call({"city": "Paris"})],
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "second call's arguments",
        [
            {"role": "system", "content": "s"},
            HI,
            {"role": "assistant", "tool_calls": [call("a", "{}"), call("b", "nope")]},
        ],
        "messages[2].tool_calls[1].function.arguments",
    ),
    ("tool without id", [HI, {"role": "tool", "content": "x"}], "messages[1].tool_call_id"),
    (
        "tool null content",
        [HI, {"role": "tool", "tool_call_id": "c", "content": None}],
        "messages[1].content",
    ),
    (
        "tool image part",
        [HI, {"role": "tool", "tool_call_id": "c", "content": [{"type": "image_url"}]}],
        "messages[1].content[0].type",
    ),
]


@pytest.mark.parametrize(
    ("messages", "param"), [c[1:] for c in BAD_MESSAGES], ids=[c[0] for c in BAD_MESSAGES]
)
def test_bad_messages(messages: Any, param: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(messages=messages)
    assert caught.value.param == param


def test_unsupported_part_names_its_type() -> None:
    with pytest.raises(TranslationError, match="input_audio"):
        translate(messages=[{"role": "user", "content": [{"type": "input_audio"}]}])


def test_legacy_function_role_says_unsupported() -> None:
    with pytest.raises(TranslationError, match="not supported"):
        translate(messages=[{"role": "function", "name": "f", "content": "x"}])


# -- tools ----------------------------------------------------------------------------------------

TOOLS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("tools", {"tools": [WEATHER]}, {"tools": [WEATHER_TOOL], "tool_choice": MISSING}),
    (
        "no parameters, strict dropped",
        {"tools": [{"type": "function", "function": {"name": "now", "strict": True}}]},
        {"tools": [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]},
    ),
    ("empty tools", {"tools": []}, {"tools": MISSING}),
    ("auto", {"tools": [WEATHER], "tool_choice": "auto"}, {"tool_choice": {"type": "auto"}}),
    ("none", {"tools": [WEATHER], "tool_choice": "none"}, {"tool_choice": {"type": "none"}}),
    ("required", {"tools": [WEATHER], "tool_choice": "required"}, {"tool_choice": {"type": "any"}}),
    (
        "named",
        {
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        {"tool_choice": {"type": "tool", "name": "get_weather"}},
    ),
    (
        "not parallel, no choice",
        {"tools": [WEATHER], "parallel_tool_calls": False},
        {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
    ),
    (
        "not parallel, required",
        {"tools": [WEATHER], "tool_choice": "required", "parallel_tool_calls": False},
        {"tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
    ),
    (
        "not parallel, none",
        {"tools": [WEATHER], "tool_choice": "none", "parallel_tool_calls": False},
        {"tool_choice": {"type": "none"}},
    ),
    ("parallel true", {"tools": [WEATHER], "parallel_tool_calls": True}, {"tool_choice": MISSING}),
    ("auto without tools", {"tool_choice": "auto"}, {"tools": MISSING, "tool_choice": MISSING}),
    ("none without tools", {"tool_choice": "none"}, {"tool_choice": MISSING}),
    ("not parallel without tools", {"parallel_tool_calls": False}, {"tool_choice": MISSING}),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in TOOLS], ids=[c[0] for c in TOOLS])
def test_tools(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    test_accepted(fields, expected)


BAD_TOOLS: list[tuple[str, dict[str, Any], str]] = [
    ("tools not list", {"tools": {}}, "tools"),
    ("tool not object", {"tools": ["f"]}, "tools[0]"),
    ("custom tool", {"tools": [WEATHER, {"type": "custom", "custom": {}}]}, "tools[1].type"),
    ("no function", {"tools": [{"type": "function"}]}, "tools[0].function"),
    ("no name", {"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
    (
        "description number",
        {"tools": [{"type": "function", "function": {"name": "f", "description": 1}}]},
        "tools[0].function.description",
    ),
    (
        "parameters list",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
        "tools[0].function.parameters",
    ),
    ("choice unknown string", {"tools": [WEATHER], "tool_choice": "any"}, "tool_choice"),
    (
        "choice allowed_tools",
        {"tools": [WEATHER], "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}},
        "tool_choice",
    ),
    (
        "choice without name",
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {}}},
        "tool_choice.function.name",
    ),
    (
        "choice names unknown tool",
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        "tool_choice",
    ),
    ("required without tools", {"tool_choice": "required"}, "tool_choice"),
    (
        "named without tools",
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
        "tool_choice",
    ),
    ("parallel string", {"tools": [WEATHER], "parallel_tool_calls": "no"}, "parallel_tool_calls"),
]


@pytest.mark.parametrize(
    ("fields", "param"), [c[1:] for c in BAD_TOOLS], ids=[c[0] for c in BAD_TOOLS]
)
def test_bad_tools(fields: dict[str, Any], param: str) -> None:
    test_rejected(fields, param)
