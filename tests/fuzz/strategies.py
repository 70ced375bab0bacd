"""Inputs for the fuzz targets: plausible-but-broken upstream streams that know what they carry.

Each generated case keeps, next to its bytes, what an oracle needs and the bytes cannot say: the
upstream's text pieces in order (``UpstreamStream.pieces``), whether the stream was left intact
(``clean``), the whole answer a resume must rebuild (``ResumeCase.text``). Builders come from
``tests/streams.py`` and the strategies of the existing property tests are imported, not copied.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import orjson
from hypothesis import strategies as st
from test_chunks_in import DONE as OPENAI_DONE
from test_chunks_in import any_event, chunk, json_values, steps, upstream, usage_chunk
from test_repair_properties import build, streams
from test_sse_properties import soup

from sseguard.sse import SSEEvent, encode
from streams import (
    MESSAGE_STOP,
    PING,
    block_start,
    block_stop,
    delta,
    frame,
    message_delta,
    message_start,
    text,
    text_start,
    thinking_start,
    tool_start,
)

Part = dict[str, Any] | bytes

# -- shared pieces ------------------------------------------------------------------------------

# Text that stresses the codec and the JSON on its way: line separators raw, quotes, backslashes,
# escaped line breaks, SSE markers inside strings, astral characters.
piece_texts = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        [
            " ",
            "\u2028",
            "\x85",
            '"',
            "\\",
            "\n",
            "\r\n",
            "é",
            "日本",
            "🙂",
            "data: x",
            "event: ping\n\n",
            "}",
            "{",
        ]
    ),
)
tool_inputs = st.dictionaries(
    st.text(max_size=4),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=6)),
    max_size=3,
)
LINE_ENDS = (b"\n", b"\r\n", b"\r")


def cut_sizes(max_size: int = 12) -> st.SearchStrategy[tuple[int, ...]]:
    """Read sizes a network could deliver: none (one read), or reads of 1 to 64 bytes."""
    return st.lists(st.integers(1, 64), max_size=max_size).map(tuple)


def reads(raw: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    """``raw`` cut into reads of ``sizes``, the last read holding the rest."""
    out, pos = [], 0
    for size in sizes:
        out.append(raw[pos : pos + size])
        pos += size
    out.append(raw[pos:])
    return out


def text_pieces_of(payload: object) -> list[str]:
    """The answer text one Messages event carries: a text delta's, or a text block start's."""
    if not isinstance(payload, dict):
        return []
    kind = payload.get("type")
    if kind == "content_block_delta":
        d = payload.get("delta")
        if isinstance(d, dict) and d.get("type") == "text_delta" and isinstance(d.get("text"), str):
            return [d["text"]] if d["text"] else []
    elif kind == "content_block_start":
        b = payload.get("content_block")
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str):
            return [b["text"]] if b["text"] else []
    return []


_SCANNER = json.JSONDecoder()


def texts_in_bytes(raw: bytes) -> list[str]:
    """Every text piece of any complete JSON object found in ``raw``, in order: an independent
    (and generous) reading of what bytes of unknown shape could deliver as text."""
    data = raw.decode("utf-8", "replace")
    out: list[str] = []
    pos = data.find("{")
    while pos >= 0:
        try:
            value, end = _SCANNER.raw_decode(data, pos)
        except ValueError:
            pos = data.find("{", pos + 1)
            continue
        out += text_pieces_of(value)
        pos = data.find("{", end)
    return out


# -- Messages streams: a clean answer, then damage ---------------------------------------------


@dataclass(frozen=True)
class UpstreamStream:
    """An upstream Messages body and what it carries.

    ``pieces``: the text pieces of every event put on the wire, in wire order (duplicates
    included, lost ones too: a superset of what can honestly be delivered). ``clean``: no damage
    at all (line ends, a BOM and read boundaries aside), so the repair must change nothing.
    """

    raw: bytes
    pieces: tuple[str, ...]
    clean: bool
    tools: tuple[str, ...]  # a clean stream's tool inputs, as JSON
    sizes: tuple[int, ...]
    atomic_tools: bool = True
    hold_thinking: bool = True
    max_event_size: int | None = None
    ending: str = "error"  # how a broken stream is finished: finalize(..., ending)


@st.composite
def clean_parts(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    """A well-formed answer: text, signed thinking, tool calls in fragments, a server block."""
    parts: list[dict[str, Any]] = [message_start(draw(st.sampled_from(["msg_a", "msg_b"])))]
    tools: list[str] = []
    kinds = ["text", "text", "thinking", "tool", "server"]
    for i, kind in enumerate(draw(st.lists(st.sampled_from(kinds), max_size=4))):
        if kind == "text":
            parts.append(text_start(i))
            parts += [text(i, p) for p in draw(st.lists(piece_texts, max_size=5))]
        elif kind == "thinking":
            parts.append(thinking_start(i))
            parts += [
                delta(i, "thinking_delta", p) for p in draw(st.lists(piece_texts, max_size=3))
            ]
            parts.append(
                delta(i, "signature_delta", draw(st.sampled_from(["EqQBCkgIARAB", "c2ln"])))
            )
        elif kind == "tool":
            raw = orjson.dumps(draw(tool_inputs)).decode()
            cuts = draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=3))
            bounds = [0, *sorted(set(cuts)), len(raw)]
            parts.append(tool_start(i, f"toolu_{i}", "get_weather"))
            parts += [delta(i, "input_json_delta", raw[a:b]) for a, b in pairwise(bounds) if b > a]
            tools.append(raw)
        else:
            result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
            parts.append(block_start(i, result))
        parts.append(block_stop(i))
    stop = (
        "tool_use" if tools else draw(st.sampled_from(["end_turn", "max_tokens", "stop_sequence"]))
    )
    parts += [message_delta(stop, draw(st.integers(0, 500))), MESSAGE_STOP]
    return parts, tools


_ERRORS: list[dict[str, Any]] = [
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    {"error": {"message": "gateway says no"}},  # OpenAI's shape, no type (F03/F17)
    {"type": "error", "error": "plain text"},
]
_JUNK = [
    b"data: {garbage\n\n",
    b": keep-alive\n\n",
    b"retry: 100\n\n",
    b"id: 7\n",
    b"\n\n",
    b"event: ping\n\n",
    b"data: [DONE]\n\n",
    b"data:\n\n",
    b"event: content_block_delta\ndata: \n\n",
    b"\xef\xbb\xbf",
]
_INDEXES: list[Any] = [0, 1, 2, 3, 7, -1, "1", "0", 1.0, None, "x", True]


def _retype(payload: dict[str, Any], kind: str) -> None:
    """Make a delta another kind of delta, keeping its value (F13 material)."""
    d = payload.get("delta")
    if not isinstance(d, dict):
        return
    value = next((v for k, v in d.items() if k != "type"), "")
    key = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}
    payload["delta"] = {"type": kind, key.get(kind, "signature"): value}


def _damage_payloads(draw: st.DrawFn, parts: list[Part]) -> int:
    """Event-level damage in place: lost, repeated, reordered, renumbered, retyped events,
    inserted pings, errors, unknown events, repeated starts and endings. Returns how many."""
    ops = draw(st.lists(st.integers(0, 15), max_size=4))
    for op in ops:
        n = len(parts)
        i = draw(st.integers(0, max(n - 1, 0)))
        target = parts[i] if n else None
        payload = copy.deepcopy(target) if isinstance(target, dict) else None
        if op == 0 and n:
            del parts[i]
        elif op == 1 and n:
            parts.insert(i, copy.deepcopy(target))  # type: ignore[arg-type]
        elif op == 2 and n > 1:
            j = min(i + 1, n - 1)
            parts[i], parts[j] = parts[j], parts[i]
        elif op == 3 and n > 1:
            parts.insert(draw(st.integers(0, n - 1)), parts.pop(i))
        elif op == 4 and payload is not None and "index" in payload:
            value = draw(st.sampled_from(_INDEXES))
            if value is None:
                del payload["index"]
            else:
                payload["index"] = value
            parts[i] = payload
        elif op == 5 and payload is not None and payload.get("type") == "content_block_delta":
            _retype(
                payload,
                draw(
                    st.sampled_from(
                        [
                            "text_delta",
                            "thinking_delta",
                            "input_json_delta",
                            "signature_delta",
                            "citations_delta",
                            "future_delta",
                        ]
                    )
                ),
            )
            parts[i] = payload
        elif op == 6:
            parts.insert(i, dict(PING))
        elif op == 7:
            parts.insert(i, copy.deepcopy(draw(st.sampled_from(_ERRORS))))
        elif op == 8:
            parts.insert(
                i, {"type": draw(st.sampled_from(["vertex_event", "message", "content_block"]))}
            )
        elif op == 9:
            parts.insert(i, message_start(draw(st.sampled_from(["msg_a", "msg_b", "msg_c"]))))
        elif op == 10:
            stop = draw(st.sampled_from(["end_turn", "tool_use", "max_tokens", "pause_turn", None]))
            extra = message_delta("end_turn", draw(st.sampled_from([None, 0, 7, "x"])))
            extra["delta"]["stop_reason"] = stop
            parts.insert(i, extra)
        elif (
            op == 11
            and payload is not None
            and payload.get("type") in ("message_start", "message_delta")
        ):
            holder = (
                payload.get("message", payload) if payload["type"] == "message_start" else payload
            )
            if isinstance(holder, dict):
                choice = draw(st.integers(0, 2))
                if choice == 0:
                    holder.pop("usage", None)
                else:
                    holder["usage"] = (
                        None if choice == 1 else {"input_tokens": None, "output_tokens": None}
                    )
            parts[i] = payload
        elif op == 12 and payload is not None and payload.get("type") == "content_block_start":
            block = payload.get("content_block")
            if isinstance(block, dict):
                if block.get("type") == "tool_use":
                    block.pop("input", None)
                elif block.get("type") == "text":
                    block["text"] = draw(piece_texts)
            parts[i] = payload
        elif op == 13:
            parts.insert(i, text(draw(st.integers(0, 4)), draw(piece_texts)))
        elif op == 14:
            parts.insert(i, block_stop(draw(st.integers(0, 4))))
        elif op == 15:
            parts.insert(i, text_start(draw(st.integers(0, 4))))
    return len(ops)


def _render(part: Part, named: bool, name: str | None = None) -> bytes:
    if isinstance(part, bytes):
        return part
    if name is None and named and not isinstance(part.get("type"), str):
        named = False  # an untyped payload has no name of its own to put on an event: line
    return frame(part, name if name is not None else ("" if named else None))


@st.composite
def upstream_streams(draw: st.DrawFn) -> UpstreamStream:
    """A clean answer, then event-level and byte-level damage (glued, truncated, renamed
    events, junk, ``[DONE]``), line ends, a BOM, an early end of the body, and read sizes."""
    parts_: list[Part]
    clean_payloads, tools = draw(clean_parts())
    parts_ = list(clean_payloads)
    damage = _damage_payloads(draw, parts_)
    # Each element: its bytes and the text pieces it puts on the wire.
    elements: list[tuple[bytes, list[str]]] = []
    named = draw(st.sampled_from(["all", "all", "none", "mixed"]))
    damage += named != "all"  # events without an event: line are a fault of their own (F03)
    for part in parts_:
        is_named = named == "all" or (named == "mixed" and draw(st.booleans()))
        pieces = text_pieces_of(part) if isinstance(part, dict) else texts_in_bytes(part)
        elements.append((_render(part, is_named), pieces))
    for op in draw(st.lists(st.integers(0, 5), max_size=3)):
        damage += 1
        n = len(elements)
        i = draw(st.integers(0, max(n - 1, 0)))
        if op == 0 and n > 1 and i + 1 < n:
            # Glued: the blank line between two events lost, or turned into spaces (F02).
            (a, pa), (b, pb) = elements[i], elements[i + 1]
            style = draw(st.sampled_from([b"\n", b"  ", b"", b" \t "]))
            a = a[:-2] if a.endswith(b"\n\n") else a
            elements[i : i + 2] = [(a + style + b if style != b"\n" else a + b"\n" + b, pa + pb)]
        elif op == 1 and n:
            # Truncated: an event's data cut short, the next event stuck to it, or the line ended (F39).
            body, pieces = elements[i]
            head, sep, data = body.rstrip(b"\n").rpartition(b"data: ")
            cut = draw(st.integers(0, max(len(data) - 1, 0)))
            tail = draw(st.sampled_from([b"", b"\n\n", b"\n"]))
            elements[i] = (head + sep + data[:cut] + tail, pieces)
        elif op == 2:
            elements.insert(i, (draw(st.sampled_from(_JUNK) | st.binary(max_size=8)), []))
        elif op == 3:
            elements.append(
                (draw(st.sampled_from([b"data: [DONE]\n\n", b"event: done\ndata: [DONE]\n\n"])), [])
            )
        elif op == 4 and n:
            # An event: line that names another type than its data (F03).
            body, pieces = elements[i]
            if body.startswith(b"event: "):
                body = body.partition(b"\n")[2]
            name = draw(
                st.sampled_from(["content_block_delta", "ping", "message_stop", "error", "x"])
            )
            elements[i] = (f"event: {name}\n".encode() + body, pieces)
        elif op == 5 and n:
            # A comment or an id line inside an event, off the decoder's fast path.
            body, pieces = elements[i]
            elements[i] = (b": note\n" + body, pieces)
    style = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r", b"mixed"]))
    chunks: list[bytes] = []
    for body, _ in elements:
        end = draw(st.sampled_from(LINE_ENDS)) if style == b"mixed" else style
        chunks.append(body.replace(b"\n", end) if end != b"\n" else body)
    raw = b"".join(chunks)
    if draw(st.integers(0, 9)) == 0:
        raw = b"\xef\xbb\xbf" + raw
    eof = draw(st.one_of(st.none(), st.integers(0, max(len(raw) - 1, 0))))
    if eof is not None:
        raw = raw[:eof]
        damage += 1
    return UpstreamStream(
        raw=raw,
        pieces=tuple(p for _, pieces in elements for p in pieces),
        clean=damage == 0,
        tools=tuple(tools),
        sizes=draw(cut_sizes()),
        atomic_tools=draw(st.integers(0, 4)) > 0,
        hold_thinking=draw(st.integers(0, 4)) > 0,
        max_event_size=draw(st.one_of(st.none(), st.none(), st.none(), st.integers(16, 400))),
        ending=draw(st.sampled_from(["error", "finalize"])),
    )


def _from_property_soup(stream: tuple[list[Part], list[bool]]) -> UpstreamStream:
    """The repair property tests' event soup, as an UpstreamStream (nothing there is clean)."""
    parts, named = stream
    pieces: list[str] = []
    for part in parts:
        pieces += texts_in_bytes(part) if isinstance(part, bytes) else text_pieces_of(part)
    return UpstreamStream(
        raw=build(parts, named), pieces=tuple(pieces), clean=False, tools=(), sizes=()
    )


