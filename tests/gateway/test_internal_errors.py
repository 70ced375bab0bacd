"""A bug of sseguard's own still ends every request truthfully (issue 19): before commit a 500 in
the endpoint's format, after commit a typed error event, and the record says "error".

The fault is injected where no upstream or client behaviour can reach: the exchange raises, in a
gateway called in-process over ASGI with a fake client, as Starlette tests disconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from processes import gateway_config
from sseguard.config import load_config
from sseguard.gateway.app import Gateway
from sseguard.observe.record import RequestRecord
from sseguard.protocol.events import Event
from sseguard.resilience.exchange import Exchange, Sink

TIME_BOUND = 10.0  # detects hangs only


def call(app: Gateway, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """One request through the ASGI app: the status and the whole body it sent."""
    sent: list[dict[str, Any]] = []
    request = {"type": "http.request", "body": orjson.dumps(body), "more_body": False}
    received = [request]

    async def receive() -> dict[str, Any]:
        if received:
            return received.pop()
        await asyncio.Event().wait()  # the client stays until the response ends
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), TIME_BOUND))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


BODY = {
    "model": "m",
    "max_tokens": 8,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


def recorded(app: Gateway) -> list[RequestRecord]:
    """The records the gateway hands its observers, as they come."""
    records: list[RequestRecord] = []
    app.observers = (*app.observers, records.append)
    return records


@pytest.fixture
def app(tmp_path: Path) -> Gateway:
    return Gateway(load_config(gateway_config(tmp_path, "http://127.0.0.1:9")))


def breaks(after_commit: bool) -> Any:
    async def run(self: Exchange, sink: Sink) -> None:
        if after_commit:
            start = {"type": "message_start", "message": {"id": "msg_x", "usage": {}}}
            await sink.write([Event.of(start)])
        raise ZeroDivisionError("a bug")

    return run


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/v1/messages", "anthropic"), ("/v1/chat/completions", "openai")],
)
def test_an_internal_error_before_commit_is_a_500_in_the_endpoints_format(
    app: Gateway, monkeypatch: pytest.MonkeyPatch, path: str, shape: str
) -> None:
    monkeypatch.setattr(Exchange, "run", breaks(after_commit=False))
    records = recorded(app)
    status, raw = call(app, path, BODY)
    assert status == 500
    error = orjson.loads(raw)["error"]
    assert error["type"] == ("api_error" if shape == "anthropic" else "server_error")
    assert "ZeroDivisionError" in error["message"] and "a bug" not in error["message"]
    assert records[-1].outcome == "error" and records[-1].status == 500


def test_an_internal_error_after_commit_ends_the_stream_with_a_typed_error(
    app: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Exchange, "run", breaks(after_commit=True))
    records = recorded(app)
    status, raw = call(app, "/v1/messages", BODY)
    assert status == 200
    assert raw.startswith(b"event: message_start")
    last = raw.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert last.startswith(b"event: error\ndata: ")
    assert orjson.loads(last.split(b"data: ", 1)[1])["error"]["type"] == "api_error"
    assert records[-1].outcome == "error" and records[-1].midstream == "error"
