"""SSEDecoder against the WHATWG event-stream rules: table cases under every chunking and line ending, F04-F09/F35 regressions, real captures."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from sseguard.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    SSEDecoder,
    SSEEvent,
    SSEEventTooLarge,
    encode,
    escape_line_separators,
    escape_line_separators_in,
)

Expected = tuple[str | None, str, str, int | None]

BOM = b"\xef\xbb\xbf"


def decode(chunks: list[bytes], *, keep_partial: bool = False, **kw: int) -> list[SSEEvent]:
    """Feed every chunk, then close: the whole life of one decoder."""
    decoder = SSEDecoder(keep_partial=keep_partial, **kw)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events


def fields(events: list[SSEEvent]) -> list[Expected]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def assert_raw_in_order(stream: bytes, events: list[SSEEvent]) -> None:
    """Each event's raw is a contiguous piece of the input, in order, without overlap."""
    pos = 0
    for event in events:
        found = stream.find(event.raw, pos)
        assert found >= 0, (event.raw, stream[pos:])
        pos = found + len(event.raw)


@dataclass(frozen=True)
class Case:
    id: str
    stream: bytes
    expected: list[Expected]
    keep_partial: bool = False
    # False when the input holds its own CRs, so swapping LF for another ending changes its meaning.
    endings: bool = True
    extra: dict[str, int] = field(default_factory=dict)


def E(data: str, event: str | None = None, id: str = "", retry: int | None = None) -> Expected:
    return (event, data, id, retry)


