"""``redact``: secrets masked in the answer's text and tool input as they stream, holding back
no more than the longest possible match, so a secret never reaches the client, not even in
pieces across deltas.

Thinking is left as it is: a thinking block is signed, and a changed one would be refused when
the client sends it back next turn.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sseguard.config.policy_specs import RedactSpec
from sseguard.observe.record import Decision
from sseguard.policy.base import Policy, PolicyContext
from sseguard.policy.masking import DEFAULT_PATTERNS, StreamMasker, pattern
from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    Event,
)

# The delta type that carries a masked block's content, and the field its text is in.
_FIELDS = {"text_delta": "text", "input_json_delta": "partial_json"}


class _Masking:
    """One request's maskers, by block index, and what they found."""

    __slots__ = ("found", "maskers")

    def __init__(self) -> None:
        self.maskers: dict[int, tuple[StreamMasker, str]] = {}  # index → masker, delta type
        self.found: Counter[str] = Counter()


class Redact(Policy):
    def __init__(self, spec: RedactSpec, place: int) -> None:
        super().__init__(spec, place)
        own = tuple(pattern(name, regex) for name, regex in spec.patterns.items())
        self.patterns = (DEFAULT_PATTERNS if spec.defaults else ()) + own
        self.mask = spec.mask
        self.kinds = {"text"} | ({"tool_use"} if spec.tool_input else set())

    def events(self, ctx: PolicyContext, events: list[Event]) -> list[Event]:
        state: _Masking | None = ctx.state.get(self.place)
        if state is None:
            state = ctx.state[self.place] = _Masking()
        maskers = state.maskers
        out: list[Event] = []
        for ev in events:
            kind = ev.type
            if kind == CONTENT_BLOCK_DELTA:
                index = ev.payload.get("index")
                entry = maskers.get(index) if isinstance(index, int) else None
                delta = ev.payload.get("delta") or {}
                field = _FIELDS.get(delta.get("type", ""))
                if entry is None or field is None:
                    out.append(ev)
                    continue
                given = delta.get(field)
                sent = entry[0].feed(given if isinstance(given, str) else "")
                if sent == given:
                    out.append(ev)  # nothing masked or held: the event as it came
                elif sent:
                    out.append(_delta(ev.payload, delta, field, sent))
            elif kind == CONTENT_BLOCK_START:
                out.extend(self._start(ev, maskers))
            elif kind == CONTENT_BLOCK_STOP:
                index = ev.payload.get("index")
                entry = maskers.pop(index, None) if isinstance(index, int) else None
                if entry is not None:
                    masker, delta_type = entry
                    rest = masker.flush()
                    state.found.update(masker.masked)
                    if rest:
                        field = _FIELDS[delta_type]
                        payload = {"type": delta_type, field: rest}
                        out.append(
                            Event.of(
                                {"type": CONTENT_BLOCK_DELTA, "index": index, "delta": payload}
                            )
                        )
                out.append(ev)
            else:
                out.append(ev)
        return out

    def _start(self, ev: Event, maskers: dict[int, tuple[StreamMasker, str]]) -> list[Event]:
        block = ev.payload.get("content_block") or {}
        index = ev.payload.get("index")
        kind = block.get("type")
        if kind not in self.kinds or not isinstance(index, int):
            return [ev]
        masker = StreamMasker(self.patterns, self.mask)
        delta_type = "text_delta" if kind == "text" else "input_json_delta"
        maskers[index] = (masker, delta_type)
        text = block.get("text")
        if kind != "text" or not isinstance(text, str) or not text:
            return [ev]
        sent = masker.feed(text)  # a start that carries text: masked like a delta
        if sent == text:
            return [ev]
        return [Event.of({**ev.payload, "content_block": {**block, "text": sent}})]

    def complete(self, ctx: PolicyContext) -> None:
        state: _Masking | None = ctx.state.get(self.place)
        if state is None:
            return
        for masker, _ in state.maskers.values():  # blocks the stream never closed
            state.found.update(masker.masked)
        for name, count in sorted(state.found.items()):
            ctx.decide(
                Decision(self.name, "mask", name, f"{count} match{'es' if count > 1 else ''}")
            )


def _delta(payload: dict[str, Any], delta: dict[str, Any], field: str, sent: str) -> Event:
    return Event.of({**payload, "delta": {**delta, field: sent}})
