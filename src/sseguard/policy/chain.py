"""A route's policies applied in order to one request, and the sink that puts them between the
exchange and the client.

Sync policies run inside whatever write the exchange makes, the relay's direct one included, so a
route whose policies only look at events keeps the fast path. A policy that judges tool calls
needs to wait: its route writes through the awaited path, and each tool call is held whole while
its judgement runs. What came before the call is sent first, so the client is committed and the
gateway's pings keep it alive while the judge thinks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from sseguard.errors import GatewayError
from sseguard.observe.record import Decision
from sseguard.policy.base import Policy, PolicyContext, PolicyError, ToolCall
from sseguard.policy.blocked import blocked_call
from sseguard.protocol.events import (
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    ERROR,
    MESSAGE_DELTA,
    MESSAGE_STOP,
    Event,
)

Write = Callable[[list[Event]], Awaitable[None]]
_ENDS = frozenset({ERROR, MESSAGE_DELTA, MESSAGE_STOP})


class PolicyChain:
    """Stateless, one per route; ``PolicyContext`` carries a request's state."""

    __slots__ = ("_watching", "holds", "policies")

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = tuple(policies)
        self.holds = any(p.judges_tools for p in self.policies)
        # Only the policies that look at events are called per event.
        self._watching = tuple(p for p in self.policies if type(p).events is not Policy.events)

    def request(self, ctx: PolicyContext, body: dict[str, Any]) -> dict[str, Any]:
        """Each policy's request hook in order; a refusal is a ``GatewayError`` for the client."""
        for p in self.policies:
            try:
                body = p.request(ctx, body)
            except GatewayError:
                raise
            except Exception as exc:
                self._failed(ctx, p, exc)
        ctx.body = body
        return body

    def feed(self, ctx: PolicyContext, events: list[Event]) -> list[Event]:
        """A chain without tool judges: every policy's event hook, synchronously."""
        off = ctx.off
        for p in self._watching:
            if off and p.place in off:
                continue
            try:
                events = p.events(ctx, events)
            except Exception as exc:
                self._failed(ctx, p, exc)
            if not events:
                break
        return events

    async def run(self, ctx: PolicyContext, events: list[Event], write: Write) -> None:
        """A chain with tool judges: the events through every stage, whole tool calls awaited."""
        await self._from(0, ctx, events, write)

    def complete(self, ctx: PolicyContext) -> None:
        for p in self.policies:
            try:
                p.complete(ctx)
            except Exception as exc:  # the request is over: nothing left to close, only to say
                ctx.decide(Decision(p.name, "error", reason=_failure(exc)))
        rec = ctx.record
        if ctx.tools_blocked and not ctx.tools_passed and rec.stop_reason == "tool_use":
            rec.stop_reason = "end_turn"  # what the client was told

    async def _from(self, i: int, ctx: PolicyContext, events: list[Event], write: Write) -> None:
        policies = self.policies
        off = ctx.off
        while i < len(policies) and events:
            p = policies[i]
            i += 1
            if off and p.place in off:
                continue
            if p.judges_tools:
                events = await self._hold_calls(i, p, ctx, events, write)
            else:
                try:
                    events = p.events(ctx, events)
                except Exception as exc:
                    self._failed(ctx, p, exc)
        if events:
            await write(_told(ctx, events))

    async def _hold_calls(
        self, after: int, p: Policy, ctx: PolicyContext, events: list[Event], write: Write
    ) -> list[Event]:
        """Pass events on, but each tool_use block only once ``p`` decided on it whole; what
        precedes a call goes out (through the later stages) before its judgement is awaited."""
        held: list[Event] | None = ctx.state.get(p.place)
        out: list[Event] = []
        for ev in events:
            kind = ev.type
            if held is not None:
                if kind in _ENDS:  # a call cut off: never sent, and never to be
                    held = None
                    out.append(ev)
                    continue
                held.append(ev)
                if kind == CONTENT_BLOCK_STOP:
                    if out:
                        await self._from(after, ctx, out, write)
                    out = await self._decide(p, ctx, held)
                    held = None
                continue
            if kind == CONTENT_BLOCK_START and _is_tool_use(ev):
                held = [ev]
                continue
            out.append(ev)
        ctx.state[p.place] = held
        return out

    async def _decide(self, p: Policy, ctx: PolicyContext, held: list[Event]) -> list[Event]:
        call = _tool_call(held)
        try:
            verdict = await p.tool_call(ctx, call)
        except Exception as exc:
            self._failed(ctx, p, exc)
            return held
        if verdict is None:
            return held
        ctx.tools_blocked += 1
        return blocked_call(call, p.name, verdict.reason)

    def _failed(self, ctx: PolicyContext, p: Policy, exc: Exception) -> None:
        """A policy broke: closed, the request ends; open, it goes on without that policy."""
        if not p.fails_open:
            ctx.decide(Decision(p.name, "error", reason=_failure(exc)))
            raise PolicyError(p.name, exc) from exc
        ctx.off.add(p.place)
        ctx.decide(Decision(p.name, "error", reason=f"{_failure(exc)}; failed open"))


