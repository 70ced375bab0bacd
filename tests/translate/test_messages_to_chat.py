"""chat_request: every Messages request field, accepted and refused, and Claude Code-like requests."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sseguard.translate.errors import TranslationError
from sseguard.translate.messages_to_chat import chat_request

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
PNG_URL = "data:image/png;base64,iVBORw0KGgo="
CACHE = {"cache_control": {"type": "ephemeral"}}


def request(messages: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"model": "qwen3", "max_tokens": 1024, "messages": messages or [user("hi")]}
    body.update(fields)
    return body


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def tool_use(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": args}


def tool_result(call_id: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **extra}


def messages(**fields: Any) -> list[dict[str, Any]]:
    return list(chat_request(request(**fields))["messages"])


# -- the envelope ----------------------------------------------------------------------------


def test_minimal_request_always_streams_with_usage() -> None:
    out = chat_request(request(stream=False))
    assert out == {
        "model": "qwen3",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 1024,
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"temperature": 0.2, "top_p": 0.9}, {"temperature": 0.2, "top_p": 0.9}),
        ({"temperature": 1}, {"temperature": 1}),
        ({"top_k": 40}, {}),
        ({"stop_sequences": ["\n\nHuman:", "END"]}, {"stop": ["\n\nHuman:", "END"]}),
        ({"stop_sequences": []}, {}),
        ({"metadata": {"user_id": "user_abc"}}, {"user": "user_abc"}),
        ({"metadata": {}}, {}),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, {"reasoning_effort": "low"}),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, {"reasoning_effort": "low"}),
        ({"thinking": {"type": "enabled", "budget_tokens": 2049}}, {"reasoning_effort": "medium"}),
        ({"thinking": {"type": "enabled", "budget_tokens": 8192}}, {"reasoning_effort": "medium"}),
        ({"thinking": {"type": "enabled", "budget_tokens": 31999}}, {"reasoning_effort": "high"}),
        ({"thinking": {"type": "disabled"}}, {}),
        ({"thinking": {"type": "adaptive"}}, {}),
        (
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}},
            {"reasoning_effort": "medium"},
        ),
        (
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            {"reasoning_effort": "high"},
        ),
        ({"output_config": {"effort": "low"}}, {}),
        ({"service_tier": "auto", "container": None}, {}),
    ],
)
def test_top_level_fields(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    out = chat_request(request(**fields))
    rest = {k: v for k, v in out.items() if k not in ("model", "messages", "stream")}
    assert rest == {"stream_options": {"include_usage": True}, "max_tokens": 1024, **expected}


def test_max_tokens_may_be_absent() -> None:
    body = request()
    del body["max_tokens"]
    assert "max_tokens" not in chat_request(body)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": 3, "messages": []}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": {"role": "user"}}, "messages"),
        (request(max_tokens="10"), "max_tokens"),
        (request(max_tokens=True), "max_tokens"),
        (request(temperature="hot"), "temperature"),
        (request(top_p=[1]), "top_p"),
        (request(stop_sequences="END"), "stop_sequences"),
        (request(stop_sequences=["a", 1]), "stop_sequences"),
        (request(thinking="on"), "thinking"),
        (request(thinking={"budget_tokens": 10}), "thinking"),
        (request(thinking={"type": "enabled"}), "thinking.budget_tokens"),
        (request(system=5), "system"),
        (request(system=[{"type": "image", "source": PNG}]), "system[0].type"),
        (request(system=[text("a"), {"text": "b"}]), "system[1].type"),
        (request(system=[{"type": "text", "text": 1}]), "system[0].text"),
    ],
)
def test_malformed_envelope_names_the_param(body: Any, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        chat_request(body)
    assert info.value.param == param


def test_body_that_is_not_an_object() -> None:
    with pytest.raises(TranslationError):
        chat_request([])  # type: ignore[arg-type]


# -- system ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", "Be brief."),
        (
            [text("You are Claude Code.", **CACHE), text("Rules.", **CACHE)],
            "You are Claude Code.\n\nRules.",
        ),
        ("", None),
        ([], None),
        (None, None),
    ],
)
def test_system_becomes_one_leading_message(system: Any, expected: str | None) -> None:
    out = messages(system=system)
    if expected is None:
        assert out == [{"role": "user", "content": "hi"}]
    else:
        assert out[0] == {"role": "system", "content": expected}
        assert out[1:] == [{"role": "user", "content": "hi"}]


# -- user turns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain", "plain"),
        ([text("one", **CACHE)], "one"),
        (
            [text("<system-reminder>x</system-reminder>"), text("do it")],
            "<system-reminder>x</system-reminder>\n\ndo it",
        ),
        (
            [text("what is this?"), {"type": "image", "source": PNG}],
            [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": PNG_URL}},
            ],
        ),
        (
            [{"type": "image", "source": {"type": "url", "url": "https://x/cat.jpg"}}],
            [{"type": "image_url", "image_url": {"url": "https://x/cat.jpg"}}],
        ),
        (
            [
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "body"},
                },
                text("summarise"),
            ],
            "body\n\nsummarise",
        ),
        (
            [{"type": "document", "title": "Notes", "source": {"type": "text", "data": "body"}}],
            "Notes\n\nbody",
        ),
        (
            [
                {
                    "type": "document",
                    "source": {"type": "content", "content": [text("a"), text("b")]},
                }
            ],
            "a\n\nb",
        ),
        ([], ""),
    ],
)
def test_user_content(content: Any, expected: Any) -> None:
    assert messages(messages=[user(content)]) == [{"role": "user", "content": expected}]


def test_tool_results_go_first_as_tool_messages() -> None:
    out = messages(
        messages=[
            user("weather in Paris and the time?"),
            assistant(
                [
                    text("Checking."),
                    tool_use("toolu_1", "weather", {"city": "Paris"}),
                    tool_use("toolu_2", "time", {}),
                ]
            ),
            user(
                [
                    text("also, be quick"),
                    tool_result("toolu_1", "18°C", **CACHE),
                    tool_result("toolu_2", [text("12:00"), text("CET")]),
                ]
            ),
        ]
    )
    assert out == [
        {"role": "user", "content": "weather in Paris and the time?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18°C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "12:00\nCET"},
        {"role": "user", "content": "also, be quick"},
    ]


@pytest.mark.parametrize(
    ("result", "content"),
    [
        (tool_result("t", "boom", is_error=True), "Error: boom"),
        (tool_result("t", [text("a"), text("b")], is_error=True), "Error: a\nb"),
        (tool_result("t", "fine", is_error=False), "fine"),
        ({"type": "tool_result", "tool_use_id": "t"}, ""),
        (tool_result("t", []), ""),
        (
            tool_result("t", [{"type": "document", "source": {"type": "text", "data": "doc"}}]),
            "doc",
        ),
    ],
)
def test_tool_result_content(result: dict[str, Any], content: str) -> None:
    assert messages(messages=[user([result])]) == [
        {"role": "tool", "tool_call_id": "t", "content": content}
    ]


def test_tool_result_images_follow_in_the_user_message_with_a_note() -> None:
    screenshot = {"type": "image", "source": PNG}
    out = messages(
        messages=[
            user([tool_result("toolu_9", [text("captured"), screenshot]), text("what do you see?")])
        ]
    )
    assert out == [
        {
            "role": "tool",
            "tool_call_id": "toolu_9",
            "content": "captured\n[1 image(s) follow in the next user message]",
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Image output of tool call toolu_9:"},
                {"type": "image_url", "image_url": {"url": PNG_URL}},
                {"type": "text", "text": "what do you see?"},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (42, "messages[0].content"),
        (None, "messages[0].content"),
        (["text"], "messages[0].content[0]"),
        ([{"text": "no type"}], "messages[0].content[0].type"),
        ([{"type": 7}], "messages[0].content[0].type"),
        ([{"type": "video"}], "messages[0].content[0].type"),
        ([{"type": "thinking", "thinking": "x"}], "messages[0].content[0].type"),
        ([{"type": "text", "text": None}], "messages[0].content[0].text"),
        ([text("ok"), {"type": "image"}], "messages[0].content[1].source"),
        (
            [{"type": "image", "source": {"type": "base64", "data": "x"}}],
            "messages[0].content[0].source",
        ),
        (
            [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
            "messages[0].content[0].source.type",
        ),
        (
            [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                }
            ],
            "messages[0].content[0].source.type",
        ),
        (
            [{"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}],
            "messages[0].content[0].source.type",
        ),
        ([{"type": "tool_result", "content": "x"}], "messages[0].content[0].tool_use_id"),
        ([tool_result("t", 5)], "messages[0].content[0].content"),
        ([tool_result("t", [{"type": "search_result"}])], "messages[0].content[0].content[0].type"),
        (
            [tool_result("t", [text("a"), {"type": "text"}])],
            "messages[0].content[0].content[1].text",
        ),
    ],
)
def test_malformed_user_content_names_the_param(content: Any, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        chat_request(request(messages=[user(content)]))
    assert info.value.param == param
    assert param in str(info.value)


@pytest.mark.parametrize(
    ("turn", "param"),
    [
        ("hello", "messages[0]"),
        ({"role": "system", "content": "x"}, "messages[0].role"),
        ({"content": "x"}, "messages[0].role"),
    ],
)
def test_malformed_turn_names_the_param(turn: Any, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        chat_request(request(messages=[turn]))
    assert info.value.param == param


# -- assistant turns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Sure, here", [{"role": "assistant", "content": "Sure, here"}]),
        ([text("Hello "), text("world")], [{"role": "assistant", "content": "Hello world"}]),
        (
            [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xx"},
                text("Answer"),
            ],
            [{"role": "assistant", "content": "Answer"}],
        ),
        ([{"type": "thinking", "thinking": "hmm", "signature": "sig"}], []),
        (
            [tool_use("toolu_1", "read", {"path": "a b", "n": [1, 2]})],
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "read", "arguments": '{"path":"a b","n":[1,2]}'},
                        }
                    ],
                }
            ],
        ),
    ],
)
def test_assistant_content(content: Any, expected: list[dict[str, Any]]) -> None:
    out = messages(messages=[user("hi"), assistant(content)])
    assert out[1:] == expected


def test_trailing_assistant_prefill_is_kept_last() -> None:
    out = messages(messages=[user("Write JSON"), assistant("{")])
    assert out[-1] == {"role": "assistant", "content": "{"}


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (
            [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}],
            "messages[1].content[0].type",
        ),
        (
            [{"type": "web_search_tool_result", "tool_use_id": "s", "content": []}],
            "messages[1].content[0].type",
        ),
        ([{"type": "tool_use", "name": "f", "input": {}}], "messages[1].content[0].id"),
        ([{"type": "tool_use", "id": "t", "input": {}}], "messages[1].content[0].name"),
        (
            [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}],
            "messages[1].content[0].input",
        ),
        ([text("a"), {"type": "image", "source": PNG}], "messages[1].content[1].type"),
        ([tool_result("t")], "messages[1].content[0].type"),
    ],
)
def test_malformed_assistant_content_names_the_param(content: Any, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        chat_request(request(messages=[user("hi"), assistant(content)]))
    assert info.value.param == param


# -- tools -----------------------------------------------------------------------------------

BASH = {
    "name": "Bash",
    "description": "Run a command",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
}
BASH_FN = {
    "type": "function",
    "function": {
        "name": "Bash",
        "parameters": BASH["input_schema"],
        "description": "Run a command",
    },
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tools": [BASH]}, {"tools": [BASH_FN]}),
        ({"tools": [{**BASH, **CACHE, "type": "custom"}]}, {"tools": [BASH_FN]}),
        (
            {"tools": [{"name": "noop", "input_schema": {"type": "object"}}]},
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "noop", "parameters": {"type": "object"}},
                    }
                ]
            },
        ),
        ({"tools": []}, {}),
        ({"tools": [], "tool_choice": {"type": "any"}}, {}),
        (
            {"tools": [BASH], "tool_choice": {"type": "auto"}},
            {"tools": [BASH_FN], "tool_choice": "auto"},
        ),
        (
            {"tools": [BASH], "tool_choice": {"type": "any"}},
            {"tools": [BASH_FN], "tool_choice": "required"},
        ),
        (
            {"tools": [BASH], "tool_choice": {"type": "none"}},
            {"tools": [BASH_FN], "tool_choice": "none"},
        ),
        (
            {"tools": [BASH], "tool_choice": {"type": "tool", "name": "Bash"}},
            {"tools": [BASH_FN], "tool_choice": {"type": "function", "function": {"name": "Bash"}}},
        ),
        (
            {"tools": [BASH], "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
            {"tools": [BASH_FN], "tool_choice": "auto", "parallel_tool_calls": False},
        ),
        (
            {"tools": [BASH], "tool_choice": {"type": "any", "disable_parallel_tool_use": False}},
            {"tools": [BASH_FN], "tool_choice": "required"},
        ),
    ],
)
def test_tools_and_tool_choice(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    out = chat_request(request(**fields))
    got = {k: out[k] for k in ("tools", "tool_choice", "parallel_tool_calls") if k in out}
    assert got == expected


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": {"name": "x"}}, "tools"),
        ({"tools": ["Bash"]}, "tools[0]"),
        ({"tools": [BASH, {"type": "web_search_20250305", "name": "web_search"}]}, "tools[1].type"),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools[0].type"),
        (
            {"tools": [{"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}]},
            "tools[0].type",
        ),
        ({"tools": [{"input_schema": {}}]}, "tools[0].name"),
        ({"tools": [{"name": "x"}]}, "tools[0].input_schema"),
        ({"tools": [BASH], "tool_choice": "auto"}, "tool_choice"),
        ({"tools": [BASH], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"tools": [BASH], "tool_choice": {"type": "whatever"}}, "tool_choice.type"),
    ],
)
def test_malformed_or_untranslatable_tools_name_the_param(
    fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(TranslationError) as info:
        chat_request(request(**fields))
    assert info.value.param == param


def test_server_tool_error_names_the_tool() -> None:
    with pytest.raises(TranslationError, match="web_search_20250305"):
        chat_request(request(tools=[{"type": "web_search_20250305", "name": "web_search"}]))


# -- a Claude Code-like request --------------------------------------------------------------


def test_claude_code_like_request_translates_cleanly() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": True,
        "temperature": 1,
        "metadata": {"user_id": "user_abc_account__session_1"},
        "system": [
            text("You are Claude Code, Anthropic's official CLI for Claude.", **CACHE),
            text("You are an interactive CLI tool...", **CACHE),
        ],
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "tools": [BASH, {**BASH, "name": "Read", **CACHE}],
        "messages": [
            user([text("<system-reminder>ctx</system-reminder>"), text("list files", **CACHE)]),
            assistant(
                [
                    {
                        "type": "thinking",
                        "thinking": "I should run ls",
                        "signature": "EqQBCkYIB...",
                    },
                    text("I'll list them."),
                    tool_use("toolu_01", "Bash", {"command": "ls"}),
                ]
            ),
            user([tool_result("toolu_01", [text("a.py\nb.py")], **CACHE)]),
        ],
    }
    out = chat_request(body)
    assert out["model"] == "claude-sonnet-4-5"
    assert out["reasoning_effort"] == "high"
    assert out["user"] == "user_abc_account__session_1"
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "tool"]
    assert out["messages"][2]["tool_calls"][0]["function"] == {
        "name": "Bash",
        "arguments": '{"command":"ls"}',
    }
    assert out["messages"][3] == {
        "role": "tool",
        "tool_call_id": "toolu_01",
        "content": "a.py\nb.py",
    }
    assert [t["function"]["name"] for t in out["tools"]] == ["Bash", "Read"]
    # Nothing Anthropic-only leaks through.
    wire = orjson.dumps(out).decode()
    for leak in ("cache_control", "signature", "thinking", "input_schema", "budget_tokens"):
        assert leak not in wire


def test_request_is_not_mutated() -> None:
    body = request(
        system=[text("s", **CACHE)],
        tools=[{**BASH, **CACHE}],
        messages=[user([text("a", **CACHE)])],
    )
    before = orjson.dumps(body)
    chat_request(body)
    assert orjson.dumps(body) == before