messages_streams: st.SearchStrategy[UpstreamStream] = st.one_of(
    upstream_streams(), upstream_streams(), streams.map(_from_property_soup)
)


@st.composite
def byte_damaged(draw: st.DrawFn) -> bytes:
    """A clean answer's bytes with bytes flipped, inserted or deleted anywhere."""
    parts, _ = draw(clean_parts())
    raw = bytearray(b"".join(frame(p) for p in parts))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(raw)))
        op = draw(st.integers(0, 2))
        if op == 0 and pos < len(raw):
            raw[pos] = draw(st.integers(0, 255))
        elif op == 1:
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[pos : pos + draw(st.integers(1, 8))]
    return bytes(raw)


raw_bytes: st.SearchStrategy[bytes] = st.one_of(st.binary(max_size=400), soup, byte_damaged())


# -- resume ---------------------------------------------------------------------------------------

_WORDS = st.one_of(
    st.text(st.characters(categories=("L", "N")), min_size=1, max_size=7),
    st.sampled_from(
        ["the", "a", "is", "café", "naïve", "Ångström", "日本語", "🙂", "x", "it's", "42"]
    ),
)
_PUNCT = st.sampled_from(["", "", "", ",", ".", "!", ":", ")", "—"])


@dataclass(frozen=True)
class ResumeCase:
    """A first attempt that delivers ``pieces[:delivered]`` of ``text`` and breaks, then a
    continuation whose first text block sends ``continuation``.

    ``kind`` says how the continuation was made from the answer: ``rest`` (exactly what is
    missing), ``tail`` (the delivered text's last words from a word start, then the rest),
    ``restart`` (the whole answer again), ``random`` (anything, from the answer's material).
    """

    text: str
    pieces: tuple[str, ...]
    delivered: int
    first_end: str  # "eof" inside the text block, "stop" after its stop, "error" event
    thinking: bool  # a signed thinking block before the text, in both attempts
    prefill: bool
    kind: str
    continuation: tuple[str, ...]
    cont_eof: int | None  # the continuation's body ends after this many events (None: whole)

    @property
    def delivered_text(self) -> str:
        return "".join(self.pieces[: self.delivered])