CASES = [
    Case("single-event", b"event: ping\ndata: {}\n\n", [E("{}", "ping")]),
    Case("data-only-no-event-field", b"data: hello\n\n", [E("hello")]),
    Case("two-events", b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", [E("1", "a"), E("2", "b")]),
    Case("multi-data-joined-with-lf", b"data: a\ndata: b\ndata:\ndata: c\n\n", [E("a\nb\n\nc")]),
    Case("leading-blank-lines", b"\n\n\ndata: x\n\n", [E("x")]),
    Case("blank-lines-between-events", b"data: x\n\n\n\n\ndata: y\n\n", [E("x"), E("y")]),
    Case("field-without-colon-is-empty-data", b"data\n\n", [E("")]),
    Case("two-fields-without-colon", b"data\ndata\n\n", [E("\n")]),
    Case("empty-data-is-dispatched", b"data:\n\n", [E("")]),
    Case("data-space-only-is-empty", b"data: \n\n", [E("")]),
    Case("no-space-after-colon", b"data:x\n\n", [E("x")]),
    Case("only-one-space-stripped", b"data:  x\n\n", [E(" x")]),
    Case("tab-not-stripped", b"data:\tx\n\n", [E("\tx")]),
    Case("trailing-spaces-kept", b"data: x  \n\n", [E("x  ")]),
    Case("colon-inside-value", b"data: a: b:c\n\n", [E("a: b:c")]),
    Case("comments-ignored", b": hi\ndata: x\n: mid\n:\n\n", [E("x")]),
    Case("comment-only-stream", b": ping\n\n: ping\n\n:\n\n", []),
    Case("event-without-data-not-dispatched", b"event: foo\n\n", []),
    Case("event-name-does-not-leak", b"event: foo\n\ndata: x\n\n", [E("x")]),
    Case("event-name-reset-per-block", b"event: a\ndata: 1\n\ndata: 2\n\n", [E("1", "a"), E("2")]),
    Case("last-event-field-wins", b"event: a\nevent: b\ndata: x\n\n", [E("x", "b")]),
    # An empty event: field empties the type buffer, and an empty buffer dispatches the default
    # type, so it reads as no event: line at all (None); it once read as the name "".
    Case("empty-event-name", b"event:\ndata: x\n\n", [E("x")]),
    Case("empty-event-name-one-space", b"event: \ndata: x\n\n", [E("x")]),
    Case("event-without-colon-is-empty-name", b"event\ndata: x\n\n", [E("x")]),
    Case("empty-event-resets-earlier-name", b"event: a\nevent:\ndata: x\n\n", [E("x")]),
    Case("empty-event-after-data", b"data: x\nevent: \n\n", [E("x")]),
    Case("name-after-empty-event", b"event:\nevent: b\ndata: x\n\n", [E("x", "b")]),
    Case(
        "empty-event-between-named-events",
        b"event: a\ndata: 1\n\nevent: \ndata: 2\n\nevent: b\ndata: 3\n\n",
        [E("1", "a"), E("2"), E("3", "b")],
    ),
    Case("empty-event-two-spaces-is-a-name", b"event:  \ndata: x\n\n", [E("x", " ")]),
    Case("event-after-data", b"data: x\nevent: late\n\n", [E("x", "late")]),
    Case("id-persists", b"id: 1\ndata: a\n\ndata: b\n\n", [E("a", id="1"), E("b", id="1")]),
    Case(
        "empty-id-resets",
        b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid:\ndata: d\n\n",
        [E("a", id="1"), E("b"), E("c", id="2"), E("d")],
    ),
    Case("id-from-block-without-data", b"id: 7\n\ndata: a\n\n", [E("a", id="7")]),
    Case("id-with-space-kept", b"id:  7 \ndata: a\n\n", [E("a", id=" 7 ")]),
    Case(
        "id-with-nul-ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [E("a", id="1"), E("b", id="1")],
    ),
    Case("retry-digits", b"retry: 1500\ndata: x\n\n", [E("x", retry=1500)]),
    Case("retry-leading-zeros", b"retry: 007\ndata: x\n\n", [E("x", retry=7)]),
    Case("retry-plus-refused", b"retry: +5\ndata: x\n\n", [E("x")]),
    Case("retry-extra-space-refused", b"retry:  5\ndata: x\n\n", [E("x")]),
    Case("retry-suffix-refused", b"retry: 5a\ndata: x\n\n", [E("x")]),
    Case("retry-empty-refused", b"retry:\ndata: x\n\n", [E("x")]),
    Case("retry-negative-refused", b"retry: -1\ndata: x\n\n", [E("x")]),
    Case("retry-decimal-refused", b"retry: 1.5\ndata: x\n\n", [E("x")]),
    Case("retry-underscore-refused", b"retry: 1_000\ndata: x\n\n", [E("x")]),
    Case("retry-arabic-indic-refused", "retry: ٥\ndata: x\n\n".encode(), [E("x")]),
    Case("retry-fullwidth-refused", "retry: ５\ndata: x\n\n".encode(), [E("x")]),
    Case("retry-superscript-refused", "retry: ²\ndata: x\n\n".encode(), [E("x")]),
    Case("retry-invalid-keeps-earlier", b"retry: 10\nretry: x\ndata: y\n\n", [E("y", retry=10)]),
    Case("retry-per-block", b"retry: 10\n\ndata: x\n\n", [E("x")]),
    Case(
        "retry-huge-refused",
        b"retry: " + b"9" * 5000 + b"\ndata: x\n\n",
        [E("x")],
    ),
    Case(
        "unknown-and-miscased-fields-ignored",
        b"foo: bar\nDATA: x\nData: y\nretry2: 3\ndata: z\n\n",
        [E("z")],
    ),
    Case("field-name-with-leading-space-unknown", b" data: x\n\n", []),
    Case("field-name-with-trailing-space-unknown", b"data : x\n\n", []),
    Case("unterminated-block-discarded", b"data: x\n\ndata: y\n", [E("x")]),
    Case("unterminated-line-discarded", b"data: x\n\ndata: y", [E("x")]),
    Case("keep-partial-line", b"data: x\n\ndata: y", [E("x"), E("y")], keep_partial=True),
    Case("keep-partial-block", b"data: y\nid: 3\n", [E("y", id="3")], keep_partial=True),
    Case("keep-partial-without-data", b"event: e\n", [], keep_partial=True),
    Case("keep-partial-nothing-pending", b"data: x\n\n", [E("x")], keep_partial=True),
    Case("nul-in-data-kept", b"data: a\x00b\n\n", [E("a\x00b")]),
    Case(
        "unicode-separators-are-not-line-ends",
        'data: {"t":"a\u2028b\u2029c\u0085d"}\n\n'.encode(),
        [E('{"t":"a\u2028b\u2029c\u0085d"}')],
    ),
    Case(
        "vertical-tab-form-feed-not-line-ends",
        b"data: a\x0bb\x0cc\x1cd\n\n",
        [E("a\x0bb\x0cc\x1cd")],
    ),
    Case("invalid-utf8-replaced", b"data: a\xffb\n\n", [E("a\ufffdb")]),
    Case("truncated-utf8-replaced", b"data: \xe2\x82\n\n", [E("\ufffd")]),
    Case("surrogate-encoding-replaced", b"data: \xed\xa0\x80\n\n", [E("\ufffd\ufffd\ufffd")]),
    Case("invalid-utf8-in-event", b"event: \xff\ndata: x\n\n", [E("x", "\ufffd")]),
    Case("invalid-utf8-in-field-name", b"data\xff: x\n\n", []),
    Case("bom-stripped", BOM + b"data: x\n\n", [E("x")]),
    Case("bom-before-blank-line", BOM + b"\ndata: x\n\n", [E("x")]),
    Case("only-one-bom-stripped", BOM + BOM + b"data: x\n\ndata: y\n\n", [E("y")]),
    Case("bom-mid-stream-not-stripped", b"data: x\n\n" + BOM + b"data: y\n\n", [E("x")]),
    Case("bom-in-value-kept", b"data: " + BOM + b"x\n\n", [E("\ufeffx")]),
    Case("bom-only-stream", BOM, []),
    Case("empty-stream", b"", []),
    Case(
        "mixed-line-endings",
        b"data: a\r\ndata: b\rdata: c\n\r\n",
        [E("a\nb\nc")],
        endings=False,
    ),
    Case("lf-then-cr-at-eof-dispatches", b"data: a\n\r", [E("a")], endings=False),
    Case("cr-cr-at-eof-dispatches", b"data: a\r\r", [E("a")], endings=False),
    Case("crlf-crlf", b"data: a\r\n\r\n", [E("a")], endings=False),
    Case("crlf-then-lf", b"data: a\r\n\ndata: b\n\n", [E("a"), E("b")], endings=False),
    Case("lf-cr-is-two-line-ends", b"data: a\n\rdata: b\r\n\r\n", [E("a"), E("b")], endings=False),
    Case("cr-inside-line-ends-it", b"data: a\rb\n\n", [E("a")], endings=False),
    Case("cr-at-eof-ends-line-only", b"data: a\r", [], endings=False),
]


def chunkings(stream: bytes) -> Iterator[list[bytes]]:
    yield [stream]
    yield bytewise(stream)
    for i in range(len(stream) + 1):
        yield [stream[:i], stream[i:]]


def with_ending(case: Case, ending: str) -> bytes:
    if ending == "lf":
        return case.stream
    return case.stream.replace(b"\n", b"\r\n" if ending == "crlf" else b"\r")


# Inputs that carry their own CRs run as written only: swapping their LFs would change their meaning.
TABLE = [
    pytest.param(case, ending, id=f"{case.id}-{ending}")
    for case in CASES
    for ending in ("lf", "crlf", "cr")
    if ending == "lf" or case.endings
]


@pytest.mark.parametrize("mode", ["whole", "bytewise", "every-split"])
@pytest.mark.parametrize(("case", "ending"), TABLE)
def test_table(case: Case, ending: str, mode: str) -> None:
    stream = with_ending(case, ending)
    if mode == "whole":
        runs = [[stream]]
    elif mode == "bytewise":
        runs = [bytewise(stream)]
    else:
        runs = [[stream[:i], stream[i:]] for i in range(len(stream) + 1)]
    for chunks in runs:
        events = decode(chunks, keep_partial=case.keep_partial, **case.extra)
        assert fields(events) == case.expected, chunks
        assert_raw_in_order(stream, events)


def test_table_inputs_marked_right() -> None:
    for case in CASES:
        assert case.endings == (b"\r" not in case.stream), case.id


def test_case_ids_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


# --- F05: line endings across reads -------------------------------------------------------------


def test_f05_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    # Had the CR ended the line on its own, this LF would be a blank line and dispatch "a\nb"
    # early; a held CR makes CR|LF one line end, so "c" joins the same event.
    assert decoder.feed(b"\ndata: c\r\n") == []
    events = decoder.feed(b"\r")
    assert events == []  # the blank line's CR is itself held until the next byte
    events = decoder.feed(b"\n")
    assert fields(events) == [E("a\nb\nc")]
    assert events[0].raw == b"data: a\r\ndata: b\r\ndata: c\r\n\r\n"
    assert decoder.close() == []


def test_f05_held_cr_followed_by_non_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    events = decoder.feed(b"\rdata: b\r\r")
    assert fields(events) == [E("a")]
    assert events[0].raw == b"data: a\r\r"
    assert fields(decoder.close()) == [E("b")]


def test_f05_held_cr_ends_line_at_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\r") == []
    events = decoder.close()
    assert fields(events) == [E("a")]
    assert events[0].raw == b"data: a\n\r"


def test_f05_crlf_pairs_split_everywhere() -> None:
    stream = b"event: x\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n"
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1):
            events = decode([stream[:i], stream[i:j], stream[j:]])
            assert fields(events) == [E("1", "x"), E("2")], (i, j)


