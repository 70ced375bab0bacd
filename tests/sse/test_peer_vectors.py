"""SSEDecoder against every stream-parsing test of two peer suites, one param per peer test.

Sources (read for their facts only: input bytes in, events, ids and retry values out):

- eventsource-parser (github.com/rexxars/eventsource-parser at
  6519a0f70dfeb22f829e5c696da2cb4988d64c6a): every case of
  test/parse.test.ts (54 of its 55: the one that passes a function to ``createParser`` is about
  its API, not bytes), test/stream.test.ts (4) and the parse cases of
  test/benchmark-fixtures.test.ts (9; its other 3 test the fixture generators): 67 vectors.
- web-platform-tests (github.com/web-platform-tests/wpt, eventsource/ at
  9dafa892146c4b5b1f604a39b3cf8677f8f70d44, read through the copy vendored in nodejs/node
  test/fixtures/wpt/eventsource at 698a391107b970c13380ceb3666c01453f3fa861):
  every format-* test, one param per async_test (format-field-id-3 holds 3, format-field-id-null
  5), and event-data.any.js, the one other test about the stream format: 30 vectors. The bytes
  are what eventsource/resources/message.py, message2.py, last-event-id.py and last-event-id2.py
  serve; a reconnection (the Last-Event-ID request header) is the EventSource object's business
  and is checked here only as ``last_event_id``, what such a client would send.

Peer suites feed strings; a BOM written there as three Latin-1 characters is the raw BOM here,
and any other string is its UTF-8. Payloads the peers generate at random or write as prose
(timestamps, JSON chunks, multilingual sentences) are our own values of the same shape.

A vector with ``deliberate`` set states where the decoder by design does not do what the peer
expects; its expectation is ours, and the note says what the peer expects and why we differ:
15 of eventsource-parser's, 2 of WPT's. The other 80 expect exactly what the peer does.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sseguard.sse import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, SSEEvent, SSEEventTooLarge

Expected = tuple[str | None, str, str, int | None]

BOM = b"\xef\xbb\xbf"
EP = "eventsource-parser"
WPT = "wpt"


def E(data: str, event: str | None = None, id: str = "", retry: int | None = None) -> Expected:
    return (event, data, id, retry)


@dataclass(frozen=True)
class Vector:
    suite: str
    slug: str
    chunks: tuple[bytes, ...]  # as the peer cuts its input
    events: list[Expected]
    last_id: str | None = None  # decoder.last_event_id after close()
    ids_after_chunks: tuple[str, ...] | None = None  # last_event_id after each peer chunk
    bound: int | None = None  # the peer's buffer limit, as our max_event_size
    too_large: bool = False  # at ``bound`` the decoder raises SSEEventTooLarge
    deliberate: str = ""

    @property
    def stream(self) -> bytes:
        return b"".join(self.chunks)


def V(suite: str, slug: str, *chunks: bytes | str, **kw: object) -> Vector:
    raw = tuple(c if isinstance(c, bytes) else c.encode() for c in chunks)
    return Vector(suite, slug, raw, **kw)  # type: ignore[arg-type]


def enc(
    *, data: str, event: str | None = None, id: str | None = None, retry: int | None = None
) -> str:
    """One block as the peer's fixtures write it: event, retry, id, then a data line per line."""
    out = ""
    if event:
        out += f"event: {event}\n"
    if retry is not None:
        out += f"retry: {retry}\n"
    if id is not None:
        out += f"id: {id}\n"
    return out + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


def comment(text: str) -> str:
    return f": {text}\n\n"


DONE = enc(event="done", data="✔")
E_DONE = E("✔", "done")
NO_ERRORS = (
    "the peer also reports the line through onError; the decoder has no error channel and, as "
    "the spec says, ignores unknown fields and bad retry values silently"
)
NO_COMMENTS = (
    "the peer also hands comments to onComment; the decoder drops comments (F08), as a browser "
    "does, since the gateway forwards events, not comment text"
)
BLOCK_BOUND = (
    "the peer discards a line it can tell is useless before it ends and does not count it "
    "against maxBufferSize; max_event_size bounds every byte of a block, comments and unknown "
    "lines included, so a bound never depends on how reads were cut (F09); below the bound the "
    "events are the peer's"
)
STICKY_ID = (
    "the peer resets an event's id after each dispatch; SSEEvent.id is the stream's last event "
    "ID, which the spec keeps until an id line changes it (WPT format-field-id-3 pins the same)"
)

