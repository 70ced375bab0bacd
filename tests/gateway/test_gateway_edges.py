"""The OpenAI and browser edges' bytes on the wire, read raw through a real gateway and simulator.

The invariant of both: a stream ends either complete (OpenAI: a ``finish_reason`` then ``[DONE]``
exactly once; browser: ``done``) or with an error object, never cut silently and never both.
Errors before commit have the endpoint's own shape and the real status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import orjson
import pytest

from gateway.test_gateway_sdk import FAILING, RESUMED_WHEN_TOOLS_OFFERED, SCENARIOS, TIME_BOUND
from processes import gateway, gateway_config, simulator
from sseguard.sse import SSEDecoder


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("edges")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url, ping_interval="5")) as url:
        yield url


async def _request(
    method: str, url: str, data: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    timeout = aiohttp.ClientTimeout(total=TIME_BOUND)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, url, data=data, headers=headers) as resp,
    ):
        raw = await resp.read()
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw


def request(
    method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = (
        None
        if payload is None
        else (payload if isinstance(payload, bytes) else orjson.dumps(payload))
    )
    hdrs = {"content-type": "application/json", **(headers or {})}
    return asyncio.run(_request(method, url, data, hdrs))


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def chat(name: str, tag: str = "") -> dict[str, Any]:
    return {
        "model": f"claude-sonnet-4-5+{name}",
        "stream": True,
        "messages": [{"role": "user", "content": f"edge test {name} {tag}"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}],
    }


def data_lines(raw: bytes) -> list[str]:
    events = SSEDecoder().feed(raw)
    assert all(e.event is None for e in events), "OpenAI chunks carry no event: lines"
    return [e.data for e in events]


@pytest.fixture(scope="module")
def openai_streams(gw: str) -> dict[str, tuple[int, bytes]]:
    def one(name: str) -> tuple[int, bytes]:
        status, _, raw = request("POST", f"{gw}/v1/chat/completions", chat(name, "matrix"))
        return status, raw

    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(zip(SCENARIOS, pool.map(one, SCENARIOS), strict=True))


@pytest.mark.parametrize("name", SCENARIOS)
def test_openai_stream_ends_complete_or_with_an_error(
    openai_streams: dict[str, tuple[int, bytes]], name: str
) -> None:
    status, raw = openai_streams[name]
    if status != 200:
        assert name in FAILING
        assert "error" in orjson.loads(raw), raw[:200]
        return
    lines = data_lines(raw)
    chunks = [orjson.loads(line) for line in lines if line != "[DONE]"]
    errors = [c for c in chunks if "error" in c]
    if name in FAILING - RESUMED_WHEN_TOOLS_OFFERED:  # chat() offers a tool
        assert "[DONE]" not in lines, f"{name}: a broken stream ended with [DONE]"
        assert len(errors) == 1 and chunks[-1] is errors[0]
        assert set(errors[0]["error"]) >= {"message", "type", "code"}
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
        assert not any(finishes), f"{name}: a broken stream carried finish_reason {finishes}"
        return
    assert not errors, errors
    assert lines.count("[DONE]") == 1 and lines[-1] == "[DONE]"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert finishes[-1] in ("stop", "tool_calls", "length") and not any(finishes[:-1])
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1


def test_openai_errors_before_commit(gw: str) -> None:
    status, headers, raw = request("POST", f"{gw}/v1/chat/completions", b"{not json")
    assert status == 400
    assert orjson.loads(raw)["error"]["type"] == "invalid_request_error"
    assert headers["x-sseguard-request-id"].startswith("sg_")
    status, _, raw = request(
        "POST",
        f"{gw}/v1/chat/completions",
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": [{"type": "x"}]}]},
    )
    assert status == 400
    assert "messages[0].content[0]" in orjson.loads(raw)["error"]["message"]
    status, _, raw = request("POST", f"{gw}/v1/chat/completions", chat("overloaded_529"))
    assert status == 529 and orjson.loads(raw)["error"]["code"] == "overloaded_error"


def test_models_follow_the_client_format(gw: str) -> None:
    _, _, raw = request("GET", f"{gw}/v1/models")
    listing = orjson.loads(raw)
    assert listing["object"] == "list" and listing["data"][0]["object"] == "model"
    _, _, raw = request("GET", f"{gw}/v1/models", headers={"anthropic-version": "2023-06-01"})
    listing = orjson.loads(raw)
    assert listing["data"][0]["type"] == "model" and "has_more" in listing


def browser_events(raw: bytes) -> list[tuple[str | None, str, Any]]:
    return [(e.event, e.id, orjson.loads(e.data)) for e in SSEDecoder().feed(raw)]


def test_browser_tool_call_arrives_whole(gw: str) -> None:
    body = {
        **chat("index_gap", "browser"),
        "tools": [{"name": "get_weather", "input_schema": SCHEMA}],
    }
    del body["stream"]
    status, headers, raw = request("POST", f"{gw}/v1/chat/sse", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = browser_events(raw)
    tools = [data for name, _, data in events if name == "tool"]
    assert len(tools) == 1 and tools[0]["name"] == "get_weather"
    assert isinstance(tools[0]["input"], dict) and tools[0]["input"]
    assert events[-1][0] == "done" and events[-1][2]["stop_reason"] == "tool_use"
    assert [i for _, i, _ in events] == [str(n) for n in range(1, len(events) + 1)]


def test_browser_errors_before_commit_are_events_under_the_real_status(gw: str) -> None:
    status, headers, raw = request("GET", f"{gw}/v1/chat/sse?model=m&prompt=hi&temperature=1")
    assert status == 400 and headers["content-type"].startswith("text/event-stream")
    [(name, _, data)] = browser_events(raw)
    assert name == "error" and "temperature" in data["message"] and data["status"] == 400
    status, _, raw = request("POST", f"{gw}/v1/chat/sse", {"model": "m"})
    assert status == 400 and "prompt" in browser_events(raw)[0][2]["message"]


def test_eventsource_reconnection_is_refused_with_204(gw: str) -> None:
    status, _, raw = request(
        "GET",
        f"{gw}/v1/chat/sse?model=claude-sonnet-4-5&prompt=hi",
        headers={"last-event-id": "12"},
    )
    assert status == 204 and raw == b""


def test_playground_page_is_served(gw: str) -> None:
    status, headers, raw = request("GET", f"{gw}/playground")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/v1/chat/sse" in raw


def splitlines_events(raw: bytes) -> list[Any]:
    """The data of each event as a client that reads lines with ``str.splitlines()`` sees it
    (httpx's ``iter_lines()``, and LiteLLM's SDK on top of it): F06's "who breaks"."""
    lines = raw.decode().splitlines()
    return [orjson.loads(line[6:]) for line in lines if line.startswith("data: {")]


