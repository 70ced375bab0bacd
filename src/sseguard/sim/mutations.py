"""The vocabulary of faults: small functions that turn a clean response draft into a faulty one, and
the Anthropic Messages dialect they were first written for.

Pure: they build new drafts and never do I/O. Each names the fault IDs (docs/faults.md) it serves; the catalogue in
``scenarios.py`` composes them. Most work on any dialect's draft; ``openai.py`` adds the few that
only chat.completions needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any

from sseguard.sim.content import JSON, clean_events
from sseguard.sim.wire import (
    JSON_HEADERS,
    SSE_HEADERS,
    Dialect,
    Draft,
    Frame,
    Item,
    Pause,
    Raw,
    Repeat,
    Stall,
    Style,
    frame_bytes,
    json_items,
)

Mutation = Callable[[Draft], Draft]
Match = Callable[[Item], bool]

OVERLOADED: JSON = {"type": "overloaded_error", "message": "Overloaded"}
HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
ENDLESS_INTERVAL = 0.05  # seconds between repeats; with the limit below, a 10-minute cap
ENDLESS_LIMIT = 12_000
KEEPALIVE_INTERVAL = 1.0  # seconds between a stalled stream's keep-alive comments
KEEPALIVE_LIMIT = 600  # with the interval above, the same 10-minute cap


def sse_items(message: JSON) -> tuple[Item, ...]:
    return tuple(Frame(p["type"], p) for p in clean_events(message))


def anthropic_error(kind: str, message: str) -> JSON:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _same(body: JSON) -> JSON:
    return body


MESSAGES = Dialect(
    name="messages",
    path="/v1/messages",
    as_messages=_same,
    stream=lambda ask, message: sse_items(message),
    whole=lambda ask, message: message,
    error=anthropic_error,
    request_id_header="request-id",
)


def clean_draft(ask_stream: bool, draft_base: Draft) -> Draft:
    """The healthy answer in the mode the request asked for, in the draft's dialect."""
    dialect, ask, message = draft_base.dialect, draft_base.ask, draft_base.message
    if ask_stream:
        return replace(draft_base, headers=SSE_HEADERS, items=dialect.stream(ask, message))
    return replace(draft_base, headers=JSON_HEADERS, items=json_items(dialect.whole(ask, message)))


def sse_only(mutation: Mutation) -> Mutation:
    """Stream faults leave a non-streaming answer clean: there is no stream to damage."""

    def apply(draft: Draft) -> Draft:
        return mutation(draft) if draft.ask.stream else draft

    return apply


# Predicates over draft items.
def is_event(kind: str) -> Match:
    return lambda item: isinstance(item, Frame) and _type(item) == kind


def is_start(kind: str) -> Match:
    """The ``content_block_start`` of a block of that type."""
    return lambda item: (
        isinstance(item, Frame)
        and _type(item) == "content_block_start"
        and _payload(item).get("content_block", {}).get("type") == kind
    )


def is_delta(kind: str) -> Match:
    def match(item: Item) -> bool:
        return (
            isinstance(item, Frame)
            and _type(item) == "content_block_delta"
            and _payload(item).get("delta", {}).get("type") == kind
        )

    return match


def _type(item: Item) -> str | None:
    return _payload(item).get("type")


def _payload(item: Item) -> JSON:
    return item.payload if isinstance(item, Frame) and isinstance(item.payload, dict) else {}


class NotApplicable(Exception):
    """The answer has no event a fault damages: a resume's continuation with no text left to cut
    in, a request whose answer has no tool call to glue. The fault is skipped, not the answer."""


def _nth(items: tuple[Item, ...], match: Match, nth: int) -> int:
    """Position of the nth match (1-based), or of the last match when there are fewer."""
    hits = [i for i, item in enumerate(items) if match(item)]
    if not hits:
        raise NotApplicable("this answer has none of the events the scenario damages")
    return hits[min(nth, len(hits)) - 1]


# Framing (F01-F10, F35).
def restyle(**changes: Any) -> Mutation:
    return sse_only(lambda d: replace(d, style=replace(d.style, **changes)))


def prepend(*extra: Item) -> Mutation:
    return sse_only(lambda d: replace(d, items=(*extra, *d.items)))


