"""The probe's judgement of what an endpoint answered, without I/O: the streaming body run through
the repair pipeline event by event (timed, each repair tied to its bytes), and the checks of status
lines, content types, the non-streaming Message and count_tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from sseguard.probe.findings import Findings, escape, scan_framing
from sseguard.protocol.events import CONTENT_BLOCK_DELTA, PING, Event
from sseguard.protocol.grammar import violations
from sseguard.protocol.stream import StreamRepair
from sseguard.sse.decoder import SSEEvent
from sseguard.sse.errors import SSEEventTooLarge

STREAMING = "streaming"
NON_STREAMING = "non-streaming"
COUNT_TOKENS = "count_tokens"
QUIET_LIMIT = 10.0  # seconds of silence after which idle intermediaries and clients give up (F22)
_SSE_STARTS = (b"event:", b"data:", b":", b"\xef\xbb\xbf", b"id:", b"retry:")
# Statuses that say the request itself was refused: the probe learnt nothing about the stream.
_REFUSED = frozenset({400, 401, 403, 404, 405, 413, 415, 422})


class ProbeFailed(Exception):
    """The probe could not run (exit 2): the message says what failed, never with the key."""


class StreamAnalysis:
    """The streaming answer as it arrives: decoded, repaired and timed event by event.

    Times are seconds since the request was sent. The caller feeds body chunks with their arrival
    time, then calls ``cut`` (transport failure) or nothing, then ``finish``.
    """

    def __init__(self, findings: Findings, head_at: float) -> None:
        self.findings = findings
        self.head_at = head_at
        self.pipeline = StreamRepair()
        self.body = bytearray()
        self.events: Counter[str] = Counter()
        self.output: list[Event] = []
        self.event_times: list[float] = []
        self.ping_times: list[float] = []
        self.first_event: float | None = None
        self.first_delta: float | None = None
        self.end: float | None = None
        self.grammar: list[str] = []  # violations left in the repaired output: a repair-layer bug
        self._failure_seen = False
        # The last chunk carried no event, whole or in part (keep-alive comments only): a stall
        # is timed from the last chunk that did (F21), as the gateway times it.
        self.quiet = False

    @property
    def failed(self) -> bool:
        """The repairer gave up: nothing later in the body changes the verdict."""
        return self.pipeline.repairer.failed

    def feed(self, chunk: bytes, at: float) -> None:
        self.body += chunk
        try:
            incoming = self.pipeline.decoder.feed(chunk)
        except SSEEventTooLarge as exc:
            self._take(exc.events, at)
            message = str(exc)
            self._step(exc.head, lambda: self._fail("F09", message))
            return
        self.quiet = not incoming and not self.pipeline.decoder.mid_event
        self._take(incoming, at)

    def cut(self, fault: str, message: str) -> None:
        """A transport failure (F20 close, F21 stall) ends the stream; it is the verdict, not F16."""
        tail = bytes(self.body[-80:])
        self.findings.add(fault, STREAMING, message, tail)
        self._failure_seen = True  # the transport finding above already names it
        self._fail(fault, message)

    def finish(self, at: float) -> None:
        self.end = at
        self._step(bytes(self.body[-80:]), self.pipeline.close)
        scan_framing(bytes(self.body), self.findings, STREAMING)
        repairer = self.pipeline.repairer
        if repairer.ended and not repairer.failed:
            self.grammar = violations(self.output)
        gaps = self._gaps()
        if gaps and max(gaps) > QUIET_LIMIT:
            self.findings.add(
                "F22",
                STREAMING,
                f"{max(gaps):.1f} s without an event (idle proxies and clients cut quiet streams)",
            )

    def summary(self) -> dict[str, Any]:
        repairer = self.pipeline.repairer
        gaps = self._gaps()
        pings = [b - a for a, b in zip(self.ping_times, self.ping_times[1:], strict=False)]
        if repairer.failure is not None:
            ended = f"no: {repairer.failure.fault}: {repairer.failure.message}"
        elif repairer.ended:
            ended = "yes (message_stop)"
        else:
            ended = "no"
        return {
            "first_event_s": _round(self.first_event),
            "ttft_s": _round(self.first_delta),
            "total_s": _round(self.end),
            "bytes": len(self.body),
            "events": dict(self.events),
            "pings": len(self.ping_times),
            "ping_intervals_s": [round(p, 3) for p in pings],
            "longest_silence_s": round(max(gaps), 3) if gaps else None,
            "ended_properly": repairer.ended and repairer.failure is None,
            "ending": ended,
            "repaired_output_violations": self.grammar,
        }

    def text(self) -> str:
        """The answer's text, as the repaired stream carries it."""
        deltas = (ev.payload.get("delta") for ev in self.output if ev.type == CONTENT_BLOCK_DELTA)
        return "".join(
            str(d.get("text", ""))
            for d in deltas
            if isinstance(d, dict) and d.get("type") == "text_delta"
        )

    def _gaps(self) -> list[float]:
        """Silences between events, the first counted from the response head."""
        return [
            b - a for a, b in zip([self.head_at, *self.event_times], self.event_times, strict=False)
        ]

    def _take(self, incoming: Iterable[SSEEvent], at: float) -> None:
        repairer = self.pipeline.repairer
        for sse in incoming:
            self.events[sse.event or "(no event: line)"] += 1
            self.event_times.append(at)
            if self.first_event is None:
                self.first_event = at
            if repairer.failed:
                continue
            for ev in self._step(sse.raw, lambda sse=sse: repairer.feed(sse)):
                if ev.type == CONTENT_BLOCK_DELTA and self.first_delta is None:
                    self.first_delta = at
                elif ev.type == PING:
                    self.ping_times.append(at)

    def _step(
        self, raw: bytes, action: Callable[[], list[Event]] | Callable[[], None]
    ) -> list[Event]:
        """Run one repairer step and record what it added, tied to the bytes that caused it."""
        log = self.pipeline.repairer.anomalies
        before = {a.fault: (a.count, len(a.details)) for a in log}
        out = action() or []
        for a in log:
            count, seen = before.get(a.fault, (0, 0))
            if a.count == count:
                continue
            new = a.details[seen:] or [a.detail]
            self.findings.add(a.fault, STREAMING, new[0], raw, count=a.count - count)
            for detail in new[1:]:
                self.findings.add(a.fault, STREAMING, detail, raw, count=0)
        failure = self.pipeline.repairer.failure
        if failure is not None and not self._failure_seen:
            self._failure_seen = True
            self.findings.add(failure.fault, STREAMING, failure.message, raw)
        self.output += out
        return out

    def _fail(self, fault: str, message: str) -> None:
        error_type = "timeout_error" if fault == "F21" else "api_error"
        self.pipeline.repairer.fail(fault, error_type, message)


