"""Bugs the fuzz targets found, each as its smallest input.

Open ones are listed in ``targets.KNOWN_BUGS`` and marked ``xfail(strict=True)`` until the owner of
the code fixes them: the suite stays green now and fails when a fix lands, as a reminder to drop
the mark and the ``KNOWN_BUGS`` entry together. Fixed ones stay here as plain regression tests.
"""

from __future__ import annotations

import orjson
import pytest

from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.protocol.stream import StreamRepair
from sseguard.translate.browser import BrowserFraming
from sseguard.translate.chunks_out import ChunkEncoder
from streams import (
    MESSAGE_STOP,
    block_start,
    block_stop,
    clean_text_stream,
    delta,
    message_delta,
    message_start,
    repair,
    text,
    text_start,
    texts,
    tool_start,
    wire,
)


def test_an_unknown_type_under_a_known_event_name_keeps_its_own_name() -> None:
    # Found by repair_bytes (misnamed-unknown, fixed in f3e2e44): one byte of "message_stop"
    # lost in the data, its event: line intact. Also reached through F02: two glued events' first piece takes the block's last event:
    # name (chunks_out then raised KeyError 'message' on a message_start named so).
    raw = wire(message_start(), text_start(0), text(0, "Hi"), block_stop(0))
    raw += b'event: message_stop\ndata: {"type":"x"}\n\n'
    raw += wire(message_delta(), MESSAGE_STOP)
    out, r = repair(raw)
    assert violations(out, allow_error_end=False) == []
    assert r.ended and texts(out) == "Hi"


def test_glued_events_reach_an_openai_client_whole() -> None:
    # Found by chunks_out: the blank line after an unknown event lost, so the decoder reads one
    # block named message_start whose data holds both; the first piece went out as a
    # message_start carrying {"type": "vertex_event"}, and ChunkEncoder raised KeyError
    # (misnamed-unknown, fixed in f3e2e44).
    raw = b'event: vertex_event\ndata: {"type":"vertex_event"}\n'
    raw += wire(
        message_start(), text_start(0), text(0, "Hi"), block_stop(0), message_delta(), MESSAGE_STOP
    )
    out, _ = repair(raw)
    encoder = ChunkEncoder(completion_id="c", model="m", created=0, include_usage=False)
    assert encoder.feed(out).endswith(b"data: [DONE]\n\n")
    assert violations(out, allow_error_end=False) == []


@pytest.mark.parametrize("index", [b"", b'"index":true,'])
def test_a_block_start_without_index_gets_one(index: bytes) -> None:
    # Found by repair_bytes (a byte flip in "index") and repair (index set to true);
    # block-start-without-index, fixed in f3e2e44.
    raw = wire(message_start())
    raw += (
        b'event: content_block_start\ndata: {"type":"content_block_start",%b"content_block":{"type":"text","text":""}}\n\n'
        % index
    )
    raw += wire(text(0, "Hi"), block_stop(0), message_delta(), MESSAGE_STOP)
    out, r = repair(raw)
    assert violations(out, allow_error_end=False) == []
    assert r.ended and texts(out) == "Hi"


def test_a_text_delta_without_text_is_dropped_not_raised() -> None:
    # Found by repair_bytes (text-delta-without-text, fixed in f3e2e44): a byte flip turned
    # "text" into "t" inside a text delta.
    raw = wire(message_start(), text_start(0))
    raw += b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}\n\n'
    raw += wire(text(0, "Hi"), block_stop(0), message_delta(), MESSAGE_STOP)
    out, _ = repair(raw)  # raised KeyError: 'text' (fixed in f3e2e44)
    assert violations(out, allow_error_end=False) == []
    assert texts(out) == "Hi"


def _resumed(
    delivered: str, continuation: list[str], *, prefill: bool = False, stopped: bool = False
) -> str:
    """The text a client holds after a cut answer (cut after its text block's stop when
    ``stopped``) and its continuation, sent in these deltas."""
    r = Repairer()
    pipe = StreamRepair(r)
    parts = [
        message_start(),
        text_start(0),
        text(0, delivered),
        *([block_stop(0)] if stopped else []),
    ]
    first = pipe.feed(wire(*parts)) + pipe.close()
    r.begin_continuation(prefill=prefill)
    pipe = StreamRepair(r)
    parts = [text(0, c) for c in continuation]
    second = pipe.feed(
        wire(
            message_start("msg_cont"),
            text_start(0),
            *parts,
            block_stop(0),
            message_delta(),
            MESSAGE_STOP,
        )
    )
    second += pipe.close()
    assert r.ended
    return texts(first + second)


@pytest.mark.parametrize(
    ("delivered", "continuation", "whole"),
    [
        # "very" matches while "very very" still could: the second "very" is sent again.
        ("It was very very", ["very ", "very good."], "It was very very good."),
        # "forty." matches while "forty. " still could: the delivered space is sent again.
        ("The answer is forty. ", ["forty.", " Then more"], "The answer is forty. Then more"),
    ],
)
def test_a_restatement_is_trimmed_whole_whatever_the_deltas(
    delivered: str, continuation: list[str], whole: str
) -> None:
    # Found by resume (splice-chunking; splice-decides-early, fixed in f3e2e44): in one delta
    # both continuations spliced exactly.
    assert _resumed(delivered, ["".join(continuation)]) == whole
    assert _resumed(delivered, continuation) == whole