def _word_starts(text: str) -> list[int]:
    """Positions after a space where a word begins."""
    return [i for i in range(1, len(text)) if text[i - 1].isspace() and not text[i].isspace()]


@st.composite
def resume_cases(draw: st.DrawFn) -> ResumeCase:
    words = draw(st.lists(st.tuples(_WORDS, _PUNCT).map("".join), min_size=1, max_size=10))
    whole = " ".join(words)
    cuts = draw(st.lists(st.integers(1, max(len(whole) - 1, 1)), max_size=6))
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(whole)}), len(whole)]
    pieces = tuple(whole[a:b] for a, b in pairwise(bounds))
    delivered = draw(st.integers(0, len(pieces)))
    sent = "".join(pieces[:delivered])
    rest = whole[len(sent) :]
    kind = draw(st.sampled_from(["rest", "tail", "restart", "random"]))
    core = sent.rstrip()
    starts = [s for s in _word_starts(core) if len(core) - s >= 3]
    if kind == "tail" and not starts:
        kind = "rest"
    if kind == "rest":
        cont = rest
    elif kind == "tail":
        cont = sent[draw(st.sampled_from(starts)) :] + rest
    elif kind == "restart":
        cont = whole
    else:
        n = len(whole)
        fragment = st.tuples(st.integers(0, n), st.integers(0, n)).map(
            lambda ab: whole[min(ab) : max(ab)]
        )
        cont = "".join(
            draw(
                st.lists(
                    fragment | _WORDS | st.sampled_from([" ", "  ", "\n", " " + sent[-3:]]),
                    max_size=5,
                )
            )
        )
    ccuts = draw(st.lists(st.integers(1, max(len(cont) - 1, 1)), max_size=5))
    cbounds = [0, *sorted({c for c in ccuts if 0 < c < len(cont)}), len(cont)]
    continuation = tuple(cont[a:b] for a, b in pairwise(cbounds)) if cont else ()
    return ResumeCase(
        text=whole,
        pieces=pieces,
        delivered=delivered,
        first_end=draw(st.sampled_from(["eof", "stop", "error"])),
        thinking=draw(st.booleans()),
        prefill=draw(st.booleans()),
        kind=kind,
        continuation=continuation,
        cont_eof=draw(st.one_of(st.none(), st.integers(1, 8))) if kind == "random" else None,
    )


