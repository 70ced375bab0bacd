"""A compressed upstream body that inflates a thousandfold (a gzip bomb), through a real gateway.

1 MiB of gzip that inflates to 1 GiB once took the gateway from 61 MB to 1.87 GB resident for one
request (0.4 to 0.75 GB for the bombs here): each socket read was inflated whole and queued. The gateway now inflates only as much as
it can hand on, so the bound on one event (``limits.max_event_bytes``, F09) applies to the
inflated bytes as they are produced, and the client gets a typed error while the gateway's memory
stays flat.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from processes import gateway_config, running
from sseguard.sse import SSEDecoder
from upstream.test_encoding import GIB, gzip_bomb

# A generous bound on the gateway's peak resident memory over every bomb here: an interpreter
# with the gateway loaded takes about 60 MB, and one event may take 32 MiB (more held as many
# short data lines); an unbounded inflation took 0.4 to 1.87 GB.
PEAK_RSS_BOUND = 256 * 1024 * 1024
TIME_BOUND = 60.0  # detects hangs only


def _event(payload: dict[str, object]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (str(payload["type"]).encode(), orjson.dumps(payload))


# An answer that begins well: the client is committed to it when the bomb goes off.
_STARTED = b"".join(
    _event(e)
    for e in [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bomb",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    ]
)

BOMBS = {
    "zeros": (b"\x00", b""),
    "one-long-data-line": (b"x", b"event: content_block_delta\ndata: "),
    "data-lines-without-a-blank-line": (b"data: 123456789\n", b""),
    "long-line-after-events": (b"x", _STARTED + b"event: content_block_delta\ndata: "),
}


class BombUpstream:
    """Answers every request with a 200 event stream whose gzip body is the bomb its path names."""

    def __init__(self) -> None:
        self.bodies = {name: gzip_bomb(unit, GIB, head) for name, (unit, head) in BOMBS.items()}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            name = head.split(b" ", 2)[1].decode().split("/")[1]
            body = self.bodies[name]
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(body)
            )
            writer.write(body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the gateway gave up on the body and closed: what it should do
        finally:
            writer.close()


def peak_rss(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in bytes; None where /proc has no such line."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


@pytest.fixture(scope="module")
def bomb_upstream() -> Iterator[tuple[BombUpstream, asyncio.AbstractEventLoop, str]]:
    """The upstream on its own loop in this thread: each test runs its client on the same loop."""
    loop = asyncio.new_event_loop()
    upstream = BombUpstream()
    server = loop.run_until_complete(asyncio.start_server(upstream.handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    try:
        yield upstream, loop, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


async def ask(gateway_url: str, bomb: str) -> tuple[int, bytes]:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "inflate"}],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway_url}/v1/messages",
            data=orjson.dumps(body),
            headers={"content-type": "application/json", "x-api-key": "k"},
        ) as resp,
    ):
        return resp.status, await resp.read()


def typed_error(status: int, raw: bytes) -> dict[str, str]:
    """The error the client got: an error status with Anthropic's error JSON, or, once the 200
    was committed (by events, or by a ping on a slow machine), the stream's last event."""
    if status != 200:
        error: dict[str, str] = orjson.loads(raw)["error"]
        return error
    events = SSEDecoder().feed(raw)
    assert events and events[-1].event == "error", raw[-300:]
    error = orjson.loads(events[-1].data)["error"]
    return error


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_gzip_bomb_ends_in_a_typed_error_with_memory_bounded(
    bomb_upstream: tuple[BombUpstream, asyncio.AbstractEventLoop, str], tmp_path: Path, bomb: str
) -> None:
    _, loop, upstream_url = bomb_upstream
    config = gateway_config(tmp_path, f"{upstream_url}/{bomb}", first_event="30", idle="30")
    with running("serve", "--config", str(config), banner=b"sseguard listening on") as gw:
        status, raw = loop.run_until_complete(asyncio.wait_for(ask(gw.url, bomb), TIME_BOUND))
        peak = peak_rss(gw.proc.pid)
    error = typed_error(status, raw)
    if bomb == "long-line-after-events":
        assert status == 200 and b'"text":"Hi"' in raw  # what came before it was delivered
    assert error["type"] == "api_error", error
    assert "exceeds" in error["message"], error  # the event bound (F09), not a timeout
    print(f"{bomb}: gateway peak RSS {peak} bytes", file=sys.stderr)
    if peak is not None:
        assert peak < PEAK_RSS_BOUND, f"{peak / 2**20:.0f} MiB"
