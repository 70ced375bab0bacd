"""One client request driven through upstream attempts: retry and fall back before commit, resume
or end truthfully after it, pings throughout.

Async and small: the decisions come from the pure layers (``Repairer`` state, ``verdicts``); this
module only waits, reads, writes and counts. The client side is a ``Sink`` so the same driver serves
streaming and non-streaming clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sseguard.config import Config, Deployment, Route, Timeouts
from sseguard.errors import GatewayError
from sseguard.observe import tracing
from sseguard.observe.capture import Capture, UpstreamCapture
from sseguard.observe.record import Attempt, RequestRecord
from sseguard.protocol.events import MESSAGE_START, PING, Event
from sseguard.protocol.finalize import finalize
from sseguard.protocol.render import render
from sseguard.protocol.repair import Failure, Phase, Repairer, Resume
from sseguard.protocol.stream import StreamRepair, Translator
from sseguard.resilience import verdicts
from sseguard.resilience.breaker import Breakers
from sseguard.resilience.continuation import (
    ContinuationMemory,
    instruct_body,
    prefill_body,
    refuses_prefill,
)
from sseguard.resilience.pinger import Pinger
from sseguard.resilience.relay import Diversion, Relay
from sseguard.resilience.watchdog import Watchdog
from sseguard.sse import SSEEvent
from sseguard.translate.errors import TranslationError
from sseguard.upstream.client import (
    UpstreamClient,
    UpstreamResponse,
    UpstreamSilent,
    UpstreamUnreachable,
)
from sseguard.upstream.formats import UpstreamFormat, format_of
from sseguard.upstream.redact import redact
from sseguard.upstream.request import build

MAX_JSON_BODY = 64 * 1024 * 1024
MESSAGE_PHASE = Phase.MESSAGE


class Sink(Protocol):
    """Where repaired events go: a streaming client response, or a collector for ``stream: false``."""

    streaming: bool
    committed: bool
    last_write: float

    async def write(self, events: list[Event]) -> None: ...

    @property
    def can_write_now(self) -> Callable[[], bool]:
        """Says whether ``write_now`` would not have to wait for the client. Looked up once per
        diversion and called once per event, so a sink may hand out the check of what it writes
        to (an attribute set when it commits) instead of a method that calls it."""
        ...

    def write_now(self, events: list[Event]) -> None:
        """``write`` from a plain callback; only right after ``can_write_now()`` said True."""
        ...

    async def ping(self) -> None: ...


@dataclass(slots=True)
class ClientRequest:
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    request_id: str


@dataclass(slots=True)
class Exchange:
    """Run with ``await exchange.run(sink)``; raises ``GatewayError`` only before commit."""

    client: UpstreamClient
    config: Config
    route: Route
    request: ClientRequest
    record: RequestRecord
    capture: Capture | None = None  # the route keeps raw bytes of this request
    # How each deployment continues a cut answer (F37): shared by the gateway's requests.
    continuations: ContinuationMemory = field(default_factory=ContinuationMemory)
    # Which deployments are worth trying now (circuit breakers): shared likewise.
    breakers: Breakers | None = None
    repairer: Repairer = field(init=False)
    resumes: int = 0
    outcome: str = "none"  # "complete", "resumed", "error", "finalized"
    response_headers: dict[str, str] = field(default_factory=dict)
    _deadline: float = 0.0
    _cause: Failure | None = None
    _last_status: int | None = None
    _produced: bool = False  # some attempt's events reached the client
    _history_counted: bool = False  # unsigned thinking left out of the history, counted once
    _answered_by: str | None = None  # the deployment whose events the client got last
    _tap: UpstreamCapture | None = None

    def __post_init__(self) -> None:
        self.repairer = self._new_repairer()
        if self.breakers is None:
            self.breakers = Breakers(self.config.breaker)

    def _new_repairer(self) -> Repairer:
        return Repairer(
            atomic_tools=self.route.atomic_tools,
            hold_thinking=self.route.thinking == "hold",
            drop_events=self.route.drop_events,
            max_held=self.config.limits.max_event_bytes,
        )

    async def run(self, sink: Sink) -> None:
        self._deadline = time.monotonic() + self.config.timeouts.total
        # Pings also while retrying or resuming (F22), so every state of the stream is covered.
        timeouts = self.config.timeouts
        pinger = (
            Pinger(sink, timeouts.ping_interval, timeouts.commit_ping) if sink.streaming else None
        )
        try:
            await self._run(sink)
        finally:
            if pinger is not None:
                pinger.close()
            self._fill_record()

    @property
    def retry_advice(self) -> dict[str, str]:
        """Headers for an error the client gets after sseguard's own attempts (F40): the SDKs and
        Claude Code honour ``x-should-retry``, and retrying what sseguard already retried only
        multiplies the upstream's load and the user's wait. With retries off (one attempt, one
        deployment) the decision stays the client's."""
        if self.config.retry.max_attempts > 1 or len(self.route.deployments) > 1:
            return {"x-should-retry": "false"}
        return {}

    def _fill_record(self) -> None:
        rec, r = self.record, self.repairer
        rec.add_anomalies(r.anomalies.counts())
        rec.add_usage(r.usage)
        rec.stop_reason = r.stop_reason
        rec.resumes = self.resumes
        if self.outcome != "none":
            rec.outcome = self.outcome
        if r.started and self.outcome in ("error", "finalized"):
            rec.midstream = self.outcome
        elif self.resumes and r.ended:
            rec.midstream = "resumed"

    async def _run(self, sink: Sink) -> None:
        continuing = False
        cut: Failure | None = None  # what first broke the committed stream: the client's cause
        stalled: str | None = None  # the deployment whose stream stalled last, asked last
        broke: tuple[str, int] | None = None  # the last break: its words, and how much was sent
        while True:
            step = (
                tracing.step_span("sseguard.resume", **{"sseguard.resume": self.resumes})
                if continuing
                else contextlib.nullcontext()
            )
            with step:
                verdict = await self._try_chain(sink, continuing, stalled)
            r = self.repairer
            if r.ended:
                self.outcome = "resumed" if self.resumes else "complete"
                return
            if not self._produced:
                # Every attempt failed before the client saw any part of a message (a held
                # message_start or thinking block is no part of it).
                assert verdict is not None
                if not sink.committed:
                    raise verdict.error
                self.outcome = "error"
                await sink.write(finalize(self._new_repairer(), "error", _failure_of(verdict)))
                return
            cause = self._cause or r.failure
            if cause is None and verdict is not None:
                cause = _failure_of(verdict)
            stalled = self._answered_by if cause is not None and cause.fault == "F21" else None
            # A resume that broke the same way before adding anything: the fault persists, and
            # another costs the user its wait again (and a client like Claude Code retries each
            # broken stream itself, whatever the gateway says).
            now_broke = (cause.message if cause is not None else "", _sent(r))
            persists, broke = now_broke == broke, now_broke
            if cut is not None and cause is not None:
                # A resume that failed, maybe on a refusal sseguard itself caused: the client's
                # error names what broke its stream first (F37).
                again = (
                    "it broke the same way again on resume"
                    if cause.message == cut.message
                    else f"the resume failed: {cause.message}"
                )
                cause = Failure(cut.fault, cut.error_type, f"{cut.message}; {again}")
            out_of_time = self._remaining() <= 0
            if out_of_time:
                cause = _failure_of(self._total_timeout())
            route = self.route
            if (
                route.midstream == "resume"
                and r.resumable
                and self.resumes < route.max_resumes
                and not out_of_time
                and not persists
            ):
                self.resumes += 1
                if cut is None:
                    cut = cause
                continuing = True
                self._cause = None
                continue
            if route.midstream == "resume" and cause is not None:
                why = (
                    "the resume broke the same way before adding anything"
                    if persists and r.resumable and not out_of_time
                    else self._why_not_resumed(out_of_time)
                )
                cause = Failure(
                    cause.fault, cause.error_type, f"{cause.message}; not resumed: {why}"
                )
            if route.midstream == "finalize":
                self.outcome = "finalized"
                await sink.write(
                    finalize(r, "finalize", cause, stop_reason=route.finalize_stop_reason)
                )
            else:
                self.outcome = "error"
                await sink.write(finalize(r, "error", cause))
            return

    async def _try_chain(
        self, sink: Sink, continuing: bool, stalled: str | None = None
    ) -> verdicts.Verdict | None:
        """Attempts over the route's deployments until one produces output; the last verdict if
        none. ``continuing``: each attempt asks for the rest of the delivered answer;
        ``stalled``: the deployment that stalled, asked last (retry discipline, rule 1)."""
        retry = self.config.retry
        last: verdicts.Verdict | None = None
        first = True
        body = self.request.body
        prefill = False
        names = self.route.deployments
        if stalled in names:
            at = names.index(stalled) + 1
            names = (*names[at:], *names[:at])
        breakers = self.breakers
        assert breakers is not None
        for name in breakers.order(names):
            deployment = self.config.deployment(name)
            n = 0
            here: verdicts.Verdict | None = None  # this deployment's last answer
            while n < retry.max_attempts:
                if self._remaining() <= 0:
                    return self._total_timeout()
                if not first:
                    wait = verdicts.backoff(
                        n, retry.backoff_base, retry.backoff_max, jitter=retry.jitter
                    )
                    if last is not None and last.wait is not None:
                        wait = min(last.wait, retry.retry_after_cap)
                    if time.monotonic() + wait >= self._deadline:
                        return last
                    await asyncio.sleep(wait)
                first_attempt, first = first, False
                if continuing:
                    strategy = self.continuations.strategy(deployment.name, deployment.continuation)
                    if strategy == "off":
                        last = last or _no_continuation(deployment.name)
                        break
                    prefill = strategy == "prefill"
                    content = self.repairer.delivered_content()
                    ask = prefill_body if prefill else instruct_body
                    body = ask(self.request.body, content)
                    self.repairer.begin_continuation(prefill=prefill)
                elif not first_attempt:
                    # Nothing of the failed attempt reached the client; its findings still count.
                    self.record.add_anomalies(self.repairer.anomalies.counts())
                    self.repairer = self._new_repairer()
                produced, verdict = await self._recorded_attempt(deployment, body, sink)
                if prefill and self.repairer.restarted:
                    # It answered the prefill afresh (the splice skipped the repeat): ask it by
                    # instruction next time, which every model follows.
                    self.continuations.learn(deployment.name, deployment.continuation)
                if verdict is None or produced:
                    _report(breakers, name, verdict)
                    return verdict
                if prefill and self._refused_prefill(verdict, deployment):
                    first = True  # asked again at once, by instruction: no attempt was spent
                    continue
                if self.route.context_overflow == "fall_back" and verdicts.is_context_overflow(
                    verdict
                ):
                    verdict = dataclasses.replace(verdict, fall_back=True)
                last = here = verdict
                n += 1
                if not verdict.retry or (verdicts.is_stall(verdict) and name != names[-1]):
                    break  # a stall or timeout: the next deployment at once, not a second wait
                if verdict.wait is not None and verdict.wait > retry.retry_after_cap:
                    break  # not worth waiting here: another deployment, or the 429 itself
            if here is not None and here.fault:  # an upstream answered (or failed) this request
                _report(breakers, name, here)
            if last is not None and not (last.retry or last.fall_back):
                return last
        return last

    async def _recorded_attempt(
        self, deployment: Deployment, body: dict[str, Any], sink: Sink
    ) -> tuple[bool, verdicts.Verdict | None]:
        rec = self.record
        rec.tried(deployment.name)
        started = time.monotonic()
        status: int | None = None
        continuing = self.repairer.resume is not Resume.NONE
        with tracing.attempt_span(
            deployment.name, deployment.kind, deployment.base_url, body, continuing
        ) as span:
            try:
                produced, verdict = await self._attempt(deployment, body, sink)
                if produced:
                    self._produced = True
                    self._answered_by = deployment.name
            finally:
                seconds = time.monotonic() - started
                status = self._last_status
            usage = self.repairer.take_upstream_usage()
            rec.add_billed(usage)
            if verdict is None:
                attempt = Attempt(deployment.name, status, None, "", seconds, usage)
            else:
                error = verdict.error
                attempt = Attempt(
                    deployment.name, status, verdict.fault, error.message, seconds, usage
                )
                if verdict.fault:
                    rec.add_anomalies({verdict.fault: 1})
            rec.attempts.append(attempt)
            if span is not None:
                r = self.repairer
                tracing.attempt_done(
                    span, status, attempt.fault, attempt.detail, usage, r.stop_reason, r.model
                )
        return produced, verdict

    async def _attempt(
        self, deployment: Deployment, body: dict[str, Any], sink: Sink
    ) -> tuple[bool, verdicts.Verdict | None]:
        """One upstream request. ``produced`` tells whether the client got events from it."""
        timeouts = self.config.timeouts_for(deployment.name)
        try:
            req = build(
                deployment,
                self.request.path,
                self.request.query,
                self.request.headers,
                {**body, "stream": True},
            )
        except TranslationError as exc:
            return False, verdicts.for_untranslatable(deployment.name, str(exc))
        if req.unsigned_thinking and not self._history_counted:
            # The client's history held thinking no signature vouches for (F27): left out.
            self._history_counted = True
            self.record.add_anomalies({"F27": req.unsigned_thinking})
        started = time.monotonic()
        self._last_status = None
        cap = None
        if self.capture is not None:
            cap = UpstreamCapture(req.url, req.headers, req.body)
            self.capture.upstream.append(cap)
        self._tap = cap
        try:
            resp = await self.client.send(
                req, header_timeout=min(timeouts.first_event, self._remaining())
            )
        except UpstreamUnreachable as exc:
            silent = isinstance(exc, UpstreamSilent)
            return False, verdicts.for_unreachable(f"{deployment.name}: {exc}", silent=silent)
        self._last_status = resp.status
        if resp.resent:
            # Never a hidden attempt (retry discipline, rule 3): the lost send is one too.
            self.record.attempts.append(
                Attempt(deployment.name, None, "F20", f"sent again: {resp.resent}", 0.0)
            )
            self.record.add_anomalies({"F20": 1})
        self.record.mark_first_byte()
        if cap is not None:
            cap.status, cap.response_headers = resp.status, resp.headers
        clean_end = False
        try:
            # The client sees the headers of the attempt that answered, not of failed ones.
            self.response_headers = resp.passed_on()
            fmt = format_of(deployment)
            if resp.status != 200:
                raw = redact(await resp.read_all(64 * 1024), deployment.secrets)
                return False, verdicts.for_status(
                    resp.status, resp.headers, fmt.error_body(resp.status, raw)
                )
            declared = resp.content_type
            kind, verdict = await self._sniff(resp, started, timeouts)
            if verdict is not None:
                return False, verdict
            if kind == "json":  # whatever the label: an answer or an error as one JSON object
                return await self._from_json(resp, sink, deployment, fmt, body["model"])
            if declared != "text/event-stream":
                if kind != "sse":
                    raw = redact(await resp.read_all(4096), deployment.secrets)
                    return False, verdicts.for_status(200, resp.headers, raw)
                self.repairer.anomalies.record(
                    "F26", f"an event stream labelled {declared or 'with no type'}; read as one"
                )
            translator = fmt.translator(self.repairer.anomalies, body)
            produced, clean_end = await self._pump(resp, sink, started, timeouts, translator)
            stale = resp.connection.stale_encoding
            if stale is not None:
                self.repairer.anomalies.record(
                    "F24", f"content-encoding {stale} on a body that was not; read as it came"
                )
            if self.repairer.ended or produced:
                return produced, None
            return False, verdicts.for_failure(self._cause or self.repairer.failure or _unknown())
        finally:
            if clean_end:
                resp.release()
            else:
                resp.close()

    async def _pump(
        self,
        resp: UpstreamResponse,
        sink: Sink,
        started: float,
        timeouts: Timeouts,
        translator: Translator | None,
    ) -> tuple[bool, bool]:
        """Read, repair, write. Holds a lone ``message_start`` until the next event, so an endless
        ``message_start`` loop (F11) is caught before the client is committed to this upstream.

        Once events flow and the client can take writes without waiting, the rest of the body is
        diverted to ``consume``, which repairs and writes each chunk inside the upstream
        connection's ``data_received``: no task wake-up and no awaited ``send`` per event. Anything
        else — a client that is slow or gone, the end of the stream, the end of the body, a broken
        connection, a timeout — comes back to this loop, which handles it as it always has."""
        r = self.repairer
        pipe = StreamRepair(
            r, max_event_size=self.config.limits.max_event_bytes, translator=translator
        )
        held: list[Event] = []
        produced = False
        first_deadline = started + timeouts.first_event
        # Off unless the deployment sets first_token: content due by then, or the next deployment.
        token_deadline = started + timeouts.first_token if timeouts.first_token else math.inf
        watchdog = Watchdog()
        read = resp.read_chunk
        feed = pipe.feed
        write = sink.write
        rec = self.record
        tap = self._tap.raw if self._tap is not None and self.capture is not None else None
        conn = resp.connection
        relay = Relay(
            pipe,
            conn,
            watchdog,
            rec,
            can_write_now=sink.can_write_now,
            write_now=sink.write_now,
            idle=timeouts.idle,
            progress=timeouts.progress,
            deadline=self._deadline,
        )
        moved = relay.moved
        done, raised = Diversion.DONE, Diversion.RAISED
        try:
            while True:
                # Runs once per upstream read, i.e. per event on a paced stream: kept flat.
                now = time.monotonic()
                until = relay.until(now, produced or bool(held), first_deadline)
                if not produced and token_deadline < until:
                    until = token_deadline
                watchdog.arm(until - now if until > now else 0.0)
                try:
                    try:
                        chunk = await read()
                    finally:
                        watchdog.disarm()  # before anything else awaits: writes are not reads
                except asyncio.CancelledError:
                    if not watchdog.consume():
                        raise
                    if not produced and time.monotonic() >= token_deadline - 0.001:
                        why = (
                            f"the upstream sent no content within {timeouts.first_token:g} s "
                            "(first_token)"
                        )
                    else:
                        why = self._why_timed_out(timeouts, relay, produced or bool(held))
                    r.fail("F21", "timeout_error", why)
                    return produced, False
                except OSError as exc:
                    events = pipe.close()
                    if not r.ended:
                        self._cause = Failure(
                            "F20", "api_error", f"the upstream connection broke mid-stream: {exc}"
                        )
                        r.fail("F20", "api_error", self._cause.message)
                    produced = await self._deliver(sink, held, events) or produced
                    return produced, False
                state = relay.state
                if state is done or state is raised:
                    # The callback handed the body back: the stream ended, failed or raised.
                    if relay.error is not None:
                        raise relay.error
                    return produced, r.ended
                rec.bytes_in += len(chunk)
                if tap is not None and self.capture is not None:
                    self.capture.add_to(tap, chunk)
                if not chunk:
                    events = pipe.close()
                    produced = await self._deliver(sink, held, events) or produced
                    return produced, True
                events = feed(chunk)
                moved(events)
                if events:
                    if produced and not held:
                        await write(events)  # _deliver's common case, without its coroutine
                    else:
                        produced = await self._deliver(sink, held, events) or produced
                if r.phase is not MESSAGE_PHASE and (r.ended or r.failed):
                    return produced, r.ended
                if produced and not held and tap is None:
                    relay.divert(sink.can_write_now)  # looked up again: the sink has committed
        finally:
            conn.consumer = None
            watchdog.close()

    def _refused_prefill(self, verdict: verdicts.Verdict, deployment: Deployment) -> bool:
        """F37: the deployment refused the prefill sseguard sent; True when it is to be asked
        again at once by instruction (its ``continuation`` is ``auto``)."""
        error = verdict.error
        if not refuses_prefill(error.status, error.error_type, error.message):
            return False
        self.record.add_anomalies({"F37": 1})
        return self.continuations.learn(deployment.name, deployment.continuation)

    def _why_timed_out(self, timeouts: Timeouts, relay: Relay | None, started: bool) -> str:
        """The timeout that ended a read, in words for the client and the log."""
        now = time.monotonic()
        if self._deadline - now <= 0.001:
            return f"the request reached its total time limit of {timeouts.total:g} s"
        idle = relay is not None and relay.idle_deadline <= now + 0.001
        if started and relay is not None and not idle and relay.content_deadline <= now + 0.001:
            # Bytes kept coming (pings, comments), content did not. Silence reads as idle.
            return (
                f"the upstream stalled: no content for {timeouts.progress:g} s, only pings or "
                "keep-alive comments (progress timeout)"
            )
        if started:
            return (
                f"the upstream stalled: no event for {timeouts.idle:g} s (idle timeout; "
                "keep-alive comments do not count)"
            )
        return f"the upstream sent no event within {timeouts.first_event:g} s (first-event timeout)"

    async def _deliver(self, sink: Sink, held: list[Event], events: list[Event]) -> bool:
        """Write events, except a stream's ``message_start`` while nothing but pings followed
        it: until content flows, the attempt can still fail into a retry or fallback, and the
        client into a real status (an endless message_start, F11; a first_token deadline)."""
        if held:
            events = held + events
            held.clear()
        if not events:
            return False
        if (
            events[0].type == MESSAGE_START
            and not self.repairer.ended
            and all(e.type == PING for e in events[1:])
        ):
            held.append(events[0])  # the upstream's pings: the gateway sends its own
            return False
        await sink.write(events)
        return True

    async def _sniff(
        self, resp: UpstreamResponse, started: float, timeouts: Timeouts
    ) -> tuple[str | None, verdicts.Verdict | None]:
        """What a 200's first bytes say it is, whatever its label: gateways and "compatible"
        servers send streams as application/json, text/plain or untyped, and errors or whole
        answers as JSON under text/event-stream."""
        kind = verdicts.body_kind(resp.connection.queued())
        if kind is not None:  # usual: the first bytes came with the head; no timer to set
            return kind, None
        wait = max(0.0, min(started + timeouts.first_event, self._deadline) - time.monotonic())
        try:
            async with asyncio.timeout(wait):
                head = await resp.peek(lambda got: verdicts.body_kind(got) is not None, 4096)
        except TimeoutError:
            why = self._why_timed_out(timeouts, None, False)
            return None, verdicts.for_failure(Failure("F21", "timeout_error", why))
        except OSError as exc:
            why = f"the upstream connection broke before its body: {exc}"
            return None, verdicts.for_failure(Failure("F20", "api_error", why))
        return verdicts.body_kind(head) or "other", None

    async def _from_json(
        self,
        resp: UpstreamResponse,
        sink: Sink,
        deployment: Deployment,
        fmt: UpstreamFormat,
        model: str,
    ) -> tuple[bool, verdicts.Verdict | None]:
        """A stream was asked for and JSON came back (F25): render it as the stream it stands for."""
        raw = await resp.read_all(MAX_JSON_BODY)
        message, error = fmt.json_answer(raw, model)
        if message is None:
            # An error object under a 200 is an upstream error; anything else is not an answer.
            body = redact((error or raw)[:65536], deployment.secrets)
            return False, verdicts.for_status(200, resp.headers, body)
        r = self.repairer
        r.anomalies.record("F25", "the upstream answered a stream request with JSON; rendered")
        out: list[Event] = []
        for ev in render(message):
            out += r.feed(SSEEvent(ev.type, ev.data))
        out += r.close()
        produced = await self._deliver(sink, [], out)
        if r.ended or produced:
            return produced, None
        return False, verdicts.for_failure(r.failure or _unknown())

    def _why_not_resumed(self, out_of_time: bool) -> str:
        """Which mid-stream rule kept this stream from a resume, for the client's error message."""
        r = self.repairer
        if out_of_time:
            return "the total time limit is reached"
        if any(b.type == "thinking" and not b.signature for b in r.blocks):
            return "an unsigned thinking block was already sent (thinking: stream)"
        if not all(b.type in ("text", "thinking", "redacted_thinking") for b in r.blocks):
            return "a tool call or other non-text block was already sent"
        return f"the resume limit ({self.route.max_resumes}) is used up"

    def _total_timeout(self) -> verdicts.Verdict:
        total = self.config.timeouts.total
        error = GatewayError(504, f"the request reached its total time limit of {total:g} s")
        return verdicts.Verdict(error, "F21")

    def _remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())


def _failure_of(verdict: verdicts.Verdict) -> Failure:
    return Failure(verdict.fault, verdict.error.error_type, verdict.error.message)


def _report(breakers: Breakers, name: str, verdict: verdicts.Verdict | None) -> None:
    """Once per deployment and request, after its retries: a transient failure (overload, 5xx,
    broken or silent) counts against it; an answer, even an error about the request, for it."""
    if verdict is not None and verdict.retry:
        breakers.failure(name)
    else:
        breakers.success(name)


def _sent(r: Repairer) -> int:
    """How much of the answer the client holds: blocks and text, to tell a resume that added
    something from one that broke where the last one did."""
    return len(r.blocks) + len(r.delivered_text)


def _no_continuation(deployment: str) -> verdicts.Verdict:
    error = GatewayError(502, f"{deployment}: continuation is off for this deployment")
    return verdicts.Verdict(error, "")


def _unknown() -> Failure:
    return Failure("F16", "api_error", "the upstream stream ended before any content")
