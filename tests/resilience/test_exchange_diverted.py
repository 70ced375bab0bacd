"""The exchange's two write paths on one stream: events repaired inside the upstream connection's
callback (``write_now``) while the client can take them, the task's awaited ``write`` when it
cannot, and back. A scripted upstream on loopback sends one event per read; the client side is a
sink that refuses direct writes now and then, as a paused socket does. Nothing may be lost,
doubled or reordered across the hand-overs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from processes import gateway_config
from sseguard.config import load_config
from sseguard.observe.record import RequestRecord
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.resilience.exchange import ClientRequest, Exchange
from sseguard.upstream.client import UpstreamClient
from streams import MESSAGE_STOP, block_stop, frame, message_delta, message_start, text, text_start

TIME_BOUND = 20.0  # detects hangs only
DELTAS = 40


class FlakySink:
    """A streaming client whose socket is 'paused' once each time the events it has reach a
    multiple of ``every``: one refused readiness check there, whoever asks."""

    streaming = True

    def __init__(self, every: int) -> None:
        self.committed = False
        self.last_write = 0.0
        self.events: list[Event] = []
        self.paths: list[str] = []
        self.seen = asyncio.Condition()
        self._every = every
        self._refused: set[int] = set()

    async def _got(self, events: list[Event], path: str) -> None:
        async with self.seen:
            self._note(events, path)

    def _note(self, events: list[Event], path: str) -> None:
        self.committed = True
        self.events += events
        self.paths += [path] * len(events)

    async def write(self, events: list[Event]) -> None:
        await self._got(events, "task")
        async with self.seen:
            self.seen.notify_all()

    def can_write_now(self) -> bool:
        have = len(self.events)
        if have % self._every or have in self._refused:
            return True
        self._refused.add(have)
        return False

    def write_now(self, events: list[Event]) -> None:
        self._note(events, "direct")
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.seen:
            self.seen.notify_all()

    async def ping(self) -> None:
        return None


def _events() -> list[bytes]:
    parts: list[dict[str, Any]] = [message_start(), text_start(0)]
    parts += [text(0, f"w{i} ") for i in range(DELTAS)]
    parts += [block_stop(0), message_delta(), MESSAGE_STOP]
    return [frame(p) for p in parts]


async def _upstream(sink: FlakySink) -> tuple[asyncio.Server, str]:
    """Answers one request with the stream, one event per write, each written only after the sink
    has the previous one: one event per read on the gateway's side, whatever the socket does."""
    events = _events()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for n, event in enumerate(events, start=1):
            writer.write(b"%x\r\n%b\r\n" % (len(event), event))
            await writer.drain()
            if n == 1 or n > DELTAS + 2:
                continue  # held by the repairer: a lone message_start, and message_delta
            async with sink.seen:
                await sink.seen.wait_for(lambda n=n: len(sink.events) >= n)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("every", [2, 3, 1000])
def test_events_cross_between_the_direct_and_the_awaited_path_in_order(
    tmp_path: Path, every: int
) -> None:
    async def main() -> None:
        sink = FlakySink(every)
        server, url = await _upstream(sink)
        config = load_config(gateway_config(tmp_path, url))
        route = config.route_for("claude-sonnet-4-5")
        assert route is not None
        client = UpstreamClient(connect_timeout=5)
        body = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
        request = ClientRequest("/v1/messages", "", {"x-api-key": "k"}, body, "sg_test")
        exchange = Exchange(
            client, config, route, request, RequestRecord("sg_test", "/v1/messages")
        )
        await exchange.run(sink)
        await client.close()
        server.close()
        assert exchange.outcome == "complete"
        assert not violations(sink.events)
        deltas = [
            e.payload["delta"]["text"] for e in sink.events if e.type == "content_block_delta"
        ]
        assert deltas == [f"w{i} " for i in range(DELTAS)]
        assert "direct" in sink.paths
        if every < 1000:
            assert "task" in sink.paths[2:]  # after the first write, the paths alternate

    asyncio.run(asyncio.wait_for(main(), TIME_BOUND))