# Our own multilingual text and ZWJ emoji (the peer's corpus has the same shape: one line per
# script, grapheme clusters of several code points).
LINES = [
    "Kan noen låne meg en sykkelpumpe før lørdag?",
    "Θα μπορούσε κάποιος να μου δανείσει μια τρόμπα;",
    "هل يمكن لأحد أن يعيرني منفاخ دراجة قبل السبت؟",
    "有人能在周六之前借我一个打气筒吗？",
    "क्या कोई मुझे शनिवार से पहले साइकिल पंप उधार दे सकता है?",
    "Может ли кто-нибудь одолжить мне насос до субботы?",
    "토요일 전에 누가 자전거 펌프를 빌려줄 수 있나요?",
]
EMOJIS = ["🧑‍💻", "👩🏽‍🔬", "🏳️‍🌈", "👨‍👩‍👧‍👦", "🐻‍❄️", "❤️‍🔥", "🧔🏿‍♂️", "🫱🏼‍🫲🏾", "😮‍💨", "👁️‍🗨️"]


def _multibyte() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []
    for i, line in enumerate(LINES):
        text = f"{line} {' '.join(EMOJIS[i : i + 4])}"
        chunks.append(f"id: {i}\n")
        if i % 2 == 0:  # even lines as two data lines, cut after five characters
            chunks += [f"data:{text[:5]}\n", f"data:{text[5:]}\n\n"]
            events.append(E(f"{text[:5]}\n{text[5:]}", id=str(i)))
        else:
            chunks.append(f"data:{text}\n\n")
            events.append(E(text, id=str(i)))
    last = str(len(LINES) - 1)
    return V(
        EP,
        "multi-byte-events",
        *chunks,
        DONE,
        events=[*events, E("✔", "done", last)],
        deliberate=f"{STICKY_ID}: the peer expects the done event without an id",
    )


def _huge() -> Vector:
    # A block of data lines, written without its final line end and repeated past 10 MiB, so
    # each repetition's last line runs into the next one's first; then one blank line, a comment
    # and an event whose data is the SHA-256 of the huge event's data.
    text = "\n\n".join(LINES) + "\n" + " ".join(EMOJIS)
    block = "".join(f"data: {line}\n" for line in text.split("\n")).rstrip("\n").encode()
    repeat = -(-(10 * 1024 * 1024) // len(block))
    body = block * repeat
    data = "\n".join(line[6:] for line in body.decode().split("\n"))
    digest = hashlib.sha256(data.encode()).hexdigest()
    chunks = (
        b": hello\n\n",
        *([block] * repeat),
        b"\n\n",
        b": END-OF-STREAM\n\n",
        enc(event="done", data=digest).encode(),
    )
    return Vector(EP, "huge-data-chunks", chunks, [E(data), E(digest, "done")])


def _time_chunked() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []
    for i in range(30):
        id_ = str((i * 7919 + 104729) ** 3 % 10**12)
        stamp = f"2024-05-01T12:{i:02d}:{(i * 7) % 60:02d}.{i * 31 % 1000:03d}Z"
        block = enc(id=id_, event="time", data=stamp)
        cut = (i * 11) % len(block)
        chunks += [block[:cut], block[cut:]]
        events.append(E(stamp, "time", id_))
    return V(EP, "time-events-unbalanced-chunks", *chunks, events=events)


# --- benchmark fixtures: our own payloads of the same shapes -----------------------------------

WORDS = [
    " the",
    " river",
    " runs",
    " under",
    " a",
    " stone",
    " bridge",
    ".",
    " Tokens",
    " arrive",
    ",",
]


def _completion_chunks(count: int) -> tuple[list[str], list[Expected]]:
    chunks: list[str] = []
    events: list[Expected] = []
    for i in range(count + 1):
        delta = {} if i == count else {"content": WORDS[i * 5 % len(WORDS)]}
        if i == 0:
            delta["role"] = "assistant"
        payload = {
            "id": "cmpl-7Qx2b9",
            "object": "chat.completion.chunk",
            "created": 1714560000,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": "stop" if i == count else None}
            ],
        }
        text = json.dumps(payload, separators=(",", ":"))
        chunks.append(f"data: {text}\n\n")
        events.append(E(text))
    chunks.append("data: [DONE]\n\n")
    events.append(E("[DONE]"))
    return chunks, events


