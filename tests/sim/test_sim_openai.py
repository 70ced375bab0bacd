"""The chat.completions catalogue as a table: every ``oa_`` scenario's bytes carry its fault, the clean
ones add up to the expected completion, and a scenario answers on its own endpoint only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fault_catalogue import fault_rows
from simstream import FORECAST, accumulate_chunks, chunk_data, header, wire

from sseguard.sim import (
    CATALOGUE,
    OPENAI_CATALOGUE,
    SCENARIOS,
    WrongEndpoint,
    expected_completion,
    select,
)
from sseguard.sim.content import CANONICAL_TEXT, DEFAULT_TOOL, THINKING_TEXT, sample_input
from sseguard.sim.mutations import MESSAGES
from sseguard.sim.openai import CHAT, as_messages
from sseguard.sim.scenarios import BEHAVIOURS, default_for, plan_for
from sseguard.sim.wire import CHUNKINGS, Ask, Plan, Stall

BODY: dict[str, Any] = {
    "model": "gpt-sim-1",
    "max_completion_tokens": 64,
    "stream": True,
    "stream_options": {"include_usage": True},
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Bonjour 👋"}]},
    ],
}
DEFAULT_ARGS = sample_input(DEFAULT_TOOL["input_schema"])


def plan(spec: str, body: dict[str, Any] = BODY, *, first_attempt: bool = True) -> Plan:
    ask = Ask(body, stream=body.get("stream") is True)
    return plan_for(select(spec, CHAT), ask, first_attempt=first_attempt)


def items(p: Plan) -> list[Any]:
    return chunk_data(wire(p))


def chunks(p: Plan) -> list[dict[str, Any]]:
    return [c for c in items(p) if isinstance(c, dict) and "choices" in c]


def deltas(p: Plan) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks(p) if c["choices"]]


def finishes(p: Plan) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks(p) if c["choices"]][-1:]


def finished(p: Plan) -> bool:
    return any(c["choices"][0]["finish_reason"] for c in chunks(p) if c["choices"])


def reply(p: Plan) -> dict[str, Any]:
    message: dict[str, Any] = accumulate_chunks(items(p))["choices"][0]["message"]
    return message


def fragments(p: Plan) -> list[dict[str, Any]]:
    return [call for d in deltas(p) for call in d.get("tool_calls", [])]


def arguments(p: Plan, index: int = 0) -> str:
    return "".join(f["function"]["arguments"] for f in fragments(p) if f["index"] == index)


def truncated(p: Plan, *, abort: bool) -> bool:
    """Content arrived, then the stream ended without a finish_reason or [DONE]."""
    return (
        p.abort is abort
        and not isinstance(p.steps[-1], Stall)
        and "choices" in items(p)[-1]
        and bool(deltas(p)[-1].get("content"))
        and not finished(p)
        and "[DONE]" not in items(p)
    )


def error_json(p: Plan) -> dict[str, Any]:
    assert header(p, "content-type") == "application/json"
    body: dict[str, Any] = orjson.loads(wire(p))["error"]
    assert set(body) == {"message", "type", "param", "code"}, body
    return body


CHECKS: dict[str, Callable[[Plan], bool]] = {
    "oa_clean": lambda p: (
        accumulate_chunks(items(p)) == expected_completion(BODY) and b"\n:" not in wire(p)
    ),
    "oa_tool": lambda p: (
        len(reply(p)["tool_calls"]) == 1
        and reply(p)["tool_calls"][0]["function"]["name"] == "get_weather"
        and orjson.loads(reply(p)["tool_calls"][0]["function"]["arguments"]) == DEFAULT_ARGS
        and finishes(p) == ["tool_calls"]
    ),
    "oa_reasoning": lambda p: (
        reply(p)["reasoning_content"] == THINKING_TEXT
        and reply(p)["content"] == CANONICAL_TEXT
        and [k for d in deltas(p)[1:] for k in d][:2] == ["reasoning_content"] * 2
    ),
    "oa_parallel_tools": lambda p: (
        [f["index"] for f in fragments(p)][:4] == [0, 1, 0, 1]
        and len({c["function"]["arguments"] for c in reply(p)["tool_calls"]}) == 2
        and all(orjson.loads(c["function"]["arguments"]) for c in reply(p)["tool_calls"])
    ),
    "oa_length": lambda p: (
        finishes(p) == ["length"]
        and reply(p)["content"] == CANONICAL_TEXT[: len(CANONICAL_TEXT) // 3]
    ),
    "oa_no_done": lambda p: (
        "[DONE]" not in items(p)
        and accumulate_chunks([*items(p), "[DONE]"]) == expected_completion(BODY)
    ),
    "oa_no_finish": lambda p: truncated(p, abort=False),
    "oa_done_no_finish": lambda p: items(p)[-1] == "[DONE]" and not finished(p),
    "oa_empty_choices": lambda p: (
        "prompt_filter_results" in items(p)[0]
        and sum(1 for c in chunks(p) if c["choices"] == [] and "usage" not in c) == 3
        and accumulate_chunks([c for c in items(p) if c == "[DONE]" or c["id"]])
        == expected_completion(BODY)
    ),
    "oa_keepalive": lambda p: (
        wire(p).count(b"\n\n: keep-alive\n\n") > 5
        and accumulate_chunks(items(p)) == expected_completion(BODY)
    ),
    "oa_args_split": lambda p: (
        len(fragments(p)) > 20
        and all(f["id"] and f["function"]["name"] == "get_weather" for f in fragments(p))
        and max(len(f["function"]["arguments"]) for f in fragments(p)) <= 4
        and orjson.loads(arguments(p)) == DEFAULT_ARGS
    ),
    "oa_args_repeated": lambda p: (
        orjson.loads(fragments(p)[-1]["function"]["arguments"]) == DEFAULT_ARGS
        and arguments(p) == 2 * fragments(p)[-1]["function"]["arguments"]
    ),
    "oa_usage_null": lambda p: (
        items(p)[-1] == "[DONE]"
        and finished(p)
        and all(c["usage"] is None for c in chunks(p))
        and all(c["choices"] for c in chunks(p))
    ),
    "oa_error_chunk": lambda p: (
        items(p)[-1]["error"]["type"] == "server_error"
        and "overloaded" in items(p)[-1]["error"]["message"]
        and not finished(p)
        and not p.abort
        and bool(deltas(p)[-1].get("content"))
    ),
    "oa_429": lambda p: (
        p.status == 429
        and header(p, "retry-after") == "1"
        and error_json(p)["code"] == "rate_limit_exceeded"
    ),
    "oa_cut": lambda p: truncated(p, abort=True),
    "oa_stall": lambda p: isinstance(p.steps[-1], Stall) and p.abort and not finished(p),
    "oa_json": lambda p: (
        header(p, "content-type") == "application/json"
        and orjson.loads(wire(p)) == expected_completion(BODY)
    ),
    "oa_html_502": lambda p: (
        p.status == 502
        and header(p, "content-type") == "text/html"
        and wire(p).startswith(b"<html>")
    ),
}


@pytest.mark.parametrize("name", sorted(OPENAI_CATALOGUE))
def test_every_oa_scenario_carries_its_fault(name: str) -> None:
    base = name.removesuffix("_once")
    assert base in CHECKS, f"scenario {name} has no check in CHECKS: add one"
    assert CHECKS[base](plan(name)), name


@pytest.mark.parametrize("name", sorted(n for n, s in OPENAI_CATALOGUE.items() if s.once))
def test_oa_once_scenarios_answer_cleanly_after_the_first_attempt(name: str) -> None:
    assert plan(name) == plan(name.removesuffix("_once"))
    assert plan(name, first_attempt=False) == plan("oa_clean")


@pytest.mark.parametrize("name", sorted(OPENAI_CATALOGUE))
def test_oa_plans_are_deterministic_and_chunkings_keep_the_bytes(name: str) -> None:
    whole = plan(name)
    assert plan(name) == whole
    for chunking in CHUNKINGS:
        assert wire(plan(f"{name}@{chunking}")) == wire(whole), chunking


def test_the_clean_stream_is_data_lines_only_and_every_chunk_is_one_line() -> None:
    raw = wire(plan("oa_clean"))
    frames = raw.split(b"\n\n")
    assert frames[-2:] == [b"data: [DONE]", b""]
    assert all(f.startswith(b"data: {") and b"\n" not in f for f in frames[:-2])
    assert b"event:" not in raw and header(plan("oa_clean"), "x-request-id")


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "tools": [FORECAST]},
        {**BODY, "tools": [FORECAST], "reasoning_effort": "high"},
        {**BODY, "stream_options": None},
    ],
    ids=["tools", "tools and reasoning", "no usage asked"],
)
def test_clean_stream_and_non_stream_add_up_to_the_expected_completion(
    body: dict[str, Any],
) -> None:
    want = expected_completion(body)
    got = accumulate_chunks(items(plan("oa_clean", body)))
    usage_asked = bool(body["stream_options"])
    assert got == {**want, "usage": want["usage"] if usage_asked else None}
    assert all(("usage" in c) is usage_asked for c in chunks(plan("oa_clean", body)))
    whole = plan("oa_clean", {**body, "stream": False})
    assert orjson.loads(wire(whole)) == want


def test_the_request_maps_tools_tool_choice_and_reasoning_effort() -> None:
    other = {"type": "function", "function": {"name": "other", "parameters": {}}}
    assert [t["name"] for t in as_messages({**BODY, "tools": [FORECAST, other]})["tools"]] == [
        "get_forecast",
        "other",
    ]
    named = {"type": "function", "function": {"name": "other"}}
    assert as_messages({**BODY, "tools": [FORECAST, other], "tool_choice": named})["tools"][0][
        "name"
    ] == ("other")
    assert "tools" not in as_messages({**BODY, "tools": [FORECAST], "tool_choice": "none"})
    for effort, thinking in (("low", True), ("high", True), ("minimal", False), ("none", False)):
        assert ("thinking" in as_messages({**BODY, "reasoning_effort": effort})) is thinking
    assert expected_completion({**BODY, "tools": [FORECAST], "tool_choice": "none"})["choices"][0][
        "message"
    ] == {"role": "assistant", "content": CANONICAL_TEXT}


def test_a_trailing_assistant_message_is_a_prefill_as_on_messages() -> None:
    prefilled = {**BODY, "messages": [*BODY["messages"], {"role": "assistant", "content": "Voil"}]}
    assert reply(plan("oa_clean", prefilled))["content"] == CANONICAL_TEXT[4:]


def test_scenarios_answer_on_their_own_endpoint_only() -> None:
    assert not set(CATALOGUE) & set(OPENAI_CATALOGUE)
    assert SCENARIOS == {**CATALOGUE, **OPENAI_CATALOGUE, **BEHAVIOURS}
    assert not set(BEHAVIOURS) & (set(CATALOGUE) | set(OPENAI_CATALOGUE))
    assert all(s.name.startswith("oa_") is (s.dialect is CHAT) for s in BEHAVIOURS.values())
    assert all(name.startswith("oa_") for name in OPENAI_CATALOGUE)
    assert not any(name.startswith("oa_") for name in CATALOGUE)
    with pytest.raises(
        WrongEndpoint, match=r"'oa_cut@bytes' answers chat.completions.*/v1/messages"
    ):
        select("oa_cut@bytes", MESSAGES)
    with pytest.raises(WrongEndpoint, match=r"'clean' answers messages on POST /v1/messages"):
        select("clean", CHAT)
    assert default_for(CHAT, select("close_in_text")).spec == "oa_clean"
    assert default_for(MESSAGES, select("oa_cut")).spec == "clean"
    assert default_for(CHAT, select("oa_cut@bytes")).spec == "oa_cut@bytes"


def test_every_oa_scenario_names_a_fault_row_or_none() -> None:
    ids = set(fault_rows())  # the IDs of docs/faults.md
    for scenario in OPENAI_CATALOGUE.values():
        assert scenario.fault in ids | {"-"}, scenario.name
        assert scenario.description and "\n" not in scenario.description