# --- id ---------------------------------------------------------------------------------------


def test_id_with_nul_ignored_keeps_previous_and_property() -> None:
    decoder = SSEDecoder()
    assert fields(decoder.feed(b"id: 5\ndata: a\n\n")) == [E("a", id="5")]
    assert fields(decoder.feed(b"id: \x00\ndata: b\n\n")) == [E("b", id="5")]
    assert fields(decoder.feed(b"id: 6\x00\ndata: c\n\n")) == [E("c", id="5")]
    assert decoder.last_event_id == "5"
    assert fields(decoder.feed(b"id: 6\ndata: d\n\n")) == [E("d", id="6")]
    assert decoder.last_event_id == "6"


def test_regression_id_set_by_line_parsed_block_reaches_next_canonical_event() -> None:
    # The whole-block fast path once read the last event ID before the loop, so an id set by a
    # block parsed line by line earlier in the same read was missing from the next event.
    stream = b"id: 1\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\n"
    assert fields(decode([stream])) == [E("a", id="1"), E("b", id="1"), E("c", "e", "1")]


def test_last_event_id_is_the_id_as_of_the_last_blank_line() -> None:
    # The spec's dispatch step sets the last event ID string (what a reconnecting client sends
    # as Last-Event-ID) from the buffer at each blank line, with or without data; an id: line
    # in a block the stream never ended does not count (web-platform-tests
    # format-data-before-final-empty-line). The accessor once returned the buffer itself.
    stream = b"id: 1\ndata: a\n\nid: 2\ndata: b\n"
    for chunks in chunkings(stream):
        decoder = SSEDecoder()
        events = [e for chunk in chunks for e in decoder.feed(chunk)]
        assert fields(events) == [E("a", id="1")]
        assert decoder.last_event_id == "1", chunks
        assert fields(decoder.feed(b"\n")) == [E("b", id="2")]
        assert decoder.last_event_id == "2"
        assert decoder.feed(b"id: 3\n") == []
        assert decoder.last_event_id == "2"
        assert decoder.feed(b"\n") == []  # a blank line without data still sets it
        assert decoder.last_event_id == "3"
        assert decoder.feed(b"id: 4\ndata: c") == []
        assert decoder.close() == []
        assert decoder.last_event_id == "3"


