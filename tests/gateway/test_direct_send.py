"""``DirectSend`` against the uvicorn the project installs: a stream written straight to the
transport reads as the same chunked response ``send`` would have made, and ``ready()`` turns False
when the client leaves. If a uvicorn release changes the internals it relies on, these fail rather
than the gateway silently taking the slower path."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from sseguard.gateway.direct import DirectSend

TIME_BOUND = 10.0  # detects hangs only
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
REQUEST = b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"


async def _serving(app: App) -> tuple[uvicorn.Server, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http="httptools", lifespan="off", log_level="warning")
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    return server, sock.getsockname()[1]


def _answer(app: App, until: bytes) -> bytes:
    """Serve ``app``, send it one GET, and return what came back up to ``until``."""

    async def main() -> bytes:
        server, port = await _serving(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        try:
            return await reader.readuntil(until)
        finally:
            writer.close()
            await server.shutdown()

    return asyncio.run(asyncio.wait_for(main(), TIME_BOUND))


async def _start(send: Any, *headers: tuple[bytes, bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})


def test_direct_writes_make_the_chunked_body_send_would_make() -> None:
    seen: list[DirectSend | None] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _start(send, (b"content-type", b"text/event-stream"))
        direct = DirectSend.of(send)
        seen.append(direct)
        assert direct is not None and direct.ready()
        direct.body(b"event: a\ndata: {}\n\n")
        direct.body(b"")  # nothing to write: no empty chunk, which would end the body
        direct.body(b"event: b\ndata: {}\n\n")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    head, body = _answer(app, b"0\r\n\r\n").split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head
    assert body == b"13\r\nevent: a\ndata: {}\n\n\r\n13\r\nevent: b\ndata: {}\n\n\r\n0\r\n\r\n"
    assert seen and seen[0] is not None


def test_not_ready_once_the_client_is_gone() -> None:
    states: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _start(send)
        direct = DirectSend.of(send)
        assert direct is not None
        direct.body(b"data: {}\n\n")
        states.append(direct.ready())
        while (await receive())["type"] != "http.disconnect":
            pass  # the request's (empty) body first
        states.append(direct.ready())

    _answer(app, b"data: {}\n\n")
    assert states == [True, False]


def test_no_direct_path_for_a_sized_body_or_another_server() -> None:
    found: list[DirectSend | None] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _start(send, (b"content-length", b"2"))
        found.append(DirectSend.of(send))
        await send({"type": "http.response.body", "body": b"{}"})

    _answer(app, b"\r\n\r\n{}")

    async def other_send(message: Any) -> None:
        return None

    assert found == [None]
    assert DirectSend.of(other_send) is None
