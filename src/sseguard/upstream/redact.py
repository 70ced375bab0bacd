"""Scrubbing a deployment's own credentials from what an upstream sends back.

Some upstreams echo request headers in their error messages; a provider key must never reach a
client that way. Pure; runs only on error bodies, never on the streaming hot path.
"""

from __future__ import annotations

from collections.abc import Iterable

MARK = b"[REDACTED]"
MIN_SECRET = 6  # shorter values would scrub ordinary words; no real credential is that short


def redact(data: bytes, secrets: Iterable[str]) -> bytes:
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            data = data.replace(secret.encode(), MARK)
    return data
