"""What the simulator sends, as data: the API dialects, a response draft (frames, pauses, stalls),
framing styles, chunkings, and the rendering of a draft into a ``Plan`` of writes. Pure: no I/O, no
aiohttp.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from sseguard.sse import encode

JSON = dict[str, Any]

SSE_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
)
JSON_HEADERS = (("content-type", "application/json"),)
STALL_CAP = 600.0  # seconds: a stalled answer ends (abruptly) after this even if the client stays


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event before framing; ``payload`` is a dict to serialise or raw data text."""

    event: str | None
    payload: JSON | str


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes sent as they are, outside any framing style (BOM, glued events, ``[DONE]``)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Stall:
    """Silence until the client goes away, at most ``cap`` seconds; never a busy loop (F21)."""

    cap: float = STALL_CAP


@dataclass(frozen=True, slots=True)
class Repeat:
    """``frames`` again and again every ``interval`` until the client goes away or ``limit`` runs."""

    frames: tuple[Frame | Raw, ...]
    interval: float
    limit: int


Item = Frame | Raw | Pause | Stall | Repeat


class LineEnd(Enum):
    LF = "\n"
    CRLF = "\r\n"
    CR = "\r"
    MIXED = "mixed"  # F05: CRLF, LF and CR in turn, one per frame


@dataclass(frozen=True, slots=True)
class Style:
    """How frames become bytes; the defaults are Anthropic's own framing."""

    line_end: LineEnd = LineEnd.LF
    colon_space: bool = True  # F04: False sends ``data:{...}``
    event_lines: bool = True  # F03: False drops every ``event:`` line
    raw_separators: bool = False  # F06: True leaves U+2028/U+2029/U+0085 unescaped in JSON


