"""Graceful shutdown: on SIGTERM the gateway reports itself not ready and keeps serving for
``drain_delay``, then stops listening (new connections refused, not queued) while open streams get
``shutdown_grace``, then a truthful ending, never a cut."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from processes import gateway_config, running, simulator
from sseguard.sse import SSEDecoder


def test_open_stream_ends_with_an_error_event_when_the_grace_runs_out(tmp_path: Path) -> None:
    with simulator() as sim_url:
        config = gateway_config(tmp_path, sim_url)
        config.write_text(config.read_text().replace("port = 0", "port = 0\nshutdown_grace = 1"))
        with running("serve", "--config", str(config), banner=b"sseguard listening on") as (
            url,
            proc,
            _,
        ):

            async def stream() -> bytes:
                body = {
                    "model": "claude-sonnet-4-5+endless_text",
                    "max_tokens": 64,
                    "stream": True,
                    "messages": [{"role": "user", "content": "go on forever"}],
                }
                timeout = aiohttp.ClientTimeout(total=30)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as s,
                    s.post(
                        f"{url}/v1/messages",
                        data=orjson.dumps(body),
                        headers={"content-type": "application/json"},
                    ) as resp,
                ):
                    raw = b""
                    while raw.count(b"text_delta") < 3:
                        raw += await resp.content.readany()
                    proc.send_signal(signal.SIGTERM)  # the operator stops the gateway mid-answer
                    async for chunk in resp.content.iter_any():
                        raw += chunk
                    return raw

            raw = asyncio.run(stream())
            proc.wait(timeout=20)
    dec = SSEDecoder()
    events = dec.feed(raw) + dec.close()
    last = events[-1]
    assert last.event == "error", [e.event for e in events[-3:]]
    error = orjson.loads(last.data)["error"]
    assert "shutting down" in error["message"]
    assert events[-2].event == "content_block_stop"  # the open block was closed first


BOUND = 20.0  # seconds: only to detect a hang; every wait below ends on an observed event


def _messages(url: str, model: str, stream: bool) -> tuple[str, bytes]:
    body = {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return f"{url}/v1/messages", orjson.dumps(body)


async def _get(url: str) -> tuple[int, bytes]:
    """One request on a connection of its own (a load balancer's probe, a new client)."""
    timeout = aiohttp.ClientTimeout(total=2)
    async with (
        aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(force_close=True)
        ) as s,
        s.get(url) as resp,
    ):
        return resp.status, await resp.read()


async def _until(what: str, check: object) -> None:
    """Repeat ``check`` (an async callable returning a bool) until it holds, within BOUND."""
    deadline = time.monotonic() + BOUND
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {BOUND:g} s: {what}"


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_not_ready_first_then_stops_listening_while_streams_go_on(
    tmp_path: Path, workers: int
) -> None:
    with simulator() as sim_url:
        config = gateway_config(tmp_path, sim_url)
        # A drain delay far longer than the test: the second SIGTERM ends it, as an operator's
        # would, so no step waits on a clock. The grace outlasts the test too: the stream held
        # open below is ended by the client, and the process then exits at once.
        config.write_text(
            config.read_text().replace(
                "port = 0",
                f"port = 0\nworkers = {workers}\ndrain_delay = 300\nshutdown_grace = 300",
            )
        )
        with running("serve", "--config", str(config), banner=b"sseguard listening on") as (
            url,
            proc,
            _,
        ):

            async def scenario() -> None:
                timeout = aiohttp.ClientTimeout(total=BOUND * 3)
                where, body = _messages(url, "claude-sonnet-4-5+endless_text", True)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as s,
                    s.post(where, data=body, headers={"content-type": "application/json"}) as resp,
                ):
                    raw = b""
                    while raw.count(b"text_delta") < 3:
                        raw += await resp.content.readany()
                    assert await _get(f"{url}/readyz") == (200, b'{"status":"ready"}')

                    proc.send_signal(signal.SIGTERM)

                    async def draining() -> bool:
                        return (await _get(f"{url}/readyz"))[0] == 503

                    await _until("/readyz answers 503 after SIGTERM", draining)
                    # Every worker got the signal: whichever answers says so.
                    for _ in range(4 * workers):
                        assert await _get(f"{url}/readyz") == (503, b'{"status":"draining"}')
                    assert (await _get(f"{url}/healthz"))[0] == 200  # alive: not to be restarted
                    # A load balancer that has not noticed yet is still served, not refused.
                    where, one = _messages(url, "claude-sonnet-4-5", False)
                    async with s.post(
                        where, data=one, headers={"content-type": "application/json"}
                    ) as answer:
                        assert answer.status == 200
                        assert (await answer.json())["stop_reason"] == "end_turn"

                    proc.send_signal(signal.SIGTERM)  # again: the delay ends now

                    async def refused() -> bool:
                        try:
                            await _get(f"{url}/readyz")
                        except aiohttp.ClientConnectorError:
                            return True
                        except (TimeoutError, aiohttp.ClientError):
                            return False  # accepted but never answered: queued, not refused
                        return False

                    await _until("new connections refused once the drain delay is over", refused)
                    assert proc.poll() is None  # still serving the open stream, within the grace
                    seen = raw.count(b"text_delta")
                    while raw.count(b"text_delta") < seen + 3:
                        raw += await resp.content.readany()
                    assert b"event: error" not in raw
                # The client left: nothing is open any more, so the gateway ends without waiting
                # for the rest of its grace.

            asyncio.run(scenario())
            proc.wait(timeout=BOUND)
