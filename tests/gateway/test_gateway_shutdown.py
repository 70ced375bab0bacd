"""Graceful shutdown: open streams get the grace period, then a truthful ending, never a cut."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import orjson

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
