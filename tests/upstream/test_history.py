"""Unsigned thinking in a request's history never reaches an Anthropic-style deployment (F27):
the rule of ``upstream.history`` and where ``request.build`` applies it."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from sseguard.config import Deployment
from sseguard.upstream.history import drop_unsigned_thinking
from sseguard.upstream.request import build

SIGNATURE = "EqQBCkgIBBABGAIiQHistoryTestSignature+/=="
SIGNED = {"type": "thinking", "thinking": "signed thoughts", "signature": SIGNATURE}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}
TEXT = {"type": "text", "text": "The answer."}
TOOL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}


def unsigned(**extra: Any) -> dict[str, Any]:
    """Thinking as the OpenAI translation writes it: no signature, or an empty one."""
    return {"type": "thinking", "thinking": "reasoning from an OpenAI-compatible model", **extra}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


@pytest.mark.parametrize(
    "block",
    [unsigned(), unsigned(signature=""), unsigned(signature=None), unsigned(signature=7)],
    ids=["missing", "empty", "null", "not-a-string"],
)
def test_unsigned_thinking_is_dropped_and_the_rest_of_the_turn_kept(
    block: dict[str, Any],
) -> None:
    messages = [user("hi"), assistant(block, TEXT, TOOL), user("go on")]
    kept, dropped = drop_unsigned_thinking(messages)
    assert dropped == 1
    assert kept == [user("hi"), assistant(TEXT, TOOL), user("go on")]
    assert kept[1]["content"][0] is TEXT  # the very objects, not copies


def test_signed_and_redacted_thinking_pass_as_they_came() -> None:
    messages = [user("hi"), assistant(SIGNED, REDACTED, TEXT), user("more")]
    before = copy.deepcopy(messages)
    kept, dropped = drop_unsigned_thinking(messages)
    assert (kept, dropped) == (messages, 0)
    assert kept is messages  # nothing to drop: no copy at all
    assert messages == before


def test_only_the_unsigned_blocks_of_a_mixed_turn_go() -> None:
    messages = [user("hi"), assistant(unsigned(), SIGNED, unsigned(signature=""), TEXT)]
    kept, dropped = drop_unsigned_thinking(messages)
    assert dropped == 2
    assert kept[1]["content"] == [SIGNED, TEXT]
    assert kept[1]["content"][0] is SIGNED


def test_the_input_is_not_changed() -> None:
    messages = [user("hi"), assistant(unsigned(), TEXT), user("more")]
    before = copy.deepcopy(messages)
    drop_unsigned_thinking(messages)
    assert messages == before


def test_an_emptied_turn_goes_and_the_user_turns_around_it_become_one() -> None:
    first = {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}}
    messages = [
        user("hi"),
        assistant(TEXT),
        user([first]),
        assistant(unsigned()),
        user("and now?"),
        assistant(unsigned(), TEXT),
        user(""),
    ]
    kept, dropped = drop_unsigned_thinking(messages)
    assert dropped == 2
    assert kept == [
        user("hi"),
        assistant(TEXT),
        user([first, {"type": "text", "text": "and now?"}]),
        assistant(TEXT),
        user(""),  # a turn next to a kept assistant turn is left alone
    ]


def test_an_emptied_first_or_last_turn_just_goes() -> None:
    # A trailing prefill of nothing but unsigned thinking: the request ends with the user turn.
    kept, dropped = drop_unsigned_thinking([user("hi"), assistant(unsigned())])
    assert (kept, dropped) == ([user("hi")], 1)
    kept, dropped = drop_unsigned_thinking([assistant(unsigned()), user("hi")])
    assert (kept, dropped) == ([user("hi")], 1)


def test_user_turns_the_client_sent_side_by_side_stay_as_they_are() -> None:
    messages = [user("a"), user("b"), assistant(unsigned(), TEXT), user("c")]
    kept, dropped = drop_unsigned_thinking(messages)
    assert dropped == 1
    assert kept == [user("a"), user("b"), assistant(TEXT), user("c")]


def test_user_turns_string_content_and_odd_values_are_not_touched() -> None:
    odd: list[Any] = [
        "not a message",
        {"role": "user", "content": [unsigned()]},  # thinking has no place there: not ours to fix
        {"role": "assistant", "content": "plain text"},
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": ["not a block", unsigned()]},
        {"role": "user", "content": {"odd": True}},
    ]
    kept, dropped = drop_unsigned_thinking(odd)
    assert dropped == 1
    assert kept == [*odd[:4], {"role": "assistant", "content": ["not a block"]}, odd[5]]


def test_user_turns_that_cannot_be_joined_stay_apart() -> None:
    odd = {"role": "user", "content": {"odd": True}}
    kept, dropped = drop_unsigned_thinking([user("hi"), assistant(unsigned()), odd])
    assert (kept, dropped) == ([user("hi"), odd], 1)


# --- where build applies it ----------------------------------------------------------------


def deployment(kind: str) -> Deployment:
    base_url = "https://api.example.com" + ("/v1" if kind == "openai-compatible" else "")
    return Deployment.model_validate(
        {"name": "d", "kind": kind, "base_url": base_url, "api_key": "sk-test-key"}
    )


def request(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 64, "stream": True, "messages": list(messages)}


@pytest.mark.parametrize("kind", ["anthropic", "azure-foundry", "anthropic-compatible"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_an_anthropic_style_deployment_gets_the_history_without_unsigned_thinking(
    kind: str, path: str
) -> None:
    body = request(user("hi"), assistant(unsigned(), SIGNED, REDACTED, TEXT), user("more"))
    req = build(deployment(kind), path, "", {}, body)
    sent = orjson.loads(req.body)
    assert sent["messages"][1]["content"] == [SIGNED, REDACTED, TEXT]
    assert orjson.dumps(SIGNED) in req.body  # the signed block as it came
    assert {k: v for k, v in sent.items() if k != "messages"} == {
        k: v for k, v in body.items() if k != "messages"
    }
    assert req.unsigned_thinking == 1


def test_a_history_without_unsigned_thinking_is_sent_as_it_came() -> None:
    body = request(user("hi"), assistant(SIGNED, TEXT), user("more"))
    req = build(deployment("anthropic"), "/v1/messages", "", {}, body)
    assert req.body == orjson.dumps(body)
    assert req.unsigned_thinking == 0


def test_an_openai_compatible_deployment_gets_no_thinking_at_all() -> None:
    # chat.completions has no place for thinking: the translation leaves out signed and unsigned
    # alike, so nothing is refused and nothing is counted.
    body = request(user("hi"), assistant(unsigned(), SIGNED, TEXT), user("more"))
    req = build(deployment("openai-compatible"), "/v1/messages", "", {}, body)
    sent = orjson.loads(req.body)
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"] == TEXT["text"]
    assert b"thinking" not in req.body and SIGNATURE.encode() not in req.body
    assert req.unsigned_thinking == 0