# -- OpenAI chunk streams -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkStream:
    """An OpenAI-compatible upstream body. ``pieces``: its choice-0 ``content`` strings in wire
    order when known (None for random events); ``text``: the answer an intact stream carries."""

    raw: bytes
    pieces: tuple[str, ...] | None
    clean: bool
    text: str
    sizes: tuple[int, ...]
    ending: str = "error"


def _sse(events: list[SSEEvent], end: bytes) -> bytes:
    out = b"".join(encode(e.event, e.data) for e in events)
    return out.replace(b"\n", end) if end != b"\n" else out


def _content_of(event: SSEEvent) -> list[str]:
    try:
        body = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return []
    choices = body.get("choices") if isinstance(body, dict) else None
    out: list[str] = []
    for c in choices if isinstance(choices, list) else ():
        d = c.get("delta") if isinstance(c, dict) else None
        if isinstance(d, dict) and isinstance(d.get("content"), str) and d["content"]:
            out.append(d["content"])
    return out


@st.composite
def chunk_streams(draw: st.DrawFn) -> ChunkStream:
    """Plausible OpenAI streams (the chunks_in tests' steps, a finish_reason, usage and
    ``[DONE]``) with chunks lost, repeated, reordered or garbage; or any events at all."""
    end = draw(st.sampled_from(LINE_ENDS))
    if draw(st.integers(0, 3)) == 0:
        events = draw(st.lists(any_event, max_size=12))
        return ChunkStream(
            _sse(events, end),
            None,
            False,
            "",
            draw(cut_sizes()),
            draw(st.sampled_from(["error", "finalize"])),
        )
    events, expected, _ = upstream(draw(st.lists(steps, max_size=8)))
    finish = draw(st.sampled_from(["stop", "length", "tool_calls", "content_filter", "eos"]))
    tail = draw(
        st.lists(st.sampled_from([usage_chunk(), usage_chunk(None), OPENAI_DONE]), max_size=2)
    )
    events = [*events, chunk({}, finish), *tail]
    ops = draw(st.lists(st.integers(0, 5), max_size=3))
    for op in ops:
        i = draw(st.integers(0, len(events) - 1))
        if op == 0:
            del events[i]
        elif op == 1:
            events.insert(i, events[i])
        elif op == 2 and i + 1 < len(events):
            events[i], events[i + 1] = events[i + 1], events[i]
        elif op == 3:
            events.insert(i, OPENAI_DONE)
        elif op == 4:
            error = {"error": {"message": "upstream failed", "type": "server_error"}}
            events.insert(i, SSEEvent(None, orjson.dumps(error).decode()))
        else:
            events.insert(
                i,
                SSEEvent(None, draw(st.sampled_from(["{oops", "null", "[1]", '{"choices": []}']))),
            )
        if not events:
            break
    raw = _sse(events, end)
    clean = not ops
    eof = None if clean else draw(st.one_of(st.none(), st.integers(0, max(len(raw) - 1, 0))))
    if eof is not None:
        raw = raw[:eof]
    pieces = tuple(p for e in events for p in _content_of(e))
    return ChunkStream(
        raw,
        pieces,
        clean,
        expected,
        draw(cut_sizes()),
        draw(st.sampled_from(["error", "finalize"])),
    )


