"""The repair state machine: any Anthropic-compatible event sequence in, a valid Messages stream out.

Pure and synchronous (the caller brings the I/O, as in h11). It never raises on upstream input: what
it can fix it fixes and records as an anomaly by fault ID (docs/faults.md); what it cannot fix becomes a
``Failure`` the caller answers with retry, resume or ``finalize``. An event it did not change goes out
with its original data text.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sseguard.protocol.anomalies import AnomalyLog
from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    DELTA_BLOCKS,
    DELTA_HOME_BLOCK,
    ERROR,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    PING,
    TOOL_BLOCKS,
    Event,
)
from sseguard.protocol.glue import split_glued
from sseguard.protocol.splice import SpliceCheck
from sseguard.protocol.upstream_errors import error_message_of, error_type_of
from sseguard.sse.decoder import SSEEvent

# Usage counters a client reads as numbers (F15); other usage keys pass through as sent.
USAGE_NUMBERS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
# Lost glued fragments of these types lose content the stream cannot get back (F02).
_CONTENT_TYPES = frozenset({MESSAGE_START, CONTENT_BLOCK_START, CONTENT_BLOCK_DELTA})
_DONE = "[DONE]"
_MESSAGE_DEFAULTS = (
    ("type", "message"),
    ("role", "assistant"),
    ("model", ""),
    ("stop_reason", None),
    ("stop_sequence", None),
)


class Phase(enum.Enum):
    """Where the output stream stands in the Messages grammar."""

    IDLE = "before message_start"
    MESSAGE = "inside the message"
    ENDED = "after message_stop"
    FAILED = "failed"


class Resume(enum.Enum):
    """Where a continuation (``begin_continuation``) stands while it joins the message.

    NONE → AWAIT_START (begin_continuation) → PREAMBLE (its message_start, absorbed) → VERIFYING
    (its first text block) → NONE (the splice is decided). PREAMBLE → NONE directly when its
    answer goes on with another kind of block (a tool call): there is no text to check.
    """

    NONE = "no continuation is joining"
    AWAIT_START = "the continuation's message_start is due, and absorbed"
    PREAMBLE = "the continuation's thinking is dropped until its answer begins"
    VERIFYING = "the continuation's text is held until the splice is verified"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why the upstream stream cannot be completed as it is.

    ``error_type`` is the Anthropic error type a truthful ending uses (``overloaded_error`` for an
    upstream overload, ``api_error`` for a broken stream, ``timeout_error`` for a stall);
    ``upstream_error`` is the upstream's own error payload when it sent one (F17).
    """

    fault: str
    error_type: str
    message: str
    upstream_error: dict[str, Any] | None = None


def _int_index(value: object) -> int | None:
    """The block index a string or float index spells, if it spells one a stream can have: a
    number of 80 digits is no block's index (and no JSON encoder writes it back as an integer)."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    if type(value) is float and value.is_integer() and 0 <= value <= _MAX_INDEX:
        return int(value)
    return None


_MAX_INDEX = 999_999_999  # no stream has more blocks; a larger "index" is garbage, not a number


def _count(value: object) -> int | None:
    """A token count as an integer: an int that is not negative, or a float that spells one
    (``12.0``); None for anything else (``7.5``, ``-1``, ``"12"``, ``true``)."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is float and value.is_integer() and 0 <= value <= 2**53:
        return int(value)
    return None


# How much one held block (a tool call's input, a thinking block) may grow: the event bound's.
DEFAULT_MAX_HELD = 32 * 1024 * 1024
# The upstream index of a block opened by a stream a resume replaced: no index of the new one.
_EARLIER_STREAM = -1
# Deltas whose type says what block they extend, so a lost start can be put back (F12). Not
# signature_delta (it ends a thinking block and carries none of it) nor input_json_delta (a
# tool_use start carries the tool's id and name, which no delta repeats).
_OPENS_ITS_BLOCK = frozenset({"text_delta", "citations_delta", "thinking_delta"})
_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_THINKING_DELTAS = frozenset({"thinking_delta", "signature_delta"})


@dataclass(slots=True)
class Block:
    """One content block of the output stream, under its output (renumbered) index."""

    index: int
    type: str
    upstream_index: int
    open: bool = True
    # The start payload of a block held whole: a tool call until its JSON parses (F14), a
    # thinking block until its signature (a cut inside it is then a cut before it was sent).
    held: dict[str, Any] | None = None
    held_events: list[Event] = field(default_factory=list)  # a held thinking block's, in order
    json_parts: list[str] = field(default_factory=list)
    held_size: int = 0  # characters held so far (a bound, F09)
    text_parts: list[str] = field(default_factory=list)  # a text or thinking block's text
    signature: str | None = None
    content_block: dict[str, Any] | None = None  # a redacted_thinking block's, sent back as is
    dropped: bool = False  # a continuation's thinking: never sent, its events are dropped

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