# Upstream events passed through with raw separators (F06), a Message rendered as a stream (F25),
# events the repairer rebuilt (F13): each path writes JSON of its own.
SEPARATOR_PATHS = ["unicode_separators", "message_json_in_stream", "delta_type_mismatch"]


@pytest.mark.parametrize("name", SEPARATOR_PATHS)
def test_no_endpoint_sends_a_raw_line_separator(gw: str, name: str) -> None:
    """The answer holds a U+2028. JSON allows it raw; a client whose line reader follows
    str.splitlines() then gets half an event, which does not parse, and drops it (LiteLLM's SDK
    lost half the answer so). Every endpoint writes it escaped, as Anthropic does."""
    body = {**chat(name, "separators"), "max_tokens": 400}
    del body["tools"]
    endpoints = {
        "messages": ("/v1/messages", body),
        "openai": ("/v1/chat/completions", body),
        "browser": ("/v1/chat/sse", {k: v for k, v in body.items() if k != "stream"}),
    }
    for endpoint, (path, payload) in endpoints.items():
        status, _, raw = request("POST", f"{gw}{path}", payload)
        assert status == 200, (endpoint, raw[:200])
        for separator in ("\u2028", "\u2029", "\x85"):
            assert separator.encode() not in raw, (endpoint, separator)
        events = splitlines_events(raw)
        if endpoint == "messages":
            text = "".join(
                e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta"
            )
        elif endpoint == "openai":
            text = "".join(
                e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]
            )
        else:
            text = "".join(e.get("text", "") for e in events if "text" in e)
        assert "\u2028" in text, endpoint  # the value itself is kept, escaped on the wire
