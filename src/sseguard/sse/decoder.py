"""Bytes to SSE events under the WHATWG event-stream parsing rules, whatever the chunking.

Pure and synchronous: the caller brings the bytes. Lines are split on CR and LF *bytes* only
(never on U+2028/U+2029/U+0085, which models emit inside JSON strings, F06), and only complete
lines are decoded, so a UTF-8 character cut across two reads is never seen half (F07).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import repeat
from typing import NamedTuple

from sseguard.sse.encoder import encode, has_line_separators
from sseguard.sse.errors import SSEEventTooLarge
from sseguard.sse.names import COMMON_EVENT_NAMES

DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D
# Membership is tested with ints: `int in bytes` is a memchr, while `bytes in bytes` first tries
# the needle as an int and raises and clears a TypeError.
_LF = 0x0A
_RETRY_LIMIT = 1 << 64
_LINE_END = re.compile(rb"\r\n|\r|\n")


class SSEEvent(NamedTuple):
    """One dispatched event.

    ``event`` is None when the block named no type: no ``event:`` field, or an empty one, which
    the spec also dispatches as the default type "message" (keeping None instead of "message"
    lets the repair layer see that the name was missing, F03). ``id`` is the stream's last event
    ID at dispatch time, as the spec defines it. ``raw`` is the exact bytes of the block, line
    endings included, for captures and diagnostics. ``canonical`` says that ``raw`` is
    exactly ``encode(event, data)`` (an ``event: `` line if named, a ``data: `` line per line of
    data, LF ends, valid UTF-8, no other field or comment) with no raw U+2028, U+2029 or U+0085
    in the data (``encode.escape_line_separators``), so a relay that leaves the event unchanged
    may send ``raw`` as it is.
    """

    event: str | None
    data: str
    id: str = ""
    retry: int | None = None
    raw: bytes = b""
    canonical: bool = False


_NOT_CANONICAL = "\x00not canonical"
# NamedTuple's generated __new__ costs more than the rest of an event's decoding; the hot path
# builds the tuple directly.
_new_event = tuple.__new__
# Event names of the Messages protocol, decoded once instead of once per event.
_NAMES = {n.encode(): n for n in COMMON_EVENT_NAMES}


class SSEDecoder:
    """Incremental WHATWG event-stream parser: ``feed(bytes)`` then ``close()`` at end of stream.

    ``keep_partial`` dispatches an unterminated last block at ``close()`` instead of discarding it as
    the spec says; the repair layer wants it because a cut stream's last event is evidence (F16).
    ``max_event_size`` bounds the bytes of one block (F09); past it ``SSEEventTooLarge`` is raised and
    the decoder refuses further input.
    """

    __slots__ = (
        "_bom_checked",
        "_buf",
        "_data",
        "_dispatched_id",
        "_error",
        "_event",
        "_keep_partial",
        "_last_id",
        "_max",
        "_pending",
        "_retry",
    )

    def __init__(
        self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, keep_partial: bool = False
    ) -> None:
        self._max = max_event_size
        self._keep_partial = keep_partial
        self._bom_checked = False
        self._buf = bytearray()  # the incomplete tail line (and a held CR), grown in place
        self._pending = bytearray()  # raw bytes of the current block's complete lines
        self._data: list[bytes] = []
        self._event: str | None = None
        self._retry: int | None = None
        self._last_id = ""  # the spec's last event ID buffer
        self._dispatched_id = ""  # its last event ID string: the buffer at the last blank line
        self._error: SSEEventTooLarge | None = None

    @property
    def last_event_id(self) -> str:
        """What a reconnecting client would send as ``Last-Event-ID``: the ID as of the last
        blank line (the spec's "last event ID string"). An ``id:`` line in a block the stream
        never ended does not count, as the spec's dispatch step says."""
        return self._dispatched_id

    @property
    def mid_event(self) -> bool:
        """Bytes of an event not yet complete are held: a read that gave no event still
        carried part of one (a long ``data:`` line), unlike a read of comments only."""
        return bool(self._buf or self._data or self._event is not None)

    def feed(self, data: bytes) -> list[SSEEvent]:
        if self._error is not None:
            raise self._error
        if self._buf:
            if (
                _LF not in data
                and _CR not in data
                and self._buf[-1] != _CR
                and self._bom_checked  # a held BOM prefix must be stripped before it is counted
            ):
                # Still inside one long line (F09): grow in place, never re-copy the prefix.
                self._buf += data
                self._check_size([])
                return []
            buf = bytes(self._buf) + data
            self._buf = bytearray()
        else:
            buf = data if type(data) is bytes else bytes(data)
        if not self._bom_checked:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = bytearray(buf)  # could still become a BOM (F35)
                return []
            self._bom_checked = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        # Whole canonical blocks take the fast path, in this frame (it runs once per read);
        # everything else goes line by line.
        if _CR in buf:
            return self._parse_lines(buf, final=False)
        events: list[SSEEvent] = []
        pos = 0
        if self._pending or self._data or self._event is not None or self._retry is not None:
            # Finish the block a previous read left open, line by line.
            if buf.startswith(b"\n"):
                pos = 1
            else:
                blank = buf.find(b"\n\n")
                if blank < 0:
                    return self._parse_lines(buf, final=False)
                pos = blank + 2
            events = self._parse_lines(buf[:pos], final=False)
        blocks = (buf[pos:] if pos else buf).split(b"\n\n")
        tail = blocks.pop()
        limit = self._max
        # bytes.find and bytes.startswith parse their arguments the slow, generic way (a third
        # of this loop's instructions when it used them); split, partition, slices and an int
        # membership test do not.
        for block in blocks:
            after = pos + len(block) + 2
            # "event: NAME\ndata: DATA" or "data: DATA": one event, no other field, no comment,
            # valid UTF-8 (the line parser decodes anything else with replacement characters).
            try:
                if block[:7] == b"event: ":
                    head, _, line = block.partition(b"\n")
                    if line[:6] == b"data: " and _LF not in line:
                        name = head[7:]
                        # An empty name is the default type, None, whose encoding has no
                        # event: line: the block is not canonical, the line parser takes it.
                        event: str | None = _NAMES.get(name) or name.decode() or _NOT_CANONICAL
                        text = line[6:].decode()
                        # isascii() first: constant time, and it spares most events a call.
                        if not text.isascii() and has_line_separators(text):
                            event = _NOT_CANONICAL
                    else:
                        event = _NOT_CANONICAL
                elif block[:6] == b"data: " and _LF not in block:
                    event = None
                    text = block[6:].decode()
                    if not text.isascii() and has_line_separators(text):
                        event = _NOT_CANONICAL
                else:
                    event = _NOT_CANONICAL
            except UnicodeDecodeError:
                event = _NOT_CANONICAL
            if event is _NOT_CANONICAL:
                self._parse_lines(buf[pos:after], final=False, events=events)
            else:
                if after - pos > limit:
                    raw = buf[pos:after]
                    self._error = SSEEventTooLarge(limit, len(raw), raw[:80], events)
                    raise self._error
                events.append(
                    _new_event(
                        SSEEvent,
                        (
                            event,
                            text,
                            # Not cached before the loop: a non-canonical block may set the id.
                            self._last_id,
                            None,
                            buf[pos:after],
                            True,
                        ),
                    )
                )
            pos = after
        if tail:
            self._parse_lines(tail, final=False, events=events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: a held CR ends its line; an unterminated block is dropped unless kept."""
        if self._error is not None:
            raise self._error
        buf = bytes(self._buf)
        self._buf = bytearray()
        events: list[SSEEvent] = []
        if buf:
            if not self._bom_checked:
                self._bom_checked = True
                if buf.startswith(_BOM):
                    buf = buf[3:]
            events = self._parse_lines(buf, final=True)
        if self._keep_partial and self._data:
            events.append(self._make_event(bytes(self._pending)))
        self._reset_block()
        return events

    def _parse_lines(
        self, buf: bytes, *, final: bool, events: list[SSEEvent] | None = None
    ) -> list[SSEEvent]:
        """Line by line; appends to ``events`` so an error carries all that completed before it."""
        seps: Iterable[int]
        if _CR in buf:
            lines, seps, tail = _split_any(buf, final)
        else:
            # The common case: LF only, split in one C call.
            lines = buf.split(b"\n")
            tail = lines.pop()
            seps = repeat(1)
        if events is None:
            events = []
        data = self._data
        pos = 0
        block_from = 0  # where the current block's raw bytes begin inside buf
        for line, sep in zip(lines, seps, strict=False):
            after = pos + len(line) + sep
            if line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event: "):
                name = line[7:]
                self._event = _NAMES.get(name) or name.decode("utf-8", "replace") or None
            elif not line:
                # Blocks that hold an id: line never take the fast path, so every change of the
                # ID reaches a blank line here.
                self._dispatched_id = self._last_id
                size = len(self._pending) + after - block_from
                if size > self._max:
                    # Comments and data-less blocks are held all the same; whether they trip the
                    # bound must not depend on where the reads were cut. Measured before the
                    # block is joined: an oversized one is never copied whole.
                    head = self._pending[:80] + buf[block_from : min(after, block_from + 80)]
                    self._error = SSEEventTooLarge(self._max, size, bytes(head[:80]), events)
                    raise self._error
                if data:
                    raw = buf[block_from:after]
                    if self._pending:
                        raw = bytes(self._pending) + raw
                        self._pending = bytearray()
                    events.append(self._make_event(raw))
                    data = self._data = []
                    self._event = None
                    self._retry = None
                elif self._event is not None or self._retry is not None or self._pending:
                    self._reset_block()
                    data = self._data
                block_from = after
            else:
                self._line(line)
            pos = after
        # What remains: complete lines of an open block (buf[block_from:pos]) and a partial line.
        if block_from < pos:
            self._pending += buf[block_from:pos]
        if final:
            if tail and self._keep_partial:
                # EOF inside a line: the spec discards it, but a kept partial block shows it as
                # evidence of where the stream was cut.
                self._line(tail)
                self._pending += tail
        elif tail:
            self._buf = bytearray(tail)
        self._check_size(events)
        return events

    def _check_size(self, events: list[SSEEvent]) -> None:
        size = len(self._pending) + len(self._buf)
        if size > self._max:
            head = bytes((self._pending[:80] + self._buf[:80])[:80])  # not a copy of it all
            self._error = SSEEventTooLarge(self._max, size, head, events)
            raise self._error

    def _line(self, line: bytes) -> None:
        if line[0] == 0x3A:  # ":" comment line (F08)
            return
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            # Exactly one space is stripped, never more, never a tab (F04).
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            # An empty value empties the type buffer, and an empty buffer dispatches the
            # default type: the same event as no event: line at all, hence None.
            self._event = value.decode("utf-8", "replace") or None
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            # bytes.isdigit is ASCII-only: "+5", " 5" and non-ASCII digits are all refused.
            # Past 64 bits the value is refused, as browsers do: int() raises ValueError beyond
            # 4300 digits, and upstream bytes may raise nothing but SSEEventTooLarge.
            digits = value.lstrip(b"0") or b"0"
            if len(digits) <= 20 and (retry := int(digits)) < _RETRY_LIMIT:
                self._retry = retry

    def _make_event(self, raw: bytes) -> SSEEvent:
        data = self._data
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        name = self._event
        text = payload.decode("utf-8", "replace")
        # Off the fast path (a block cut across reads, CR line ends, comments, other fields):
        # canonical exactly when the bytes are what encoding the event gives, whatever the cuts.
        # encode never writes a CR and always starts so: an upstream that frames its events
        # otherwise (every event off the fast path) pays a memchr or a slice, not an encode.
        canonical = (
            _CR not in raw
            and (raw[:7] == b"event: " or raw[:6] == b"data: ")
            and raw == encode(name, text)
            and not has_line_separators(text)
        )
        return _new_event(SSEEvent, (name, text, self._last_id, self._retry, raw, canonical))

    def _reset_block(self) -> None:
        self._data = []
        self._event = None
        self._retry = None
        if self._pending:
            self._pending = bytearray()


def _split_any(buf: bytes, final: bool) -> tuple[list[bytes], list[int], bytes]:
    """Lines ended by CRLF, CR or LF, with each terminator's length, and the unterminated tail.

    A CR that is the last byte is held in the tail unless ``final``: the LF that would make it
    a CRLF may be the next read's first byte (F05).
    """
    lines: list[bytes] = []
    seps: list[int] = []
    pos = 0
    n = len(buf)
    for m in _LINE_END.finditer(buf):
        end = m.start()
        if end == n - 1 and buf[end] == _CR and not final:
            break
        lines.append(buf[pos:end])
        seps.append(m.end() - end)
        pos = m.end()
    return lines, seps, buf[pos:]