def _bench_named() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []

    def push(name: str, payload: object) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        chunks.append(f"event: {name}\ndata: {text}\n\n")
        events.append(E(text, name))

    push("message-start", {"type": "message-start", "message": {"id": "msg_01", "content": []}})
    push("block-start", {"type": "block-start", "index": 0})
    push("ping", {"type": "ping"})
    for i in range(16):
        push("block-delta", {"type": "block-delta", "index": 0, "text": WORDS[i % len(WORDS)]})
    push("block-stop", {"type": "block-stop", "index": 0})
    push("message-delta", {"type": "message-delta", "usage": {"output_tokens": 17}})
    push("message-stop", {"type": "message-stop"})
    return V(EP, "bench-named-event", *chunks, events=events)


def _bench_identified() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []
    for i in range(16):
        text = json.dumps({"index": i, "text": WORDS[i * 3 % len(WORDS)]})
        chunks.append(f"id: {1000 + i}\nevent: tick\ndata: {text}\n\n")
        events.append(E(text, "tick", str(1000 + i)))
    return V(EP, "bench-identified-event", *chunks, events=events)


def _bench_multibyte() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []
    for i in range(20):
        text = f"{LINES[i % len(LINES)]} {' '.join(EMOJIS[i % 5 : i % 5 + 5])}"
        chunks.append(f"data: {text}\n\n")
        events.append(E(text))
    return V(EP, "bench-multibyte", *chunks, events=events)


def _bench_heartbeat() -> Vector:
    chunks: list[str] = []
    events: list[Expected] = []
    for i in range(12):
        chunks += [": keep-alive\n"] * 4
        word = WORDS[i % len(WORDS)].strip() or "tick"
        chunks.append(f"data: {word}\n\n")
        events.append(E(word))
    return V(EP, "bench-heartbeat", *chunks, events=events)


def _bench_small_chunks() -> Vector:
    source, events = _completion_chunks(16)
    stream = "".join(source)
    chunks: list[str] = []
    pos = 0
    for n in range(len(stream)):
        size = 1 + n * 7 % 11
        if pos >= len(stream):
            break
        chunks.append(stream[pos : pos + size])
        pos += size
    return V(EP, "bench-small-chunk", *chunks, events=events)


def _bench_edge_cases() -> Vector:
    chunks = [
        "id: 1\r\nevent: hello\r\ndata: hi there\r\n\r\n",
        "id: 2\r\nevent: split-pair\r\ndata: over the cut\r",
        "\n\r\n",
        "event: lines\ndata: first line\ndata: second line\ndata: third line\n\n",
        ": a comment\n: another one\n",
        "event: cr\rdata: carriage\rdata: return\r\r",
        "retry: 1500\nnonsense: skipped\n\n",
        "ev",
        "ent: cut-name\nda",
        "ta: cut-value\n\n",
        "event: last\ndata: end",
        "\n",
        "\n",
    ]
    events = [
        E("hi there", "hello", "1"),
        E("over the cut", "split-pair", "2"),
        E("first line\nsecond line\nthird line", "lines", "2"),
        E("carriage\nreturn", "cr", "2"),
        E("cut-value", "cut-name", "2"),
        E("end", "last", "2"),
    ]
    return V(
        EP,
        "bench-edge-cases",
        *chunks,
        events=events,
        deliberate=f"{STICKY_ID}: the peer expects the events after the second without an id",
    )


_completions, _completion_events = _completion_chunks(24)
JUNK_JSON = '{"error":"Bad Gateway","message":"the upstream closed before answering"}'

