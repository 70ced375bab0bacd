"""``/readyz``: 503 only for what stops an instance from serving; every dependency named."""

from __future__ import annotations

import asyncio

import orjson

from sseguard.gateway.readiness import Check, readiness


async def fine() -> str | None:
    return None


async def down() -> str | None:
    return "unreachable"


async def hangs() -> str | None:
    await asyncio.Event().wait()
    return None


def ready(state: str, *checks: Check) -> tuple[int, dict[str, object]]:
    status, body = asyncio.run(readiness(state, checks))
    return status, orjson.loads(body)


def test_states_and_checks() -> None:
    assert ready("ready") == (200, {"status": "ready"})
    assert ready("starting") == (503, {"status": "starting"})
    assert ready("draining", Check("redis", fine, True)) == (
        503,
        {"status": "draining", "checks": {"redis": "ok"}},
    )
    # A log that cannot be written leaves the instance serving; shared state it fails closed
    # without takes it out.
    assert ready("ready", Check("request_log", down, False)) == (
        200,
        {"status": "ready", "checks": {"request_log": "unreachable"}},
    )
    assert ready("ready", Check("redis", down, True)) == (
        503,
        {"status": "unready", "checks": {"redis": "unreachable"}},
    )


def test_a_probe_that_does_not_answer_is_bounded() -> None:
    status, body = ready("ready", Check("redis", hangs, True))
    assert status == 503 and body["checks"] == {"redis": "no answer within 1 s"}