# --- F35: BOM ---------------------------------------------------------------------------------


def test_f35_bom_split_across_feeds() -> None:
    stream = BOM + b"data: x\n\n"
    for i in range(1, 4):
        for j in range(i, len(stream) + 1):
            chunks = [stream[:i], stream[i:j], stream[j:]]
            events = decode(chunks)
            assert fields(events) == [E("x")], chunks
            assert events[0].raw == b"data: x\n\n"
    assert fields(decode(bytewise(stream))) == [E("x")]


def test_f35_bom_split_with_empty_feeds() -> None:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in [b"", b"\xef", b"", b"\xbb", b"", b"\xbf", b"", b"data: x\n", b"\n"]:
        events += decoder.feed(chunk)
    assert fields(events) == [E("x")]
    assert events[0].raw == b"data: x\n\n"


def test_f35_second_bom_is_not_stripped() -> None:
    # The second BOM belongs to the first field's name, so it is an unknown field, not "data".
    assert decode([BOM + BOM + b"data: x\n\n"]) == []
    assert decode(bytewise(BOM + BOM + b"data: x\n\n")) == []
    # Inside a value a BOM is ordinary data.
    stream = BOM + b"data: " + BOM + b"x\n\n"
    for chunks in chunkings(stream):
        assert fields(decode(chunks)) == [E("\ufeffx")]


