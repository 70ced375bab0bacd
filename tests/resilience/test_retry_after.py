"""F19: how long an upstream asked to wait, in every form the header comes in."""

from __future__ import annotations

import datetime
import email.utils

import pytest

from sseguard.resilience.verdicts import for_status, parse_retry_after


def http_date(seconds_from_now: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


@pytest.mark.parametrize(
    ("value", "ms", "want"),
    [
        ("3", None, 3.0),
        (" 1.5 ", None, 1.5),
        ("0", None, 0.0),
        ("3", "250", 0.25),  # the SDKs read retry-after-ms first
        (None, "1500", 1.5),
        ("2", "soon", 2.0),
        ("-1", None, None),
        ("nan", None, None),
        ("inf", None, None),
        ("tomorrow", None, None),
        ("", None, None),
        (None, None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None, 0.0),  # a date gone by: no wait
    ],
)
def test_retry_after_forms(value: str | None, ms: str | None, want: float | None) -> None:
    assert parse_retry_after(value, ms) == want


def test_retry_after_as_an_http_date() -> None:
    got = parse_retry_after(http_date(30))
    assert got is not None and 28 <= got <= 30


def test_a_429_passes_both_headers_on_and_waits_as_asked() -> None:
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    verdict = for_status(429, {"retry-after": "2", "retry-after-ms": "1800"}, body)
    assert verdict.retry and verdict.wait == 1.8
    assert verdict.error.status == 429
    assert verdict.error.headers == {"retry-after": "2", "retry-after-ms": "1800"}
