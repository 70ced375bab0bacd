"""The catalogue as a table: every scenario is deterministic and its bytes carry its fault."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from typing import Any

import orjson
import pytest
from fault_catalogue import NO_SCENARIO, fault_rows, listed_scenarios
from simstream import Event, accumulate, decode, header, wire

from sseguard.sim.content import SIGNATURE, expected_answer
from sseguard.sim.scenarios import (
    CATALOGUE,
    NOT_APPLIED_HEADER,
    SCENARIOS,
    UnknownScenario,
    plan_for,
    select,
    split_model,
)
from sseguard.sim.wire import CHUNKINGS, Ask, Loop, Pause, Plan, Stall, Write

BODY: dict[str, Any] = {
    "model": "claude-sim-1",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "Bonjour 👋"}],
}
ASK = Ask(BODY, stream=True, betas=("interleaved-thinking-2025-05-14",))
LARGE = {"huge_tool_input"}  # megabytes: one chunking is enough


def plan(spec: str, *, first_attempt: bool = True) -> Plan:
    return plan_for(select(spec), ASK, first_attempt=first_attempt)


def events(p: Plan) -> list[Event]:
    return decode(wire(p))


def names(p: Plan) -> list[str | None]:
    return [n for n, _ in events(p)]


def payloads(p: Plan, kind: str) -> list[dict[str, Any]]:
    return [d for _, d in events(p) if isinstance(d, dict) and d.get("type") == kind]


def deltas(p: Plan, kind: str) -> list[dict[str, Any]]:
    return [d for d in payloads(p, "content_block_delta") if d["delta"]["type"] == kind]


def last_delta(p: Plan) -> str:
    return str(payloads(p, "content_block_delta")[-1]["delta"]["type"])


def expected(p: Plan, **forced: Any) -> bool:
    return accumulate(events(p)) == expected_answer({**BODY, **forced})


def error_body(p: Plan) -> dict[str, Any]:
    assert header(p, "content-type") == "application/json"
    result: dict[str, Any] = orjson.loads(wire(p))
    return result


def cut_after(kind: str, *, abort: bool) -> Callable[[Plan], bool]:
    return lambda p: last_delta(p) == kind and p.abort is abort and "message_stop" not in names(p)


def truncated(kind: str) -> Callable[[Plan], bool]:
    return lambda p: (
        any(
            line.startswith(b"data: ")
            and line.endswith(b'"event: content_block_delta'[1:])
            and kind.encode() in line
            and not line.removesuffix(b"event: content_block_delta").endswith(b"}")
            for line in wire(p).split(b"\n")
        )
        and "message_stop" in names(p)
    )


def glued(kind: str) -> Callable[[Plan], bool]:
    marker = b'}}    event: content_block_delta\ndata: {"type":"content_block_delta"'
    return lambda p: (
        marker in wire(p)
        and any(
            isinstance(d, str) and f'"type":"{kind}"' in d and "    event: " in d
            for _, d in events(p)
        )
    )


def lines_only(ending: bytes) -> Callable[[Plan], bool]:
    def check(p: Plan) -> bool:
        raw = wire(p).replace(ending, b"")
        return ending in wire(p) and b"\r" not in raw and b"\n" not in raw

    return check


def thinking_block(p: Plan) -> dict[str, Any]:
    return dict(accumulate(events(p))["content"][0])


def loop_type(p: Plan) -> str:
    loop = next(s for s in p.steps if isinstance(s, Loop))
    return str(decode(loop.data)[0][1]["type"])


def stops_then_signature(p: Plan) -> bool:
    order = [(d["type"], d.get("delta", {}).get("type")) for _, d in events(p)]
    return order.index(("content_block_delta", "signature_delta")) > order.index(
        ("content_block_stop", None)
    )


TOOL = {"tools": [{"name": "get_weather"}]}  # marks the expected answer as forced to a tool
CHECKS: dict[str, Callable[[Plan], bool]] = {
    "clean": lambda p: expected(p),
    "slow_pings": lambda p: (
        expected(p)
        and "ping" in names(p)
        and 8 <= sum(s.seconds for s in p.steps if isinstance(s, Pause)) <= 15
    ),
    "thinking_signature_intact": lambda p: thinking_block(p)["signature"] == SIGNATURE,
    "thinking_signature_damaged": lambda p: thinking_block(p)["signature"] not in ("", SIGNATURE),
    "thinking_signature_dropped": lambda p: (
        not deltas(p, "signature_delta") and bool(deltas(p, "thinking_delta"))
    ),
    "thinking_signature_late": stops_then_signature,
    "done_sentinel": lambda p: wire(p).endswith(
        b'event: message_stop\ndata: {"type":"message_stop"}\n\ndata: [DONE]\n\n'
    ),
    "glued_text": glued("text_delta"),
    "glued_tool_input": glued("input_json_delta"),
    "no_event_lines": lambda p: b"event:" not in wire(p) and set(names(p)) == {None},
    "data_no_space": lambda p: (
        b"data: " not in wire(p) and wire(p).startswith(b"event: message_start\ndata:{")
    ),
    "crlf": lines_only(b"\r\n"),
    "crlf_split": lambda p: (
        lines_only(b"\r\n")(p)
        and any(
            a.data.endswith(b"\r") and b.data.startswith(b"\n")
            for a, b in pairwise(p.steps)
            if isinstance(a, Write) and isinstance(b, Write)
        )
    ),
    "cr_only": lambda p: b"\n" not in wire(p) and expected(p),
    "mixed_line_ends": lambda p: (
        all(e in wire(p) for e in (b"\r\n", b"\n\n", b"\r\r")) and expected(p)
    ),
    "unicode_separators": lambda p: (
        "\u2028".encode() in wire(p)
        and "\u2028".encode() not in wire(plan("clean"))
        and expected(p)
    ),
    "split_utf8": lambda p: (
        any(s.data[-1] >= 0xC0 for s in p.steps if isinstance(s, Write)) and expected(p)
    ),
    "comments_and_retry": lambda p: all(
        m in wire(p)
        for m in (b"\n\n: ping\n\n", b"\n\nretry: 3000\n\n", b"\n\nevent: content_block_delta\n\n")
    ),
    "huge_tool_input": lambda p: max(len(line) for line in wire(p).split(b"\n")) > 3 * 1024 * 1024,
    "unknown_events": lambda p: "vertex_event" in names(p),
    "bom": lambda p: wire(p).startswith(b"\xef\xbb\xbfevent: message_start"),
    "duplicate_message_start": lambda p: (
        len({m["message"]["id"] for m in payloads(p, "message_start")}) == 1
        and len(payloads(p, "message_start")) == 2
    ),
    "endless_message_start": lambda p: loop_type(p) == "message_start" and p.abort,
    "spliced_generation": lambda p: (
        len({m["message"]["id"] for m in payloads(p, "message_start")}) == 2
    ),
    "index_gap": lambda p: [d["index"] for d in payloads(p, "content_block_start")] == [1, 3],
    "index_reuse": lambda p: [d["index"] for d in payloads(p, "content_block_start")] == [0, 0],
    "index_as_string": lambda p: (
        [d["index"] for d in payloads(p, "content_block_start")] == ["0", "1"]
        and all(type(d["index"]) is str for d in payloads(p, "content_block_delta"))
    ),
    "delta_unknown_index": lambda p: 7 in {d["index"] for d in payloads(p, "content_block_delta")},
    "text_start_missing": lambda p: (
        [d["content_block"]["type"] for d in payloads(p, "content_block_start")]
        in ([], ["tool_use"])
        and bool(deltas(p, "text_delta"))
    ),
    "delta_type_mismatch": lambda p: (
        any(d["index"] == 0 for d in deltas(p, "thinking_delta"))
        and payloads(p, "content_block_start")[0]["content_block"]["type"] == "text"
    ),
    "tool_start_no_input": lambda p: (
        "input" not in payloads(p, "content_block_start")[1]["content_block"]
    ),
    "tool_empty_partial_json": lambda p: (
        "" in [d["delta"]["partial_json"] for d in deltas(p, "input_json_delta")]
    ),
    "usage_null": lambda p: (
        payloads(p, "message_start")[0]["message"]["usage"]["input_tokens"] is None
    ),
    "usage_missing": lambda p: "usage" not in payloads(p, "message_delta")[0],
    "usage_zero": lambda p: (
        payloads(p, "message_start")[0]["message"]["usage"]["input_tokens"] == 0
    ),
    "eof_after_text_delta": cut_after("text_delta", abort=False),
    "eof_in_tool_call": cut_after("input_json_delta", abort=False),
    "eof_in_thinking": cut_after("thinking_delta", abort=False),
    "events_after_stop": lambda p: (
        names(p)[names(p).index("message_stop") + 1 :] == ["content_block_delta", "message_stop"]
    ),
    "error_before_content": lambda p: (
        p.status == 200
        and events(p)
        == [
            (
                "error",
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            )
        ]
    ),
    "error_after_content": lambda p: names(p)[-1] == "error" and bool(deltas(p, "text_delta")),
    "error_untyped": lambda p: (
        p.status == 200
        and len(events(p)) == 1
        and events(p)[0][0] is None
        and set(events(p)[0][1]) == {"error"}
    ),
    "error_text_after_content": lambda p: (
        events(p)[-1] == ("error", "upstream request timeout") and bool(deltas(p, "text_delta"))
    ),
    "overloaded_529": lambda p: (
        p.status == 529 and error_body(p)["error"]["type"] == "overloaded_error"
    ),
    "server_error_500": lambda p: p.status == 500 and error_body(p)["error"]["type"] == "api_error",
    "rate_limited_429": lambda p: p.status == 429 and header(p, "retry-after") == "1",
    "close_in_text": cut_after("text_delta", abort=True),
    "close_in_tool_call": cut_after("input_json_delta", abort=True),
    "close_in_thinking": cut_after("thinking_delta", abort=True),
    "close_after_thinking": lambda p: (
        cut_after("text_delta", abort=True)(p)
        and [d["delta"]["type"] for d in deltas(p, "signature_delta")] == ["signature_delta"]
    ),
    # F39: the JSON of the event before the glued `event:` line breaks off inside its string.
    "truncated_event": truncated("text_delta"),
    "truncated_tool_input": truncated("input_json_delta"),
    "stall_before_first_byte": lambda p: isinstance(p.steps[0], Stall) and p.abort,
    "accept_then_silence": lambda p: (
        p.status == 200
        and p.steps[0] == Write(b": accepted\n\n")
        and isinstance(p.steps[-1], Stall)
    ),
    "unauthorized_401": lambda p: (
        p.status == 401 and error_body(p)["error"]["type"] == "authentication_error"
    ),
    "bad_request_400": lambda p: (
        p.status == 400 and error_body(p)["error"]["type"] == "invalid_request_error"
    ),
    "stall_mid_stream": lambda p: isinstance(p.steps[-1], Stall) and last_delta(p) == "text_delta",
    "stall_with_pings": lambda p: (
        isinstance(p.steps[-1], Loop)
        and p.steps[-1].data == b'event: ping\ndata: {"type":"ping"}\n\n'
        and last_delta(p) == "text_delta"
        and p.abort
    ),
    "stall_with_keepalives": lambda p: (
        isinstance(p.steps[-1], Loop)
        and p.steps[-1].data == b": keep-alive\n\n"
        and last_delta(p) == "text_delta"
        and p.abort
    ),
    "gzip_sse": lambda p: header(p, "content-encoding") == "gzip" and expected(p),
    "stale_content_encoding": lambda p: (
        header(p, "content-encoding") == "gzip" and wire(p).startswith(b"event: message_start")
    ),
    "stream_typed_as_json": lambda p: (
        header(p, "content-type") == "application/json"
        and wire(p).startswith(b"event: message_start")
    ),
    "error_json_in_stream": lambda p: (
        p.status == 200
        and str(header(p, "content-type")).startswith("text/event-stream")
        and orjson.loads(wire(p))["error"]["type"] == "overloaded_error"
    ),
    "message_json_in_stream": lambda p: (
        str(header(p, "content-type")).startswith("text/event-stream")
        and orjson.loads(wire(p)) == expected_answer(BODY)
    ),
    "stream_mode_flipped": lambda p: (
        header(p, "content-type") == "application/json"
        and orjson.loads(wire(p)) == expected_answer(BODY)
    ),
    "html_200": lambda p: p.status == 200 and wire(p).startswith(b"<html>"),
    "html_502": lambda p: p.status == 502 and header(p, "content-type") == "text/html",
    "beta_rejected": lambda p: (
        p.status == 400 and "anthropic-beta" in error_body(p)["error"]["message"]
    ),
    "count_tokens_missing": lambda p: (
        CATALOGUE["count_tokens_missing"].count_tokens_status == 404
        and wire(p) == wire(plan("clean"))
    ),
    "endless_text": lambda p: loop_type(p) == "content_block_delta" and p.abort,
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_scenario_carries_its_fault(name: str) -> None:
    base = name.removesuffix("_once")
    assert base in CHECKS, f"scenario {name} has no check in CHECKS: add one"
    assert CHECKS[base](plan(name)), name


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.once))
def test_once_scenarios_answer_cleanly_after_the_first_attempt(name: str) -> None:
    assert plan(name) == plan(name.removesuffix("_once"))
    # The clean answer of the same shape (a scenario may force thinking or a tool call).
    scenario = CATALOGUE[name]
    clean = replace(scenario, mutations=(), once=False)
    want = plan_for(replace(select("clean"), scenario=clean), ASK)
    assert plan(name, first_attempt=False) == want


TOOLS = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}]


def _resume_with_nothing_left() -> Ask:
    """A resume after the client got the whole text: the continuation is only the tool call."""
    body = {**BODY, "tools": TOOLS}
    text = "".join(b.get("text", "") for b in expected_answer(body)["content"])
    assistant = {"role": "assistant", "content": text}
    return Ask({**body, "messages": [*BODY["messages"], assistant]}, stream=True)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_a_fault_with_nothing_to_damage_is_skipped_and_said(name: str) -> None:
    """Found with the Vercel AI SDK through the gateway: close_in_text's resume asked for a
    continuation without text, and the simulator answered 500 "Server got itself in trouble"."""
    ask = _resume_with_nothing_left()
    got = plan_for(select(name), ask)
    note = header(got, NOT_APPLIED_HEADER)
    if note is None:
        return  # the fault found its event, or needs none (HTTP errors, framing styles)
    assert note.startswith(f"1 of {name}'s faults")
    assert got == replace(plan_for(select("clean"), ask), headers=got.headers)
    assert accumulate(events(got)) == expected_answer(ask.body)


def test_the_skipped_faults_are_the_ones_without_their_event() -> None:
    ask = _resume_with_nothing_left()
    skipped = {n for n in CATALOGUE if header(plan_for(select(n), ask), NOT_APPLIED_HEADER)}
    assert {"close_in_text", "glued_text", "error_after_content", "stall_mid_stream"} <= skipped
    assert not skipped & {"close_in_tool_call", "glued_tool_input", "overloaded_529", "crlf"}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_plans_are_deterministic_and_chunkings_keep_the_bytes(name: str) -> None:
    whole = plan(name)
    assert plan(name) == whole
    for chunking in () if name in LARGE else CHUNKINGS:
        assert wire(plan(f"{name}@{chunking}")) == wire(whole), chunking


# Rows of docs/faults.md that no scenario plays yet. Only ever shrinks: a new row comes with one.
NO_SCENARIO_YET = {"F37"}  # a property of the simulator's models, played with any scenario


def test_catalogue_covers_every_fault_row() -> None:
    listed = listed_scenarios()
    pending = {fault for fault, names in listed.items() if not names}
    assert len(listed) > 30 and len(CATALOGUE) >= 30
    assert pending <= NO_SCENARIO_YET, "a row of docs/faults.md without a scenario"
    assert set(listed) - pending <= {s.fault for s in CATALOGUE.values()}


def test_the_fault_catalogue_names_exactly_the_scenarios_of_each_row() -> None:
    """docs/faults.md lists under each ID every scenario whose ``fault`` is that ID, and only those;
    a row without one says so."""
    played: dict[str, set[str]] = defaultdict(set)
    for scenario in SCENARIOS.values():
        played[scenario.fault].add(scenario.name)
    for fault, names in listed_scenarios().items():
        assert names == played.pop(fault, set()), f"docs/faults.md, {fault}"
        if not names:
            assert fault_rows()[fault] == NO_SCENARIO, fault
    assert set(played) <= {"-"}, f"scenarios of faults docs/faults.md has no row for: {played}"


def test_selection_by_spec_and_model_suffix() -> None:
    assert select("crlf@bytes").chunking == "bytes"
    assert select("split_utf8").chunking == "utf8"
    assert split_model("claude-sonnet-4-5+glued_text@bytes") == (
        "claude-sonnet-4-5",
        "glued_text@bytes",
    )
    assert split_model("claude-sonnet-4-5") == ("claude-sonnet-4-5", None)
    for bad in ("nope", "clean@nope"):
        with pytest.raises(UnknownScenario, match="sseguard sim --list"):
            select(bad)