@pytest.mark.parametrize(
    ("delivered", "continuation", "prefill", "whole"),
    [
        # A restart whose first delta is exactly the delivered text: " How are you?" is lost.
        ("Hello world. ", ["Hello world. ", "How are you?"], True, "Hello world. How are you?"),
        # A restatement ending with a delta: "Next." is lost.
        ("It was very good. ", ["good. ", "Next."], False, "It was very good. Next."),
    ],
)
def test_the_rest_of_a_continuation_is_sent_when_the_splice_ends_with_a_delta(
    delivered: str, continuation: list[str], prefill: bool, whole: str
) -> None:
    # Found by resume (splice-chunking; splice-drops-rest, fixed in f3e2e44): the message ended
    # as complete, with its end missing.
    assert _resumed(delivered, ["".join(continuation)], prefill=prefill, stopped=True) == whole
    assert _resumed(delivered, continuation, prefill=prefill, stopped=True) == whole


def test_a_cut_tool_call_never_ends_under_tool_use() -> None:
    # Found by repair (tool-input-parses): the held call goes out cut under max_tokens, as it
    # should; the repeated message_delta's tool_use then replaces that reason in the merge.
    raw = wire(
        message_start(),
        tool_start(0),
        delta(0, "input_json_delta", '{"city": "Par'),
        message_delta("max_tokens"),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    out, r = repair(raw)
    assert violations(out) == []
    assert not (r.ended and r.stop_reason == "tool_use")


@pytest.mark.parametrize(
    "after",
    [
        # Found by repair: an OpenAI-shaped error object, no type (read as F17).
        b'data: {"error":{"message":"gateway says no"}}\n\n',
        # Found by repair_bytes: a cut event glued to message_stop's data (read as F39).
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ag\n\n',
    ],
)
def test_what_follows_message_stop_never_fails_the_message(after: bytes) -> None:
    # Both failed a message that had ended; finalize() then put an error after its message_stop.
    raw = clean_text_stream("Hi")
    if after.startswith(b"event: content_block_delta"):
        raw = raw.removesuffix(b"\n\n")  # the blank line after message_stop's data lost
    out, r = repair(raw + after)
    assert r.ended and not r.failed
    assert texts(out) == "Hi"


def test_a_browser_gets_the_text_of_a_block_start() -> None:
    # Found by chunks_out (browser-text): the OpenAI edge sends "Hi there", the browser " there".
    events = [
        Event.of(p)
        for p in (
            message_start(),
            block_start(0, {"type": "text", "text": "Hi"}),
            text(0, " there"),
            block_stop(0),
            message_delta(),
            MESSAGE_STOP,
        )
    ]
    frames = BrowserFraming().encode(events).split(b"\n\n")
    deltas = [
        orjson.loads(f.rpartition(b"data: ")[2])["text"]
        for f in frames
        if f.startswith(b"event: delta")
    ]
    assert "".join(deltas) == "Hi there"


def test_an_index_of_eighty_digits_is_dropped_not_raised() -> None:
    # Found by repair_bytes under atheris (2026-12-06, 3,549 inputs): orjson reads an 80-digit
    # number as a float, which spelled an "integer" index no JSON encoder writes back
    # (TypeError: Integer exceeds 64-bit range).
    huge = "3" * 80
    raw = wire(message_start(), text_start(0), text(0, "Hi"), block_stop(0))
    raw += (
        f'event: content_block_start\ndata: {{"type":"content_block_start","index":{huge},'.encode()
    )
    raw += b'"content_block":{"type":"text","text":""}}\n\n'
    raw += f'event: content_block_delta\ndata: {{"type":"content_block_delta","index":"{huge}",'.encode()
    raw += b'"delta":{"type":"text_delta","text":"lost"}}\n\n'
    raw += wire(message_delta(), MESSAGE_STOP)
    out, r = repair(raw)
    assert violations(out, allow_error_end=False) == []
    assert r.ended and texts(out) == "Hi" and r.anomalies.counts()["F12"] >= 2


@pytest.mark.parametrize(("given", "sent"), [(7.5, 20), (-3, 20), (12.0, 12), ("9", 20)])
def test_a_token_count_that_is_no_count_is_replaced(given: object, sent: int) -> None:
    # Found by repair_bytes under atheris (2026-12-06, 37,550 inputs): a message_delta whose
    # output_tokens was 7.5 went out as it came, a count no client's integer field takes.
    raw = wire(message_start(), text_start(0), text(0, "Hi"), block_stop(0))
    raw += wire(message_delta(output_tokens=20))  # the last count known
    raw += wire(message_delta(output_tokens=given), MESSAGE_STOP)
    out, _ = repair(raw)
    assert violations(out, allow_error_end=False) == []
    (last,) = [e for e in out if e.type == "message_delta"]
    assert last.payload["usage"]["output_tokens"] == sent and type(sent) is int