def append(*extra: Item) -> Mutation:
    return sse_only(lambda d: replace(d, items=(*d.items, *extra)))


def drop(match: Match) -> Mutation:
    """Every matching item left out (a missing sentinel, a missing finish)."""
    return sse_only(lambda d: replace(d, items=tuple(i for i in d.items if not match(i))))


def insert_after(match: Match, *extra: Item, nth: int = 1) -> Mutation:
    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, nth) + 1
        return replace(draft, items=(*draft.items[:at], *extra, *draft.items[at:]))

    return sse_only(apply)


def echo_delta(match: Match, delta: JSON, nth: int) -> Mutation:
    """After the nth matching delta, another delta for the same block (F13 mismatch, F14 empty)."""

    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, nth)
        index = _payload(draft.items[at]).get("index", 0)
        extra = Frame(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
        return replace(draft, items=(*draft.items[: at + 1], extra, *draft.items[at + 1 :]))

    return sse_only(apply)


def glue(match: Match, nth: int = 3) -> Mutation:
    """F02 as an Azure AI Foundry deployment was reported to send it: the blank line after an event turned into spaces, so the next
    event's ``event:`` line lands inside this event's ``data:`` line."""

    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, nth)
        first, second = draft.items[at], draft.items[at + 1]
        assert isinstance(first, Frame) and isinstance(second, Frame)
        glued = (
            frame_bytes(first, Style(), 0).rstrip(b"\n") + b"    " + frame_bytes(second, Style(), 0)
        )
        return replace(draft, items=(*draft.items[:at], Raw(glued), *draft.items[at + 2 :]))

    return sse_only(apply)


def truncate_into_next(match: Match, nth: int = 3) -> Mutation:
    """F39 as that Foundry report shows it: an event's JSON cut inside its last string, and the next event's
    ``event:`` line glued on where the rest should be. The piece in between is lost for good."""

    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, nth)
        if at + 1 >= len(draft.items):
            raise NotApplicable("the event to truncate is the last one")
        first, second = draft.items[at], draft.items[at + 1]
        assert isinstance(first, Frame) and isinstance(second, Frame)
        head = frame_bytes(first, Style(), 0).rstrip(b"\n")
        cut = head[: head.rindex(b'"') - 1]  # inside the string: its last character and '"}}' go
        glued = cut + frame_bytes(second, Style(), 0)
        return replace(draft, items=(*draft.items[:at], Raw(glued), *draft.items[at + 2 :]))

    return sse_only(apply)


# Protocol (F11-F16, F23b, F27).
def rewrite(change: Callable[[JSON], JSON | None]) -> Mutation:
    """Map every event payload; ``None`` drops the event."""

    def apply(draft: Draft) -> Draft:
        out: list[Item] = []
        for item in draft.items:
            if isinstance(item, Frame) and isinstance(item.payload, dict):
                payload = change(item.payload)
                if payload is not None:
                    out.append(Frame(item.event, payload))
            else:
                out.append(item)
        return replace(draft, items=tuple(out))

    return sse_only(apply)


def renumber(index: Callable[[int], int | str]) -> Mutation:
    """F12: block indices that are not 0, 1, 2, ... in order, or not numbers."""

    def change(payload: JSON) -> JSON:
        if "index" in payload:
            return {**payload, "index": index(payload["index"])}
        return payload

    return rewrite(change)


def in_message_start(**usage: Any) -> Mutation:
    def change(payload: JSON) -> JSON:
        if payload["type"] != "message_start":
            return payload
        message = payload["message"]
        return {**payload, "message": {**message, "usage": {**message["usage"], **usage}}}

    return rewrite(change)


def drop_message_delta_usage(payload: JSON) -> JSON:
    if payload["type"] == "message_delta":
        return {k: v for k, v in payload.items() if k != "usage"}
    return payload


def tool_start_without_input(payload: JSON) -> JSON:
    block = payload.get("content_block", {})
    if payload["type"] == "content_block_start" and block.get("type") == "tool_use":
        return {**payload, "content_block": {k: v for k, v in block.items() if k != "input"}}
    return payload