# -- request bodies --------------------------------------------------------------------------------
# A valid request of each kind, then zero to two mutations anywhere in its JSON tree (a key
# dropped, a value replaced by any JSON value): most inputs get past the first check, so the
# translation's deeper paths run, and every field still meets wrong types and shapes.

_texts = st.text(max_size=5)
_words = st.text(min_size=1, max_size=5)
_anything = json_values
_numbers = st.one_of(
    st.integers(-2, 70000), st.floats(-1, 3, allow_nan=False), st.sampled_from([1e300, 2**63, 0.5])
)
_IMAGE_URLS = [
    "https://x.test/a.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:image/bmp;base64,AA",
    "data:,",
    "data:image/png,abc",
    "ftp://x",
    "data:;base64,AA",
]
_arguments = st.one_of(
    tool_inputs.map(lambda v: orjson.dumps(v).decode()), st.sampled_from(["", "{"])
)
_chat_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": _texts}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries({"url": st.sampled_from(_IMAGE_URLS)}),
        }
    ),
)
_chat_call = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["call_1", "call_2"]),
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.sampled_from(["f", "g"]), "arguments": _arguments}
        ),
    }
)
_chat_message = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "developer"]), "content": _words}),
    st.fixed_dictionaries(
        {
            "role": st.just("user"),
            "content": st.one_of(_words, st.lists(_chat_part, min_size=1, max_size=3)),
        },
        optional={"name": _words},
    ),
    st.fixed_dictionaries(
        {"role": st.just("assistant")},
        optional={
            "content": st.one_of(_texts, st.none()),
            "tool_calls": st.lists(_chat_call, min_size=1, max_size=2),
            "reasoning_content": _texts,
        },
    ),
    st.fixed_dictionaries(
        {
            "role": st.just("tool"),
            "tool_call_id": st.sampled_from(["call_1", "call_2"]),
            "content": _texts,
        }
    ),
)
_chat_tool = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.sampled_from(["f", "g"])},
            optional={
                "description": _texts,
                "parameters": st.just({"type": "object", "properties": {}}),
            },
        ),
    }
)
_valid_chat = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt-4o", "claude-sonnet-4-5"]),
        "messages": st.lists(_chat_message, min_size=1, max_size=4),
    },
    optional={
        "stream": st.booleans(),
        "max_tokens": st.integers(1, 70000),
        "max_completion_tokens": st.integers(1, 70000),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 100),
        "stop": st.one_of(_words, st.lists(_words, max_size=4)),
        "tools": st.lists(_chat_tool, min_size=1, max_size=2),
        "tool_choice": st.one_of(
            st.sampled_from(["auto", "none", "required"]),
            st.just({"type": "function", "function": {"name": "f"}}),
        ),
        "parallel_tool_calls": st.booleans(),
        "reasoning_effort": st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh"]),
        "n": st.just(1),
        "logprobs": st.just(False),
        "response_format": st.just({"type": "text"}),
        "user": _words,
        "metadata": st.dictionaries(_words, _texts, max_size=2),
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
        "seed": st.integers(0, 99),
    },
)
_source = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("base64"),
            "media_type": st.sampled_from(["image/png", "image/jpeg", "application/pdf"]),
            "data": st.just("iVBORw0KGgo="),
        }
    ),
    st.fixed_dictionaries({"type": st.just("url"), "url": st.sampled_from(_IMAGE_URLS)}),
    st.fixed_dictionaries(
        {"type": st.just("text"), "media_type": st.just("text/plain"), "data": _texts}
    ),
)
_text_block = st.fixed_dictionaries({"type": st.just("text"), "text": _texts})
_user_block = st.one_of(
    _text_block,
    st.fixed_dictionaries({"type": st.just("image"), "source": _source}),
    st.fixed_dictionaries(
        {"type": st.just("document"), "source": _source}, optional={"title": _words}
    ),
    st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": st.sampled_from(["toolu_1", "toolu_2"])},
        optional={
            "content": st.one_of(
                _texts,
                st.lists(
                    st.one_of(
                        _text_block,
                        st.fixed_dictionaries({"type": st.just("image"), "source": _source}),
                    ),
                    max_size=2,
                ),
            ),
            "is_error": st.booleans(),
        },
    ),
)
_assistant_block = st.one_of(
    _text_block,
    st.fixed_dictionaries(
        {
            "type": st.just("tool_use"),
            "id": st.sampled_from(["toolu_1", "toolu_2"]),
            "name": st.sampled_from(["f", "g"]),
            "input": tool_inputs,
        }
    ),
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": _texts, "signature": _texts}),
    st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": _texts}),
)
_turn = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.just("user"),
            "content": st.one_of(_words, st.lists(_user_block, min_size=1, max_size=3)),
        }
    ),
    st.fixed_dictionaries(
        {
            "role": st.just("assistant"),
            "content": st.one_of(_words, st.lists(_assistant_block, min_size=1, max_size=3)),
        }
    ),
)
_valid_messages = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["claude-sonnet-4-5", "qwen3"]),
        "max_tokens": st.integers(1, 70000),
        "messages": st.lists(_turn, min_size=1, max_size=4),
    },
    optional={
        "system": st.one_of(_texts, st.lists(_text_block, max_size=2)),
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 100),
        "stop_sequences": st.lists(_words, max_size=3),
        "tools": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["f", "g"]), "input_schema": st.just({"type": "object"})},
                optional={
                    "description": _texts,
                    "type": st.sampled_from(["custom", "web_search_20250305"]),
                },
            ),
            min_size=1,
            max_size=2,
        ),
        "tool_choice": st.one_of(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["auto", "any", "none"])},
                optional={"disable_parallel_tool_use": st.booleans()},
            ),
            st.just({"type": "tool", "name": "f"}),
        ),
        "thinking": st.one_of(
            st.fixed_dictionaries(
                {"type": st.just("enabled"), "budget_tokens": st.integers(1024, 40000)}
            ),
            st.just({"type": "disabled"}),
            st.just({"type": "adaptive"}),
        ),
        "metadata": st.fixed_dictionaries({"user_id": _words}),
        "stream": st.booleans(),
    },
)
_valid_browser = st.one_of(
    st.fixed_dictionaries(
        {"model": st.just("claude-sonnet-4-5"), "prompt": _words},
        optional={
            "system": _texts,
            "max_tokens": st.one_of(st.integers(1, 9999), st.sampled_from(["10", "0", "x", "١٢"])),
        },
    ),
    st.fixed_dictionaries(
        {"model": st.just("claude-sonnet-4-5"), "messages": st.lists(_turn, min_size=1, max_size=2)}
    ),
)
query_params = st.dictionaries(
    st.sampled_from(["model", "prompt", "system", "max_tokens", "stream", "Model"]),
    st.one_of(_texts, st.sampled_from(["10", "0", "-1", "²"])),
    max_size=4,
)


def _mutated(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one change somewhere in its tree: a key dropped or a value replaced."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        op = draw(st.integers(0, 3))
        if op == 0:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: draw(_anything) if op == 1 else _mutated(draw, value[key])}
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        i = draw(st.integers(0, len(value) - 1))
        op = draw(st.integers(0, 3))
        if op == 0:
            return value[:i] + value[i + 1 :]
        return [
            *value[:i],
            draw(_anything) if op == 1 else _mutated(draw, value[i]),
            *value[i + 1 :],
        ]
    return draw(_anything)


@st.composite
def _bodies(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> Any:
    body: Any = draw(valid)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        changed = _mutated(draw, body)
        body = changed if isinstance(changed, dict) else body  # the gateway takes objects only
    return orjson.loads(orjson.dumps(body))  # as the gateway holds it: what orjson read


requests = st.one_of(
    st.tuples(st.just("chat"), _bodies(_valid_chat)),
    st.tuples(st.just("messages"), _bodies(_valid_messages)),
    st.tuples(st.just("browser"), _bodies(_valid_browser)),
    st.tuples(st.just("query"), query_params),
)