@dataclass(frozen=True, slots=True)
class Ask:
    """The parts of a request that shape an answer."""

    body: JSON
    stream: bool
    betas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dialect:
    """One API the simulator speaks: where it is asked, how its request reads as the Anthropic-style
    body ``content`` answers, and how the answer (always a Message) goes on the wire.
    """

    name: str  # "messages", "chat.completions"
    path: str  # the endpoint, under the base URL or a ``/s/<spec>`` prefix
    as_messages: Callable[[JSON], JSON]  # the request body as ``content.shape_of`` reads it
    stream: Callable[[Ask, JSON], tuple[Item, ...]]  # the clean stream for a Message
    whole: Callable[[Ask, JSON], JSON]  # the non-streaming body for a Message
    error: Callable[[str, str], JSON]  # (error type, message) to this API's error body
    request_id_header: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A response before rendering; scenarios turn the clean draft into a faulty one."""

    ask: Ask
    dialect: Dialect
    message: JSON  # the complete Message the answer is about, whatever the dialect
    status: int
    headers: tuple[tuple[str, str], ...]
    items: tuple[Item, ...]
    style: Style = field(default_factory=Style)
    abort: bool = False  # close the TCP connection without the chunked terminator (F20)
    gzip: bool = False  # F24


@dataclass(frozen=True, slots=True)
class Write:
    data: bytes


@dataclass(frozen=True, slots=True)
class Loop:
    data: bytes
    interval: float
    limit: int


Step = Write | Pause | Stall | Loop


@dataclass(frozen=True, slots=True)
class Plan:
    """Exactly what the server does: the status line and headers go out with the first write."""

    status: int
    headers: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]
    abort: bool


def dumps(payload: JSON, *, raw_separators: bool = False) -> str:
    text = orjson.dumps(payload).decode()
    if raw_separators:
        return text
    # orjson leaves these raw (legal JSON); Anthropic escapes them, and so does the clean stream, so
    # only the F06 scenario carries them unescaped.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def frame_bytes(frame: Frame, style: Style, position: int) -> bytes:
    data = (
        frame.payload
        if isinstance(frame.payload, str)
        else dumps(frame.payload, raw_separators=style.raw_separators)
    )
    out = encode(frame.event if style.event_lines else None, data)
    if not style.colon_space:
        out = out.replace(b"\ndata: ", b"\ndata:")
        if out.startswith(b"data: "):
            out = b"data:" + out[6:]
    end = style.line_end
    if end is LineEnd.MIXED:
        end = (LineEnd.CRLF, LineEnd.LF, LineEnd.CR)[position % 3]
    return out if end is LineEnd.LF else out.replace(b"\n", end.value.encode())


def json_items(payload: JSON) -> tuple[Item, ...]:
    return (Raw(orjson.dumps(payload)),)


# Chunkings re-slice the bytes between two pauses and never change them, so every scenario can be
# played under every chunking.
def _per_event(parts: list[bytes]) -> list[bytes]:
    return parts


def _whole(parts: list[bytes]) -> list[bytes]:
    return [b"".join(parts)]


def _one_byte(parts: list[bytes]) -> list[bytes]:
    joined = b"".join(parts)
    return [joined[i : i + 1] for i in range(len(joined))]


def _cut_where(cut_after: Callable[[bytes, int], bool]) -> Callable[[list[bytes]], list[bytes]]:
    def chunk(parts: list[bytes]) -> list[bytes]:
        joined = b"".join(parts)
        out: list[bytes] = []
        start = 0
        for i in range(len(joined) - 1):
            if cut_after(joined, i):
                out.append(joined[start : i + 1])
                start = i + 1
        out.append(joined[start:])
        return [c for c in out if c]

    return chunk


def _inside_utf8(data: bytes, i: int) -> bool:
    # F07: after the lead byte of every multi-byte character, so each one arrives in two reads.
    return data[i] >= 0xC0


def _after_cr(data: bytes, i: int) -> bool:
    # F05: a CR ends one read and its LF starts the next; parsers must hold the CR.
    return data[i] == 0x0D


CHUNKINGS: dict[str, tuple[str, Callable[[list[bytes]], list[bytes]]]] = {
    "event": ("one write per SSE event (the default)", _per_event),
    "whole": ("everything up to the next pause in one write", _whole),
    "bytes": ("one byte per write", _one_byte),
    "utf8": ("a cut inside every multi-byte UTF-8 character (F07)", _cut_where(_inside_utf8)),
    "crlf": ("a cut after every CR, so CR and LF arrive apart (F05)", _cut_where(_after_cr)),
}


def render(draft: Draft, chunking: str) -> Plan:
    chunk = CHUNKINGS[chunking][1]
    squeeze = zlib.compressobj(wbits=31) if draft.gzip else None

    def squeezed(data: bytes) -> bytes:
        if squeeze is None:
            return data
        # Sync-flush per write so a gzip SSE stream stays incremental, as gzip middlewares do.
        return squeeze.compress(data) + squeeze.flush(zlib.Z_SYNC_FLUSH)

    steps: list[Step] = []
    pending: list[bytes] = []

    def flush() -> None:
        steps.extend(Write(c) for c in chunk(pending))
        pending.clear()

    for position, item in enumerate(draft.items):
        if isinstance(item, Frame):
            pending.append(squeezed(frame_bytes(item, draft.style, position)))
        elif isinstance(item, Raw):
            pending.append(squeezed(item.data))
        else:
            flush()
            steps.append(_timed(item, draft.style, position, squeezed))
    if squeeze is not None and not draft.abort:
        pending.append(squeeze.flush())
    flush()
    headers = draft.headers + ((("content-encoding", "gzip"),) if draft.gzip else ())
    return Plan(draft.status, headers, tuple(steps), draft.abort)


def _timed(
    item: Pause | Stall | Repeat, style: Style, position: int, squeezed: Callable[[bytes], bytes]
) -> Step:
    if isinstance(item, Repeat):
        data = b"".join(
            f.data if isinstance(f, Raw) else frame_bytes(f, style, position) for f in item.frames
        )
        return Loop(squeezed(data), item.interval, item.limit)
    return item