def with_signature(signature: str | None) -> Callable[[JSON], JSON | None]:
    """F27: a signature re-serialised (changed) or dropped (None)."""

    def change(payload: JSON) -> JSON | None:
        if payload.get("delta", {}).get("type") != "signature_delta":
            return payload
        if signature is None:
            return None
        return {**payload, "delta": {**payload["delta"], "signature": signature}}

    return change


def signature_after_stop(draft: Draft) -> Draft:
    """F27: the signature arrives after its thinking block was stopped."""
    at = _nth(draft.items, is_delta("signature_delta"), 1)
    items = list(draft.items)
    signature = items.pop(at)
    items.insert(at + 1, signature)
    return replace(draft, items=tuple(items))


def duplicate(match: Match) -> Mutation:
    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, 1)
        return replace(draft, items=(*draft.items[: at + 1], *draft.items[at:]))

    return sse_only(apply)


def splice_second_generation(after: Match, nth: int) -> Mutation:
    """F11: a new ``message_start`` (new id) mid-message, then the whole answer again."""

    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, after, nth) + 1
        message = {**draft.message, "id": draft.message["id"] + "_2"}
        return replace(draft, items=(*draft.items[:at], *sse_items(message)))

    return sse_only(apply)


def loop_from(match: Match, interval: float, limit: int) -> Mutation:
    """F11 endless ``message_start`` (as a policy gateway was reported to loop) or F36 endless text: repeat one event until the
    client goes away, capped so the server never spins unbounded."""

    def apply(draft: Draft) -> Draft:
        at = _nth(draft.items, match, 1)
        frame = draft.items[at]
        assert isinstance(frame, Frame)
        return replace(
            draft, items=(*draft.items[: at + 1], Repeat((frame,), interval, limit)), abort=True
        )

    return sse_only(apply)


def interleave(every: int, *extra: Item) -> Mutation:
    """``extra`` after the first item and then after every ``every`` items, never at the end."""

    def apply(draft: Draft) -> Draft:
        out: list[Item] = []
        for n, item in enumerate(draft.items):
            out.append(item)
            if n % every == 0 and n + 1 < len(draft.items):
                out += extra
        return replace(draft, items=tuple(out))

    return sse_only(apply)


def delay(seconds: float) -> Mutation:
    """The whole answer after ``seconds``: status line, headers and body wait, streaming or not, as
    a slow model (a judge a policy waits for) keeps its caller waiting. The server sleeps without
    blocking its loop, so other requests are answered meanwhile."""
    return lambda d: replace(d, items=(Pause(seconds), *d.items))


def with_pings(every: int, seconds: float) -> Mutation:
    """F22: a slow but healthy stream, a pause and an upstream ping every ``every`` events."""
    return interleave(every, Pause(seconds), Frame("ping", {"type": "ping"}))


