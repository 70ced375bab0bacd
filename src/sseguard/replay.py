"""``sseguard replay``: run a captured stream through the decoder and the repairer, step by step.

Takes a ``.sse`` capture or ``curl -N`` output (HTTP headers before the body are skipped) and tells,
for every upstream event, what went out and which fault ID it triggered. No I/O beyond
the caller's: this module turns bytes into a report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.events import Event
from sseguard.protocol.finalize import finalize
from sseguard.protocol.repair import Repairer
from sseguard.sse import SSEDecoder, SSEEvent, SSEEventTooLarge


@dataclass(slots=True)
class Step:
    """One upstream event and its consequences."""

    incoming: SSEEvent | None  # None for the end of the stream
    outgoing: list[Event]
    anomalies: dict[str, int]  # new anomaly counts this step added, by fault ID
    details: list[str]


@dataclass(slots=True)
class Replay:
    steps: list[Step] = field(default_factory=list)
    ending: list[Event] = field(default_factory=list)  # truthful ending added when it broke
    repairer: Repairer = field(default_factory=Repairer)

    @property
    def output(self) -> list[Event]:
        return [e for s in self.steps for e in s.outgoing] + self.ending

    def verdict(self) -> str:
        r = self.repairer
        if r.ended and not self.ending:
            faults = ", ".join(f"{k}×{v}" for k, v in r.anomalies.counts().items())
            return "complete" + (f" after repairs ({faults})" if faults else ", nothing to repair")
        cause = r.failure
        why = f"{cause.fault}: {cause.message}" if cause else "the stream broke off"
        return f"broken: {why}"


def strip_http_head(raw: bytes) -> bytes:
    """``curl -i`` output starts with a status line and headers; the SSE body follows a blank line."""
    if raw.startswith(b"HTTP/"):
        for sep in (b"\r\n\r\n", b"\n\n"):
            cut = raw.find(sep)
            if cut >= 0:
                return raw[cut + len(sep) :]
    return raw


def read_source(source: Path) -> list[tuple[str, bytes]]:
    """The byte streams to replay: one file (or stdin, for ``-``), or every upstream response of a
    gateway capture folder, labelled by attempt."""
    if str(source) == "-":
        return [("", sys.stdin.buffer.read())]
    if not source.is_dir():
        return [("", source.read_bytes())]
    attempts = sorted(
        source.glob("upstream-*-response.sse"), key=lambda p: int(p.name.split("-")[1])
    )
    if not attempts:
        raise ValueError(f"{source} holds no upstream-N-response.sse: not a capture folder")
    return [
        (f"upstream attempt {p.name.split('-')[1]} ({p.name})", p.read_bytes()) for p in attempts
    ]


def replay(raw: bytes, *, atomic_tools: bool = True) -> Replay:
    result = Replay(repairer=Repairer(atomic_tools=atomic_tools))
    repairer = result.repairer
    decoder = SSEDecoder(keep_partial=True)
    try:
        incoming = decoder.feed(strip_http_head(raw)) + decoder.close()
    except SSEEventTooLarge as exc:
        incoming = exc.events
        repairer.fail("F09", "api_error", str(exc))
    for sse in incoming:
        result.steps.append(_step(repairer, sse))
    result.steps.append(_step(repairer, None))
    if not repairer.ended:
        result.ending = finalize(repairer, "error")
    return result


def _step(repairer: Repairer, sse: SSEEvent | None) -> Step:
    """Feed one event (or the end of the stream, for None) and note what it changed."""
    before = repairer.anomalies.counts()
    details_before = {a.fault: len(a.details) for a in repairer.anomalies}
    out = repairer.feed(sse) if sse is not None else repairer.close()
    after = repairer.anomalies.counts()
    new = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    details = [
        f"{a.fault}: {d}"
        for a in repairer.anomalies
        for d in a.details[details_before.get(a.fault, 0) :]
    ]
    return Step(sse, out, new, details)


def client_view(result: Replay, client: str) -> str:
    """What a client of the given format shows its user for the repaired stream."""
    acc = Accumulator()
    error: dict[str, Any] | None = None
    for ev in result.output:
        if ev.type == "error":
            error = ev.payload.get("error")
        else:
            acc.feed(ev)
    message = acc.message() if acc.started else None
    lines: list[str] = []
    if message is not None:
        for block in message["content"]:
            if block["type"] == "text":
                lines.append(block["text"])
            elif block["type"] in ("tool_use", "server_tool_use", "mcp_tool_use"):
                lines.append(f"[{block['type']} {block.get('name')}({block.get('input')})]")
            elif block["type"] == "thinking":
                lines.append(f"[thinking: {len(block.get('thinking', ''))} characters]")
        stop = message.get("stop_reason")
        if client == "openai":
            stop = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}.get(
                stop or "", stop
            )
            lines.append(f"[finish_reason: {stop}]")
        else:
            lines.append(f"[stop_reason: {stop}]")
    if error is not None:
        lines.append(f"[error {error.get('type')}: {error.get('message')}]")
    return "\n".join(lines)


def _short(text: str, width: int = 96) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def report_text(result: Replay) -> str:
    """A terminal report: each upstream event, what went out for it, and why."""
    lines: list[str] = []
    for n, step in enumerate(result.steps):
        if step.incoming is None:
            if step.outgoing or step.details:
                lines.append("end of stream")
        else:
            name = step.incoming.event or "(no event: line)"
            lines.append(f"in  #{n:<4} {name:20} {_short(step.incoming.data)}")
        for ev in step.outgoing:
            lines.append(f"  out      {ev.type:20} {_short(ev.data)}")
        if step.incoming is not None and not step.outgoing:
            lines.append("  out      (nothing)")
        for detail in step.details:
            lines.append(f"  !        {detail}")
    for ev in result.ending:
        lines.append(f"  end      {ev.type:20} {_short(ev.data)}")
    counts = result.repairer.anomalies.counts()
    lines.append("")
    lines.append(f"verdict:   {result.verdict()}")
    lines.append(
        "anomalies: " + (", ".join(f"{k}×{v}" for k, v in counts.items()) if counts else "none")
    )
    return "\n".join(lines)


def report_json(result: Replay) -> str:
    steps = [
        {
            "in": None
            if s.incoming is None
            else {"event": s.incoming.event, "data": s.incoming.data},
            "out": [{"event": e.type, "data": e.data} for e in s.outgoing],
            "anomalies": s.anomalies,
            "details": s.details,
        }
        for s in result.steps
    ]
    return orjson.dumps(
        {
            "verdict": result.verdict(),
            "complete": result.repairer.ended and not result.ending,
            "anomalies": result.repairer.anomalies.counts(),
            "steps": steps,
            "ending": [{"event": e.type, "data": e.data} for e in result.ending],
        },
        option=orjson.OPT_INDENT_2,
    ).decode()
