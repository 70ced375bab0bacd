"""``DirectSend`` against the uvicorn the project installs: a stream written straight to the
transport reads as the same chunked response ``send`` would have made, and ``ready()`` turns False
when the client leaves. If a uvicorn release changes the internals it relies on, these fail rather
than the gateway silently taking the slower path."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anthropic
import pytest
import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from sseguard.config import Config
from sseguard.demo import running_gateway
from sseguard.gateway.direct import DirectSend, available, check_server, missing_attributes
from sseguard.sim import expected_answer, start_in_thread

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


def test_the_installed_uvicorn_has_what_the_direct_path_reads() -> None:
    assert missing_attributes() == ()
    assert available()


@pytest.fixture
def uvicorn_without_the_attributes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A uvicorn whose cycle and flow control set their state up elsewhere than in ``__init__``:
    the names the direct path reads are nowhere in the ``__init__`` it finds. The instances are
    uvicorn's own, so the server itself still works."""

    def wrapped(init: Callable[..., None]) -> Callable[..., None]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)

        return __init__

    for cls in (RequestResponseCycle, FlowControl):
        monkeypatch.setattr(cls, "__init__", wrapped(cls.__init__))
    available.cache_clear()
    yield
    available.cache_clear()


BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "direct or not"}],
}


def _gateway_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[tuple[str, Any], list[DirectSend | None]]:
    """One streamed answer from a real gateway (in this process, in front of the simulator) as
    the SDK built it, and what ``DirectSend.of`` gave the stream when it committed."""
    found: list[DirectSend | None] = []
    of = DirectSend.of.__func__  # type: ignore[attr-defined]

    def spy(cls: type[DirectSend], send: object) -> DirectSend | None:
        found.append(of(cls, send))
        return found[-1]

    monkeypatch.setattr(DirectSend, "of", classmethod(spy))
    sim_url, stop_sim = start_in_thread()
    try:
        with running_gateway(Config.simulator(sim_url)) as url:
            client = anthropic.Anthropic(base_url=url, api_key="any", max_retries=0, timeout=30)
            with client.messages.stream(**BODY) as stream:
                message = stream.get_final_message()
    finally:
        stop_sim()
    text = "".join(b.text for b in message.content if b.type == "text")
    return (text, message.stop_reason), found


def _expected() -> tuple[str, str]:
    want = expected_answer({**BODY, "stream": True})
    return "".join(b["text"] for b in want["content"]), want["stop_reason"]


def test_a_uvicorn_without_those_attributes_gets_plain_sends_and_a_warning(
    uvicorn_without_the_attributes: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert missing_attributes() == (
        "RequestResponseCycle.transport",
        "RequestResponseCycle.flow",
        "RequestResponseCycle.disconnected",
        "RequestResponseCycle.chunked_encoding",
        "RequestResponseCycle.response_complete",
        "FlowControl.write_paused",
    )
    with caplog.at_level(logging.WARNING, logger="sseguard.gateway"):
        check_server()
    [warning] = caplog.records
    assert "RequestResponseCycle.flow" in warning.getMessage()
    assert "ASGI send" in warning.getMessage()
    answer, found = _gateway_stream(monkeypatch)
    assert answer == _expected()
    assert found == [None]  # committed on the plain path, and answered all the same


def test_the_gateway_takes_the_direct_path_under_the_pinned_uvicorn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The counterpart of the test above: the spy sees the direct path when it is there."""
    answer, found = _gateway_stream(monkeypatch)
    assert answer == _expected()
    assert len(found) == 1 and found[0] is not None