def looks_html(content_type: str, body: bytes) -> bool:
    head = body.lstrip()[:15].lower()
    return "html" in content_type or head.startswith((b"<!doctype", b"<html", b"<"))


def looks_sse(body: bytes) -> bool:
    return body.lstrip(b"\r\n").startswith(_SSE_STARTS)


def check_error_status(
    where: str,
    status: int,
    content_type: str,
    body: bytes,
    retry_after: str | None,
    findings: Findings,
) -> None:
    """A non-200 answer: which fault it is, or ``ProbeFailed`` when the request itself was refused."""
    if looks_html(content_type, body):
        findings.add("F26", where, f"HTTP {status} with an HTML page ({content_type})", body)
        return
    kind, message = error_of(body)
    if status in _REFUSED:
        raise ProbeFailed(
            f"the endpoint refused the {where} request: HTTP {status} {kind}: {message}"
            " (check the URL, --auth, the key and --model)"
        )
    if kind == "?":
        findings.add(
            "F26", where, f"HTTP {status} with a body that is not Anthropic error JSON", body
        )
    if status == 429:
        after = f"retry-after: {retry_after}" if retry_after else "no retry-after header"
        findings.add("F19", where, f"HTTP 429 {kind}: {message} ({after})", body)
    else:
        findings.add("F18", where, f"HTTP {status} {kind}: {message}", body)


def check_message(body: bytes, findings: Findings) -> dict[str, Any] | None:
    """The non-streaming answer must be one JSON Message (F25 when it is not, F15 for its usage)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        findings.add("F26", NON_STREAMING, "the answer to stream:false is not JSON", body)
        return None
    if not isinstance(value, dict):
        findings.add("F25", NON_STREAMING, "the answer to stream:false is not a JSON object", body)
        return None
    if value.get("type") == "error":
        findings.add("F17", NON_STREAMING, "an error object with HTTP 200", body)
        return None
    problems = []
    if value.get("type") != "message":
        problems.append(f"type is {value.get('type')!r}")
    if value.get("role") != "assistant":
        problems.append(f"role is {value.get('role')!r}")
    content = value.get("content")
    if not isinstance(content, list) or not all(
        isinstance(b, dict) and isinstance(b.get("type"), str) for b in content
    ):
        problems.append("content is not a list of typed blocks")
    if "stop_reason" not in value:
        problems.append("no stop_reason")
    if problems:
        findings.add("F25", NON_STREAMING, "not a Message: " + "; ".join(problems), body)
    usage = value.get("usage")
    if not isinstance(usage, dict):
        findings.add("F15", NON_STREAMING, f"usage is {usage!r}", body)
    else:
        for key in ("input_tokens", "output_tokens"):
            if not isinstance(usage.get(key), int):
                findings.add("F15", NON_STREAMING, f"usage.{key} is {usage.get(key)!r}", body)
    return value


def error_of(body: bytes) -> tuple[str, str]:
    """The Anthropic error type and message of an error body; ``?`` and an excerpt for anything else."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "?", escape(body, 80)
    error = value.get("error") if isinstance(value, dict) else None
    if not isinstance(error, dict):
        return "?", escape(body, 80)
    return str(error.get("type")), str(error.get("message"))[:200]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