EVENTSOURCE_PARSER = [
    # test/parse.test.ts
    V(
        EP,
        "basic-unnamed-events",
        *(enc(data=str(i)) for i in range(5)),
        DONE,
        events=[*(E(str(i)) for i in range(5)), E_DONE],
    ),
    V(
        EP,
        "time-event-name",
        *(enc(event="time", data=f"2024-05-01T12:00:0{i}.{i}00Z") for i in range(5)),
        DONE,
        events=[*(E(f"2024-05-01T12:00:0{i}.{i}00Z", "time") for i in range(5)), E_DONE],
    ),
    _time_chunked(),
    V(
        EP,
        "identified-events-retry",
        *(enc(event="tick", data=str(n), id=str(n), retry=50) for n in (1337, 1338)),
        events=[E("1337", "tick", "1337", 50), E("1338", "tick", "1338", 50)],
    ),
    V(
        EP,
        "heartbeat-comments",
        *(part for i in range(5) for part in (comment(" ♥"), enc(data=chr(65 + i)))),
        DONE,
        events=[*(E(chr(65 + i)) for i in range(5)), E_DONE],
        deliberate=NO_COMMENTS,
    ),
    V(
        EP,
        "multi-line-data",
        "event: quote\n",
        "data: ACME\n",
        "data: +3\n",
        "data: 12\n\n",
        "event: quote\n",
        "data: INIT\n",
        "data: -5\n",
        "data: 2024\n\n",
        DONE,
        events=[E("ACME\n+3\n12", "quote"), E("INIT\n-5\n2024", "quote"), E_DONE],
    ),
    _multibyte(),
    V(
        EP,
        "multi-byte-empty-lines",
        "\n\n\n\nid: 1\ndata: 我们明天早上在火车站见面\n\n",
        DONE,
        events=[E("我们明天早上在火车站见面", id="1"), E("✔", "done", "1")],
    ),
    V(
        EP,
        "leading-bom",
        BOM + b"data: bomful 1\n\n",
        "data: bomless 2\n\n",
        DONE,
        events=[E("bomful 1"), E("bomless 2"), E_DONE],
    ),
    V(
        EP,
        "decoded-feff-multiple-places",
        "\ufeffdata: bomful 1\n\n",
        "\ufeffdata: bomful 2\n\n",
        "data: bomless 3\n\n",
        DONE,
        events=[E("bomful 1"), E("bomless 3"), E_DONE],
    ),
    V(
        EP,
        "bom-multiple-places",
        BOM + b"data: bomful 1\n\n",
        BOM + b"data: bomful 2\n\n",
        "data: bomless 3\n\n",
        DONE,
        events=[E("bomful 1"), E("bomless 3"), E_DONE],
    ),
    V(EP, "bom-default-textdecoder", BOM + b"data: hello\n\n", events=[E("hello")]),
    V(
        EP,
        "bom-ignorebom-textdecoder",
        BOM + b"data: first\ndata: second\n\n",
        events=[E("first\nsecond")],
    ),
    V(
        EP,
        "carriage-returns",
        "data: dog\r",
        "data: bark\r\r",
        "data: cat\r",
        "data: meow\r\r",
        DONE,
        events=[E("dog\nbark"), E("cat\nmeow"), E_DONE],
    ),
    V(
        EP,
        "line-feeds",
        "data: cow\n",
        "data: moo\n\n",
        "data: horse\n",
        "data: neigh\n\n",
        DONE,
        events=[E("cow\nmoo"), E("horse\nneigh"), E_DONE],
    ),
    V(
        EP,
        "crlf",
        "data: sheep\r\n",
        "data: bleat\r\n\r\n",
        "data: pig\r\n",
        "data: oink\r\n\r\n",
        DONE,
        events=[E("sheep\nbleat"), E("pig\noink"), E_DONE],
    ),
    V(
        EP,
        "odd-comments",
        ": Hi\n\n",
        ":" * 300,
        "\n",
        "data: First\n\n",
        ": Erste",
        ": 第二个",
        "\n",
        "data: Second\n\n",
        ": Moop \n" * 10,
        ": ثالث",
        "\n",
        "data: Third\n\n",
        ":நான்காவது",
        "\n",
        "data: Fourth\n\n",
        f": {' '.join(EMOJIS * 10)} :",
        "\n",
        "data: Fifth\n\n",
        DONE,
        events=[E("First"), E("Second"), E("Third"), E("Fourth"), E("Fifth"), E_DONE],
    ),
    V(
        EP,
        "more-odd-comments",
        "data:1\r\r:\x00\n:\r\ndata:2\n\n:",
        "x" * 2049,
        "\rdata:3\n\n:data:fail\r:",
        "x" * 2049,
        "\ndata:4\n\n",
        "data:5",
        events=[E("1"), E("2"), E("3"), E("4")],
    ),  # data:5 has no line end: never dispatched
    V(
        EP,
        "empty-event-field",
        "event:\ndata: Hello 1\n\n",
        "event:\n\n",
        DONE,
        events=[E("Hello 1"), E_DONE],
    ),
    V(
        EP,
        "empty-retry-field",
        enc(id="1", retry=500, data="🥌"),
        "id:2\nretry:\ndata:🧹\n\n",
        enc(id="3", data="✅"),
        events=[E("🥌", id="1", retry=500), E("🧹", id="2"), E("✅", id="3")],
        deliberate=NO_ERRORS,
    ),
    V(
        EP,
        "oddly-shaped-data-field",
        "data:\n\ndata\ndata\n\ndata:test\n\n",
        DONE,
        events=[E(""), E("\n"), E("test"), E_DONE],
    ),
    V(
        EP,
        "cr-separating-chunks-of-one-event",
        "data: A\r\n",
        "data: B\r",
        "\n",
        "data: C\r\n",
        "\n",
        events=[E("A\nB\nC")],
    ),
    V(
        EP,
        "partially-incorrect-retry",
        "retry:1000\nretry:2000x\ndata:x\n\n",
        events=[E("x", retry=1000)],
        deliberate=NO_ERRORS,
    ),
    V(EP, "id-with-null", "id: 123\nid: bad\x00id\ndata: hello\n\n", events=[E("hello", id="123")]),
    V(
        EP,
        "id-from-block-without-data",
        "id: 42\n",
        "\n",
        "id: bad\x00id\n\n",
        "id:\n\n",
        events=[],
        ids_after_chunks=("", "42", "42", ""),
        last_id="",
    ),
    V(
        EP,
        "id-before-event-of-same-block",
        "id: 42\ndata: hello\n\n",
        events=[E("hello", id="42")],
        last_id="42",
    ),
    V(
        EP,
        "id-block-cr-endings",
        "id: 42\r\r",
        events=[],
        ids_after_chunks=("",),
        last_id="42",
        deliberate=(
            "the peer takes a CR that ends a read as a line end at once; the decoder holds it "
            "until the next byte or close() to see whether an LF follows (F05), so the block's "
            "id counts from close() on"
        ),
    ),
    V(
        EP,
        "id-block-crlf-endings",
        "id: 42\r\n\r\n",
        events=[],
        ids_after_chunks=("42",),
        last_id="42",
    ),
    V(
        EP,
        "incorrect-retry-fields",
        "\nretry: 500\n\ndata: first\n\nretry: 50x\n\ndata: second\n\n",
        events=[E("first"), E("second")],
        deliberate=(
            "the peer reports retry: 500 from a block without data as a reconnection interval, "
            "and 50x as an error; SSEEvent.retry carries only a retry from the event's own "
            "block (the decoder exposes no stream-wide reconnection time) and bad values are "
            f"ignored; and {NO_ERRORS}"
        ),
    ),
    V(
        EP,
        "unknown-fields",
        "data:abc\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:123\n\n",
        DONE,
        events=[E("abc\n\n123"), E_DONE],
    ),
    _huge(),
    V(EP, "reset-unterminated-junk", JUNK_JSON, events=[]),
    V(EP, "reset-no-consume-unterminated-junk", JUNK_JSON, events=[]),
    V(EP, "reset-consume-unterminated-junk", JUNK_JSON, events=[]),
    V(EP, "junk-line-through-newline", JUNK_JSON + "\n", events=[], deliberate=NO_ERRORS),
    V(EP, "junk-line-no-colon", "This line is no field at all\n", events=[], deliberate=NO_ERRORS),
    V(
        EP,
        "bound-unterminated-unknown-field",
        "unknown-field",
        ": nothing here matters, and there is no line end yet",
        "\ndata: ok\n\n",
        events=[E("ok")],
        bound=16,
        too_large=True,
        deliberate=BLOCK_BOUND,
    ),
    V(
        EP,
        "bound-invalid-line-early",
        "datax",
        ": it began like a data line but is not one",
        "\ndata: ok\n\n",
        events=[E("ok")],
        bound=16,
        too_large=True,
        deliberate=BLOCK_BOUND,
    ),
    V(EP, "bound-split-valid-field", "da", "ta\n\n", events=[E("")], bound=16),
    V(
        EP,
        "bound-pending-fragment",
        "data: short",
        " and now too long",
        events=[],
        bound=24,
        too_large=True,
    ),
    V(
        EP,
        "bound-unterminated-comment",
        ":" * 64,
        "and more of the same comment, no line end",
        "\ndata: ok\n\n",
        events=[E("ok")],
        bound=16,
        too_large=True,
        deliberate=BLOCK_BOUND,
    ),
    V(
        EP,
        "discarded-comment-crlf",
        "data: one\n:",
        "ignored\r\ndata: two\n\n",
        events=[E("one\ntwo")],
        bound=16,
        too_large=True,
        deliberate=BLOCK_BOUND,
    ),
    V(
        EP,
        "discarded-line-crlf-split",
        "data: one\n:",
        "ignored\r",
        "\ndata: two\n\n",
        events=[E("one\ntwo")],
    ),
    V(
        EP,
        "discarded-line-bare-cr",
        "data: one\n:",
        "ignored\r",
        "data: two\n\n",
        events=[E("one\ntwo")],
    ),
    V(
        EP,
        "discarded-line-own-bare-cr",
        "data: one\n:ignored\r",
        "data: two\n\n",
        events=[E("one\ntwo")],
    ),
    V(
        EP,
        "discarded-line-trailing-cr-then-lf",
        "data: one\n:ignored\r",
        "\ndata: two\n\n",
        events=[E("one\ntwo")],
    ),
    V(
        EP,
        "bare-field-line-cr-at-boundary",
        "data: one\ndata\r",
        "\ndata: two\n\n",
        events=[E("one\n\ntwo")],
    ),
    V(
        EP,
        "unknown-field-cr-at-boundary",
        "garbage\r",
        "data: ok\n\n",
        events=[E("ok")],
        deliberate=NO_ERRORS,
    ),
    V(EP, "blank-cr-line-ending-chunk", "data: one\r", "\r", "\n", events=[E("one")]),
    V(
        EP,
        "bound-comment-kept",
        ":",
        "preserved",
        "\n",
        events=[],
        bound=64,
        deliberate=NO_COMMENTS,
    ),
    V(
        EP,
        "bound-data-buffer-overflow",
        *(f"data: chunk-{i}\n" for i in range(50)),
        events=[],
        bound=32,
        too_large=True,
    ),
    V(
        EP,
        "bound-feed-fails-until-reset",
        "data: far too long for a buffer of eight",
        events=[],
        bound=8,
        too_large=True,
    ),  # no reset(): a new SSEDecoder is the reset
    V(
        EP,
        "bound-not-reached",
        *(f"data: {i}\n\n" for i in range(100)),
        events=[E(str(i)) for i in range(100)],
        bound=64,
    ),
    # The peer is unbounded by default; DEFAULT_MAX_EVENT_SIZE (32 MiB) is far above this line.
    V(EP, "bound-default", "data: " + "x" * 1_000_000, events=[]),
    # test/stream.test.ts
    V(
        EP,
        "stream-basic",
        *(enc(data=f"Hello {i}", event="foo", id=f"evt-{i}") for i in range(10)),
        events=[E(f"Hello {i}", "foo", f"evt-{i}") for i in range(10)],
    ),
    V(
        EP,
        "stream-id-from-block-without-data",
        "id: 42\n\ndata: hello\n\n",
        events=[E("hello", id="42")],
        last_id="42",
    ),
    V(EP, "stream-bound-terminate", "data: " + "x" * 1024, events=[], bound=64, too_large=True),
    V(EP, "stream-bound-onerror", "data: " + "x" * 1024, events=[], bound=64, too_large=True),
    # test/benchmark-fixtures.test.ts
    V(EP, "bench-data-only", *_completions, events=_completion_events),
    _bench_named(),
    _bench_identified(),
    _bench_multibyte(),
    _bench_heartbeat(),
    V(EP, "bench-idle-stream", *([":"] * 64), "\ndata: finally\n\n", events=[E("finally")]),
    V(
        EP,
        "bench-invalid-line-drip",
        "n",
        *(["o"] * 64),
        "\ndata: finally\n\n",
        events=[E("finally")],
    ),
    _bench_small_chunks(),
    _bench_edge_cases(),
]


