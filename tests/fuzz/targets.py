"""The fuzz targets: each a function of one generated input that raises ``InvariantFailure`` when
the pure layers break a promise, and lets any other exception out (an unexpected one).

One definition for both tiers: ``test_fuzz.py`` runs every target a few hundred times in the suite,
``bench/fuzz.py`` runs them at volume. What each invariant means, and why it is sound (never fails
on behaviour the docs allow), is written next to its check and summed up in docs/fuzzing.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import orjson
from hypothesis import strategies as st
from test_sse_properties import event_streams, fields, max_sizes, reference, soup
from test_sse_properties import run as decode_all

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import KNOWN_EVENTS, Event
from sseguard.protocol.finalize import finalize
from sseguard.protocol.grammar import violations
from sseguard.protocol.repair import Repairer
from sseguard.protocol.stream import StreamRepair
from sseguard.sse import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, encode, has_line_separators
from sseguard.translate import browser, chat_to_messages, messages_to_chat
from sseguard.translate.chunks_in import ChunkTranslator
from sseguard.translate.chunks_out import ChunkEncoder
from sseguard.translate.completion_out import chat_completion
from sseguard.translate.errors import TranslationError
from streams import (
    MESSAGE_STOP,
    block_start,
    block_stop,
    delta,
    message_delta,
    message_start,
    text,
    text_start,
    thinking_start,
    wire,
)

from .strategies import (
    ChunkStream,
    ResumeCase,
    UpstreamStream,
    chunk_streams,
    cut_sizes,
    messages_streams,
    raw_bytes,
    reads,
    requests,
    resume_cases,
    text_pieces_of,
)


class InvariantFailure(AssertionError):
    """A promise of the pure layers broken; ``invariant`` names which (a failure's signature)."""

    def __init__(self, invariant: str, detail: object = "") -> None:
        super().__init__(f"[{invariant}] {str(detail)[:3000]}")
        self.invariant = invariant


def require(ok: bool, invariant: str, detail: object = "") -> None:
    if not ok:
        raise InvariantFailure(invariant, detail)


def delivered_pieces(events: Iterable[Event]) -> list[str]:
    """The text a client was given, piece by piece, in order."""
    return [p for e in events for p in text_pieces_of(e.payload)]


def is_subsequence(sub: Sequence[str], seq: Sequence[str]) -> bool:
    """``sub`` is ``seq`` with some items left out (greedy matching decides this exactly)."""
    it = iter(seq)
    return all(any(x == y for y in it) for x in sub)


def finished(out: list[Event], r: Repairer, ending: str) -> list[Event]:
    """The client's whole stream: a stream that did not end is failed (never passed as success,
    F16) and gets its truthful ending, as the gateway gives it (tests/protocol's properties)."""
    if r.ended:
        return out
    require(r.failed, "honest-end", f"phase {r.phase} after close()")
    return out + finalize(r, "finalize" if ending == "finalize" else "error")


def check_events(events: list[Event]) -> None:
    """What every repaired stream must be: the grammar (with its truthful ending), strict grammar
    when it ended properly, data that is its payload's JSON, frames that are its encoding."""
    problems = violations(events)
    require(not problems, "grammar", problems)
    if events[-1].type == "message_stop":
        problems = violations(events, allow_error_end=False)
        require(not problems, "grammar", problems)
    for e in events:
        require(e.frame is None or e.frame == encode(e.type, e.data), "frame", e)
        if e.type in KNOWN_EVENTS:
            require(orjson.loads(e.data) == e.payload, "data-is-payload", e)


def parsed(data: str, invariant: str) -> Any:
    """JSON a renderer wrote; unreadable JSON is its invariant's failure, not an exception."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvariantFailure(invariant, data) from None


def accumulate(events: list[Event]) -> Accumulator:
    acc = Accumulator()
    for e in events:
        acc.feed(e)
    return acc


# -- decoder --------------------------------------------------------------------------------------

DecoderCase = tuple[bytes, tuple[int, ...] | None, bool, int]
decoder_cases: st.SearchStrategy[DecoderCase] = st.tuples(
    st.one_of(soup, event_streams(), st.binary(max_size=300)),
    st.one_of(st.none(), cut_sizes()),
    st.booleans(),
    max_sizes,
)


def check_decoder(case: DecoderCase) -> None:
    """Any bytes in any reads through the SSE decoder: only SSEEventTooLarge may be raised (``decode_all`` lets every other
    exception out); the same events whatever the reads; the WHATWG steps' events; ``canonical``
    exactly when ``raw`` is the event's encoding and safe to send on (F06)."""
    stream, sizes, keep, limit = case
    whole = decode_all([stream], keep_partial=keep, max_event_size=limit)
    pieces = (
        [stream[i : i + 1] for i in range(len(stream))] if sizes is None else reads(stream, sizes)
    )
    again = decode_all(pieces, keep_partial=keep, max_event_size=limit)
    require(again == whole, "decoder-rechunk", (whole, again))
    events, raised = whole
    if not raised:
        expected = reference(stream, keep_partial=keep)
        require(fields(events) == expected, "decoder-reference", (fields(events), expected))
    for e in events:
        canonical = e.raw == encode(e.event, e.data) and not has_line_separators(e.data)
        require(e.canonical == canonical, "decoder-canonical", e)


def check_decoder_bytes(data: bytes) -> None:
    """``check_decoder`` driven by plain bytes, for a byte-level fuzzer: the first byte picks the
    read size (0: one byte at a time), keep_partial and a small size limit; the rest is the stream."""
    head, stream = (data[0], data[1:]) if data else (0, b"")
    size = head & 0x3F
    sizes = None if size == 0 else (size,) * (len(stream) // size)
    limit = DEFAULT_MAX_EVENT_SIZE if head & 0x80 else 16 + 16 * (head & 0x3)
    check_decoder((stream, sizes, bool(head & 0x40), limit))


# -- repair -----------------------------------------------------------------------------------------


def repair_stream(
    case: UpstreamStream, sizes: tuple[int, ...] | None = None
) -> tuple[list[Event], Repairer]:
    r = Repairer(atomic_tools=case.atomic_tools, hold_thinking=case.hold_thinking)
    pipe = (
        StreamRepair(r)
        if case.max_event_size is None
        else StreamRepair(r, max_event_size=case.max_event_size)
    )
    out: list[Event] = []
    for read in reads(case.raw, case.sizes if sizes is None else sizes):
        out += pipe.feed(read)
    return out + pipe.close(), r


def check_repair(case: UpstreamStream) -> None:
    """A plausible-but-broken Messages stream through decoder and repairer.

    - the client's stream (with its truthful ending) satisfies the grammar: ``check_events``;
    - text only from upstream, never twice: outside a resume the repairer passes each text piece
      on whole or not at all and never reorders text, so the delivered pieces are a subsequence of
      the pieces put on the wire (``pieces``, in wire order, duplicates included);
    - the Message the events add up to holds exactly the delivered text;
    - with atomic tools: no tool id twice, and a message ended under ``tool_use`` hands over only
      tool inputs that parse to objects (F14);
    - an intact stream is delivered as it came: ended, every text piece, the tool inputs, and no
      anomaly recorded;
    - the same events and anomaly counts whatever the reads.
    """
    out, r = repair_stream(case)
    ended = r.ended
    events = finished(out, r, case.ending)
    check_events(events)
    delivered = delivered_pieces(out)
    upstream = [p for p in case.pieces if p]
    require(is_subsequence(delivered, upstream), "text-from-upstream", (delivered, upstream))
    acc = accumulate(events)
    content: list[dict[str, Any]] = acc.message()["content"] if acc.started else []
    texts = "".join(b["text"] for b in content if b.get("type") == "text")
    require(texts == "".join(delivered), "accumulated-text", (texts, delivered))
    tool_blocks = [b for b in content if b.get("type") == "tool_use"]
    if case.atomic_tools:
        ids = [b.get("id") for b in tool_blocks]
        require(len(ids) == len(set(ids)), "tool-ids-unique", ids)
        if ended and r.stop_reason == "tool_use":
            bad = [b.get("input") for b in tool_blocks if not isinstance(b.get("input"), dict)]
            require(not bad and not acc.input_errors, "tool-input-parses", (bad, acc.input_errors))
    if case.clean and case.max_event_size is None:
        require(ended, "clean-ends", r.failure)
        require(delivered == upstream, "clean-text", (delivered, upstream))
        require(not r.anomalies.counts(), "clean-no-anomaly", r.anomalies.counts())
        inputs = [b.get("input") for b in tool_blocks]
        require(inputs == [orjson.loads(t) for t in case.tools], "clean-tools", inputs)
    if case.sizes:
        whole, r1 = repair_stream(case, ())
        mine = [(e.type, e.payload) for e in out if e.type != "message_start"]
        theirs = [(e.type, e.payload) for e in whole if e.type != "message_start"]
        require(mine == theirs, "repair-rechunk", (mine, theirs))
        require(r.anomalies.counts() == r1.anomalies.counts(), "repair-rechunk", "anomaly counts")


def check_repair_bytes(raw: bytes) -> None:
    """Any bytes at all (random, SSE-token soup, a clean stream with bytes flipped, inserted or
    deleted): no exception, a stream that satisfies the grammar with its truthful ending, and
    the same events read whole or in 7-byte reads."""
    case = UpstreamStream(raw=raw, pieces=(), clean=False, tools=(), sizes=())
    out, r = repair_stream(case)
    phase = r.phase
    check_events(finished(out, r, "error"))
    small, r1 = repair_stream(case, (7,) * (len(raw) // 7))
    mine = [(e.type, e.payload) for e in small if e.type != "message_start"]
    theirs = [(e.type, e.payload) for e in out if e.type != "message_start"]
    require(mine == theirs and phase == r1.phase, "repair-rechunk", (mine, theirs))


# -- resume --------------------------------------------------------------------------------------

SIGNATURE = "EqQBCkgIARABGAIiQL"
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _thinking(words: str) -> list[dict[str, Any]]:
    return [
        thinking_start(0),
        delta(0, "thinking_delta", words),
        delta(0, "signature_delta", SIGNATURE),
        block_stop(0),
    ]


def first_attempt_bytes(case: ResumeCase) -> bytes:
    i = int(case.thinking)
    parts: list[dict[str, Any]] = [
        message_start(),
        *(_thinking("Let me think") if case.thinking else []),
    ]
    parts += [text_start(i), *(text(i, p) for p in case.pieces[: case.delivered])]
    if case.first_end == "stop":
        parts.append(block_stop(i))
    elif case.first_end == "error":
        parts.append(OVERLOADED)
    return wire(*parts)


def continuation_bytes(case: ResumeCase, pieces: Sequence[str]) -> bytes:
    i = int(case.thinking)
    parts: list[dict[str, Any]] = [
        message_start("msg_cont"),
        *(_thinking("Again") if case.thinking else []),
    ]
    parts += [
        text_start(i),
        *(text(i, p) for p in pieces),
        block_stop(i),
        message_delta(),
        MESSAGE_STOP,
    ]
    return wire(*parts[: case.cont_eof])


def run_resume(
    case: ResumeCase, pieces: Sequence[str]
) -> tuple[list[Event], list[Event], Repairer]:
    r = Repairer()
    pipe = StreamRepair(r)
    first = pipe.feed(first_attempt_bytes(case)) + pipe.close()
    if not (r.failed and r.resumable):
        return first, [], r
    r.begin_continuation(prefill=case.prefill)
    pipe = StreamRepair(r)
    return first, pipe.feed(continuation_bytes(case, pieces)) + pipe.close(), r


def _token_starts(text: str) -> list[int]:
    """Where a restatement may begin (docs/design.md, "Verified splices"): a word's or a symbol's
    first character; runs of letters and digits are one word."""
    return [
        i
        for i, ch in enumerate(text)
        if not ch.isspace()
        and (i == 0 or text[i - 1].isspace() or not (text[i - 1].isalnum() and ch.isalnum()))
    ]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def unambiguous(case: ResumeCase) -> bool:
    """Whether the continuation can be read only the way it was made, by the splice rules as
    docs/design.md states them: no restart-like beginning (16 characters, or all of a shorter
    delivered text, in common with the answer's start) unless it is a restart, and no
    restatement candidate (a tail of the delivered text from a word or symbol start, at least 3
    characters, none with a prefill) that matches where none was meant, or longer than the one
    meant."""
    sent = case.delivered_text
    core = sent.strip()
    if not core or case.kind == "restart":
        return True
    if case.kind == "tail" and case.prefill:
        return False  # with a prefill a restatement is the model's own words, kept by design
    body = "".join(case.continuation).lstrip()
    if _common_prefix(body, sent.lstrip()) >= min(16, len(core)):
        return False
    trimmed = sent.rstrip()
    meant = len(body) - len(case.text) + len(sent) if case.kind == "tail" else 0
    for s in _token_starts(trimmed):
        tail = trimmed[s:]
        if (
            s
            and len(tail) >= 3
            and not case.prefill
            and body.startswith(tail)
            and len(tail) > meant
        ):
            return False
    return True


def _allowed_skip(sent: str, skipped: str) -> bool:
    """Skipping is allowed only over text the client already holds at the junction: whitespace,
    or (between whitespace) a tail of the delivered text, all of it for a restart."""
    core = skipped.strip()
    return not core or sent.rstrip().endswith(core)


def check_resume(case: ResumeCase) -> None:
    """A cut answer resumed with ``begin_continuation`` (prefill or instruction).

    - the first attempt delivers exactly its text, is failed and resumable (signed thinking);
    - the spliced stream (first + continuation + truthful ending) satisfies the grammar;
    - no hole: what the continuation adds is its text from some point on, and whatever it skips
      before that point is whitespace or text the client already holds at the junction;
    - the splice does not depend on how the continuation's text is cut into deltas;
    - exact: a continuation made as (the rest | a restated tail of at least 3 characters from a
      word start + the rest, by instruction | the whole answer again) that the splice rules can
      read only that way gives the whole answer, once, and the message ends.
    """
    first, second, r = run_resume(case, case.continuation)
    sent = case.delivered_text
    require("".join(delivered_pieces(first)) == sent, "resume-first-attempt", first)
    require(bool(second) or (r.failed and r.resumable), "resume-resumable", r.failure)
    if not second:
        return
    ended = r.ended
    events = finished(first + second, r, "error")
    check_events(events)
    cont = "".join(case.continuation)
    added = "".join(delivered_pieces(second))
    if added:
        starts = [k for k in range(len(cont) + 1) if _allowed_skip(sent, cont[:k])]
        if ended:
            joined = any(cont[k:] == added for k in starts)
        else:
            joined = any(cont[k:].startswith(added) for k in starts)
        require(joined, "splice-no-hole", (sent, cont, added))
    if len(case.continuation) > 1 and case.cont_eof is None:
        _, second1, r1 = run_resume(case, (cont,))
        again = "".join(delivered_pieces(second1))
        require(
            (added, ended) == (again, r1.ended),
            "splice-chunking",
            (sent, case.continuation, added, again),
        )
    if case.kind != "random" and unambiguous(case):
        require(ended and sent + added == case.text, "splice-exact", (sent, cont, added, r.failure))


# -- translators ------------------------------------------------------------------------------


def check_chunks_in(case: ChunkStream) -> None:
    """OpenAI chunk streams (plausible ones damaged, or any events) through ChunkTranslator and
    the Repairer: the grammar holds; each content string becomes one text delta or none, in
    order; an intact stream gives its whole text and ends."""
    r = Repairer()
    pipe = StreamRepair(r, translator=ChunkTranslator(r.anomalies, model="m"))
    out: list[Event] = []
    for read in reads(case.raw, case.sizes):
        out += pipe.feed(read)
    out += pipe.close()
    ended = r.ended
    check_events(finished(out, r, case.ending))
    delivered = delivered_pieces(out)
    if case.pieces is not None:
        require(
            is_subsequence(delivered, case.pieces), "text-from-upstream", (delivered, case.pieces)
        )
    if case.clean:
        require(
            ended and "".join(delivered) == case.text,
            "clean-text",
            (delivered, case.text, r.failure),
        )


ChunksOutCase = tuple[UpstreamStream, bool, tuple[int, ...]]
chunks_out_cases: st.SearchStrategy[ChunksOutCase] = st.tuples(
    messages_streams, st.booleans(), st.lists(st.integers(0, 60), max_size=5).map(tuple)
)
_RAW_SEPARATORS = (b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xc2\x85")


def _decoded(raw: bytes) -> list[tuple[str | None, str]]:
    decoder = SSEDecoder()
    return [(e.event, e.data) for e in decoder.feed(raw) + decoder.close()]


def check_chunks_out(case: ChunksOutCase) -> None:
    """Repaired streams rendered for OpenAI clients (ChunkEncoder, fed in random slices), as a
    ``chat.completion`` (completion_out) and for browsers (BrowserFraming).

    Chunks: every data is a JSON object or ``[DONE]``; ``[DONE]`` once and last exactly when the
    message completed, never after an error, which is the last chunk instead; one non-null
    ``finish_reason``, only on a complete message; the content adds up to the delivered text; no
    raw U+2028/U+2029/U+0085 (F06). Completion: JSON, text as delivered. Browser: JSON data,
    ``done``/``error`` once and last, the deltas add up to the delivered text.
    """
    stream, include_usage, cuts = case
    out, r = repair_stream(stream)
    events = finished(out, r, stream.ending)
    text_sent = "".join(delivered_pieces(events))
    complete = events[-1].type == "message_stop"
    encoder = ChunkEncoder(
        completion_id="chatcmpl-fuzz", model="m", created=0, include_usage=include_usage
    )
    bounds = [0, *sorted(c for c in cuts if c < len(events)), len(events)]
    raw = b"".join(encoder.feed(events[a:b]) for a, b in pairwise(bounds))
    require(not any(s in raw for s in _RAW_SEPARATORS), "openai-F06", raw)
    datas = [d for _, d in _decoded(raw)]
    dones = [i for i, d in enumerate(datas) if d == "[DONE]"]
    require(dones == ([len(datas) - 1] if complete else []), "openai-done", datas[-3:])
    objects: list[dict[str, Any]] = []
    for d in datas:
        if d != "[DONE]":
            value = parsed(d, "openai-json")
            require(isinstance(value, dict), "openai-json", d)
            objects.append(value)
    if events[-1].type == "error":
        require(bool(objects) and "error" in objects[-1], "openai-error-last", objects[-1:])
    choices = [o["choices"][0] for o in objects if o.get("choices")]
    finishes = [c["finish_reason"] for c in choices if c.get("finish_reason") is not None]
    require(len(finishes) == int(complete), "openai-finish-once", finishes)
    content = "".join(c["delta"].get("content") or "" for c in choices)
    require(content == text_sent, "openai-content", (content, text_sent))
    acc = accumulate(events)
    if acc.complete:
        completion = chat_completion(acc.message(), completion_id="c", model="m", created=0)
        reply = orjson.loads(orjson.dumps(completion))["choices"][0]["message"]
        require((reply["content"] or "") == text_sent, "completion-content", (reply, text_sent))
    frames = _decoded(browser.BrowserFraming().encode(events))
    names = [name for name, _ in frames]
    values = [parsed(d, "browser-json") for _, d in frames]
    ends = [i for i, n in enumerate(names) if n in ("done", "error")]
    require(ends == [len(names) - 1], "browser-end", names)
    deltas = "".join(v["text"] for n, v in zip(names, values, strict=True) if n == "delta")
    require(deltas == text_sent, "browser-text", (deltas, text_sent))


RequestCase = tuple[str, Any]
_TRANSLATIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "chat": chat_to_messages.messages_request,
    "messages": messages_to_chat.chat_request,
    "browser": browser.messages_request,
    "query": browser.query_body,
}


def check_requests(case: RequestCase) -> None:
    """A request body of any shape (as the gateway holds it, what orjson parsed) through the
    request translations: a request that orjson can send, or TranslationError, nothing else; and
    the client's body is left as it was (the gateway may translate it again for a fallback)."""
    kind, body = case
    before = copy.deepcopy(body)
    try:
        result = _TRANSLATIONS[kind](body)
    except TranslationError as exc:
        require(isinstance(exc.detail, str), "request-error", exc)
        result = None
    require(body == before, "request-input-unchanged", (kind, before, body))
    if result is not None:
        require(isinstance(result, dict), "request-result", result)
        try:
            orjson.dumps(result)
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise InvariantFailure("request-serialisable", (kind, result, exc)) from None


# -- known bugs: failures already reported, each with an xfail regression test --------------------


@dataclass(frozen=True)
class KnownBug:
    """A bug the fuzzers found and ``test_regressions.py`` pins with ``xfail(strict=True)``: the
    suite tier lets inputs that hit it pass, so the suite stays green until the owner fixes it,
    and the long run counts them apart. ``matches`` recognises its failures. Remove the entry
    (and the xfail mark) with the fix: the strict xfail fails the suite until then."""

    id: str
    summary: str
    regression_test: str
    matches: Callable[[str, Any, BaseException], bool]


# None open: the last three (cut-tool-under-tool-use, failed-after-stop,
# browser-drops-start-text) were fixed with their regression tests in test_regressions.py.
KNOWN_BUGS: dict[str, KnownBug] = {}


def known_bug(target: str, case: Any, error: BaseException) -> str | None:
    """The id of the known bug ``case`` ran into, or None for a new failure."""
    for bug in KNOWN_BUGS.values():
        try:
            if bug.matches(target, case, error):
                return bug.id
        except Exception:  # a classifier never hides a failure by failing itself
            continue
    return None


def tolerating_known_bugs(target: Target) -> Callable[[Any], None]:
    """``target.check``, except that a known bug's failure passes (the suite tier)."""

    def check(case: Any) -> None:
        try:
            target.check(case)
        except Exception as error:
            if known_bug(target.name, case, error) is None:
                raise

    return check


# -- the registry ---------------------------------------------------------------------------------


def seed_corpus() -> list[bytes]:
    """Whole answers for a byte-level fuzzer to start from (text, signed thinking, a tool call in
    pieces, a server block), in LF, CRLF and CR, so its mutations begin inside the grammar."""
    answer = wire(
        message_start(),
        *_thinking("Let me think"),
        text_start(1),
        text(1, "Hello"),
        text(1, ", wörld \u2028 🙂"),
        block_stop(1),
        block_start(2, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        delta(2, "input_json_delta", '{"city": '),
        delta(2, "input_json_delta", '"Paris"}'),
        block_stop(2),
        block_start(3, {"type": "web_search_tool_result", "tool_use_id": "s", "content": []}),
        block_stop(3),
        message_delta("tool_use"),
        MESSAGE_STOP,
    )
    plain = wire(
        message_start(), text_start(0), text(0, "Hi"), block_stop(0), message_delta(), MESSAGE_STOP
    )
    return [
        answer,
        plain,
        plain.replace(b"\n", b"\r\n"),
        plain.replace(b"\n", b"\r"),
        b"\x00" + plain,
    ]


# Tokens a byte-level fuzzer splices in (libFuzzer's -dict): the wire's field names, event and
# delta types, JSON keys.
DICTIONARY = [
    b"event: ",
    b"data: ",
    b"\n\n",
    b"\r\n",
    b"data: [DONE]",
    b": ping",
    b"retry: ",
    b"id: ",
    *(f'"{name}"'.encode() for name in sorted(KNOWN_EVENTS)),
    *(
        f'"{word}"'.encode()
        for word in (
            "type",
            "index",
            "delta",
            "text",
            "text_delta",
            "thinking",
            "thinking_delta",
            "signature_delta",
            "input_json_delta",
            "partial_json",
            "content_block",
            "tool_use",
            "message",
            "usage",
            "stop_reason",
            "output_tokens",
            "input_tokens",
            "id",
            "error",
        )
    ),
]


@dataclass(frozen=True)
class Target:
    """A fuzz target: inputs, the check, and whether its input is plain bytes (so a byte-level
    fuzzer can drive ``check`` directly)."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    takes_bytes: bool = False


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("decoder", decoder_cases, check_decoder),
        Target("repair", messages_streams, check_repair),
        Target("decoder_bytes", raw_bytes, check_decoder_bytes, takes_bytes=True),
        Target("repair_bytes", raw_bytes, check_repair_bytes, takes_bytes=True),
        Target("resume", resume_cases(), check_resume),
        Target("chunks_in", chunk_streams(), check_chunks_in),
        Target("chunks_out", chunks_out_cases, check_chunks_out),
        Target("requests", requests, check_requests),
    )
}