class PolicySink:
    """The exchange's sink with a route's policies in front of the client's."""

    __slots__ = ("_chain", "_ctx", "_inner", "streaming")

    def __init__(self, inner: Any, chain: PolicyChain, ctx: PolicyContext) -> None:
        self._inner = inner
        self._chain = chain
        self._ctx = ctx
        self.streaming: bool = inner.streaming

    @property
    def committed(self) -> bool:
        return bool(self._inner.committed)

    @property
    def last_write(self) -> float:
        return float(self._inner.last_write)

    @property
    def can_write_now(self) -> Callable[[], bool]:
        if self._chain.holds:
            return _cannot  # a judge may have to be awaited: every write goes the awaited way
        check: Callable[[], bool] = self._inner.can_write_now
        return check

    def write_now(self, events: list[Event]) -> None:
        out = self._chain.feed(self._ctx, events)
        if out:
            self._inner.write_now(out)

    async def write(self, events: list[Event]) -> None:
        chain = self._chain
        if chain.holds:
            await chain.run(self._ctx, events, self._inner.write)
            return
        out = chain.feed(self._ctx, events)
        if out:
            await self._inner.write(out)

    async def ping(self) -> None:
        await self._inner.ping()


def _told(ctx: PolicyContext, events: list[Event]) -> list[Event]:
    """Counts the tool calls the client gets; a ``tool_use`` stop reason with every call of the
    message blocked becomes ``end_turn``, for no call is left for the client to answer."""
    for k, ev in enumerate(events):
        kind = ev.type
        if kind == CONTENT_BLOCK_START:
            if _is_tool_use(ev):
                ctx.tools_passed += 1
        elif kind == MESSAGE_DELTA and ctx.tools_blocked and not ctx.tools_passed:
            delta = ev.payload.get("delta") or {}
            if delta.get("stop_reason") == "tool_use":
                events = list(events)
                payload = {**ev.payload, "delta": {**delta, "stop_reason": "end_turn"}}
                events[k] = Event.of(payload)
    return events


def _is_tool_use(ev: Event) -> bool:
    block = ev.payload.get("content_block")
    return isinstance(block, dict) and block.get("type") == "tool_use"


def _tool_call(held: list[Event]) -> ToolCall:
    start = held[0].payload
    block = start.get("content_block") or {}
    partial = "".join(
        str(ev.payload.get("delta", {}).get("partial_json", ""))
        for ev in held
        if ev.type == "content_block_delta"
    )
    given: Any
    try:
        given = orjson.loads(partial) if partial.strip() else block.get("input", {})
    except orjson.JSONDecodeError:
        given = None
    return ToolCall(
        int(start.get("index", 0)),
        str(block.get("id", "")),
        str(block.get("name", "")),
        given,
        held,
    )


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _cannot() -> bool:
    return False
