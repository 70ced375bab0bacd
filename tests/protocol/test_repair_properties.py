"""Property tests: whatever an upstream sends, the repairer's output plus its truthful ending is valid."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sseguard.protocol.finalize import finalize
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.protocol.stream import StreamRepair
from sseguard.sse import encode
from streams import (
    MESSAGE_STOP,
    PING,
    block_start,
    block_stop,
    delta,
    frame,
    message_delta,
    message_start,
    repair,
    text,
    text_start,
    thinking_start,
    tool_start,
)

index = st.integers(min_value=0, max_value=3)
words = st.text(max_size=6)

payloads: st.SearchStrategy[dict[str, Any] | bytes] = st.one_of(
    st.builds(message_start, st.sampled_from(["msg_a", "msg_a", "msg_b"])),
    st.builds(text_start, index),
    st.builds(tool_start, index, st.sampled_from(["toolu_1", "toolu_2"])),
    st.builds(thinking_start, index),
    st.builds(block_start, index, st.just({"type": "web_search_tool_result", "content": []})),
    st.builds(text, index, words),
    st.builds(delta, index, st.just("thinking_delta"), words),
    st.builds(delta, index, st.just("signature_delta"), words),
    st.builds(
        delta,
        index,
        st.just("input_json_delta"),
        st.sampled_from(["", "{", '"a"', ": 1", "}", "{}"]),
    ),
    st.builds(block_stop, index),
    st.builds(
        message_delta,
        st.sampled_from(["end_turn", "tool_use"]),
        st.sampled_from([None, 3, 0]),
    ),
    st.just(MESSAGE_STOP),
    st.just(PING),
    st.just({"type": "error", "error": {"type": "overloaded_error", "message": "x"}}),
    st.just({"type": "vertex_event"}),
    st.just(b"data: [DONE]\n\n"),
    st.just(b"data: {garbage\n\n"),
    st.just(
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"q"}}  event: ping\ndata: {"type":"ping"}\n\n'
    ),
    st.just(b": comment\n\n"),
)


def build(parts: list[dict[str, Any] | bytes], named: list[bool]) -> bytes:
    out = b""
    for part, name in zip(parts, named, strict=False):
        out += part if isinstance(part, bytes) else frame(part, "" if name else None)
    return out


streams = st.integers(min_value=0, max_value=25).flatmap(
    lambda n: st.tuples(
        st.lists(payloads, min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)
    )
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams, st.booleans(), st.sampled_from(["error", "finalize"]))
def test_output_plus_ending_always_satisfies_the_grammar(
    stream: tuple[list[dict[str, Any] | bytes], list[bool]], atomic: bool, mode: str
) -> None:
    raw = build(*stream)
    out, r = repair(raw, atomic_tools=atomic)
    if not r.ended:
        assert r.failed  # a stream that did not end properly is reported, never passed as success
        out += finalize(r, "error" if mode == "error" else "finalize")
    problems = violations(out)
    assert not problems, (problems, raw)
    for e in out:
        assert orjson.loads(e.data) == e.payload or e.type == "vertex_event"
        # The relay sends a frame as it is: it must be this event's encoding, nothing else.
        assert e.frame is None or e.frame == encode(e.type, e.data)


@settings(max_examples=200, deadline=None)
@given(streams, st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=40))
def test_any_rechunking_gives_identical_events(
    stream: tuple[list[dict[str, Any] | bytes], list[bool]], cuts: list[int]
) -> None:
    raw = build(*stream)
    whole, r1 = repair(raw)
    pipe = StreamRepair(Repairer())
    pieces = []
    pos = 0
    for c in cuts:
        pieces.append(raw[pos : pos + c])
        pos += c
    pieces.append(raw[pos:])
    out = []
    for piece in pieces:
        out += pipe.feed(piece)
    out += pipe.close()
    # message ids synthesized for a missing message_start are random; compare everything else
    assert [(e.type, e.payload) for e in out if e.type != "message_start"] == [
        (e.type, e.payload) for e in whole if e.type != "message_start"
    ]
    assert pipe.repairer.anomalies.counts() == r1.anomalies.counts()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    out, r = repair(raw)
    if not r.ended:
        out += finalize(r, "error")
    assert not violations(out)
