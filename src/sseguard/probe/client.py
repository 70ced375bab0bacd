"""The probe's I/O: the requests to an Anthropic-compatible endpoint over aiohttp, timed and
bounded (idle timeout per read, a cap on the whole stream), handed to ``analysis`` as they arrive,
and the two of the prefill check (``prefill``).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from sseguard.probe.analysis import (
    COUNT_TOKENS,
    NON_STREAMING,
    STREAMING,
    ProbeFailed,
    StreamAnalysis,
    check_error_status,
    check_message,
    error_of,
    looks_html,
    looks_sse,
)
from sseguard.probe.findings import Findings
from sseguard.probe.prefill import (
    QUESTION,
    ErrorAnswer,
    PrefillCheck,
    judge_answer,
    judge_error,
    opening,
    quote,
)
from sseguard.resilience.verdicts import SNIFF_LIMIT, body_kind
from sseguard.upstream.encoding import BodyDecoder

DEFAULT_MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 64
MAX_DURATION = (
    120.0  # an endless stream (F11 loops, runaway deltas) must not hold the probe forever
)
PROMPT = "In one short sentence: why is the sea salty?"
AUTH_SCHEMES = ("x-api-key", "bearer", "api-key")
# Offered with --tool and forced with tool_choice, so the stream carries a tool_use block (F14).
PROBE_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    url: str
    key: str | None = None
    model: str = DEFAULT_MODEL
    auth: str = "x-api-key"
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 30.0
    tool: bool = False
    count_tokens: bool = True
    prefill: bool = True

    @property
    def secrets(self) -> tuple[str, ...]:
        """Everything that must never be printed: the key and every --header value."""
        values = [self.key or "", *(v for _, v in self.headers)]
        # Very short values (a "1" flag header) would blank out digits all over the report.
        return tuple(v for v in values if len(v) >= 4)


@dataclass(slots=True)
class Exchange:
    """One HTTP request of the probe as the wire showed it."""

    request: str
    status: int | None = None
    content_type: str = ""
    content_encoding: str = ""
    request_id: str = ""
    ttfb_s: float | None = None
    total_s: float | None = None
    outcome: str = "not sent"
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    options: ProbeOptions
    base_url: str
    findings: Findings
    streaming: Exchange
    stream: StreamAnalysis | None
    non_streaming: Exchange
    count_tokens: Exchange | None
    prefill: PrefillCheck | None


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError(f"expected 'Name: value', got {text.split(':')[0][:40]!r}")
    return name.strip(), value.strip()


def base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeFailed(f"bad URL {url!r}: expected http(s)://HOST[:PORT][/PATH]")
    try:
        parts.port  # noqa: B018 (a bad port only raises when read)
    except ValueError as exc:
        raise ProbeFailed(f"bad URL {url!r}: {exc}") from None
    base = url.rstrip("/")
    if base.endswith("/v1/messages"):
        raise ProbeFailed(
            f"give the base URL (as ANTHROPIC_BASE_URL), without /v1/messages: {url!r}"
        )
    return base


def request_headers(options: ProbeOptions) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        # What probe decodes itself (F24): it reads bodies as they are, not as aiohttp would.
        "accept-encoding": "gzip, deflate",
    }
    if options.key:
        if options.auth == "bearer":
            headers["authorization"] = f"Bearer {options.key}"
        else:
            headers[options.auth] = options.key
    headers.update(options.headers)
    return headers


def request_body(options: ProbeOptions, *, stream: bool | None) -> bytes:
    """The Messages request; ``stream=None`` for count_tokens, which takes no max_tokens."""
    body: dict[str, Any] = {
        "model": options.model,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if stream is not None:
        body["max_tokens"] = MAX_TOKENS
        body["stream"] = stream  # explicit false: F25 is about honouring it
    if options.tool:
        body["tools"] = [PROBE_TOOL]
        if stream is not None:
            body["tool_choice"] = {"type": "any"}
    return orjson.dumps(body)


def counting_body(options: ProbeOptions, prefill: str) -> bytes:
    """A request of the prefill check: the question, ending with ``prefill`` as the assistant's
    turn unless it is empty."""
    messages = [{"role": "user", "content": QUESTION}]
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    body = {"model": options.model, "max_tokens": MAX_TOKENS, "stream": True, "messages": messages}
    return orjson.dumps(body)


def run(options: ProbeOptions) -> Report:
    return asyncio.run(_probe(options))


async def _probe(options: ProbeOptions) -> Report:
    url = base_url(options.url)
    findings = Findings()
    headers = request_headers(options)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=options.timeout)
    # Bodies are decoded by probe (upstream.encoding), which tells a stale content-encoding (F24)
    # from a corrupt body; aiohttp's own decoding fails on both alike.
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        probe = _Probe(session, url, headers, options, findings)
        streaming, analysis = await probe.streaming()
        non_streaming = await probe.non_streaming()
        count = await probe.count_tokens() if options.count_tokens else None
        prefill = await probe.prefill() if options.prefill else None
    return Report(options, url, findings, streaming, analysis, non_streaming, count, prefill)


class _Probe:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str],
        options: ProbeOptions,
        findings: Findings,
    ) -> None:
        self.session = session
        self.url = url
        self.headers = headers
        self.options = options
        self.findings = findings

    async def streaming(self) -> tuple[Exchange, StreamAnalysis | None]:
        ex = Exchange("POST /v1/messages stream:true")
        body = request_body(self.options, stream=True)
        sent = time.monotonic()
        resp = await self._open(ex, STREAMING, "/v1/messages", body, sent)
        if resp is None:
            return ex, None
        async with resp:
            if resp.status != 200:
                await self._error(ex, STREAMING, resp, sent)
                return ex, None
            return ex, await self._events(ex, resp, sent)

    async def _events(
        self, ex: Exchange, resp: aiohttp.ClientResponse, sent: float
    ) -> StreamAnalysis | None:
        """A 200 to a streaming request read and judged to its end; ``None`` when it held no
        event stream (F25, F26)."""
        if "text/event-stream" not in ex.content_type:
            raw = await self._read_all(ex, STREAMING, resp, sent)
            if looks_html(ex.content_type, raw):
                self.findings.add("F26", STREAMING, "HTTP 200 with an HTML page", raw)
                return None
            if not looks_sse(raw):
                what = "JSON" if _is_json(raw) else "a body that is not SSE"
                fault = "F25" if what == "JSON" else "F26"
                detail = f"stream:true answered with {what} ({ex.content_type or 'no type'})"
                self.findings.add(fault, STREAMING, detail, raw)
                return None
            self.findings.add("F26", STREAMING, f"SSE sent as {ex.content_type!r}", raw)
            analysis = StreamAnalysis(self.findings, ex.ttfb_s or 0.0)
            analysis.feed(raw, time.monotonic() - sent)
            analysis.finish(time.monotonic() - sent)
            return analysis
        analysis = StreamAnalysis(self.findings, ex.ttfb_s or 0.0)
        decoder = BodyDecoder.for_label(ex.content_encoding)
        try:
            async for chunk in self._chunks(resp, sent, lambda: analysis.quiet, decoder):
                analysis.feed(chunk, time.monotonic() - sent)
                if analysis.failed:
                    ex.outcome = "stopped reading: the stream cannot be completed"
                    break
            else:
                ex.outcome = "body complete"
                if not analysis.events:
                    self._json_under_sse(analysis)
        except zlib.error as exc:
            ex.outcome = "corrupt body"
            analysis.cut("F24", f"the {ex.content_encoding} body is corrupt: {exc}")
        except TimeoutError:
            ex.outcome = "stalled"
            silence = "no event" if analysis.quiet else "no data"
            analysis.cut("F21", f"{silence} for {self.options.timeout:g} s ({_events(analysis)})")
        except _Capped:
            ex.outcome = "capped"
            analysis.cut("F16", f"no message_stop after {MAX_DURATION:g} s; stopped reading")
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            ex.outcome = "connection closed mid-body"
            analysis.cut("F20", f"connection closed mid-body ({_events(analysis)}): {exc}")
        if decoder is not None:
            self._encoding_finding(STREAMING, decoder)
        analysis.finish(time.monotonic() - sent)
        ex.total_s = round(time.monotonic() - sent, 3)
        return analysis

    def _encoding_finding(self, where: str, decoder: BodyDecoder) -> None:
        if decoder.stale:
            self.findings.add(
                "F24",
                where,
                f"content-encoding: {decoder.stale} on a body that is not {decoder.stale}: a "
                "proxy decoded it and kept the header; clients fail to decompress it",
            )
        elif where == STREAMING:
            self.findings.add(
                "F24",
                where,
                f"SSE compressed (content-encoding: {decoder.encoding}): no incremental"
                " delivery, and a proxy that decodes it may forward a stale header",
            )

    def _json_under_sse(self, analysis: StreamAnalysis) -> None:
        """A body labelled text/event-stream that holds one JSON value: say what it is (F26's
        "look, do not trust the label"), where the stream verdict would only say "no event"."""
        raw = bytes(analysis.body)
        if body_kind(raw[:SNIFF_LIMIT]) != "json":
            return
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        kind = value.get("type") if isinstance(value, dict) else None
        if kind == "error" and isinstance(value.get("error"), dict):
            err = value["error"]
            detail = f"{err.get('type')}: {err.get('message')}"
            analysis.cut(
                "F17", f"HTTP 200 labelled text/event-stream holds an error object ({detail})"
            )
        elif kind == "message":
            analysis.cut(
                "F25",
                "stream:true answered with a whole Message as JSON, labelled text/event-stream",
            )
        else:
            analysis.cut(
                "F26", "HTTP 200 labelled text/event-stream holds JSON that is no Messages answer"
            )
        self.findings.add("F26", STREAMING, "JSON sent as 'text/event-stream'", raw)

    async def non_streaming(self) -> Exchange:
        ex = Exchange("POST /v1/messages stream:false")
        sent = time.monotonic()
        resp = await self._open(
            ex, NON_STREAMING, "/v1/messages", request_body(self.options, stream=False), sent
        )
        if resp is None:
            return ex
        async with resp:
            if resp.status != 200:
                await self._error(ex, NON_STREAMING, resp, sent)
                return ex
            raw = await self._read_all(ex, NON_STREAMING, resp, sent)
            if ex.outcome != "body complete":
                return ex
            if "text/event-stream" in ex.content_type or looks_sse(raw):
                detail = f"stream:false answered with SSE ({ex.content_type or 'no type'})"
                self.findings.add("F25", NON_STREAMING, detail, raw)
            elif looks_html(ex.content_type, raw):
                self.findings.add("F26", NON_STREAMING, "HTTP 200 with an HTML page", raw)
            elif (message := check_message(raw, self.findings)) is not None:
                ex.facts["stop_reason"] = message.get("stop_reason")
                ex.facts["content"] = [
                    b.get("type") for b in message.get("content") or [] if isinstance(b, dict)
                ]
            return ex

    async def count_tokens(self) -> Exchange:
        ex = Exchange("POST /v1/messages/count_tokens")
        sent = time.monotonic()
        path = "/v1/messages/count_tokens"
        resp = await self._open(
            ex, COUNT_TOKENS, path, request_body(self.options, stream=None), sent
        )
        if resp is None:
            return ex
        async with resp:
            raw = await self._read_all(ex, COUNT_TOKENS, resp, sent)
            if resp.status == 404:
                self.findings.add("F29", COUNT_TOKENS, "HTTP 404: no count_tokens endpoint", raw)
            elif resp.status == 200:
                try:
                    ex.facts["input_tokens"] = orjson.loads(raw).get("input_tokens")
                except (orjson.JSONDecodeError, AttributeError):
                    ex.facts["input_tokens"] = None
            return ex

    async def prefill(self) -> PrefillCheck:
        """Whether the endpoint takes a prefill (``probe.prefill``): the question alone, then
        with the opening of that answer as the assistant's turn."""
        prefill = ""
        try:
            first = await self._answer(counting_body(self.options, ""), "the question alone")
            if isinstance(first, ErrorAnswer):
                return PrefillCheck("unknown", f"the question alone: {first}")
            prefill = opening(first)
            if not prefill:
                reason = f"the question alone: an answer too short to prefill, {quote(first)}"
                return PrefillCheck("unknown", reason)
            second = await self._answer(
                counting_body(self.options, prefill), "the prefilled request"
            )
        except (_Untold, ProbeFailed) as exc:
            return PrefillCheck("unknown", str(exc), prefill)
        if isinstance(second, ErrorAnswer):
            return judge_error(prefill, second)
        return judge_answer(prefill, second)

    async def _answer(self, body: bytes, what: str) -> str | ErrorAnswer:
        """The text of a whole streaming answer, or the error of a non-200; ``_Untold``, with
        ``what`` and the reason, when neither came. What the request shows of the stream goes to
        findings of its own: the main requests judge the stream, and a second verdict on the same
        faults would count them twice."""
        probe = _Probe(self.session, self.url, self.headers, self.options, Findings())
        ex = Exchange("POST /v1/messages stream:true")
        sent = time.monotonic()
        resp = await probe._open(ex, STREAMING, "/v1/messages", body, sent)
        if resp is None:
            raise _Untold(f"{what}: {probe._why(ex)}")
        async with resp:
            if resp.status != 200:
                raw = await probe._read_all(ex, STREAMING, resp, sent)
                return ErrorAnswer(resp.status, *error_of(raw))
            analysis = await probe._events(ex, resp, sent)
        if analysis is None:
            raise _Untold(f"{what}: {probe._why(ex)}")
        failure = analysis.pipeline.repairer.failure
        if failure is not None:
            raise _Untold(f"{what}: {failure.fault}: {failure.message}")
        return analysis.text()

    def _why(self, ex: Exchange) -> str:
        """What went wrong with a request that brought no answer, as its findings say."""
        found = "; ".join(f"{f.fault}: {f.details[0]}" for f in self.findings.all())
        return found or ex.outcome

    async def _open(
        self, ex: Exchange, where: str, path: str, body: bytes, sent: float
    ) -> aiohttp.ClientResponse | None:
        """Send and wait for the response head; ``None`` after a stall or a close (recorded)."""
        try:
            async with asyncio.timeout(self.options.timeout):
                resp = await self.session.post(self.url + path, data=body, headers=self.headers)
        except TimeoutError:
            ex.outcome = "stalled before the status line"
            detail = f"no response head within {self.options.timeout:g} s"
            self.findings.add("F21", where, detail)
            return None
        except aiohttp.ClientConnectorError as exc:
            raise ProbeFailed(f"cannot connect to {exc.host}:{exc.port}: {_reason(exc)}") from None
        except aiohttp.InvalidURL as exc:
            raise ProbeFailed(f"bad URL: {exc}") from None
        except aiohttp.ClientConnectionError as exc:
            ex.outcome = "connection closed before the status line"
            self.findings.add("F20", where, f"connection closed before a response: {exc}")
            return None
        ex.ttfb_s = round(time.monotonic() - sent, 3)
        ex.status = resp.status
        ex.content_type = resp.headers.get("content-type", "")
        ex.content_encoding = resp.headers.get("content-encoding", "")
        ex.request_id = resp.headers.get("request-id", "")
        ex.outcome = "head received"
        return resp

    async def _error(
        self, ex: Exchange, where: str, resp: aiohttp.ClientResponse, sent: float
    ) -> None:
        raw = await self._read_all(ex, where, resp, sent)
        retry_after = resp.headers.get("retry-after")
        check_error_status(where, resp.status, ex.content_type, raw, retry_after, self.findings)

    async def _read_all(
        self, ex: Exchange, where: str, resp: aiohttp.ClientResponse, sent: float
    ) -> bytes:
        body = bytearray()
        decoder = BodyDecoder.for_label(resp.headers.get("content-encoding"))
        try:
            async for chunk in self._chunks(resp, sent, decoder=decoder):
                body += chunk
            ex.outcome = "body complete"
            if decoder is not None and decoder.stale:
                self._encoding_finding(where, decoder)
        except zlib.error as exc:
            ex.outcome = "corrupt body"
            self.findings.add("F24", where, f"the compressed body is corrupt: {exc}", bytes(body))
        except (TimeoutError, _Capped):
            ex.outcome = "stalled"
            self.findings.add("F21", where, f"no data for {self.options.timeout:g} s", bytes(body))
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            ex.outcome = "connection closed mid-body"
            self.findings.add("F20", where, f"connection closed mid-body: {exc}", bytes(body[-80:]))
        ex.total_s = round(time.monotonic() - sent, 3)
        return bytes(body)

    async def _chunks(
        self,
        resp: aiohttp.ClientResponse,
        sent: float,
        quiet: Callable[[], bool] = lambda: False,
        decoder: BodyDecoder | None = None,
    ) -> AsyncIterator[bytes]:
        """Body chunks as they come, decoded; ``TimeoutError`` after --timeout of silence, where
        a chunk the caller found ``quiet`` (keep-alive comments only) does not break it;
        ``zlib.error`` for a corrupt compressed body. A compressed chunk comes out inflated
        piece by piece, so a caller that stops (its analysis failed, F09) stops the inflating:
        a body that inflates a thousandfold is never whole in memory."""
        heard = time.monotonic()
        while True:
            if time.monotonic() - sent > MAX_DURATION:
                raise _Capped
            async with asyncio.timeout(self._left(heard)):
                chunk = await resp.content.readany()
            if decoder is None:
                if not chunk:
                    return
                yield chunk
                if not quiet():
                    heard = time.monotonic()
                continue
            if chunk:
                decoder.feed(chunk)
            else:
                decoder.end()
            piece = decoder.read()
            if chunk and not piece:  # compressed bytes that decode to nothing yet: no silence
                heard = time.monotonic()
                continue
            while piece:
                yield piece
                if not quiet():
                    heard = time.monotonic()
                piece = decoder.read()
            if not chunk:
                return

    def _left(self, heard: float) -> float:
        return max(0.0, self.options.timeout - (time.monotonic() - heard))


class _Capped(Exception):
    """The response ran past ``MAX_DURATION``."""


class _Untold(Exception):
    """A request of the prefill check brought no answer to judge; the message says why."""


def _events(analysis: StreamAnalysis) -> str:
    return f"after {sum(analysis.events.values())} events, {len(analysis.body)} bytes"


def _is_json(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return True


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    if isinstance(exc.os_error, ConnectionRefusedError):
        return "connection refused (is anything listening there?)"
    return exc.os_error.strerror or str(exc.os_error)
