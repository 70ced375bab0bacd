"""What an upstream failure before commit means: retry here, try the next deployment, or answer.

Pure: the rules of docs/faults.md F17-F19, F21, F26 as a function of status, headers and body bytes, and
of the repair layer's ``Failure``. The async driver only acts on these verdicts.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
from dataclasses import dataclass

from sseguard.errors import STATUS_FOR_ERROR_TYPE, GatewayError, anthropic_error_body
from sseguard.protocol.repair import Failure

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
# Another deployment may hold other credentials or models; the same one will say the same again.
NEXT_DEPLOYMENT_STATUSES = frozenset({401, 403, 404})
TRANSIENT_ERROR_TYPES = frozenset(
    {"overloaded_error", "rate_limit_error", "api_error", "timeout_error"}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``retry``: same deployment again after ``wait`` s; ``fall_back``: next deployment; else answer."""

    error: GatewayError
    fault: str  # the fault ID (docs/faults.md); "" when no upstream was at fault
    retry: bool = False
    fall_back: bool = False
    wait: float | None = None  # the upstream's retry-after, when it gave one


_SSE_STARTS = (b"event:", b"data:", b"id:", b"retry:", b":")
SNIFF_LIMIT = 256  # bytes: past this much leading whitespace, the body is not an answer


def body_kind(head: bytes) -> str | None:
    """What a 200's first bytes are, whatever its content-type says (F26: look, do not trust the
    label): "sse", "json" or "other"; None while they could still become either."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text.startswith(b"{"):
        return "json"
    if text.startswith(_SSE_STARTS):
        return "sse"
    if len(head) < SNIFF_LIMIT and any(start.startswith(text) for start in _SSE_STARTS):
        return None
    return "other"


# F19: passed on to the client when the gateway gives up, so its own retry waits as long.
_RETRY_HEADERS = ("retry-after", "retry-after-ms")


def parse_retry_after(value: str | None, ms: str | None = None) -> float | None:
    """Seconds to wait (F19): ``retry-after-ms`` when given (the Anthropic and OpenAI SDKs read it
    first), else ``retry-after`` as seconds or as an HTTP date (RFC 9110 allows both)."""
    if ms:
        try:
            millis = float(ms.strip())
        except ValueError:
            millis = -1.0
        if 0 <= millis < math.inf:
            return millis / 1000
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
    return seconds if 0 <= seconds < math.inf else None


def for_status(status: int, headers: dict[str, str], body: bytes) -> Verdict:
    """A non-200 answer, or a 200 whose body is an error object (F17) or no answer at all (F26)."""
    upstream_error = anthropic_error_body(body)
    passed = {k: headers[k] for k in _RETRY_HEADERS if k in headers}
    if upstream_error is not None:
        kind = upstream_error["error"]["type"]
        if status == 200:  # an error object under a 200 (F17): the status its type stands for
            status = STATUS_FOR_ERROR_TYPE.get(kind, 500)
        error = GatewayError(
            status, upstream_error["error"].get("message") or "upstream error", kind, passed, body
        )
        fault = {429: "F19", 529: "F18"}.get(status, "F17")
    else:
        # Not Anthropic's shape: an HTML page from a proxy or load balancer (F26). Say what came.
        # An error status goes on as it came; any other (a 204, a redirect, which is not
        # followed) is a bad gateway answer: passed on, it would read as a success or a redirect.
        shown = status if 400 <= status < 600 else 502
        kind = headers.get("content-type", "no content-type")
        snippet = body[:120].decode("utf-8", "replace").strip().replace("\n", " ")
        what = "a redirect, which sseguard does not follow" if 300 <= status < 400 else kind
        error = GatewayError(
            shown,
            f"the upstream answered HTTP {status} with {what} instead of an Anthropic response: "
            f"{snippet!r}",
            headers=passed,
        )
        fault = "F26"
    if status == 200 or status in TRANSIENT_STATUSES:
        wait = parse_retry_after(headers.get("retry-after"), headers.get("retry-after-ms"))
        return Verdict(error, fault, retry=True, wait=wait)
    if status in NEXT_DEPLOYMENT_STATUSES or status < 400:
        # Another deployment may be configured right where this one answers no Messages API.
        return Verdict(error, fault, fall_back=True)
    return Verdict(error, fault)


def for_failure(failure: Failure) -> Verdict:
    """The stream broke before any content reached the client: an error event (F17), a loop (F11),
    an empty or cut body (F16), garbage (F02), a stall (F21)."""
    status = STATUS_FOR_ERROR_TYPE.get(failure.error_type, 502)
    if failure.fault != "F17" and status == 500:
        status = 502  # a broken upstream stream is a bad gateway answer, not our internal error
    error = GatewayError(status, failure.message, failure.error_type)
    retry = failure.error_type in TRANSIENT_ERROR_TYPES and failure.fault != "F09"
    return Verdict(error, failure.fault, retry=retry)


def for_untranslatable(deployment: str, reason: str) -> Verdict:
    """The request has no equivalent in an OpenAI-compatible deployment's format: the client's
    request, not the upstream, is at fault (400), and another deployment may still take it."""
    error = GatewayError(
        400,
        f"{deployment}: the request cannot be sent to this OpenAI-compatible upstream: {reason}",
    )
    return Verdict(error, "", fall_back=True)


def for_unreachable(message: str, *, silent: bool = False) -> Verdict:
    """No HTTP answer: a refused or broken connection (F20), or a silent upstream (F21, a 504)."""
    if silent:
        return Verdict(GatewayError(504, message, "timeout_error"), "F21", retry=True)
    return Verdict(GatewayError(502, message, "api_error"), "F20", retry=True)


# How providers word a prompt longer than the model's context: Anthropic ("prompt is too long:
# 210000 tokens > 200000 maximum"), OpenAI and vLLM ("maximum context length",
# context_length_exceeded), others ("context window", "too many tokens").
_CONTEXT_WORDS = (
    "prompt is too long",
    "context length",
    "context_length",
    "context window",
    "too many tokens",
)


def is_context_overflow(verdict: Verdict) -> bool:
    """A 400 that says the request does not fit the model's context: a larger-context deployment
    may take it (route option ``context_overflow: fall_back``)."""
    error = verdict.error
    if error.status not in (400, 413, 422):
        return False
    words = error.message.lower()
    return any(w in words for w in _CONTEXT_WORDS)


def is_stall(verdict: Verdict) -> bool:
    """A timeout or stall (F21): the next deployment is tried at once, not the silent one again
    (retry discipline, rule 1)."""
    return verdict.fault == "F21"


def backoff(
    attempt: int, base: float, cap: float, *, jitter: bool = True, rng: random.Random | None = None
) -> float:
    """Exponential backoff, with full jitter by default: it spreads the retries of many clients
    hit by one outage instead of sending them back together."""
    ceiling = min(cap, base * (2**attempt))
    return (rng or random).uniform(0, ceiling) if jitter else ceiling