def test_f35_bom_after_first_feed_is_data() -> None:
    decoder = SSEDecoder()
    assert fields(decoder.feed(b"data: a\n\n")) == [E("a")]
    assert decoder.feed(BOM + b"data: b\n\n") == []  # the BOM is part of the field name now


def test_f35_partial_bom_is_not_stripped() -> None:
    # Two bytes of a BOM then something else: no BOM, so the bytes stay (an unknown field name).
    assert decode([b"\xef\xbb", b"data: x\n\n"]) == []
    assert fields(decode([b"\xef\xbb", b"\ndata: x\n\n"])) == [E("x")]


# --- F04: field spacing -----------------------------------------------------------------------


def test_f04_no_space_after_colon() -> None:
    stream = b'data:{"type":"ping"}\n\n'
    for chunks in chunkings(stream):
        events = decode(chunks)
        assert fields(events) == [E('{"type":"ping"}')]
        assert json.loads(events[0].data) == {"type": "ping"}


def test_f04_two_spaces_keep_one() -> None:
    for chunks in chunkings(b"data:  x\nevent:  e\nid:  i\n\n"):
        assert fields(decode(chunks)) == [E(" x", " e", " i")]


def test_f04_payload_never_trimmed() -> None:
    stream = b"data:    indented  \ndata:\t\n\n"
    assert fields(decode([stream])) == [E("   indented  \n\t")]


# --- F06: Unicode separators ------------------------------------------------------------------


def test_f06_line_separator_inside_json_string() -> None:
    payload = {"type": "content_block_delta", "delta": {"text": "a\u2028b\u2029c\u0085d"}}
    text = json.dumps(payload, ensure_ascii=False)
    assert "\u2028" in text
    stream = f"event: content_block_delta\ndata: {text}\n\n".encode()
    for chunks in chunkings(stream):
        events = decode(chunks)
        assert len(events) == 1
        assert json.loads(events[0].data) == payload


# --- F07: split UTF-8 -------------------------------------------------------------------------


def test_f07_emoji_and_cjk_split_at_every_byte() -> None:
    text = "👋 你好, 世界 🧑‍🚀 é"
    stream = f"event: 名前\ndata: {text}\n\n".encode()
    expected = [E(text, "名前")]
    assert fields(decode(bytewise(stream))) == expected
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1):
            assert fields(decode([stream[:i], stream[i:j], stream[j:]])) == expected, (i, j)


