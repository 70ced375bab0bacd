"""The repair layer against every framing and protocol row of docs/faults.md, from byte strings."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import orjson
import pytest

from sseguard.protocol.finalize import finalize
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Failure, Repairer
from sseguard.protocol.stream import StreamRepair
from sseguard.sse import SSEEvent
from streams import (
    MESSAGE_STOP,
    PING,
    assert_valid,
    block_start,
    block_stop,
    clean_text_stream,
    delta,
    frame,
    message_delta,
    message_start,
    repair,
    text,
    text_start,
    texts,
    thinking_start,
    tool_start,
    wire,
)

HELLO = ("Hello", ", wörld ", "👋 ", "日本語")
CHUNKINGS = [0, 1, 7]


def tool_stream(*fragments: str, index: int = 0, tool_id: str = "toolu_1") -> bytes:
    return wire(
        message_start(),
        tool_start(index, tool_id),
        *(delta(index, "input_json_delta", f) for f in fragments),
        block_stop(index),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )


def tool_inputs(events: list) -> list[object]:
    parts: dict[int, str] = {}
    for e in events:
        if e.type == "content_block_start" and e.payload["content_block"]["type"] == "tool_use":
            parts[e.payload["index"]] = ""
        elif e.type == "content_block_delta" and e.payload["delta"]["type"] == "input_json_delta":
            parts[e.payload["index"]] += e.payload["delta"]["partial_json"]
    return [orjson.loads(v) if v else {} for v in parts.values()]


@pytest.mark.parametrize("chunk", CHUNKINGS)
def test_clean_stream_passes_unchanged(chunk: int) -> None:
    raw = clean_text_stream(*HELLO)
    out, r = repair(raw, chunk=chunk)
    assert_valid(out)
    assert texts(out) == "".join(HELLO)
    assert len(r.anomalies) == 0
    assert r.ended and not r.failed
    # Events the repair did not change go out with their original data text.
    originals = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
    assert [e.data for e in out] == originals


def test_fixtures_repair_to_valid_streams(fixtures_dir: Path) -> None:
    for name, faults in (
        ("apim-passthrough-done-sentinel.sse", {"F01": 1}),
        ("foundry-direct.sse", {}),
    ):
        raw = (fixtures_dir / name).read_bytes()
        for chunk in CHUNKINGS:
            out, r = repair(raw, chunk=chunk)
            assert_valid(out)
            assert texts(out) == "Hello! 👋 How can I help you today?"
            assert r.anomalies.counts() == faults
            assert all("[DONE]" not in e.data for e in out)


def test_F01_done_sentinel_dropped() -> None:
    out, r = repair(clean_text_stream("hi") + b"data: [DONE]\n\n")
    assert_valid(out)
    assert r.anomalies.counts() == {"F01": 1}


def test_F02_glued_events_in_text_are_split_and_kept() -> None:
    # As a Foundry deployment sent it: the blank line between two deltas became spaces.
    glued = (
        b"event: content_block_delta\n"
        + b"data: "
        + orjson.dumps(text(0, " Director, Regulatory Affairs | 1"))
        + b"    event: content_block_delta\n"
        + b"data: "
        + orjson.dumps(text(0, "23"))
        + b"\n\n"
    )
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "A"),
        glued,
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )
    for chunk in CHUNKINGS:
        out, r = repair(raw, chunk=chunk)
        assert_valid(out)
        assert texts(out) == "A Director, Regulatory Affairs | 123"
        assert r.anomalies.counts()["F02"] == 1
        assert not r.failed


def test_F02_glued_on_one_line_and_with_terminal_events() -> None:
    body = (
        orjson.dumps(text(0, "x}{"))
        + b"  event: content_block_stop  data: "
        + orjson.dumps(block_stop(0))
        + b" "
        + orjson.dumps(message_delta("end_turn"))
        + b"    "
    )
    raw = wire(
        message_start(),
        text_start(0),
        b"event: content_block_delta\ndata: " + body + b"\n\n",
        MESSAGE_STOP,
    )
    out, _r = repair(raw)
    assert_valid(out)
    assert texts(out) == "x}{"
    assert out[-2].payload["delta"]["stop_reason"] == "end_turn"


def test_F02_glued_tool_input_keeps_every_fragment() -> None:
    first = delta(0, "input_json_delta", '{"city": "Zür')
    second = delta(0, "input_json_delta", 'ich"}')
    glued = (
        b"event: content_block_delta\ndata: "
        + orjson.dumps(first)
        + b"}  event: content_block_delta\ndata: "
        + orjson.dumps(second)
        + b"\n\n"
    )
    raw = wire(
        message_start(),
        tool_start(0),
        glued,
        block_stop(0),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, _r = repair(raw)
    # the stray "}" after the first value is noise between values, not content
    assert_valid(out)
    assert tool_inputs(out) == [{"city": "Zürich"}]


def test_F39_event_cut_mid_json_fails_instead_of_losing_text() -> None:
    # '"partial_json":"ary_foevent: content_block_delta' — the first event's tail is gone: a
    # break after the last intact event, which a resume continues from, never a hole.
    cut = b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ary_foevent: content_block_delta\n'
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "Summ"),
        cut + b"data: " + orjson.dumps(text(0, "more")) + b"\n\n",
    )
    out, r = repair(raw)
    assert r.failed and r.failure is not None and r.failure.fault == "F39"
    assert texts(out) == "Summ"
    ending = finalize(r, "error")
    assert_error_ending(out + ending)


def assert_error_ending(events: list) -> None:
    assert not violations(events), violations(events)
    assert events[-1].type == "error"


def test_F03_missing_event_lines_named_from_data_type() -> None:
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "hi"),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
        name_events=False,
    )
    for chunk in CHUNKINGS:
        out, r = repair(raw, chunk=chunk)
        assert_valid(out)
        assert texts(out) == "hi"
        assert r.anomalies.counts()["F03"] == 6


def test_F08_comments_retry_and_empty_events_ignored() -> None:
    raw = clean_text_stream("a", "b").replace(
        b"event: content_block_stop",
        b": keep-alive\n\nretry: 300\n\nevent: content_block_delta\n\nevent: content_block_stop",
    )
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "ab"
    assert len(r.anomalies) == 0


def test_F10_unknown_events_pass_through_and_can_be_dropped() -> None:
    vertex = frame({"type": "vertex_event", "x": 1})
    raw = wire(
        message_start(),
        vertex,
        text_start(0),
        text(0, "a"),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )
    out, _ = repair(raw)
    assert [e.type for e in out].count("vertex_event") == 1
    assert_valid(out)
    out, _r = repair(raw, drop_events=["vertex_event"])
    assert "vertex_event" not in [e.type for e in out]
    # before message_start it waits, so the first event a client sees is message_start
    out, _ = repair(vertex + raw)
    assert out[0].type == "message_start"
    assert [e.type for e in out].count("vertex_event") == 2


def test_F10_ping_can_be_dropped_by_configuration() -> None:
    # The configuration accepts ping in drop_events (the only known event it does): it must act.
    raw = wire(message_start(), PING, text_start(0), PING, text(0, "a"), block_stop(0))
    raw += wire(message_delta(), MESSAGE_STOP)
    out, _ = repair(raw)
    assert [e.type for e in out].count("ping") == 2
    out, r = repair(raw, drop_events=["ping"])
    assert_valid(out)
    assert "ping" not in [e.type for e in out] and texts(out) == "a"
    assert r.anomalies.counts()["F10"] == 2


def test_F11_same_id_repeat_dropped() -> None:
    raw = wire(
        message_start(),
        message_start(),
        text_start(0),
        text(0, "a"),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert r.anomalies.counts()["F11"] == 1


def test_F11_endless_message_start_is_a_failure() -> None:
    raw = wire(*[message_start()] * 50)
    out, r = repair(raw)
    assert [e.type for e in out] == ["message_start"]
    assert r.failed and r.failure is not None and r.failure.fault == "F11"


def test_F11_new_id_inside_a_message_is_a_failure() -> None:
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "a"),
        message_start("msg_other"),
        text_start(0),
        text(0, "b"),
    )
    out, r = repair(raw)
    assert r.failed and r.failure is not None and r.failure.fault == "F11"
    assert texts(out) == "a"


def test_F12_index_gaps_renumbered() -> None:
    raw = wire(
        message_start(),
        text_start(2),
        text(2, "a"),
        block_stop(2),
        tool_start(5),
        delta(5, "input_json_delta", '{"q": 1}'),
        block_stop(5),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert [e.payload.get("index") for e in out if e.type.startswith("content_block")] == [
        0,
        0,
        0,
        1,
        1,
        1,
    ]
    assert "F12" in r.anomalies


def test_F12_index_reuse_and_unknown_deltas() -> None:
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "a"),
        block_stop(0),
        text(7, "ghost"),
        block_stop(0),
        text_start(0),
        text(0, "b"),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "ab"
    assert r.anomalies.counts()["F12"] >= 3


def test_F12_a_lost_start_is_put_back_when_the_delta_says_what_the_block_was() -> None:
    # The next block's content_block_start never came: its deltas are the answer, not strays.
    raw = wire(
        message_start(),
        text(0, "a"),
        text(0, "b"),
        block_stop(0),
        delta(1, "thinking_delta", "hm"),
        block_stop(1),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "ab"
    starts = [e.payload["content_block"] for e in out if e.type == "content_block_start"]
    assert starts == [
        {"type": "text", "text": ""},
        {"type": "thinking", "thinking": "", "signature": ""},
    ]
    assert r.anomalies.counts()["F12"] == 2 and r.ended


def test_F12_a_tool_delta_without_its_start_is_not_given_one() -> None:
    # A tool_use start carries the tool's id and name, which no delta repeats.
    raw = wire(message_start(), delta(0, "input_json_delta", "{}"), message_delta(), MESSAGE_STOP)
    out, r = repair(raw)
    assert_valid(out)
    assert [e.type for e in out if e.type.startswith("content_block")] == []
    assert r.anomalies.counts()["F12"] == 1


def test_F12_deltas_and_stops_without_index_belong_to_the_open_block() -> None:
    unindexed = [{k: v for k, v in e.items() if k != "index"} for e in (text(0, "a"), text(0, "b"))]
    raw = wire(
        message_start(),
        text_start(0),
        *unindexed,
        {"type": "content_block_stop", "index": None},
        text_start(1),
        text(1, "c"),
        block_stop(1),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "abc"
    assert r.anomalies.counts()["F12"] == 3
    # With no block open there is nothing it could extend.
    out, r = repair(wire(message_start(), unindexed[0], message_delta(), MESSAGE_STOP))
    assert texts(out) == "" and r.anomalies.counts()["F12"] == 1


@pytest.mark.parametrize("spelled", [str, float], ids=["string", "float"])
def test_F12_an_index_spelled_as_a_string_or_float_is_read_as_the_number(
    spelled: type,
) -> None:
    """Clients index their block lists with it: "0" passed on breaks them, and dropping the
    deltas of a block they cannot find would lose the answer."""

    def indexed(payload: dict[str, object]) -> dict[str, object]:
        return {**payload, "index": spelled(payload["index"])}

    raw = wire(
        message_start(),
        indexed(text_start(0)),
        indexed(text(0, "a")),
        text(0, "b"),
        indexed(block_stop(0)),
        indexed(tool_start(1)),
        indexed(delta(1, "input_json_delta", '{"q": 1}')),
        indexed(block_stop(1)),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "ab"
    assert tool_inputs(out) == [{"q": 1}]
    indices = [e.payload["index"] for e in out if e.type.startswith("content_block")]
    assert indices == [0, 0, 0, 0, 1, 1, 1] and all(type(i) is int for i in indices)
    assert all('"index":"' not in e.data for e in out)
    assert r.anomalies.counts()["F12"] == 6  # one per spelled index


def test_F13_stray_thinking_delta_in_a_text_block_is_dropped() -> None:
    """Re-homed in a block of its own it would be an unsigned thinking block, which the API
    refuses when the client sends the message back on its next turn."""
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "a"),
        delta(0, "thinking_delta", "hmm"),
        text(0, "b"),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    kinds = [e.payload["content_block"]["type"] for e in out if e.type == "content_block_start"]
    assert kinds == ["text"]
    assert texts(out) == "ab"
    assert "F13" in r.anomalies


def test_F13_text_delta_into_a_held_tool_call_with_cut_json_fails_cleanly() -> None:
    # Found by the property test: the re-homed text block took the index of the held tool call,
    # which the client never saw, so its content_block_start skipped an index.
    raw = wire(
        message_start(),
        text_start(0),
        tool_start(1, "toolu_1"),
        delta(1, "input_json_delta", "{"),
        text(1, "late text"),
        MESSAGE_STOP,
    )
    out, r = repair(raw, atomic_tools=True)
    assert r.failed and r.failure is not None and r.failure.fault == "F14"
    assert [b.type for b in r.blocks] == ["text"]  # the unsent tool call is not one of them
    assert not violations(out + finalize(r, "error"))


def test_F14_tool_start_without_input_gets_empty_input() -> None:
    start = block_start(0, {"type": "tool_use", "id": "toolu_9", "name": "f"})
    raw = wire(message_start(), start, block_stop(0), message_delta("tool_use"), MESSAGE_STOP)
    out, r = repair(raw)
    assert_valid(out)
    assert out[1].payload["content_block"]["input"] == {}
    assert "F14" in r.anomalies


@pytest.mark.parametrize("chunk", CHUNKINGS)
def test_F14_atomic_tool_call_released_whole(chunk: int) -> None:
    raw = tool_stream("", '{"city": "Z', 'ürich", "days"', ": 3}")
    out, _r = repair(raw, chunk=chunk)
    assert_valid(out)
    deltas = [e for e in out if e.type == "content_block_delta"]
    assert len(deltas) == 1
    assert tool_inputs(out) == [{"city": "Zürich", "days": 3}]


def test_F14_cut_tool_json_is_a_failure_and_never_half_sent() -> None:
    raw = wire(
        message_start(),
        text_start(0),
        text(0, "Let me check."),
        block_stop(0),
        tool_start(1),
        delta(1, "input_json_delta", '{"city": "Zü'),
        block_stop(1),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert r.failed and r.failure is not None and r.failure.fault == "F14"
    assert all(e.payload.get("content_block", {}).get("type") != "tool_use" for e in out)
    assert_error_ending(out + finalize(r, "error"))


def test_F14_streaming_tools_when_atomic_is_off() -> None:
    raw = tool_stream("", '{"a"', ": 1}")
    out, _r = repair(raw, atomic_tools=False)
    assert_valid(out)
    assert len([e for e in out if e.type == "content_block_delta"]) == 2  # the empty one dropped
    assert tool_inputs(out) == [{"a": 1}]


def test_F14_duplicate_tool_id_dropped() -> None:
    raw = wire(
        message_start(),
        tool_start(0, "toolu_same"),
        delta(0, "input_json_delta", "{}"),
        block_stop(0),
        tool_start(1, "toolu_same"),
        delta(1, "input_json_delta", "{}"),
        block_stop(1),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, _r = repair(raw)
    assert_valid(out)
    assert len([e for e in out if e.type == "content_block_start"]) == 1


@pytest.mark.parametrize(
    "start_usage, delta_usage, expect_out",
    [
        ({"input_tokens": None}, {"output_tokens": None}, 1),
        ({}, None, 1),
        ({"input_tokens": 0, "output_tokens": 0}, {"output_tokens": 33, "input_tokens": None}, 33),
    ],
)
def test_F15_usage_always_numbers(
    start_usage: dict, delta_usage: dict | None, expect_out: int
) -> None:
    md = message_delta()
    if delta_usage is None:
        del md["usage"]
    else:
        md["usage"] = delta_usage
    raw = wire(
        message_start(**start_usage), text_start(0), text(0, "a"), block_stop(0), md, MESSAGE_STOP
    )
    out, r = repair(raw)
    assert_valid(out)
    start_usage_out = out[0].payload["message"]["usage"]
    assert isinstance(start_usage_out["input_tokens"], int)
    final = out[-2].payload["usage"]
    assert final["output_tokens"] == expect_out
    assert all(v is not None for v in final.values())
    assert "F15" in r.anomalies


@pytest.mark.parametrize(
    "tail",
    [
        wire(text(0, "b")),  # EOF after a delta
        wire(text(0, "b"), block_stop(0)),  # EOF after the block stop
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_d',
    ],
)
def test_F16_missing_terminal_events_is_a_failure(tail: bytes) -> None:
    raw = wire(message_start(), text_start(0), text(0, "a")) + tail
    for chunk in CHUNKINGS:
        out, r = repair(raw, chunk=chunk)
        assert r.failed and r.failure is not None and r.failure.fault == "F16"
        assert not r.ended
        assert violations(out) == ["no message_stop: the stream is incomplete"]


def test_F16_only_message_stop_lost_is_completed() -> None:
    raw = wire(message_start(), text_start(0), text(0, "a"), block_stop(0), message_delta())
    out, r = repair(raw)
    assert_valid(out)
    assert r.ended and "F16" in r.anomalies


def test_F16_empty_body_fails() -> None:
    out, r = repair(b"")
    assert out == [] and r.failed


def test_F17_error_event_is_a_typed_failure() -> None:
    err = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    out, r = repair(wire(err))
    assert out == []
    assert r.failure == Failure(
        "F17", "overloaded_error", r.failure.message if r.failure else "", err
    )
    out, r = repair(wire(message_start(), text_start(0), text(0, "abc"), err))
    ending = finalize(r, "error")
    assert_error_ending(out + ending)
    assert ending[-1].payload["error"]["type"] == "overloaded_error"
    assert "3 characters" in ending[-1].payload["error"]["message"]


@pytest.mark.parametrize(
    ("error", "error_type", "said"),
    [
        (
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
            "rate_limit_error",
            "slow",
        ),
        ({"type": "error", "error": {"type": "server_error", "message": "x"}}, "api_error", "x"),
        (
            {"type": "error", "error": {"message": "Overloaded", "code": 529}},
            "overloaded_error",
            "Overloaded",
        ),
        # OpenAI's shape, as gateways between send it on an Anthropic stream: no type, no name.
        (
            {"error": {"message": "Rate limit reached", "type": "requests", "code": "429"}},
            "rate_limit_error",
            "Rate limit reached",
        ),
        ({"error": "upstream connect error"}, "api_error", "upstream connect error"),
        (
            b"event: error\ndata: upstream request timeout\n\n",
            "timeout_error",
            "upstream request timeout",
        ),
        (b"event: error\ndata: <html>502 Bad Gateway</html>\n\n", "api_error", "502 Bad Gateway"),
    ],
    ids=["anthropic", "unknown-type", "code-only", "openai-shape", "bare-string", "text", "html"],
)
def test_F17_every_shape_of_error_is_read_as_an_anthropic_type(
    error: dict | bytes, error_type: str, said: str
) -> None:
    if isinstance(error, dict):
        error = frame(error, "" if "type" in error else None)
    for before in ((), (message_start(), text_start(0), text(0, "abc"))):
        out, r = repair(wire(*before, error))
        assert r.failure is not None and r.failure.fault == "F17"
        assert r.failure.error_type == error_type
        assert said in r.failure.message
        assert texts(out) == ("abc" if before else "")


def test_F26_openai_chunks_where_messages_events_were_due_say_so() -> None:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"delta": {"content": "hi"}}],
    }
    out, r = repair(frame(chunk, None) + b"data: [DONE]\n\n")
    assert out == [] and r.failure is not None
    assert r.failure.fault == "F26" and "chat.completion chunks" in r.failure.message


def test_F23b_events_after_message_stop_dropped() -> None:
    raw = clean_text_stream("a") + wire(text(0, "garbage"), message_start("msg_2"))
    out, r = repair(raw)
    assert_valid(out)
    assert texts(out) == "a"
    assert r.anomalies.counts()["F23b"] == 2


def test_F27_thinking_and_signature_byte_exact_and_late_signature_kept_inside() -> None:
    sig = "EqQBCkgIARABGAIiQL+/=="
    raw = wire(
        message_start(),
        thinking_start(0),
        delta(0, "thinking_delta", "Let me think\u2028 about é"),
        block_stop(0),
        delta(0, "signature_delta", sig),
        text_start(1),
        text(1, "Answer"),
        block_stop(1),
        message_delta(),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert_valid(out)
    sigs = [
        e
        for e in out
        if e.type == "content_block_delta" and e.payload["delta"]["type"] == "signature_delta"
    ]
    assert len(sigs) == 1 and sigs[0].payload["delta"]["signature"] == sig
    thinking = next(e for e in out if e.type == "content_block_delta")
    assert (
        thinking.data
        == orjson.dumps(delta(0, "thinking_delta", "Let me think\u2028 about é")).decode()
    )
    assert "F27" in r.anomalies


def test_ping_before_message_start_does_not_commit() -> None:
    out, _ = repair(wire(PING) + clean_text_stream("a"))
    assert out[0].type == "message_start"


def test_continuation_splices_into_the_same_message() -> None:
    r = Repairer()
    pipe = StreamRepair(r)
    first = (
        pipe.feed(wire(message_start(), PING, text_start(0), text(0, "Hello, wo"))) + pipe.close()
    )
    assert r.failed and r.resumable and r.delivered_text == "Hello, wo"
    r.begin_continuation()
    pipe = StreamRepair(r)
    second = pipe.feed(
        wire(
            message_start("msg_cont", input_tokens=40, output_tokens=1),
            text_start(0),
            text(0, "rld!"),
            block_stop(0),
            message_delta(output_tokens=5),
            MESSAGE_STOP,
        )
    )
    second += pipe.close()
    events = first + second
    assert_valid(events)
    assert texts(events) == "Hello, world!"
    assert events[-2].payload["usage"]["output_tokens"] == 6


@pytest.mark.parametrize(
    ("interrupted", "continuation"),
    [
        # Cut at the end of the text: the continuation is only the tool call, at index 0 again.
        ([text_start(0), text(0, "Let me check.")], [tool_start(0)]),
        # Cut in a second text block (upstream index 1): the continuation's text carries it on,
        # and its tool call comes at index 1, the interrupted block's old number.
        (
            [text_start(0), text(0, "One."), block_stop(0), text_start(1), text(1, "Let me")],
            [text_start(0), text(0, " check."), block_stop(0), tool_start(1)],
        ),
    ],
    ids=["tool-first", "text-then-tool"],
)
def test_a_continuation_keeps_a_tool_call_numbered_like_the_interrupted_block(
    interrupted: list[dict[str, object]], continuation: list[dict[str, object]]
) -> None:
    """Found with the Vercel AI SDK: the continuation's tool_use start was taken for a duplicate
    of the interrupted block's (same upstream index, but another stream's), dropped with its
    input, and the client got stop_reason tool_use without a tool call."""
    r = Repairer()
    pipe = StreamRepair(r)
    first = pipe.feed(wire(message_start(), *interrupted)) + pipe.close()
    assert r.failed and r.resumable
    r.begin_continuation()
    pipe = StreamRepair(r)
    tool_index = continuation[-1]["index"]
    assert isinstance(tool_index, int)
    second = pipe.feed(
        wire(
            message_start("msg_cont"),
            *continuation,
            delta(tool_index, "input_json_delta", '{"city": "Paris"}'),
            block_stop(tool_index),
            message_delta("tool_use"),
            MESSAGE_STOP,
        )
    )
    second += pipe.close()
    events = first + second
    assert_valid(events)
    assert texts(events) == "".join(
        str(e["delta"]["text"])  # type: ignore[index]
        for e in [*interrupted, *continuation]
        if e["type"] == "content_block_delta"
    )
    assert tool_inputs(events) == [{"city": "Paris"}]
    assert "F12" not in r.anomalies


def test_finalize_mode_ends_as_complete_message() -> None:
    out, r = repair(wire(message_start(), text_start(0), text(0, "abc")))
    ending = finalize(r, "finalize", stop_reason="max_tokens")
    assert_valid(out + ending)
    assert ending[-2].payload["delta"]["stop_reason"] == "max_tokens"


def test_finalize_error_before_anything_is_a_lone_error() -> None:
    r = Repairer()
    ending = finalize(
        r, "error", Failure("F21", "timeout_error", "the upstream sent nothing for 30 s")
    )
    assert [e.type for e in ending] == ["error"]
    assert ending[0].payload["error"]["type"] == "timeout_error"


def test_repairer_never_raises_on_odd_payloads() -> None:
    r = Repairer()
    for data in [
        "1",
        "[]",
        "null",
        '{"type": 5}',
        '{"type":"content_block_delta"}',
        '{"type":"message_start","message":7}',
        "{",
        "",
    ]:
        r.feed(SSEEvent(None, data))
        r.feed(SSEEvent("content_block_delta", data))
    r.close()


@pytest.mark.parametrize("drop", [(), ("ping",)])
def test_a_finished_repairer_is_freed_without_the_cyclic_gc(drop: tuple[str, ...]) -> None:
    # A repairer holds the whole answer's text; a reference cycle in it would keep every
    # finished request's state until a collection, and make collections (which pause every
    # stream) more frequent.
    pipe = StreamRepair(Repairer(drop_events=drop))
    pipe.feed(wire(PING) + clean_text_stream("some text"))
    gone = weakref.ref(pipe.repairer)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del pipe
        assert gone() is None
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize(
    ("reads", "quiet"),
    [
        ([b": keep-alive\n\n"], True),
        ([b"\n", b": ping\n", b"\n"], True),
        ([b"retry: 3000\n\n"], True),
        ([frame(text(0, "a"))], False),
        ([b'event: content_block_delta\ndata: {"type":"content_block_delta","ind'], False),
        ([b"event: content_block_delta\n"], False),
        ([b": keep-alive\n\ndata: {"], False),
    ],
    ids=["comment", "comments-split", "retry-only", "event", "half-event", "name-only", "tail"],
)
def test_F21_a_read_of_keep_alives_only_is_quiet(reads: list[bytes], quiet: bool) -> None:
    # The gateway's idle timeout counts from the last read that was not quiet: a stalled upstream
    # that sends comments forever must not hold the client until the total limit.
    pipe = StreamRepair()
    pipe.feed(wire(message_start(), text_start(0)))
    assert not pipe.quiet
    for read in reads:
        pipe.feed(read)
    assert pipe.quiet is quiet