class Repairer:
    """Feed upstream SSE events, get back events a strict client accepts.

    Options: ``atomic_tools`` holds each tool_use block until it stopped and its JSON parsed (F14);
    ``hold_thinking`` holds each thinking block until its signature arrived;
    ``max_start_repeats`` is how many same-id ``message_start`` repeats without progress count as a
    loop (F11); ``drop_events`` names unknown event types (or ``ping``) to drop instead of passing
    through (F10).
    """

    def __init__(
        self,
        *,
        atomic_tools: bool = True,
        hold_thinking: bool = True,
        max_start_repeats: int = 3,
        max_held: int = DEFAULT_MAX_HELD,
        drop_events: Iterable[str] = (),
    ) -> None:
        self.atomic_tools = atomic_tools
        self.hold_thinking = hold_thinking
        self.max_held = max_held
        self.max_start_repeats = max_start_repeats
        self.drop_events = frozenset(drop_events)
        self.anomalies = AnomalyLog()
        self.phase = Phase.IDLE
        self.failure: Failure | None = None
        self.message_id: str | None = None
        self.model: str | None = None
        self.usage: dict[str, Any] = {}  # as the client sees it: one message, resumes summed
        # As the upstream stream now read reported it: what this attempt was billed. The caller
        # takes it after each attempt (``take_upstream_usage``).
        self.upstream_usage: dict[str, Any] = {}
        self.stop_reason: str | None = None  # as sent to the client in message_delta
        self.blocks: list[Block] = []
        self._by_upstream: dict[int, Block] = {}
        self._open: Block | None = None
        self._next_index = 0
        # Output index minus upstream index when nothing is renumbered: a continuation starts
        # counting from 0 after the blocks already sent.
        self._index_offset = 0
        self._repeats = 0
        self._held_delta: dict[str, Any] | None = None
        self._held_data: str | None = None  # its original text while nothing in it changed
        self._pending_stop: tuple[Block, Event] | None = None
        self._early: list[Event] = []  # unknown events seen before message_start (F10)
        self._tool_ids: set[str] = set()
        self.resume = Resume.NONE
        self._check: SpliceCheck | None = None  # while VERIFYING
        self._prefilled = False  # the continuation was asked by prefill, not by instruction
        self.restarted = False  # a continuation began the answer again (a prefill was ignored)
        self._cut_tool_reason: str | None = None  # the stop a cut tool call was sent under (F14)
        # Set by each upstream ping, cleared by whoever times the stream: a read that carried a
        # ping is no progress (F38) unless it gave the client content, or grew a held block
        # (``held_grew``, set where a held block takes content). Pings are rare: only they pay.
        self.pinged = False
        self.held_grew = False
        self._output_base = 0
        # Plain functions, not bound methods: a dict of this object's bound methods would make
        # every repairer a reference cycle, left (with the answer's text) for the cyclic GC.
        self._handlers = _HANDLERS_BUT_PING if PING in self.drop_events else _HANDLERS

    # -- what callers decide on -------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self.message_id is not None

    @property
    def ended(self) -> bool:
        """The message ended properly: ``message_stop`` went out."""
        return self.phase is Phase.ENDED

    @property
    def failed(self) -> bool:
        return self.phase is Phase.FAILED

    @property
    def open_block(self) -> Block | None:
        """The block a client holds open (a held tool block is not one: the client never saw it)."""
        blk = self._open
        return blk if blk is not None and blk.held is None else None

    @property
    def delivered_text(self) -> str:
        """All text of text blocks sent so far: what a resume continues from."""
        return "".join(b.text for b in self.blocks if b.type == "text")

    @property
    def thinking_sent(self) -> bool:
        return any(b.type in _THINKING_BLOCKS for b in self.blocks)

    @property
    def resumable(self) -> bool:
        """A resume can splice a continuation in: only text and complete, signed thinking sent
        (a tool call sent needs its result before the model can go on)."""
        return (
            self.started
            and self.phase is not Phase.ENDED
            and all(
                b.type == "text" or (b.type in _THINKING_BLOCKS and self._signed(b))
                for b in self.blocks
            )
        )

    @staticmethod
    def _signed(blk: Block) -> bool:
        return blk.type == "redacted_thinking" or bool(blk.signature)

    def delivered_content(self) -> list[dict[str, Any]]:
        """The content blocks the client holds, as a request's assistant turn carries them: the
        history a continuation is asked from. Thinking goes back signed, as it was sent."""
        content: list[dict[str, Any]] = []
        for b in self.blocks:
            if b.type == "text":
                content.append({"type": "text", "text": b.text})
            elif b.type == "thinking":
                content.append({"type": "thinking", "thinking": b.text, "signature": b.signature})
            elif b.content_block is not None:
                content.append(b.content_block)
        return content

    # -- input ------------------------------------------------------------------------------

    def feed_many(self, events: Iterable[SSEEvent]) -> list[Event]:
        out: list[Event] = []
        for e in events:
            out += self.feed(e)
        return out

    def close(self) -> list[Event]:
        """The upstream stream ended. A stream without ``message_stop`` is never a success (F16)."""
        out = self._flush_pending_stop()
        if self.phase is Phase.IDLE:
            self._fail("F16", "api_error", "the upstream stream ended before any event")
        elif self.phase is Phase.MESSAGE:
            delta = self._held_delta
            if delta is not None and (delta.get("delta") or {}).get("stop_reason"):
                # The upstream said how the message ended; only message_stop was lost.
                self.anomalies.record("F16", "message_stop missing after message_delta; completed")
                out += self._finish()
            else:
                open_desc = f", inside a {self._open.type} block" if self._open else ""
                self._fail(
                    "F16",
                    "api_error",
                    f"the upstream stream ended without message_stop{open_desc}",
                )
        return out

    def fail(self, fault: str, error_type: str, message: str) -> None:
        """The caller's own verdict (a stall, a cut connection, an oversized event) ends the stream."""
        if self.phase in (Phase.IDLE, Phase.MESSAGE):
            self._fail(fault, error_type, message)

    def take_upstream_usage(self) -> dict[str, Any]:
        """The usage the last upstream stream reported, once: an attempt's bill."""
        usage, self.upstream_usage = self.upstream_usage, {}
        return usage

    def begin_continuation(self, *, prefill: bool = True) -> None:
        """Accept a second upstream stream that continues this message (resume after a failure).

        Its ``message_start`` is absorbed and its usage merged; its thinking is dropped (the
        client holds the first generation's); its first text is verified against the delivered
        text before any of it is sent (``SpliceCheck``) and continues the open text block, so the
        client sees one message, contiguous block indices and one ``message_stop``. ``prefill``:
        the continuation was asked as an assistant prefill (else by instruction).
        """
        if not self.started or self.phase is Phase.ENDED:
            raise RuntimeError("only a started, unfinished message can be continued")
        self.phase = Phase.MESSAGE
        self.failure = None
        self.resume = Resume.AWAIT_START
        self._check = None
        self._prefilled = prefill
        self._by_upstream = {}
        self._index_offset = self._next_index
        if self._open is not None:
            # Its upstream index is the interrupted stream's: the continuation numbers its blocks
            # from 0 again, and its index 0 is not a duplicate of this block's start.
            self._open.upstream_index = _EARLIER_STREAM
        self._held_delta = None
        self._held_data = None
        self._repeats = 0
        self._output_base = int(self.usage.get("output_tokens") or 0)

    def terminate(self) -> list[Event]:
        """End the stream here: flush a held stop, close the open block a client holds.

        For ``finalize``: the caller appends the truthful last events. A held tool block is dropped,
        never half-sent.
        """
        out = self._flush_pending_stop()
        blk = self._open
        if blk is not None:
            self._open = None
            blk.open = False
            if blk.held is None:
                out.append(Event.of({"type": CONTENT_BLOCK_STOP, "index": blk.index}))
            else:
                self._discard(blk)
        self.phase = Phase.ENDED
        return out

    # -- dispatch ---------------------------------------------------------------------------

    def feed(self, sse: SSEEvent) -> list[Event]:
        """One upstream event in, what the client gets for it out. It is the dispatch itself:
        it runs once per event, so it adds no frame of its own."""
        if self.phase is _FAILED:
            return []
        name = sse.event
        data = sse.data
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._unparseable(name, data)
        if type(payload) is not dict:
            return self._unparseable(name, data)
        etype = payload.get("type")
        if type(etype) is not str:
            if payload.get("error") and name not in self._handlers:
                # OpenAI's shape in an Anthropic stream: gateways in between send their own
                # errors so. Dropped, it would leave "ended before any event" in its place.
                self.anomalies.record("F03", "error object without a type; read as an error event")
                return self._on_error(payload, data, None)
            if name is None or name not in self._handlers:
                if self.phase is Phase.IDLE and type(payload.get("choices")) is list:
                    # Dropped one by one, its chunks would end as "no event" with no cause.
                    self._fail(
                        "F26",
                        "api_error",
                        "the upstream sent OpenAI chat.completion chunks where Messages events "
                        "were due: an OpenAI-compatible API read as Anthropic's?",
                    )
                    return []
                self.anomalies.record("F03", f"event without a type dropped: {data[:60]!r}")
                return []
            payload["type"] = etype = name
            data = orjson.dumps(payload).decode()
            self.anomalies.record("F03", f"data without type; named {name} by its event: line")
            frame = None
        elif name != etype:
            self.anomalies.record(
                "F03",
                "no event: line" if name is None else f"event: {name} carried a {etype}",
            )
            frame = None
        else:
            # A handler that passes the event on unchanged passes this frame on with it.
            frame = sse.raw if sse.canonical else None
        if self.phase is _ENDED:
            self.anomalies.record("F23b", f"{etype} after message_stop dropped")
            return []
        pending = self._pending_stop
        handler = self._handlers.get(etype)
        if pending is not None and not self._late_signature(etype, payload, pending[0]):
            flushed = self._flush_pending_stop(etype, payload)
            if self.failed:
                return flushed
            if handler is None:
                return [*flushed, *self._on_unknown(name, etype, data, payload)]
            return [*flushed, *handler(self, payload, data, frame)]
        if handler is None:
            return self._on_unknown(name, etype, data, payload)
        return handler(self, payload, data, frame)

    def _late_signature(self, etype: str, payload: dict[str, Any], blk: Block) -> bool:
        if etype != CONTENT_BLOCK_DELTA:
            return False
        up = payload.get("index")
        delta = payload.get("delta")
        return (
            type(up) is int
            and self._by_upstream.get(up) is blk
            and type(delta) is dict
            and delta.get("type") == "signature_delta"
        )

    def _unparseable(self, name: str | None, data: str) -> list[Event]:
        stripped = data.strip()
        if stripped == _DONE:
            self.anomalies.record("F01", "data: [DONE] dropped")
            return []
        if self.phase is Phase.ENDED:
            self.anomalies.record("F23b", f"data after message_stop dropped: {data[:60]!r}")
            return []
        pieces = split_glued(data)
        found = sum(not p.lost for p in pieces)
        if found and len(pieces) > 1:
            self.anomalies.record(
                "F02", f"{found} events glued in one; {len(pieces) - found} fragment(s) lost"
            )
            out: list[Event] = []
            for i, piece in enumerate(pieces):
                if piece.lost:
                    self._lost(piece.announced_types(), piece.text)
                else:
                    out += self.feed(SSEEvent(piece.name if i or piece.name else name, piece.text))
                if self.failed:
                    break
            return out
        if name is not None and name not in self._handlers:
            # Forward compatibility (F10): an unknown event's data is not ours to judge.
            return self._on_unknown(name, name, data, None)
        if name == ERROR and stripped:
            return self._on_error({"type": ERROR, "error": stripped}, data, None)
        types = [t for p in pieces for t in p.announced_types()] or ([name] if name else [])
        self._lost(types, data)
        return []

    def _lost(self, types: list[str], fragment: str) -> None:
        if any(t in _CONTENT_TYPES for t in types):
            # Content is gone (F39): the stream breaks after the last intact event, so a resume
            # continues from there and nothing is delivered around the hole.
            self._fail(
                "F39",
                "api_error",
                f"an upstream event was cut short or garbled ({len(fragment)} characters of the "
                f"answer lost: {fragment[:60]!r}); the stream cannot be completed as sent",
            )
        else:
            self.anomalies.record("F02", f"damaged event data dropped: {fragment[:60]!r}")

    # -- message level ----------------------------------------------------------------------

    def _on_message_start(
        self, payload: dict[str, Any], data: str, frame: bytes | None
    ) -> list[Event]:
        msg = payload.get("message")
        mid = msg.get("id") if type(msg) is dict else None
        resuming = self.resume is Resume.AWAIT_START
        if self.phase is Phase.MESSAGE and not resuming:
            if mid is not None and mid != self.message_id:
                self._fail(
                    "F11",
                    "api_error",
                    f"the upstream started a second message ({mid}) inside {self.message_id}",
                )
                return []
            self._repeats += 1
            self.anomalies.record("F11", "repeated message_start dropped")
            if self._repeats >= self.max_start_repeats:
                self._fail(
                    "F11",
                    "api_error",
                    f"the upstream repeated message_start {self._repeats + 1} times without content",
                )
            return []
        if resuming:
            self.resume = Resume.PREAMBLE
            usage = msg.get("usage") if type(msg) is dict else None
            if type(usage) is dict:
                self.upstream_usage = {k: v for k, v in usage.items() if _is_number(v)}
                # The continuation re-reads our prefill as input: keep the original input count.
                out_tokens = usage.get("output_tokens")
                if type(out_tokens) is int:
                    self.usage["output_tokens"] = self._output_base + out_tokens
            return []
        changed = False
        if type(msg) is not dict:
            msg = {}
            self.anomalies.record("F11", "message_start without a message object")
        if type(msg.get("id")) is not str:
            msg["id"] = f"msg_sseguard_{uuid.uuid4().hex[:24]}"
            changed = True
        if type(msg.get("content")) is not list:
            msg["content"] = []
            changed = True
        for key, default in _MESSAGE_DEFAULTS:
            if key not in msg:
                msg[key] = default
                changed = True
        usage = msg.get("usage")
        if type(usage) is not dict:
            usage = msg["usage"] = {}
            changed = True
        for key in ("input_tokens", "output_tokens"):
            if not _is_number(usage.get(key)):
                self.anomalies.record(
                    "F15", f"message_start usage.{key} was {usage.get(key)!r}; 0 sent"
                )
                usage[key] = 0
                changed = True
        for key in USAGE_NUMBERS[2:]:
            if key in usage and not _is_number(usage[key]):
                usage[key] = 0
                changed = True
        if usage["input_tokens"] == 0:
            self.anomalies.record("F15", "message_start reports 0 input tokens")
        self.message_id = msg["id"]
        self.model = msg.get("model")
        self.usage = {k: v for k, v in usage.items() if _is_number(v)}
        self.upstream_usage = dict(self.usage)
        self.phase = Phase.MESSAGE
        if changed:
            payload["message"] = msg
            first = Event.of(payload)
        else:
            first = Event(MESSAGE_START, data, payload, frame)
        out = [first, *self._early]
        self._early = []
        return out

    def _on_message_delta(
        self, payload: dict[str, Any], data: str, frame: bytes | None
    ) -> list[Event]:
        if self.phase is not Phase.MESSAGE:
            self.anomalies.record("F16", "message_delta before message_start dropped")
            return []
        delta = payload.get("delta")
        reason = delta.get("stop_reason") if type(delta) is dict else None
        out = self._close_open("message_delta", stop_reason=reason if type(reason) is str else None)
        if self.failed:
            return out
        usage = payload.get("usage")
        changed = type(delta) is not dict or type(usage) is not dict or bool(self._output_base)
        if type(delta) is not dict:
            delta = payload["delta"] = {}
        if type(usage) is not dict:
            self.anomalies.record("F15", "message_delta without usage; last known values sent")
            usage = payload["usage"] = {}
        for key in USAGE_NUMBERS:
            value = usage.get(key, _MISSING)
            if value is _MISSING and key != "output_tokens":
                continue
            count = _count(value)
            if count is None:
                last = self.usage.get(key, 0)
                if value is not _MISSING or key == "output_tokens":
                    self.anomalies.record(
                        "F15", f"message_delta usage.{key} was {_show(value)}; {last} sent"
                    )
                usage[key] = last
                changed = True
            elif count is not value:  # 12.0: the count it spells, as clients type it
                usage[key] = count
                changed = True
        self.upstream_usage.update((k, v) for k, v in usage.items() if _is_number(v))
        if self._output_base:
            usage["output_tokens"] = self._output_base + usage["output_tokens"]
        self.usage.update((k, v) for k, v in usage.items() if _is_number(v))
        held = self._held_delta
        if held is not None:
            self.anomalies.record("F16", "message_delta repeated; merged into one")
            if self._cut_tool_reason is not None and delta.get("stop_reason") == "tool_use":
                # A tool call went out cut under the first stop reason: never as one to run.
                delta["stop_reason"] = self._cut_tool_reason
            held["delta"].update((k, v) for k, v in delta.items() if v is not None)
            held["usage"].update(usage)
            self._held_data = None
        else:
            self._held_delta = payload
            self._held_data = None if changed else data
        return out

    def _on_message_stop(
        self, payload: dict[str, Any], data: str, frame: bytes | None
    ) -> list[Event]:
        if self.phase is not Phase.MESSAGE:
            self.anomalies.record("F16", "message_stop before message_start dropped")
            return []
        out = self._close_open("message_stop")
        if self.failed:
            return out
        return out + self._finish(Event(MESSAGE_STOP, data, payload, frame))

    def _finish(self, stop: Event | None = None) -> list[Event]:
        out = self._close_open("the end of the message")
        if self.failed:
            return out
        delta = self._held_delta
        if delta is None:
            # Only finalize mode may invent an ending: without it, how the answer ended is unknown.
            self._fail(
                "F16", "api_error", "the upstream's message_stop came without a message_delta"
            )
            return out
        reason = (delta.get("delta") or {}).get("stop_reason")
        self.stop_reason = reason if type(reason) is str else None
        data, self._held_delta, self._held_data = self._held_data, None, None
        out.append(Event(MESSAGE_DELTA, data, delta) if data is not None else Event.of(delta))
        out.append(stop or Event.of({"type": MESSAGE_STOP}))
        self.phase = Phase.ENDED
        return out

    def _on_ping(self, payload: dict[str, Any], data: str, frame: bytes | None) -> list[Event]:
        self.pinged = True
        # Before message_start a ping must not commit the client's stream to this upstream.
        return [Event(PING, data, payload, frame)] if self.phase is Phase.MESSAGE else []

    def _on_error(self, payload: dict[str, Any], data: str, frame: bytes | None) -> list[Event]:
        err = payload.get("error")
        etype = error_type_of(err if err is not None else {})
        message = error_message_of(err) if err else "no message"
        self._fail("F17", etype, f"the upstream sent an error event: {etype}: {message}", payload)
        return []

    def _on_unknown(
        self, name: str | None, etype: str, data: str, payload: dict[str, Any] | None
    ) -> list[Event]:
        if etype in self.drop_events:
            self.pinged = self.pinged or etype == PING
            self.anomalies.record("F10", f"{etype} dropped by configuration")
            return []
        self.anomalies.record("F10", f"unknown event {etype} passed through")
        # Named by its data's type (F03), not by an event: line that may name a known event.
        event = Event(etype, data, payload if payload is not None else {})
        if self.phase is Phase.IDLE:
            self._early.append(event)
            return []
        return [event]

    # -- block level ------------------------------------------------------------------------

    def _on_block_start(
        self, payload: dict[str, Any], data: str, frame: bytes | None
    ) -> list[Event]:
        out: list[Event] = []
        if self.phase is Phase.IDLE:
            self.anomalies.record(
                "F11", "content_block_start before message_start; one synthesized"
            )
            out = self._on_message_start({"type": MESSAGE_START, "message": {}}, "", None)
        up = payload.get("index")
        block = payload.get("content_block")
        if type(block) is not dict or type(block.get("type")) is not str:
            self.anomalies.record("F12", "content_block_start without a typed block dropped")
            return out
        assumed = False
        if type(up) is not int:
            assumed = True
            if _int_index(up) is not None:
                return out + self._without_int_index(payload, self._on_block_start)
            up = max(self._by_upstream, default=-1) + 1
            self.anomalies.record("F12", f"content_block_start without index; {up} assumed")
        btype: str = block["type"]
        splice = self.resume is not Resume.NONE
        if splice:
            out += self._continuation_block(up, btype)
            if self.failed or up in self._by_upstream:
                return out
        current = self._open
        if current is not None:
            if current.upstream_index == up:
                self.anomalies.record(
                    "F12", f"duplicate content_block_start for index {up} dropped"
                )
                return out
            # A continuation that starts with another kind of block (the tool call that followed
            # the text) ends the interrupted block: no upstream fault, the cut is recorded already.
            out += self._close_open(f"content_block_start index {up}", record=not splice)
            if self.failed:
                return out
        elif up in self._by_upstream:
            self.anomalies.record("F12", f"index {up} reused for a new block; renumbered")
        changed = False
        if btype in TOOL_BLOCKS:
            if type(block.get("input")) is not dict:
                self.anomalies.record("F14", f"{btype} start without input; input {{}} sent")
                block["input"] = {}
                changed = True
        elif btype == "text" and type(block.get("text")) is not str:
            block["text"] = ""
            changed = True
        index = self._next_index
        self._next_index += 1
        if index != up or assumed:  # an assumed index goes out, whatever it came as
            if index != up + self._index_offset:  # not just a continuation counting from 0 again
                self.anomalies.record("F12", f"block index {up} renumbered to {index}")
            payload["index"] = index
            changed = True
        blk = Block(index, btype, up)
        self._by_upstream[up] = blk
        self._open = blk
        self.blocks.append(blk)
        if btype in TOOL_BLOCKS and self.atomic_tools:
            blk.held = payload  # released whole at its stop, once its JSON parses (F14)
            return out
        if btype == "text" and block["text"]:
            blk.text_parts.append(block["text"])
        start = Event.of(payload) if changed else Event(CONTENT_BLOCK_START, data, payload, frame)
        if btype == "redacted_thinking":
            blk.content_block = block
        elif (btype == "thinking" and self.hold_thinking) or self.resume is Resume.VERIFYING:
            # Thinking until its signature; a continuation's new text block until the splice
            # check gives it text (it may give it none).
            blk.held = payload
            blk.held_events.append(start)
            return out
        out.append(start)
        return out

    def _continuation_block(self, up: int, btype: str) -> list[Event]:
        """A block start of a continuation still joining the message (``Resume``): its thinking
        is dropped, its first text block carries on the open one once verified, any other block
        ends the joining. Maps ``up`` when the block needs no start of its own."""
        if self.resume is Resume.VERIFYING:
            out = self._end_splice()
            self.resume = Resume.NONE
            return out
        if btype in _THINKING_BLOCKS:
            # The client holds the first generation's thinking, and two cannot be spliced (F27).
            self._by_upstream[up] = Block(-1, btype, up, dropped=True)
            self._index_offset -= 1
            return []
        if btype != "text":
            self.resume = Resume.NONE
            return []
        self.resume = Resume.VERIFYING
        self._check = SpliceCheck(self.delivered_text, prefill=self._prefilled)
        current = self._open
        if current is not None and current.type == "text":
            # The continuation's first text block carries on the interrupted one.
            current.upstream_index = up
            self._index_offset -= 1
            self._by_upstream[up] = current
        return []

    def _end_splice(self) -> list[Event]:
        """The continuation's first text ended before the check could decide: decide now."""
        check = self._check
        if check is None:
            return []
        return self._spliced(check.end())

    def _spliced(self, rest: str) -> list[Event]:
        """The splice is decided: send what the continuation adds, or fail if it was refused."""
        check = self._check
        assert check is not None and check.verdict is not None
        verdict = check.verdict
        blk = self._open
        if not rest and blk is not None and blk.type == "text" and blk.held is not None:
            # Nothing to send yet into a block whose start is still held: its next text comes
            # through here again, to go out after that start (the block is dropped if none does).
            return []
        self._check = None
        self.resume = Resume.NONE
        if verdict.refused is not None:
            self._fail(
                "F11",
                "api_error",
                f"the continuation could not be joined to the delivered answer: {verdict.refused}",
            )
            return []
        if verdict.restarted and not self.restarted:
            self.restarted = True
            self.anomalies.record(
                "F37", "the continuation began the answer again; the delivered part was skipped"
            )
        if not rest or blk is None or blk.type != "text":
            return []
        out: list[Event] = []
        if blk.held is not None:
            blk.held["index"] = blk.index
            out.append(Event.of(blk.held))
            blk.held = None
            blk.held_events.clear()
        blk.text_parts.append(rest)
        out.append(
            Event.of(
                {
                    "type": CONTENT_BLOCK_DELTA,
                    "index": blk.index,
                    "delta": {"type": "text_delta", "text": rest},
                }
            )
        )
        return out

    def _on_delta(self, payload: dict[str, Any], data: str, frame: bytes | None) -> list[Event]:
        up = payload.get("index")
        if type(up) is not int:
            return self._without_int_index(payload, self._on_delta)
        blk = self._by_upstream.get(up)
        delta = payload.get("delta")
        dtype = delta.get("type") if type(delta) is dict else None
        if (
            dtype == "text_delta"
            and blk is not None
            and blk.open
            and blk.type == "text"
            and blk.index == up
            and self._check is None
        ):
            # The hot path: most events of most streams are text deltas that need no repair.
            try:  # costs nothing in CPython 3.11 unless it raises; .get() costs a call
                text = delta["text"]  # type: ignore[index]
            except KeyError:
                text = None
            if type(text) is str:
                blk.text_parts.append(text)
                self._repeats = 0
                return [_new_event(Event, (CONTENT_BLOCK_DELTA, data, payload, frame))]
        if (
            blk is None
            and self._open is None
            and dtype in _OPENS_ITS_BLOCK
            and up == max(self._by_upstream, default=-1) + 1
        ):
            # A delta for any other unknown index is a stray, dropped below.
            return self._lost_start(payload, data, frame)
        if blk is not None and blk.dropped:
            return []
        if blk is None or not blk.open:
            pending = self._pending_stop
            if pending is not None and pending[0] is blk and dtype == "signature_delta":
                self.anomalies.record(
                    "F27", "signature_delta after content_block_stop; moved before it"
                )
                self._pending_stop = None
                blk.signature = delta.get("signature")  # type: ignore[union-attr]
                if payload["index"] != blk.index:
                    payload["index"] = blk.index
                    late = Event.of(payload)
                else:
                    late = Event(CONTENT_BLOCK_DELTA, data, payload, frame)
                if blk.held is None:
                    return [late, pending[1]]
                blk.held_events.append(late)
                return self._release_held(blk, pending[1])
            self.anomalies.record(
                "F12", f"delta for {'closed' if blk else 'unknown'} block {up} dropped"
            )
            return []
        if type(delta) is not dict or type(dtype) is not str:
            self.anomalies.record("F12", f"delta without a type for block {up} dropped")
            return []
        out: list[Event] = []
        homes = DELTA_BLOCKS.get(dtype)
        if homes is not None and blk.type not in homes:
            home = DELTA_HOME_BLOCK.get(dtype)
            if home is None or home["type"] == "thinking":
                # Re-homed, a stray thinking_delta would make an unsigned thinking block, which
                # the API refuses on the client's next turn (F27).
                self.anomalies.record("F13", f"{dtype} in a {blk.type} block dropped")
                return []
            self.anomalies.record("F13", f"{dtype} in a {blk.type} block; re-homed in a new block")
            out = self._close_open(f"a {dtype}", record=False)
            if self.failed:  # the open block was a held tool call whose JSON never parsed
                return out
            new = Block(self._next_index, home["type"], blk.upstream_index)
            self._next_index += 1
            self._by_upstream[blk.upstream_index] = new
            self._open = new
            self.blocks.append(new)
            out.append(
                Event.of(
                    {"type": CONTENT_BLOCK_START, "index": new.index, "content_block": dict(home)}
                )
            )
            blk = new
        self._repeats = 0
        changed = False
        if dtype == "text_delta":
            text = delta.get("text")
            if type(text) is not str:
                # No text to add: passed on, it breaks clients that concatenate it (F12).
                self.anomalies.record("F12", f"text_delta without text dropped: {data[:60]!r}")
                return out
            check = self._check
            if check is not None and blk is self._open:
                rest = check.feed(text)
                return out if rest is None else out + self._spliced(rest)
            blk.text_parts.append(text)
        elif dtype in _THINKING_DELTAS:
            if dtype == "signature_delta":
                blk.signature = delta.get("signature")
            else:
                thinking = delta.get("thinking")
                if type(thinking) is str:
                    blk.text_parts.append(thinking)
        elif dtype == "input_json_delta":
            part = delta.get("partial_json")
            if type(part) is not str or not part:
                return out  # an empty fragment carries nothing and trips some accumulators (F14)
            if blk.held is not None:
                blk.json_parts.append(part)
                return out if self._within_bound(blk, len(part)) else []
        if changed or blk.index != up:
            payload["index"] = blk.index
            event = Event.of(payload)
        else:
            event = Event(CONTENT_BLOCK_DELTA, data, payload, frame)
        if blk.held is not None:  # a thinking block, held until its signature
            blk.held_events.append(event)
            if not self._within_bound(blk, len(event.data)):
                return []
        else:
            out.append(event)
        return out

    def _within_bound(self, blk: Block, size: int) -> bool:
        """A held block grows with upstream input: past ``max_held`` characters the stream fails
        (F09) instead of holding an upstream's endless tool input or thinking in memory."""
        self.held_grew = True
        blk.held_size += size
        if blk.held_size <= self.max_held:
            return True
        self._fail(
            "F09",
            "api_error",
            f"the upstream's {blk.type} block exceeds {self.max_held} characters while held "
            "whole (limits.max_event_bytes)",
        )
        return False

    def _lost_start(self, payload: dict[str, Any], data: str, frame: bytes | None) -> list[Event]:
        """The next block's content_block_start was lost (or never sent): the delta says what the
        block was, and dropping its deltas would complete the message without them."""
        up = payload["index"]
        dtype = payload["delta"]["type"]
        self.anomalies.record(
            "F12", f"{dtype} for block {up}, never started; a block opened for it"
        )
        block = dict(DELTA_HOME_BLOCK[dtype])
        start = {"type": CONTENT_BLOCK_START, "index": up, "content_block": block}
        out = self._on_block_start(start, orjson.dumps(start).decode(), None)
        if self._open is None:
            return out
        return out + self._on_delta(payload, data, frame)

    def _on_block_stop(
        self, payload: dict[str, Any], data: str, frame: bytes | None
    ) -> list[Event]:
        up = payload.get("index")
        if type(up) is not int:
            return self._without_int_index(payload, self._on_block_stop)
        blk = self._by_upstream.get(up)
        if blk is not None and blk.dropped:
            blk.open = False
            return []
        if blk is None or not blk.open:
            self.anomalies.record(
                "F12", f"content_block_stop for {'closed' if blk else 'unknown'} block {up} dropped"
            )
            return []
        out = self._end_splice() if blk is self._open else []
        if self.failed:
            return out
        stop = Event(CONTENT_BLOCK_STOP, data, payload, frame) if blk.index == up else None
        return out + self._close_block(blk, stop, upstream_stop=True)

    def _without_int_index(
        self,
        payload: dict[str, Any],
        handler: Callable[[dict[str, Any], str, bytes | None], list[Event]],
    ) -> list[Event]:
        """A delta or stop whose index is no integer. One sent as ``"1"`` or ``1.0`` is read as
        the number it spells, and sent on as one, since clients index their block lists with it;
        one with no index at all belongs to the open block, the only one a delta can extend."""
        value = payload.get("index", _MISSING)
        index = _int_index(value)
        if index is not None:
            self.anomalies.record("F12", f"block index {value!r} is not an integer; {index} read")
        elif (
            value in (_MISSING, None) and self._open is not None and self._open.upstream_index >= 0
        ):
            index = self._open.upstream_index
            self.anomalies.record("F12", f"{payload['type']} without index; the open block's")
        else:
            self.anomalies.record(
                "F12", f"{payload['type']} with block index {_show(value)} dropped"
            )
            return []
        payload["index"] = index
        return handler(payload, orjson.dumps(payload).decode(), None)

    def _close_open(
        self, why: str, *, record: bool = True, stop_reason: str | None = None
    ) -> list[Event]:
        blk = self._open
        if blk is None:
            return []
        out = self._end_splice()
        if self.failed:
            return out
        if record and not (blk.held is not None and stop_reason not in (None, "tool_use")):
            self.anomalies.record("F16", f"block {blk.upstream_index} not stopped before {why}")
        return out + self._close_block(blk, None, stop_reason=stop_reason)

    def _close_block(
        self,
        blk: Block,
        stop: Event | None,
        *,
        upstream_stop: bool = False,
        stop_reason: str | None = None,
    ) -> list[Event]:
        """``upstream_stop``: the upstream's own content_block_stop; ``stop_reason``: the
        upstream's message_delta ended the message inside the block."""
        blk.open = False
        if self._open is blk:
            self._open = None
        if stop is None:
            stop = Event.of({"type": CONTENT_BLOCK_STOP, "index": blk.index})
        if upstream_stop and blk.type == "thinking" and not blk.signature:
            # Hold the stop one event: a late signature_delta must still land inside (F27).
            self._pending_stop = (blk, stop)
            return []
        if blk.held is None:
            return [stop]
        if blk.type in TOOL_BLOCKS:
            return self._release_tool(blk, stop, stop_reason, upstream_stop=upstream_stop)
        if blk.type == "thinking":
            return self._release_held(blk, stop)
        self._discard(blk)  # a continuation's text block the splice left with nothing to send
        self._check = None
        self.resume = Resume.NONE
        return []

    def _release_held(self, blk: Block, stop: Event) -> list[Event]:
        out = [*blk.held_events, stop]
        blk.held = None
        blk.held_events.clear()
        return out

    def _release_tool(
        self,
        blk: Block,
        stop: Event,
        stop_reason: str | None = None,
        *,
        upstream_stop: bool = False,
    ) -> list[Event]:
        start = blk.held
        assert start is not None
        text = "".join(blk.json_parts)
        if text:
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None
            if type(value) is not dict:
                if upstream_stop:
                    # A stop reason may follow that makes the cut input legitimate (F14).
                    self._pending_stop = (blk, stop)
                    return []
                if stop_reason in (None, "tool_use"):
                    self._discard(blk)  # the client never saw it
                    self._fail(
                        "F14",
                        "api_error",
                        f"the upstream's {blk.type} input JSON is incomplete or invalid "
                        f"({len(text)} characters ending {text[-40:]!r})",
                    )
                    return []
                # max_tokens, pause_turn...: the upstream ended the message inside the call.
                self._cut_tool_reason = stop_reason
                self.anomalies.record(
                    "F14",
                    f"{blk.type} input cut by stop_reason {stop_reason}; sent as the upstream sent it",
                )
        tool_id = start["content_block"].get("id")
        if type(tool_id) is str:
            if tool_id in self._tool_ids:
                self.anomalies.record("F14", f"duplicate tool call {tool_id} dropped")
                self._discard(blk)
                return []
            self._tool_ids.add(tool_id)
        blk.held = None
        out = [Event.of(start)]
        if text:
            out.append(
                Event.of(
                    {
                        "type": CONTENT_BLOCK_DELTA,
                        "index": blk.index,
                        "delta": {"type": "input_json_delta", "partial_json": text},
                    }
                )
            )
        out.append(stop)
        return out

    def _discard(self, blk: Block) -> None:
        """Forget a held block the client never saw; its index is free again."""
        self.blocks.remove(blk)
        self._next_index = blk.index
        for up, b in list(self._by_upstream.items()):
            if b is blk:
                del self._by_upstream[up]

    def _flush_pending_stop(
        self, etype: str | None = None, payload: dict[str, Any] | None = None
    ) -> list[Event]:
        """Send the stop held one event, now that the next event (``etype``) is known."""
        pending = self._pending_stop
        if pending is None:
            return []
        self._pending_stop = None
        blk, stop = pending
        if blk.held is None:
            return [stop]
        if blk.type in TOOL_BLOCKS:
            reason = None
            if etype == MESSAGE_DELTA and payload is not None:
                delta = payload.get("delta")
                reason = delta.get("stop_reason") if type(delta) is dict else None
            return self._release_tool(blk, stop, reason if type(reason) is str else None)
        return self._release_held(blk, stop)

    def _fail(
        self,
        fault: str,
        error_type: str,
        message: str,
        upstream_error: dict[str, Any] | None = None,
    ) -> None:
        if self.phase is Phase.ENDED:
            # The message is whole and its end sent: what comes after cannot undo it (F23b).
            self.anomalies.record("F23b", f"after message_stop, ignored: {message}")
            return
        self.anomalies.record(fault, message)
        self.failure = Failure(fault, error_type, message, upstream_error)
        self.phase = Phase.FAILED
        self._check = None
        self.resume = Resume.NONE
        blk = self._open
        if blk is not None and blk.held is not None:
            self._open = None
            self._discard(blk)  # the client never saw it
        pending = self._pending_stop
        if pending is not None and pending[0].held is not None:
            self._pending_stop = None
            self._discard(pending[0])


