"""The simulator's deterministic content: answers, tool inputs from schemas, the prefill rule."""

from __future__ import annotations

from typing import Any

from simstream import accumulate, decode, wire

from sseguard.sim.content import (
    CANONICAL_TEXT,
    SIGNATURE,
    TOOL_LEAD_TEXT,
    TOOL_STRING,
    clean_events,
    continuation,
    expected_answer,
    sample_input,
)
from sseguard.sim.scenarios import plan_for, select
from sseguard.sim.wire import Ask

USER = {"role": "user", "content": "Bonjour 👋"}
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "ratio": {"type": "number"},
        "exact": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "unit": {"enum": ["c", "f"]},
        "when": {"type": "object", "properties": {"hour": {"type": ["null", "integer"]}}},
    },
    "required": ["city"],
}
TOOL = {"name": "lookup", "description": "look it up", "input_schema": SCHEMA}


def body(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-sim-1", "max_tokens": 64, "messages": [USER, *messages], **extra}


def test_canonical_text_is_multibyte_and_streams_in_15_to_40_deltas() -> None:
    answer = expected_answer(body())
    assert answer["content"] == [{"type": "text", "text": CANONICAL_TEXT}]
    assert answer["stop_reason"] == "end_turn"
    assert len(CANONICAL_TEXT.encode()) > len(CANONICAL_TEXT) + 100
    deltas = [e for e in clean_events(answer) if e["type"] == "content_block_delta"]
    assert 15 <= len(deltas) <= 40


def test_tool_input_fills_every_property_from_the_schema() -> None:
    assert sample_input(SCHEMA) == {
        "city": TOOL_STRING,
        "days": 42,
        "ratio": 1.5,
        "exact": True,
        "tags": [TOOL_STRING],
        "unit": "c",
        "when": {"hour": 42},
    }
    answer = expected_answer(body(tools=[TOOL]))
    text, tool = answer["content"]
    assert text == {"type": "text", "text": TOOL_LEAD_TEXT}
    assert tool["type"] == "tool_use" and tool["name"] == "lookup"
    assert tool["input"] == sample_input(SCHEMA)
    assert answer["stop_reason"] == "tool_use"


def test_tool_input_arrives_in_several_fragments() -> None:
    fragments = [
        e["delta"]["partial_json"]
        for e in clean_events(expected_answer(body(tools=[TOOL])))
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    ]
    assert len(fragments) > 5


def test_thinking_comes_first_with_its_signature() -> None:
    answer = expected_answer(body(thinking={"type": "enabled", "budget_tokens": 1024}))
    assert [b["type"] for b in answer["content"]] == ["thinking", "text"]
    assert answer["content"][0]["signature"] == SIGNATURE


def test_clean_stream_adds_up_to_the_expected_answer() -> None:
    for request in (
        body(),
        body(tools=[TOOL]),
        body(thinking={"type": "enabled", "budget_tokens": 1024}, tools=[TOOL]),
    ):
        plan = plan_for(select("clean"), Ask({**request, "stream": True}, stream=True))
        assert accumulate(decode(wire(plan))) == expected_answer(request)


def test_prefill_that_matches_gets_exactly_the_rest() -> None:
    prefill = {"role": "assistant", "content": CANONICAL_TEXT[:100]}
    answer = expected_answer(body(prefill))
    assert answer["content"] == [{"type": "text", "text": CANONICAL_TEXT[100:]}]


def test_prefill_as_text_blocks_and_thinking_is_skipped_on_continuation() -> None:
    blocks = [
        {"type": "text", "text": CANONICAL_TEXT[:30]},
        {"type": "text", "text": CANONICAL_TEXT[30:50]},
    ]
    request = body({"role": "assistant", "content": blocks}, thinking={"type": "enabled"})
    assert expected_answer(request)["content"] == [{"type": "text", "text": CANONICAL_TEXT[50:]}]


def test_prefill_that_diverges_continues_after_the_longest_matching_prefix() -> None:
    assert continuation("abcdef", "abcX") == "def"
    assert continuation("abcdef", "") == "abcdef"
    assert continuation("abc", "abc and more") == ""


def test_tool_answer_continuation_repeats_the_tool_use_block_whole() -> None:
    full = expected_answer(body(tools=[TOOL]))
    prefill = {"role": "assistant", "content": TOOL_LEAD_TEXT[:10]}
    resumed = expected_answer(body(prefill, tools=[TOOL]))
    assert resumed["content"][0] == {"type": "text", "text": TOOL_LEAD_TEXT[10:]}
    assert resumed["content"][1] == full["content"][1]
    past_text = {"role": "assistant", "content": TOOL_LEAD_TEXT + ' {"city": "Zü'}
    assert expected_answer(body(past_text, tools=[TOOL]))["content"] == [full["content"][1]]


def test_usage_estimates_input_from_characters() -> None:
    short, long = (
        expected_answer(body()),
        expected_answer(body({"role": "user", "content": "x" * 400})),
    )
    assert long["usage"]["input_tokens"] >= short["usage"]["input_tokens"] + 99
    assert short["usage"]["output_tokens"] > 1
