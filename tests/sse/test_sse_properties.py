"""Hypothesis properties of the SSE codec: chunking invariance, a spec-literal reference, errors, round trips, raw bytes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sseguard.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    SSEDecoder,
    SSEEvent,
    SSEEventTooLarge,
    encode,
    has_line_separators,
)
from sseguard.sse.names import COMMON_EVENT_NAMES

Fields = tuple[str | None, str, str, int | None]

BOM = b"\xef\xbb\xbf"
SETTINGS = settings(max_examples=250, deadline=None)

# --- a reference parser that follows the WHATWG text literally, on the whole input at once -----

_EOL = re.compile("\r\n|\r|\n")


def reference(stream: bytes, *, keep_partial: bool = False) -> list[Fields]:
    """Decode, drop one BOM, split lines, apply fields: the spec's steps in the spec's order.

    ``retry`` is reported per block (the decoder's contract) and refused past 64 bits (as
    browsers do); keep_partial dispatches the unterminated last block.
    """
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, tail = _EOL.split(text)
    events: list[Fields] = []
    last_id = ""
    data: list[str] = []
    event: str | None = None
    retry: int | None = None

    def apply(line: str) -> None:
        nonlocal last_id, event, retry
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            # An empty type buffer dispatches the default type, which the decoder calls None.
            event = value or None
        elif name == "id":
            if "\x00" not in value:
                last_id = value
        elif (
            name == "retry"
            and value
            and all(c in "0123456789" for c in value)
            and len(value.lstrip("0")) <= 20
            and int(value) < 1 << 64
        ):
            retry = int(value)

    def dispatch() -> None:
        nonlocal data, event, retry
        if data:
            events.append((event, "\n".join(data), last_id, retry))
        data, event, retry = [], None, None

    for line in lines:
        if line:
            apply(line)
        else:
            dispatch()
    if keep_partial:
        if tail:
            apply(tail)
        dispatch()
    return events


# --- helpers ----------------------------------------------------------------------------------


def fields(events: list[SSEEvent]) -> list[Fields]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({min(p, len(stream)) for p in points})
    chunks, start = [], 0
    for bound in bounds:
        chunks.append(stream[start:bound])
        start = bound
    chunks.append(stream[start:])
    return chunks


def run(
    chunks: list[bytes], *, keep_partial: bool = False, max_event_size: int = DEFAULT_MAX_EVENT_SIZE
) -> tuple[list[SSEEvent], bool]:
    """Every event the caller ever sees (including those an error carries), and whether it raised."""
    decoder = SSEDecoder(keep_partial=keep_partial, max_event_size=max_event_size)
    events: list[SSEEvent] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
    except SSEEventTooLarge as err:
        events += err.events
        return events, True
    return events, False


def chunkings(stream: bytes) -> st.SearchStrategy[list[bytes]]:
    return st.one_of(
        st.just([stream[i : i + 1] for i in range(len(stream))]),
        st.lists(st.integers(0, max(len(stream), 1)), max_size=12).map(lambda p: cut(stream, p)),
    )


# --- strategies -------------------------------------------------------------------------------

_value_text = st.one_of(
    st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=12),
    st.sampled_from(["", " ", "  x", "\t", "\u2028", "\u2029", "\x85", '{"a": "b"}', "[DONE]"]),
)
value_bytes = st.one_of(
    _value_text.map(str.encode),
    st.binary(max_size=6).filter(lambda b: b"\r" not in b and b"\n" not in b),
)
space = st.sampled_from([b"", b" ", b"  ", b"\t"])
retry_value = st.one_of(
    st.integers(0, 10**6).map(lambda n: str(n).encode()),
    st.sampled_from(
        [b"+5", b"5a", b"-1", b"", b"1.5", "٥".encode(), b"0007", b"9" * 25, b"1" * 4301]
    ),
)
id_value = st.one_of(value_bytes, st.sampled_from([b"\x00", b"1\x002"]))


def _field(name: bytes, values: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.tuples(space, values).map(lambda sv: name + b":" + sv[0] + sv[1])


data_line = st.one_of(_field(b"data", value_bytes), st.just(b"data"))
other_line = st.one_of(
    _field(b"event", value_bytes),
    _field(b"id", id_value),
    _field(b"retry", retry_value),
    value_bytes.map(lambda v: b":" + v),
    st.tuples(
        st.sampled_from([b"foo", b"DATA", b" data", b"Event", b"retry2", b"id "]), value_bytes
    ).map(lambda nv: nv[0] + b":" + nv[1]),
    st.sampled_from([b"event", b"id", b"retry", b"foo"]),
)
ending = st.sampled_from([b"\n", b"\r\n", b"\r"])
# The shapes well-behaved upstreams send: "event: NAME" and "data: DATA" with one space.
canonical_data = value_bytes.map(lambda v: b"data: " + v)
canonical_event = value_bytes.map(lambda v: b"event: " + v)


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    """Random blocks (fields in any order, comments, id/retry lines), a random ending per line."""
    out = [BOM] if draw(st.booleans()) else []
    # One ending for the whole stream half of the time: LF-only input takes the decoder's
    # whole-block path, which mixed endings never reach.
    style = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r", b""]))
    eol = st.just(style) if style else ending
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["data", "event+data", "any"]))
        if kind == "data":
            lines = [draw(canonical_data)]
        elif kind == "event+data":
            lines = [draw(canonical_event), draw(canonical_data)]
        else:
            lines = draw(st.lists(st.one_of(data_line, other_line), max_size=5))
        for line in lines:
            out += [line, draw(eol)]
        out.append(draw(eol))  # the blank line
    for line in draw(st.lists(st.one_of(data_line, other_line), max_size=3)):
        out += [line, draw(eol)]
    if draw(st.booleans()):
        out.append(draw(st.one_of(data_line, other_line)))  # EOF inside a line
    return b"".join(out)


_TOKENS = [
    b"data: ",
    b"event: ",
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    BOM,
    b"\x00",
    b"5",
    b"x",
    b"\xff",
    b"\xe2\x80\xa8",
    b"\xf0\x9f",
    b"\x91\x8b",
    b"\xc2\x85",
]
soup = st.lists(st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=4)), max_size=60).map(
    b"".join
)


# --- (a) chunking never changes the result ------------------------------------------------------


@SETTINGS
@given(event_streams(), st.booleans(), st.data())
def test_rechunking_gives_the_same_events(stream: bytes, keep: bool, data: st.DataObject) -> None:
    whole, raised = run([stream], keep_partial=keep)
    assert not raised
    chunks = data.draw(chunkings(stream))
    assert run(chunks, keep_partial=keep) == (whole, False)
    assert fields(whole) == reference(stream, keep_partial=keep)


@SETTINGS
@given(soup, st.booleans(), st.data())
def test_soup_matches_the_reference(stream: bytes, keep: bool, data: st.DataObject) -> None:
    whole, _ = run([stream], keep_partial=keep)
    assert fields(whole) == reference(stream, keep_partial=keep)
    chunks = data.draw(chunkings(stream))
    assert run(chunks, keep_partial=keep) == (whole, False)


# --- (b) arbitrary bytes only ever raise SSEEventTooLarge ---------------------------------------

max_sizes = st.one_of(st.just(DEFAULT_MAX_EVENT_SIZE), st.integers(1, 64))


@SETTINGS
@given(st.one_of(st.binary(max_size=200), soup), max_sizes, st.booleans(), st.data())
def test_arbitrary_bytes_raise_nothing_but_too_large(
    stream: bytes, limit: int, keep: bool, data: st.DataObject
) -> None:
    chunks = data.draw(chunkings(stream))
    decoder = SSEDecoder(max_event_size=limit, keep_partial=keep)
    try:
        for chunk in chunks:
            for event in decoder.feed(chunk):
                assert isinstance(event.data, str)
        decoder.close()
    except SSEEventTooLarge as err:
        assert err.limit == limit
        assert err.size > limit
        # After the error the decoder refuses everything.
        with pytest.raises(SSEEventTooLarge):
            decoder.feed(b"data: x\n\n")
        with pytest.raises(SSEEventTooLarge):
            decoder.close()


@SETTINGS
@given(st.one_of(soup, event_streams()), max_sizes, st.booleans(), st.data())
def test_size_bound_does_not_depend_on_chunking(
    stream: bytes, limit: int, keep: bool, data: st.DataObject
) -> None:
    whole = run([stream], keep_partial=keep, max_event_size=limit)
    chunks = data.draw(chunkings(stream))
    assert run(chunks, keep_partial=keep, max_event_size=limit) == whole


# --- (c) encode then decode gives the event back -----------------------------------------------

# The Messages names take the encoder's and the decoder's prepared paths; any other, the general one.
names = st.one_of(
    st.none(),
    st.sampled_from(COMMON_EVENT_NAMES),
    st.text(st.characters(exclude_characters="\r\n", codec="utf-8")),
)
payloads = st.text(st.characters(codec="utf-8"))
ids = st.one_of(st.none(), st.text(st.characters(exclude_characters="\r\n\x00", codec="utf-8")))


def _normalised(data: str) -> str:
    return data.replace("\r\n", "\n").replace("\r", "\n")


@SETTINGS
@given(names, payloads, ids)
def test_encode_decode_round_trip(name: str | None, payload: str, id: str | None) -> None:
    frame = encode(name, payload, id)
    decoder = SSEDecoder()
    (event,) = decoder.feed(frame)
    # An empty name is the default type: None, like no name.
    assert (event.event, event.data) == (name or None, _normalised(payload))
    assert event.id == (id or "")
    assert event.raw == frame
    assert decoder.close() == []


@SETTINGS
@given(st.lists(st.tuples(names, payloads), max_size=6), st.data())
def test_encoded_stream_round_trip_rechunked(
    frames: list[tuple[str | None, str]], data: st.DataObject
) -> None:
    stream = b"".join(encode(name, payload) for name, payload in frames)
    events, raised = run(data.draw(chunkings(stream)))
    assert not raised
    assert [(e.event, e.data) for e in events] == [(n or None, _normalised(p)) for n, p in frames]
    assert b"".join(e.raw for e in events) == stream


# --- (d) raw bytes ----------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(soup, event_streams()), st.booleans())
def test_raw_is_an_ordered_slice_of_the_input(stream: bytes, keep: bool) -> None:
    # Undispatched blocks (comments only, no data field) and spare blank lines belong to no raw,
    # so the raws do not add up to the input in general; they are in-order, non-overlapping
    # slices of it, and each decodes on its own to the same event.
    events, _ = run([stream], keep_partial=keep)
    pos = 0
    for event in events:
        found = stream.find(event.raw, pos)
        assert found >= 0
        pos = found + len(event.raw)
        # A leading blank line keeps a BOM at the start of raw from being stripped as the stream's.
        alone, _ = run([b"\n" + event.raw], keep_partial=keep)
        assert [(e.event, e.data, e.retry) for e in alone] == [
            (event.event, event.data, event.retry)
        ]


@SETTINGS
@given(st.one_of(soup, event_streams()), st.booleans(), st.data())
def test_canonical_exactly_when_raw_is_the_encoding(
    stream: bytes, keep: bool, data: st.DataObject
) -> None:
    # ...and safe to send on as it came: no raw line separator that str.splitlines() breaks at.
    events, _ = run(data.draw(chunkings(stream)), keep_partial=keep)
    for event in events:
        sendable = not has_line_separators(event.data)
        assert event.canonical == (event.raw == encode(event.event, event.data) and sendable)


@st.composite
def dispatched_streams(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Blocks that all carry data, no spare blank lines, no BOM; and the unterminated tail."""
    out: list[bytes] = []
    for _ in range(draw(st.integers(0, 6))):
        lines = draw(st.lists(st.one_of(data_line, other_line), max_size=4))
        lines.insert(draw(st.integers(0, len(lines))), draw(data_line))
        last = b""
        for line in lines:
            last = draw(ending)
            out += [line, last]
        # A CR line end followed by an LF blank line would be one CRLF, not a blank line.
        out.append(
            draw(st.sampled_from([b"\r", b"\r\n"] if last == b"\r" else [b"\n", b"\r\n", b"\r"]))
        )
    tail: list[bytes] = []
    for line in draw(st.lists(st.one_of(data_line, other_line), max_size=3)):
        tail += [line, draw(ending)]
    if draw(st.booleans()):
        tail.append(draw(data_line))
    return b"".join(out), b"".join(tail)


@SETTINGS
@given(dispatched_streams(), st.data())
def test_raws_and_remainder_add_up_to_the_input(
    blocks_tail: tuple[bytes, bytes], data: st.DataObject
) -> None:
    blocks, tail = blocks_tail
    stream = blocks + tail
    events, _ = run(data.draw(chunkings(stream)))
    assert b"".join(e.raw for e in events) + tail == stream
    # With keep_partial the tail is an event of its own exactly when it holds a data field.
    kept, _ = run([stream], keep_partial=True)
    tail_is_event = bool(reference(b"\n" + tail, keep_partial=True))
    assert b"".join(e.raw for e in kept) == (stream if tail_is_event else blocks)
