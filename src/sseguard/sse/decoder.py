"""Bytes to SSE events under the WHATWG event-stream parsing rules, whatever the chunking.

Pure and synchronous: the caller brings the bytes. Lines are split on CR and LF *bytes* only
(never on U+2028/U+2029/U+0085, which models emit inside JSON strings, F06), and only complete
lines are decoded, so a UTF-8 character cut across two reads is never seen half (F07).
"""

from __future__ import annotations

from dataclasses import dataclass

from sseguard.sse.errors import SSEEventTooLarge

DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_CR = 0x0D


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event.

    ``event`` is None when the block had no ``event:`` field (the spec's default type would be
    "message"; keeping None lets the repair layer see that the name was missing, F03). ``id`` is the
    stream's last event ID at dispatch time, as the spec defines it. ``raw`` is the exact bytes of the
    block, line endings included, for captures and diagnostics.
    """

    event: str | None
    data: str
    id: str = ""
    retry: int | None = None
    raw: bytes = b""


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
        self._last_id = ""
        self._error: SSEEventTooLarge | None = None

    @property
    def last_event_id(self) -> str:
        return self._last_id

    def feed(self, data: bytes) -> list[SSEEvent]:
        if self._error is not None:
            raise self._error
        if self._buf:
            if b"\n" not in data and b"\r" not in data and self._buf[-1] != _CR:
                # Still inside one long line (F09): grow in place, never re-copy the prefix.
                self._buf += data
                self._check_size([])
                return []
            buf = bytes(self._buf) + data
        else:
            buf = bytes(data)
        if not self._bom_checked:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = bytearray(buf)  # could still become a BOM (F35)
                return []
            self._bom_checked = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        return self._parse(buf, final=False)

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
            events = self._parse(buf, final=True)
        if self._keep_partial and self._data:
            events.append(self._make_event(bytes(self._pending)))
        self._reset_block()
        return events

    def _parse(self, buf: bytes, *, final: bool) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        n = len(buf)
        pos = 0
        has_cr = _CR in buf
        next_lf = buf.find(b"\n")
        next_cr = buf.find(b"\r") if has_cr else -1
        block_from = 0  # where the current block's raw bytes begin inside buf
        while True:
            if next_lf < 0 and next_cr < 0:
                break
            if next_cr < 0 or (0 <= next_lf < next_cr):
                end = next_lf
                after = end + 1
                next_lf = buf.find(b"\n", after)
            else:
                end = next_cr
                if end + 1 < n:
                    after = end + 2 if buf[end + 1] == _LF else end + 1
                elif final:
                    after = end + 1
                else:
                    break  # a CR at the end of a chunk: hold it, a LF may follow (F05)
                next_cr = buf.find(b"\r", after)
                if next_lf < after and next_lf >= 0:
                    next_lf = buf.find(b"\n", after)
            if end == pos:
                if self._data:
                    raw = buf[block_from:after]
                    if self._pending:
                        raw = bytes(self._pending) + raw
                    if len(raw) > self._max:
                        self._error = SSEEventTooLarge(self._max, len(raw), raw[:80], events)
                        raise self._error
                    events.append(self._make_event(raw))
                self._reset_block()
                block_from = after
            else:
                self._line(buf, pos, end)
            pos = after
        # What remains: complete lines of an open block (buf[block_from:pos]) and a partial line.
        if block_from < pos:
            self._pending += buf[block_from:pos]
        if final:
            if pos < n and self._keep_partial:
                # EOF inside a line: the spec discards it, but a kept partial block shows it as
                # evidence of where the stream was cut.
                self._line(buf, pos, n)
                self._pending += buf[pos:]
        else:
            self._buf = bytearray(buf[pos:])
        self._check_size(events)
        return events

    def _check_size(self, events: list[SSEEvent]) -> None:
        size = len(self._pending) + len(self._buf)
        if size > self._max:
            head = (bytes(self._pending) + bytes(self._buf))[:80]
            self._error = SSEEventTooLarge(self._max, size, head, events)
            raise self._error

    def _line(self, buf: bytes, start: int, end: int) -> None:
        if buf[start] == 0x3A:  # ":" comment line (F08)
            return
        colon = buf.find(b":", start, end)
        if colon < 0:
            name = buf[start:end]
            value = b""
        else:
            name = buf[start:colon]
            vstart = colon + 1
            if vstart < end and buf[vstart] == 0x20:
                vstart += 1  # exactly one space is stripped, never more (F04)
            value = buf[vstart:end]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            # bytes.isdigit is ASCII-only: "+5", " 5" and non-ASCII digits are all refused.
            self._retry = int(value)

    def _make_event(self, raw: bytes) -> SSEEvent:
        data = self._data
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(
            self._event, payload.decode("utf-8", "replace"), self._last_id, self._retry, raw
        )

    def _reset_block(self) -> None:
        self._data = []
        self._event = None
        self._retry = None
        if self._pending:
            self._pending = bytearray()