def test_f07_invalid_utf8_never_raises() -> None:
    stream = b"data: \xf0\x9f\ndata: \x98\x80\xc0\xaf\xff\n\n"
    for chunks in chunkings(stream):
        (event,) = decode(chunks)
        assert event.data == "\ufffd\n" + "\ufffd" * 5


# --- F08: empty events ------------------------------------------------------------------------


def test_f08_comment_only_stream() -> None:
    stream = b": ping\n\n" * 5 + b":\n\n"
    for chunks in chunkings(stream):
        assert decode(chunks) == []
        assert decode(chunks, keep_partial=True) == []


def test_f08_retry_only_block() -> None:
    stream = b"retry: 3000\n\n"
    for chunks in chunkings(stream):
        assert decode(chunks) == []
    assert fields(decode([stream + b"data: x\n\n"])) == [E("x")]


def test_f08_event_line_without_data() -> None:
    stream = b"event: content_block_delta\n\nevent: message_stop\n\n"
    for chunks in chunkings(stream):
        assert decode(chunks) == []


def test_f08_empty_data_is_dispatched() -> None:
    (event,) = decode([b"event: e\ndata:\n\n"])
    assert (event.event, event.data) == ("e", "")


# --- F09: huge lines and the size bound -------------------------------------------------------


def test_f09_event_over_bound_raises_typed_error() -> None:
    decoder = SSEDecoder(max_event_size=1024)
    big = b"data: " + b"x" * 2000 + b"\n\n"
    with pytest.raises(SSEEventTooLarge) as info:
        decoder.feed(b"data: ok\n\n" + big + b"data: after\n\n")
    err = info.value
    assert fields(err.events) == [E("ok")]
    assert err.head.startswith(b"data: xxxx")
    assert len(err.head) <= 1024
    assert err.limit == 1024
    assert err.size > 1024
    assert err.fault == "F09"
    assert not isinstance(err, ValueError)
    # After the error the decoder refuses more input.
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b"data: y\n\n")
    with pytest.raises(SSEEventTooLarge):
        decoder.close()


@pytest.mark.parametrize(
    "first",
    [b"data: ok\n\n", b"event: e\ndata: ok\n\n", b"id: 1\ndata:ok\n\n", b"data: ok\r\n\r\n"],
)
@pytest.mark.parametrize("tail", [b"", b"\n", b"\n\n", b"\r\n: c\n\n"])
def test_f09_error_carries_events_completed_earlier_in_the_feed(first: bytes, tail: bytes) -> None:
    decoder = SSEDecoder(max_event_size=512)
    with pytest.raises(SSEEventTooLarge) as info:
        decoder.feed(first + b": " + b"x" * 600 + tail)
    assert [e.data for e in info.value.events] == ["ok"]
    assert info.value.head.startswith(b": xxx")


def test_f09_unterminated_line_over_bound_raises_before_newline() -> None:
    decoder = SSEDecoder(max_event_size=4096)
    assert decoder.feed(b"data: ") == []
    with pytest.raises(SSEEventTooLarge) as info:
        for _ in range(100):
            decoder.feed(b"y" * 100)
    assert info.value.events == []
    assert info.value.head.startswith(b"data: yyy")
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b"\n\n")


def test_f09_bound_is_inclusive() -> None:
    frame = b"data: " + b"z" * 94 + b"\n\n"
    assert len(frame) == 102
    for chunks in chunkings(frame):
        assert len(decode(chunks, max_event_size=102)) == 1
        with pytest.raises(SSEEventTooLarge):
            decode(chunks, max_event_size=101)


def test_f09_bound_is_per_event() -> None:
    frame = b"data: " + b"z" * 90 + b"\n\n"
    stream = frame * 50
    assert len(stream) > 1000
    for chunks in ([stream], bytewise(stream)):
        assert len(decode(chunks, max_event_size=100)) == 50