_Handler = Callable[[Repairer, dict[str, Any], str, bytes | None], list[Event]]
_HANDLERS: dict[str, _Handler] = {
    CONTENT_BLOCK_DELTA: Repairer._on_delta,
    CONTENT_BLOCK_START: Repairer._on_block_start,
    CONTENT_BLOCK_STOP: Repairer._on_block_stop,
    MESSAGE_START: Repairer._on_message_start,
    MESSAGE_DELTA: Repairer._on_message_delta,
    MESSAGE_STOP: Repairer._on_message_stop,
    PING: Repairer._on_ping,
    ERROR: Repairer._on_error,
}
# The one known event the configuration may drop (it carries nothing; the gateway pings an idle
# client itself): without its handler it is dropped as the unknown events listed are.
_HANDLERS_BUT_PING = {name: h for name, h in _HANDLERS.items() if name != PING}
_MISSING: Any = object()
_FAILED = Phase.FAILED
_ENDED = Phase.ENDED
# NamedTuple's generated __new__ costs as much as the rest of a delta's repair.
_new_event = tuple.__new__


def _is_number(value: object) -> bool:
    t = type(value)
    return t is int or t is float


def _show(value: object) -> str:
    return "missing" if value is _MISSING else repr(value)


__all__ = ["Block", "Failure", "Phase", "Repairer"]
