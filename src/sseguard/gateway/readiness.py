"""``/readyz``: whether this instance should get traffic, and what it depends on.

A load balancer or Kubernetes takes an instance out of rotation on a 503, so only what stops it
from serving answers 503: starting, draining, or shared state it fails closed without
(``state.on_unavailable: closed``). A request log that cannot be reached does not: its rows wait
in a bounded buffer, and taking every replica out because logging is down would turn a lost log
into an outage. Every dependency is still named in the body, for whoever looks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson

PROBE_TIMEOUT = 1.0  # seconds a dependency gets to answer a readiness probe


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # in the body: "redis", "request_log"
    probe: Callable[[], Awaitable[str | None]]  # None when fine, else why not
    blocking: bool  # a failure takes the instance out of rotation


async def readiness(state: str, checks: Sequence[Check]) -> tuple[int, bytes]:
    """The status and body for ``state`` ("starting", "draining", "ready") and the checks."""
    found: dict[str, str] = {}
    unready = state != "ready"
    for check in checks:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                why = await check.probe()
        except TimeoutError:
            why = f"no answer within {PROBE_TIMEOUT:g} s"
        found[check.name] = "ok" if why is None else why
        if why is not None and check.blocking:
            unready = True
    if state == "ready" and unready:
        state = "unready"
    body = {"status": state, **({"checks": found} if found else {})}
    return (503 if unready else 200), orjson.dumps(body)