def test_f09_long_comment_block_same_whatever_the_chunking() -> None:
    # A comment block is not dispatched, but its bytes are held all the same, so it is bound too,
    # and the answer must not depend on where the reads were cut.
    stream = b": " + b"c" * 200 + b"\n\ndata: x\n\n"
    for chunks in chunkings(stream):
        with pytest.raises(SSEEventTooLarge):
            decode(chunks, max_event_size=100)
        assert fields(decode(chunks, max_event_size=300)) == [E("x")]


def test_f09_bom_does_not_count_toward_bound() -> None:
    frame = b"data: 1234\n\n"
    stream = BOM + frame
    for chunks in chunkings(stream):
        assert fields(decode(chunks, max_event_size=len(frame))) == [E("1234")], chunks


def _peak_allocated(run: Callable[[], object]) -> int:
    """The most memory ``run`` held allocated at once, beyond what existed before it."""
    tracemalloc.start()
    try:
        run()
    except SSEEventTooLarge:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_f09_a_long_line_is_refused_without_copying_it() -> None:
    # The bound is what a gateway's memory per stream rests on (an upstream body inflating a
    # thousandfold reaches it in milliseconds): the refusal once copied the held line twice to
    # quote its first 80 bytes.
    limit = 8 * 1024 * 1024
    decoder = SSEDecoder(max_event_size=limit)
    decoder.feed(b"data: " + b"x" * (limit - 1024))
    peak = _peak_allocated(lambda: decoder.feed(b"x" * 4096))
    assert peak < 1.5 * limit  # the held line grown once, never copied
    with pytest.raises(SSEEventTooLarge) as info:
        decoder.feed(b"x")
    assert info.value.head == b"data: " + b"x" * 74