def out_of_tokens(draft: Draft) -> Draft:
    """A healthy answer that hit max_tokens: the first third of its text, no tool call. It renders
    the answer anew, so it comes first in a scenario."""
    content: list[JSON] = []
    for block in draft.message["content"]:
        if block["type"] == "text":
            content.append({**block, "text": block["text"][: len(block["text"]) // 3]})
        elif block["type"] == "thinking":
            content.append(block)
    usage = draft.message["usage"]
    message = {
        **draft.message,
        "content": content,
        "stop_reason": "max_tokens",
        "usage": {**usage, "output_tokens": max(1, usage["output_tokens"] // 3)},
    }
    return clean_draft(draft.ask.stream, replace(draft, message=message))


# Endings (F16, F17, F20, F21).
class Tail(Enum):
    EOF = "eof"  # the body ends cleanly, without terminal events (F16)
    ABORT = "abort"  # the TCP connection closes without the chunked terminator (F20)
    STALL = "stall"  # silence until the client goes away (F21)
    KEEPALIVE = "keepalive"  # keep-alive comments only, every second, until the client goes away
    PINGS = "pings"  # `event: ping` only, every second, until the client goes away (F38)
    ERROR = "error"  # an ``event: error`` after content (F17)


def cut(match: Match, nth: int, tail: Tail, error: Frame | None = None) -> Mutation:
    """The draft up to the nth match, then the tail; ``error`` replaces the overloaded_error
    event of ``Tail.ERROR`` (an error in another shape)."""

    def apply(draft: Draft) -> Draft:
        kept = draft.items[: _nth(draft.items, match, nth) + 1]
        if tail is Tail.STALL:
            return replace(draft, items=(*kept, Stall()), abort=True)
        if tail is Tail.KEEPALIVE:
            comments = Repeat((Raw(b": keep-alive\n\n"),), KEEPALIVE_INTERVAL, KEEPALIVE_LIMIT)
            return replace(draft, items=(*kept, comments), abort=True)
        if tail is Tail.PINGS:
            pings = Repeat((Frame("ping", {"type": "ping"}),), KEEPALIVE_INTERVAL, KEEPALIVE_LIMIT)
            return replace(draft, items=(*kept, pings), abort=True)
        if tail is Tail.ERROR:
            return replace(draft, items=(*kept, error or error_frame()))
        return replace(draft, items=kept, abort=tail is Tail.ABORT)

    return sse_only(apply)


def error_frame(error: JSON = OVERLOADED) -> Frame:
    return Frame("error", {"type": "error", "error": error})


def only_error_event(draft: Draft) -> Draft:
    """F17 before content: a 200 whose stream is one ``event: error``."""
    return replace(draft, items=(error_frame(),))


# An error as gateways in front of a provider send their own: OpenAI's shape, no type, no name.
UNTYPED_ERROR = Frame(
    None,
    {
        "error": {
            "message": "upstream overloaded, retry later",
            "type": "upstream_error",
            "code": "503",
        }
    },
)
# An error event whose data is the proxy's words, not JSON.
TEXT_ERROR = Frame("error", "upstream request timeout")


def only_untyped_error(draft: Draft) -> Draft:
    """F17 before content, in OpenAI's error shape without an ``event:`` line."""
    return replace(draft, items=(UNTYPED_ERROR,))


def stall_first(draft: Draft) -> Draft:
    """F21 before the first byte: not even a status line."""
    return replace(draft, items=(Stall(),), abort=True)


def accept_then_silence(draft: Draft) -> Draft:
    """F21 after the head: a 200 and one keep-alive comment (which is no event), then nothing, as
    an upstream that took the request and never answers."""
    return replace(draft, items=(Raw(b": accepted\n\n"), Stall()), abort=True)


# HTTP answers (F18, F19, F24-F26, F28).
def http_json(status: int, body: JSON, *headers: tuple[str, str]) -> Mutation:
    """An HTTP error answer: the status and its JSON body, instead of whatever the draft held."""
    return lambda d: replace(
        d, status=status, headers=(*JSON_HEADERS, *headers), items=json_items(body), abort=False
    )


def http_error(status: int, kind: str, message: str, *headers: tuple[str, str]) -> Mutation:
    """An error answer in the draft's dialect: the status and that API's JSON error body."""
    return lambda d: http_json(status, d.dialect.error(kind, message), *headers)(d)


def html(status: int) -> Mutation:
    """F26: a proxy's HTML page where JSON or SSE was due."""
    return lambda d: replace(
        d,
        status=status,
        headers=(("content-type", "text/html"),),
        items=(Raw(HTML_PAGE),),
        abort=False,
    )


def gzip_body(draft: Draft) -> Draft:
    return replace(draft, gzip=True)


def with_header(name: str, value: str) -> Mutation:
    """One response header set (replaced if the draft had it), the body unchanged: a label that
    no longer says what the body is (F24 stale content-encoding, F26 a stream typed as JSON)."""
    return lambda d: replace(
        d, headers=(*((k, v) for k, v in d.headers if k != name), (name, value))
    )


def flip_stream_mode(draft: Draft) -> Draft:
    """F25: JSON for a streaming request, SSE for a non-streaming one."""
    return clean_draft(not draft.ask.stream, draft)


def reject_betas(draft: Draft) -> Draft:
    """F28: a provider that rejects ``anthropic-beta`` values it does not know."""
    if not draft.ask.betas:
        return draft
    listed = ",".join(draft.ask.betas)
    return http_error(
        400,
        "invalid_request_error",
        f"Unexpected value(s) `{listed}` for the `anthropic-beta` header. "
        "Please consult our documentation at docs.anthropic.com or try again without the header.",
    )(draft)
