"""Resume in the repair layer: thinking held until signed, continuations verified before they
reach the client, legitimate stops inside held tool calls, no invented endings."""

from __future__ import annotations

import pytest

from sseguard.protocol.repair import Repairer
from sseguard.protocol.splice import SpliceCheck
from sseguard.protocol.stream import StreamRepair
from streams import (
    MESSAGE_STOP,
    assert_valid,
    block_start,
    block_stop,
    delta,
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

SIG = "EqQBCkgIARABGAIiQL"


def thinking_block(index: int, words: str = "Let me think", *, signed: bool = True) -> list:
    parts = [thinking_start(index), delta(index, "thinking_delta", words)]
    if signed:
        parts.append(delta(index, "signature_delta", SIG))
    return [*parts, block_stop(index)]


def first_attempt(*parts: dict, hold_thinking: bool = True) -> tuple[list, Repairer]:
    r = Repairer(hold_thinking=hold_thinking)
    pipe = StreamRepair(r)
    out = pipe.feed(wire(message_start(), *parts)) + pipe.close()
    return out, r


def continue_with(r: Repairer, *parts: dict, prefill: bool = False) -> list:
    r.begin_continuation(prefill=prefill)
    pipe = StreamRepair(r)
    return pipe.feed(wire(message_start("msg_cont"), *parts)) + pipe.close()


# -- thinking held until its signature ---------------------------------------------------------


def test_a_cut_inside_thinking_sends_nothing_of_it() -> None:
    out, r = first_attempt(thinking_start(0), delta(0, "thinking_delta", "Let me"))
    assert [e.type for e in out] == ["message_start"]
    assert r.failed and not r.blocks


def test_thinking_streams_live_when_not_held() -> None:
    out, r = first_attempt(
        thinking_start(0), delta(0, "thinking_delta", "Let me"), hold_thinking=False
    )
    assert [e.type for e in out] == ["message_start", "content_block_start", "content_block_delta"]
    assert not r.resumable  # an unsigned thinking block reached the client


def test_a_signed_thinking_block_goes_out_whole_and_byte_exact() -> None:
    out, r = repair(
        wire(
            message_start(),
            *thinking_block(0),
            text_start(1),
            text(1, "Hi"),
            block_stop(1),
            message_delta(),
            MESSAGE_STOP,
        )
    )
    assert_valid(out)
    sig = [e for e in out if e.type == "content_block_delta" and "signature" in e.payload["delta"]]
    assert sig[0].payload["delta"]["signature"] == SIG
    assert r.delivered_content()[0] == {
        "type": "thinking",
        "thinking": "Let me think",
        "signature": SIG,
    }


def test_a_cut_after_signed_thinking_is_resumable_and_the_continuation_thinking_is_dropped() -> (
    None
):
    first, r = first_attempt(*thinking_block(0), text_start(1), text(1, "The answer is "))
    assert r.failed and r.resumable
    second = continue_with(
        r,
        *thinking_block(0, "Again"),
        text_start(1),
        text(1, "forty-two."),
        block_stop(1),
        message_delta(),
        MESSAGE_STOP,
    )
    events = first + second
    assert_valid(events)
    kinds = [e.payload["content_block"]["type"] for e in events if e.type == "content_block_start"]
    assert kinds == ["thinking", "text"]
    assert texts(events) == "The answer is forty-two."
    assert "Again" not in "".join(e.data for e in events)


# -- verified splices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delivered", "continuation", "prefill", "joined"),
    [
        ("Hello, wo", ["rld!"], True, "Hello, world!"),
        ("Hello, wo", ["rld!"], False, "Hello, world!"),
        # Restated last words, in pieces: trimmed by the overlap.
        ("It mixes accents (café, naïve, Å", ["naïve, ", "Ångström)"], False, None),
        # A restart that reproduces the delivered text: skipped.
        ("Voilà: the simulator's", ["Voilà: the ", "simulator's canonical"], True, None),
        ("Voilà: the simulator's", ["Voilà: the simulator's canonical"], False, None),
        # The prefill lost its trailing space; the continuation brings it back.
        ("Hello, ", [" world"], True, "Hello, world"),
        # A one-letter word is no evidence of a restatement.
        ("This is a", [" and"], False, "This is a and"),
    ],
)
def test_a_splice_never_repeats_and_never_leaves_a_hole(
    delivered: str, continuation: list[str], prefill: bool, joined: str | None
) -> None:
    first, r = first_attempt(text_start(0), text(0, delivered))
    second = continue_with(
        r,
        text_start(0),
        *(text(0, c) for c in continuation),
        block_stop(0),
        message_delta(),
        MESSAGE_STOP,
        prefill=prefill,
    )
    events = first + second
    assert_valid(events)
    if joined is None:  # the canonical sentence these cases are cut from
        whole = "".join(continuation)
        joined = delivered[: delivered.index(whole[:4])] + whole if whole[:4] in delivered else ""
        joined = joined or delivered + whole
    assert texts(events) == joined
    assert r.ended