def test_f09_a_block_ended_past_the_bound_is_refused_without_joining_it() -> None:
    limit = 8 * 1024 * 1024
    line = b"data: 123456789\n"
    decoder = SSEDecoder(max_event_size=limit)
    decoder.feed(line * ((limit - 4096) // len(line)))
    peak = _peak_allocated(lambda: decoder.feed(line * 512 + b"\n"))
    assert peak < 1024 * 1024  # it was once joined (8 MiB, twice) before it was measured
    with pytest.raises(SSEEventTooLarge) as info:
        decoder.feed(b"")
    assert info.value.head == (line * 6)[:80]


def test_f09_default_bound() -> None:
    assert DEFAULT_MAX_EVENT_SIZE == 32 * 1024 * 1024


def test_f09_eight_mib_line_in_small_chunks_is_linear() -> None:
    size = 8 * 1024 * 1024
    chunk = b"q" * 4096
    decoder = SSEDecoder()
    started = time.monotonic()
    assert decoder.feed(b"event: content_block_delta\ndata: ") == []
    for _ in range(size // len(chunk)):
        assert decoder.feed(chunk) == []
    (event,) = decoder.feed(b"\n\n")
    elapsed = time.monotonic() - started
    assert len(event.data) == size
    assert event.event == "content_block_delta"
    # Only catches quadratic blowup (minutes); linear work takes well under a second.
    assert elapsed < 30, elapsed


def test_f09_eight_mib_of_lines_in_small_chunks_is_linear() -> None:
    line = b"data: " + b"w" * 1018 + b"\r\n"
    stream = line * 8192 + b"\r\n"
    decoder = SSEDecoder()
    started = time.monotonic()
    events: list[SSEEvent] = []
    for i in range(0, len(stream), 4096):
        events += decoder.feed(stream[i : i + 4096])
    elapsed = time.monotonic() - started
    (event,) = events
    assert event.raw == stream
    assert event.data.count("\n") == 8191
    assert elapsed < 30, elapsed


# --- real captures ----------------------------------------------------------------------------


def test_capture_apim_done_sentinel(fixtures_dir: Path) -> None:
    stream = (fixtures_dir / "apim-passthrough-done-sentinel.sse").read_bytes()
    for chunks in ([stream], bytewise(stream), [stream[:700], stream[700:]]):
        events = decode(chunks)
        assert len(events) == 9
        assert fields(events)[-1] == (None, "[DONE]", "", None)
        names = [e.event for e in events]
        assert names == [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
            None,
        ]
        for event in events[:-1]:
            assert json.loads(event.data)["type"] == event.event
        assert "👋" in events[4].data
        assert b"".join(e.raw for e in events) == stream


def test_capture_foundry_direct(fixtures_dir: Path) -> None:
    stream = (fixtures_dir / "foundry-direct.sse").read_bytes()
    for chunks in ([stream], bytewise(stream)):
        events = decode(chunks)
        assert len(events) == 8
        assert events[0].event == "message_start"
        assert events[-1].event == "message_stop"
        for event in events:
            assert json.loads(event.data)["type"] == event.event
        assert b"".join(e.raw for e in events) == stream


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"])
def test_captures_with_other_line_endings(fixtures_dir: Path, ending: bytes) -> None:
    for name, count in [("apim-passthrough-done-sentinel.sse", 9), ("foundry-direct.sse", 8)]:
        original = (fixtures_dir / name).read_bytes()
        stream = original.replace(b"\n", ending)
        expected = fields(decode([original]))
        for i in range(len(stream) + 1):
            events = decode([stream[:i], stream[i:]])
            assert len(events) == count
            assert fields(events) == expected
        assert b"".join(e.raw for e in decode([stream])) == stream


@pytest.mark.parametrize(
    ("stream", "canonical"),
    [
        (b'event: ping\ndata: {"type":"ping"}\n\n', True),
        (b"data: x\n\n", True),
        (b"data: a\ndata: b\n\n", True),  # encode writes multi-line data the same way
        (b'event: ping\r\ndata: {"type":"ping"}\r\n\r\n', False),  # CRLF: encode writes LF
        (b"event: ping\ndata:x\n\n", False),  # no space after the colon
        (b"event: ping\n: keep-alive\ndata: x\n\n", False),  # a comment inside the block
        (b"id: 7\ndata: x\n\n", False),  # a field encode does not write
        (b"event: ping\ndata: caf\xc3\n\n", False),  # invalid UTF-8: data holds U+FFFD instead
        (b"event: \ndata: x\n\n", False),  # an empty name is None: encode writes no event: line
    ],
)
def test_canonical_says_raw_is_what_encoding_gives(stream: bytes, canonical: bool) -> None:
    # A relay sends raw instead of framing the event again when it is canonical, so the flag must
    # be exact, and the same whether the block came in one read or byte by byte.
    for chunks in ([stream], bytewise(stream)):
        (event,) = decode(chunks)
        assert event.canonical is canonical
        assert (event.raw == encode(event.event, event.data)) is canonical


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
@pytest.mark.parametrize("chunk", [0, 5], ids=["whole", "cut"])
def test_f06_raw_line_separators_are_never_canonical(separator: str, chunk: int) -> None:
    # Sent on as it came, the frame would break clients that split lines with str.splitlines():
    # the relay must frame it again, escaped (escape_line_separators).
    raw = f'event: content_block_delta\ndata: {{"text":"a{separator}b"}}\n\n'.encode()
    decoder = SSEDecoder()
    pieces = [raw[i : i + chunk] for i in range(0, len(raw), chunk)] if chunk else [raw]
    [event] = [e for piece in pieces for e in decoder.feed(piece)]
    assert event.data == f'{{"text":"a{separator}b"}}' and not event.canonical
    escaped = escape_line_separators(event.data)
    assert separator not in escaped and orjson.loads(escaped) == orjson.loads(event.data)
    assert escape_line_separators_in(event.data.encode()) == escaped.encode()


def test_f06_escaping_leaves_other_text_alone() -> None:
    text = '{"text":"café 日本語 \\u2028 👋"}'
    assert escape_line_separators(text) is text
    assert escape_line_separators_in(text.encode()) == text.encode()
    [event] = SSEDecoder().feed(f"event: x\ndata: {text}\n\n".encode())
    assert event.canonical
