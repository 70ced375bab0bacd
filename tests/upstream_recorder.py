"""An in-test upstream on loopback that records every request it receives and answers on cue.

``RecordingUpstream`` runs an aiohttp.web app on its own event loop in a background thread, so
synchronous tests (and the gateway processes they start) can talk to it. The first path segment
chooses the answer, the second labels the deployment, the rest is the client's path::

    http://127.0.0.1:PORT/<behaviour>/<label>/v1/messages?beta=true

Behaviours: ``ok`` (a clean SSE answer, ``CANNED_TEXT``), ``json`` (the same as a JSON Message),
``529`` (Anthropic's overloaded_error), ``400ctx`` (a prompt longer than the model's context),
``pingonly`` (message_start, then pings and no token), ``maxtok_tool`` (max_tokens reached
inside a tool call), ``cutbare`` (a word, then the connection closes), ``401echo`` (a 401 whose body and headers echo every
request header back, as some proxies do, credentials included), ``302`` and ``204`` (answers
that are no error and no Messages answer either: a redirect, an empty success). Every answer carries a
``request-id`` of ``req_<label>_<n>`` (``n`` counts all requests received) and a rate-limit header.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

CANNED_TEXT = "Hello from the recorder."
PING_ONLY_INTERVAL = 0.2  # seconds between the pingonly behaviour's pings
PING_ONLY_LIMIT = 150  # it ends by itself after half a minute
START_TIMEOUT = 10.0  # only detects a thread that never comes up


@dataclass(frozen=True)
class Recorded:
    method: str
    behaviour: str
    label: str
    path: str  # the client's path, after /<behaviour>/<label>
    query: str  # raw, percent-encoding kept
    headers: list[tuple[str, str]]  # lower-cased names, every occurrence, in order
    raw_body: bytes

    @property
    def body(self) -> Any:
        return orjson.loads(self.raw_body) if self.raw_body else None

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def text_of_request(self) -> str:
        body = self.body
        return orjson.dumps(body.get("messages", [])).decode() if isinstance(body, dict) else ""


def sse(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def canned_message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_recorder",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": CANNED_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 5},
    }


def canned_stream(model: str) -> bytes:
    message = canned_message(model)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    half = len(CANNED_TEXT) // 2
    events = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": CANNED_TEXT[:half]},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": CANNED_TEXT[half:]},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]
    return b"".join(sse(e) for e in events)


class RecordingUpstream:
    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self._lock = threading.Lock()
        self.url = ""

    def base(self, behaviour: str, label: str) -> str:
        return f"{self.url}/{behaviour}/{label}"

    def of(self, label: str, tag: str | None = None) -> list[Recorded]:
        """Requests received for ``label``, those whose messages mention ``tag`` if given."""
        with self._lock:
            got = [r for r in self.records if r.label == label]
        return [r for r in got if tag is None or tag in r.text_of_request()]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        behaviour, label, rest = [*request.match_info["tail"].split("/", 2), "", ""][:3]
        raw = await request.read()
        rec = Recorded(
            method=request.method,
            behaviour=behaviour,
            label=label,
            path="/" + rest,
            query=request.raw_path.partition("?")[2],  # as sent, not decoded
            headers=[(k.lower(), v) for k, v in request.headers.items()],
            raw_body=raw,
        )
        with self._lock:
            self.records.append(rec)
            n = len(self.records)
        body = rec.body if raw else {}
        model = str(body.get("model", "m")) if isinstance(body, dict) else "m"
        common = {
            "request-id": f"req_{label}_{n}",
            "anthropic-ratelimit-requests-remaining": str(1000 - n),
        }
        if behaviour == "ok":
            return web.Response(
                body=canned_stream(model),
                headers={**common, "content-type": "text/event-stream; charset=utf-8"},
            )
        if behaviour == "json":
            return web.Response(
                body=orjson.dumps(canned_message(model)),
                headers={**common, "content-type": "application/json"},
            )
        if behaviour == "529":
            error = {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
            return web.Response(
                status=529,
                body=orjson.dumps(error),
                headers={**common, "content-type": "application/json"},
            )
        if behaviour == "maxtok_tool":
            # max_tokens reached inside a tool call's JSON, as Anthropic streams it: the block's
            # stop, then message_delta with stop_reason max_tokens (a legitimate end, F14).
            start = {**canned_message(model), "content": [], "stop_reason": None}
            tool = {"type": "tool_use", "id": "toolu_cut", "name": "get_weather", "input": {}}
            events: list[dict[str, Any]] = [
                {"type": "message_start", "message": start},
                {"type": "content_block_start", "index": 0, "content_block": tool},
                *(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    }
                    for part in ('{"city": ', '"San Fra')
                ),
                {"type": "content_block_stop", "index": 0},
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                    "usage": {"output_tokens": 16},
                },
                {"type": "message_stop"},
            ]
            return web.Response(
                body=b"".join(sse(e) for e in events),
                headers={**common, "content-type": "text/event-stream; charset=utf-8"},
            )
        if behaviour == "cutbare":
            # A text, then the connection closes mid-body: every time, continuation or not.
            resp = web.StreamResponse(
                headers={**common, "content-type": "text/event-stream; charset=utf-8"}
            )
            await resp.prepare(request)
            start = {**canned_message(model), "content": [], "stop_reason": None}
            block = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": "Hello"}
            for event in (
                {"type": "message_start", "message": start},
                {"type": "content_block_start", "index": 0, "content_block": block},
                {"type": "content_block_delta", "index": 0, "delta": delta},
            ):
                await resp.write(sse(event))
            assert request.transport is not None
            request.transport.close()  # no chunked terminator: the body breaks off (F20)
            return resp
        if behaviour == "pingonly":
            # message_start, then only pings: an upstream that holds the request without a token.
            resp = web.StreamResponse(
                headers={**common, "content-type": "text/event-stream; charset=utf-8"}
            )
            await resp.prepare(request)
            start = {**canned_message(model), "content": [], "stop_reason": None}
            await resp.write(sse({"type": "message_start", "message": start}))
            for _ in range(PING_ONLY_LIMIT):
                await asyncio.sleep(PING_ONLY_INTERVAL)
                await resp.write(sse({"type": "ping"}))
            return resp
        if behaviour == "400ctx":
            error = {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            }
            return web.Response(
                status=400,
                body=orjson.dumps(error),
                headers={**common, "content-type": "application/json"},
            )
        if behaviour == "401echo":
            echoed = "; ".join(f"{k}: {v}" for k, v in rec.headers)
            error = {
                "type": "error",
                "error": {"type": "authentication_error", "message": f"invalid key ({echoed})"},
            }
            return web.Response(
                status=401,
                body=orjson.dumps(error),
                headers={
                    **common,
                    "content-type": "application/json",
                    "x-echo-headers": echoed.replace("\n", " "),
                },
            )
        if behaviour == "302":
            return web.Response(status=302, headers={**common, "location": "http://127.0.0.1:9/"})
        if behaviour == "204":
            return web.Response(status=204, headers=common)
        return web.Response(status=500, text=f"unknown behaviour {behaviour!r}")


@contextmanager
def recording_upstream() -> Iterator[RecordingUpstream]:
    """A running ``RecordingUpstream`` until the block ends."""
    upstream = RecordingUpstream()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    failure: list[BaseException] = []

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", upstream._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        upstream.url = f"http://127.0.0.1:{port}"
        ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # surfaced to the test that started it
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="recording-upstream", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT) or failure:
        raise RuntimeError(f"recording upstream did not start: {failure!r}")
    try:
        yield upstream
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)