def test_a_restart_that_differs_from_the_delivered_text_is_refused() -> None:
    first, r = first_attempt(text_start(0), text(0, "Voilà: the simulator's canonical answer"))
    second = continue_with(
        r, text_start(0), text(0, "Voilà: the simulator's other answer, entirely"), prefill=True
    )
    assert r.failed and r.failure is not None and r.failure.fault == "F11"
    assert "began the answer again" in r.failure.message
    assert texts(first + second) == "Voilà: the simulator's canonical answer"


def test_nothing_of_a_continuation_is_sent_before_it_is_checked() -> None:
    _, r = first_attempt(text_start(0), text(0, "Voilà: the simulator's canonical"))
    r.begin_continuation(prefill=True)
    pipe = StreamRepair(r)
    held = pipe.feed(wire(message_start("msg_cont"), text_start(0), text(0, "Voilà: the")))
    assert texts(held) == ""  # could still be a restart
    rest = pipe.feed(wire(text(0, " simulator's canonical answer.")))
    assert texts(rest) == " answer."
    assert r.restarted


def test_renumbered_text_is_counted_once() -> None:
    """A block whose upstream index differs from its output index counted each delta twice, so
    a resume's prefill repeated the text ('HelloHello world world')."""
    out, r = repair(wire(message_start(), text_start(3), text(3, "Hello"), text(3, " world")))
    assert texts(out) == "Hello world"
    assert r.delivered_text == "Hello world"


def test_splice_check_overlap_candidates() -> None:
    check = SpliceCheck("the cat sat on the", prefill=False)
    assert check.feed(" mat") == " mat"
    check = SpliceCheck("one two three", prefill=False)
    assert check.feed("two thr") is None  # may still be restating "two three"
    assert check.feed("ee four") == " four"


# -- tool calls and endings --------------------------------------------------------------------


@pytest.mark.parametrize("with_block_stop", [True, False])
def test_max_tokens_inside_a_held_tool_call_is_delivered_as_sent(with_block_stop: bool) -> None:
    out, r = repair(
        wire(
            message_start(),
            text_start(0),
            text(0, "Checking."),
            block_stop(0),
            tool_start(1),
            delta(1, "input_json_delta", '{"city": "San Fra'),
            *([block_stop(1)] if with_block_stop else []),
            message_delta("max_tokens"),
            MESSAGE_STOP,
        )
    )
    assert_valid(out)
    assert r.ended and r.stop_reason == "max_tokens"
    partial = [e for e in out if e.type == "content_block_delta" and e.payload["index"] == 1]
    assert partial[0].payload["delta"]["partial_json"] == '{"city": "San Fra'


def test_a_held_tool_call_cut_without_a_stop_reason_still_fails() -> None:
    out, r = repair(
        wire(
            message_start(),
            tool_start(0),
            delta(0, "input_json_delta", '{"city": "San Fra'),
            block_stop(0),
            message_delta("tool_use"),
            MESSAGE_STOP,
        )
    )
    assert r.failed and r.failure is not None and r.failure.fault == "F14"
    assert not [e for e in out if e.type == "content_block_start"]


def test_a_cut_in_a_held_tool_call_after_text_resumes_to_text_once_and_the_call_whole() -> None:
    first, r = first_attempt(
        text_start(0),
        text(0, "Let me check."),
        block_stop(0),
        tool_start(1),
        delta(1, "input_json_delta", '{"ci'),
    )
    assert r.failed and r.resumable
    second = continue_with(
        r,
        text_start(0),
        text(0, "Let me check."),
        block_stop(0),
        tool_start(1),
        delta(1, "input_json_delta", '{"city": "Paris"}'),
        block_stop(1),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    events = first + second
    assert_valid(events)
    assert texts(events) == "Let me check."
    starts = [e.payload["content_block"]["type"] for e in events if e.type == "content_block_start"]
    assert starts == ["text", "tool_use"]


def test_message_stop_without_message_delta_invents_no_ending() -> None:
    out, r = repair(
        wire(message_start(), text_start(0), text(0, "Hi"), block_stop(0), MESSAGE_STOP)
    )
    assert r.failed and r.failure is not None and r.failure.fault == "F16"
    assert not [e for e in out if e.type == "message_delta"]


def test_redacted_thinking_goes_back_as_it_came() -> None:
    block = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3"}
    _, r = first_attempt(block_start(0, block), block_stop(0), text_start(1), text(1, "Hi"))
    assert r.resumable
    assert r.delivered_content() == [block, {"type": "text", "text": "Hi"}]


@pytest.mark.parametrize("kind", ["tool", "thinking"])
def test_a_held_block_has_a_bound(kind: str) -> None:
    """A held tool input or thinking block grows with upstream input: past max_held the stream
    fails (F09) rather than keeping whatever an upstream sends in memory."""
    if kind == "tool":
        parts = [tool_start(0), *(delta(0, "input_json_delta", '"xxxxxxxxxx",') for _ in range(5))]
    else:
        parts = [thinking_start(0), *(delta(0, "thinking_delta", "x" * 10) for _ in range(5))]
    r = Repairer(max_held=30)
    out = StreamRepair(r).feed(wire(message_start(), *parts))
    assert r.failed and r.failure is not None and r.failure.fault == "F09"
    assert [e.type for e in out] == ["message_start"]
    assert not r.blocks