def served(message: bytes, *, newline: bool = True) -> bytes:
    """What WPT's resources/message.py sends: the message, a blank line unless newline=none,
    then one more LF."""
    return message + (b"\n\n" if newline else b"") + b"\n"


def last_event_id_py(idvalue: bytes) -> bytes:
    """resources/last-event-id.py on a first connection (no Last-Event-ID header)."""
    return b"id: " + idvalue + b"\nretry: 200\ndata: hello\n\n"


HELLO_ELLIPSIS = last_event_id_py("…".encode())
NOT_THE_BODY = (
    "the peer expects no message because EventSource fails the connection on the Content-Type "
    "header; the decoder is given body bytes only (the media type is the HTTP client's to "
    "check), and this body holds one event"
)
X2K = b"x" * 2048

WEB_PLATFORM_TESTS = [
    V(
        WPT,
        "format-bom",
        served(BOM + b"data:1\n\n" + BOM + b"data:2\n\ndata:3"),
        events=[E("1"), E("3")],
    ),
    V(
        WPT,
        "format-bom-2",
        served(BOM + BOM + b"data:1\n\ndata:2\n\ndata:3"),
        events=[E("2"), E("3")],
    ),
    V(
        WPT,
        "format-comments",
        served(
            b"data:1\r:\x00\n:\r\ndata:2\n:"
            + X2K
            + b"\rdata:3\n:data:fail\r:"
            + X2K
            + b"\ndata:4\n",
            newline=False,
        ),
        events=[E("1\n2\n3\n4")],
    ),
    V(
        WPT,
        "format-data-before-final-empty-line",
        served(b"retry:1000\ndata:test1\n\nid:test\ndata:test2", newline=False),
        events=[E("test1", retry=1000)],
        last_id="",
    ),
    V(
        WPT,
        "format-field-data",
        served(b"data:\n\ndata\ndata\n\ndata:test"),
        events=[E(""), E("\n"), E("test")],
    ),
    V(WPT, "format-field-event-empty", served(b"event: \ndata:data"), events=[E("data")]),
    V(
        WPT,
        "format-field-event",
        served(b"event:test\ndata:x\n\ndata:x"),
        events=[E("x", "test"), E("x")],
    ),
    V(WPT, "format-field-id", HELLO_ELLIPSIS, events=[E("hello", id="…", retry=200)], last_id="…"),
    V(
        WPT,
        "format-field-id-2",
        HELLO_ELLIPSIS,
        events=[E("hello", id="…", retry=200)],
        last_id="…",
    ),
    V(
        WPT,
        "format-field-id-3-persists",
        b"id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
        events=[E("1", id="1"), E("2", id="1"), E("3", id="2"), E("4", id="2")],
        last_id="2",
    ),
    V(
        WPT,
        "format-field-id-3-resets",
        b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
        events=[E("1", id="1"), E("2"), E("3")],
        last_id="",
    ),
    V(
        WPT,
        "format-field-id-3-resets-without-colon",
        b"id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
        events=[E("1", id="1"), E("2"), E("3")],
        last_id="",
    ),
    *(
        V(
            WPT,
            f"format-field-id-null-{slug}",
            last_event_id_py(value),
            events=[E("hello", retry=200)],
            last_id="",
        )
        for slug, value in [
            ("nul-nul", b"\x00\x00"),
            ("x-nul", b"x\x00"),
            ("nul-x", b"\x00x"),
            ("x-nul-x", b"x\x00x"),
            ("space-nul", b" \x00"),
        ]
    ),
    V(
        WPT,
        "format-field-parsing",
        served(
            b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\n"
            b"data:3\rdata:\r\n data:32\ndata:4\n",
            newline=False,
        ),
        events=[E("\x00\n 2\n1\n3\n\n4")],
    ),
    V(
        WPT,
        "format-field-retry-bogus",
        served(b"retry:3000\nretry:1000x\ndata:x"),
        events=[E("x", retry=3000)],
    ),
    V(WPT, "format-field-retry-empty", served(b"retry\ndata:test"), events=[E("test")]),
    V(WPT, "format-field-retry", served(b"retry:03000\ndata:x"), events=[E("x", retry=3000)]),
    V(
        WPT,
        "format-field-unknown",
        served(b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test"),
        events=[E("test\n\ntest")],
    ),
    V(
        WPT,
        "format-leading-space",
        served(b"data:\ttest\rdata: \ndata:test"),
        events=[E("\ttest\n\ntest")],
    ),
    V(WPT, "format-mime-bogus", served(b"data: data"), events=[E("data")], deliberate=NOT_THE_BODY),
    V(WPT, "format-mime-trailing-semicolon", served(b"data: data"), events=[E("data")]),
    V(
        WPT,
        "format-mime-valid-bogus",
        served(b"data: data"),
        events=[E("data")],
        deliberate=NOT_THE_BODY,
    ),
    V(
        WPT,
        "format-newlines",
        served(b"data:test\r\ndata\ndata:test\r\n\r", newline=False),
        events=[E("test\n\ntest")],
    ),
    V(WPT, "format-null-character", served(b"data:\x00\n\n"), events=[E("\x00")]),
    V(WPT, "format-utf-8", served("data:ok…".encode()), events=[E("ok…")]),
    # resources/message2.py, one round of its loop, cut as it writes it.
    V(
        WPT,
        "event-data",
        "data:msg",
        "\n",
        "data: msg",
        "\n\n",
        ":",
        "\n",
        "falsefield:msg",
        "\n\n",
        "falsefield:msg",
        "\n",
        "Data:data",
        "\n\n",
        "data",
        "\n\n",
        "data:end",
        "\n\n",
        events=[E("msg\nmsg"), E(""), E("end")],
    ),
]

VECTORS = EVENTSOURCE_PARSER + WEB_PLATFORM_TESTS

# Feeding a 10 MiB stream one byte at a time would take minutes: past this size, "bytewise"
# feeds the first and last BYTEWISE_EDGE bytes one at a time and the middle as one read.
BYTEWISE_MAX = 2 * 1024 * 1024
BYTEWISE_EDGE = 64 * 1024
# Every two-way cut of the stream, for streams up to this size.
EVERY_SPLIT_MAX = 8 * 1024


def fields(events: list[SSEEvent]) -> list[Expected]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def bytewise(stream: bytes) -> list[bytes]:
    if len(stream) <= BYTEWISE_MAX:
        return [stream[i : i + 1] for i in range(len(stream))]
    head, middle, tail = (
        stream[:BYTEWISE_EDGE],
        stream[BYTEWISE_EDGE:-BYTEWISE_EDGE],
        stream[-BYTEWISE_EDGE:],
    )
    return [*bytewise(head), middle, *bytewise(tail)]


def feedings(vector: Vector) -> Iterator[tuple[str, list[bytes]]]:
    stream = vector.stream
    yield "peer-chunks", list(vector.chunks)
    yield "whole", [stream]
    yield "bytewise", bytewise(stream)
    if len(stream) <= EVERY_SPLIT_MAX:
        for i in range(1, len(stream)):
            yield f"split-{i}", [stream[:i], stream[i:]]


def decode(
    chunks: list[bytes], max_event_size: int = DEFAULT_MAX_EVENT_SIZE
) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder(max_event_size=max_event_size)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events, decoder


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v.suite}-{v.slug}")
def test_peer_vector(vector: Vector) -> None:
    stream = vector.stream
    for mode, chunks in feedings(vector):
        events, decoder = decode(chunks)
        assert fields(events) == vector.events, mode
        pos = 0
        for event in events:  # each event's raw is the next piece of the input
            found = stream.find(event.raw, pos)
            assert found >= 0, (mode, event.raw)
            pos = found + len(event.raw)
        if vector.last_id is not None:
            assert decoder.last_event_id == vector.last_id, mode
        if vector.bound is None:
            continue
        if vector.too_large:
            decoder = SSEDecoder(max_event_size=vector.bound)
            with pytest.raises(SSEEventTooLarge):
                for chunk in chunks:
                    decoder.feed(chunk)
                decoder.close()
            with pytest.raises(SSEEventTooLarge):  # and it refuses anything after
                decoder.feed(b"data: x\n\n")
        else:
            assert fields(decode(chunks, vector.bound)[0]) == vector.events, mode


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v.ids_after_chunks], ids=lambda v: f"{v.suite}-{v.slug}"
)
def test_peer_vector_id_after_each_peer_chunk(vector: Vector) -> None:
    assert vector.ids_after_chunks is not None
    assert len(vector.ids_after_chunks) == len(vector.chunks)
    decoder = SSEDecoder()
    for chunk, expected in zip(vector.chunks, vector.ids_after_chunks, strict=True):
        decoder.feed(chunk)
        assert decoder.last_event_id == expected, chunk


def test_peer_vector_counts() -> None:
    """The counts the module docstring states, and which vectors differ by design."""
    assert Counter(v.suite for v in VECTORS) == {EP: 67, WPT: 30}
    assert len({(v.suite, v.slug) for v in VECTORS}) == len(VECTORS)
    assert Counter(v.suite for v in VECTORS if v.deliberate) == {EP: 15, WPT: 2}
    deliberate = {v.slug for v in VECTORS if v.deliberate}
    assert deliberate == {
        "heartbeat-comments",
        "multi-byte-events",
        "empty-retry-field",
        "partially-incorrect-retry",
        "id-block-cr-endings",
        "incorrect-retry-fields",
        "junk-line-through-newline",
        "junk-line-no-colon",
        "bound-unterminated-unknown-field",
        "bound-invalid-line-early",
        "bound-unterminated-comment",
        "discarded-comment-crlf",
        "unknown-field-cr-at-boundary",
        "bound-comment-kept",
        "bench-edge-cases",
        "format-mime-bogus",
        "format-mime-valid-bogus",
    }
