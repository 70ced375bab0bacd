"""The simulator over real loopback sockets, driven by the official ``anthropic`` SDK and raw reads."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx2
import orjson
import pytest
from simstream import wire

from sseguard.sim import SCENARIO_HEADER, Simulator, expected_answer
from sseguard.sim.content import CANONICAL_TEXT, estimate_tokens
from sseguard.sim.scenarios import plan_for, select
from sseguard.sim.wire import Ask

MODEL = "claude-sim-1"
HANG = 10  # seconds; only to turn a hang into a failure
TOOL = {
    "name": "get_forecast",
    "description": "forecast",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


def client(url: str, timeout: float = HANG, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=url, api_key="test", max_retries=0, timeout=timeout, **options
    )


def request(prompt: str, *extra_messages: dict[str, Any], **options: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": prompt}, *extra_messages]
    return {"model": MODEL, "max_tokens": 256, "messages": messages, **options}


def streamed(c: anthropic.Anthropic, body: dict[str, Any]) -> anthropic.types.Message:
    with c.messages.stream(**body) as stream:
        return stream.get_final_message()


def test_clean_stream_and_non_stream_give_the_expected_text(base_url: str) -> None:
    body = request("clean please")
    want = expected_answer(body)["content"][0]["text"]
    message = streamed(client(base_url), body)
    assert message.content[0].type == "text" and message.content[0].text == want
    assert message.stop_reason == "end_turn"
    created = client(base_url).messages.create(**body)
    assert created.content[0].type == "text" and created.content[0].text == want
    assert created.usage.input_tokens == estimate_tokens(body)


def test_tools_give_the_expected_tool_input(base_url: str) -> None:
    body = request("forecast?", tools=[TOOL])
    message = streamed(client(base_url), body)
    tool = message.content[-1]
    assert tool.type == "tool_use" and tool.input == expected_answer(body)["content"][-1]["input"]
    assert message.stop_reason == "tool_use"


def test_prefill_continuation_streams_the_remainder(base_url: str) -> None:
    body = request("go on", {"role": "assistant", "content": CANONICAL_TEXT[:120]})
    message = streamed(client(base_url), body)
    assert message.content[0].type == "text" and message.content[0].text == CANONICAL_TEXT[120:]


def test_429_is_a_rate_limit_error_with_retry_after(base_url: str) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(f"{base_url}/s/rate_limited_429").messages.create(**request("429"))
    assert caught.value.response.headers["retry-after"] == "1"


def test_529_is_overloaded(base_url: str) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        streamed(client(f"{base_url}/s/overloaded_529"), request("529"))
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


@pytest.mark.parametrize("scenario", ["close_in_text", "close_in_tool_call", "close_in_thinking"])
def test_mid_stream_close_raises_instead_of_succeeding(base_url: str, scenario: str) -> None:
    with pytest.raises((anthropic.APIError, httpx2.HTTPError)):
        streamed(client(f"{base_url}/s/{scenario}"), request(scenario))


def test_stall_before_first_byte_times_out(base_url: str) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        client(f"{base_url}/s/stall_before_first_byte", timeout=0.5).messages.create(
            **request("stall")
        )


@pytest.mark.parametrize(
    ("where", "options"),
    [
        ("url prefix", {"url": "/s/overloaded_529"}),
        ("model suffix", {"model": f"{MODEL}+overloaded_529"}),
        ("header", {"headers": {SCENARIO_HEADER: "overloaded_529"}}),
    ],
)
def test_scenario_selection(base_url: str, where: str, options: dict[str, Any]) -> None:
    c = client(base_url + options.get("url", ""), default_headers=options.get("headers"))
    body = {**request(where), "model": options.get("model", MODEL)}
    with pytest.raises(anthropic.APIStatusError) as caught:
        c.messages.create(**body)
    assert caught.value.status_code == 529


def test_unknown_scenario_is_a_400_naming_it(base_url: str) -> None:
    with pytest.raises(anthropic.BadRequestError, match=r"no_such_thing.*sseguard sim --list"):
        client(f"{base_url}/s/no_such_thing").messages.create(**request("x"))


def test_once_fails_first_then_succeeds_for_the_same_conversation(base_url: str) -> None:
    c = client(f"{base_url}/s/close_in_text_once")
    body = request("resume me")
    with pytest.raises((anthropic.APIError, httpx2.HTTPError)):
        streamed(c, body)
    resumed = request("resume me", {"role": "assistant", "content": CANONICAL_TEXT[:40]})
    message = streamed(c, resumed)
    assert message.content[0].type == "text" and message.content[0].text == CANONICAL_TEXT[40:]
    with pytest.raises((anthropic.APIError, httpx2.HTTPError)):
        streamed(c, request("another conversation"))


def test_once_retry_of_a_529_succeeds(base_url: str) -> None:
    c = client(f"{base_url}/s/overloaded_529_once")
    with pytest.raises(anthropic.APIStatusError):
        c.messages.create(**request("retry me"))
    assert c.messages.create(**request("retry me")).stop_reason == "end_turn"


def test_count_tokens_and_models(base_url: str) -> None:
    body = request("count me")
    counted = client(base_url).messages.count_tokens(model=MODEL, messages=body["messages"])
    assert counted.input_tokens == estimate_tokens({"messages": body["messages"]})
    with pytest.raises(anthropic.NotFoundError):
        client(f"{base_url}/s/count_tokens_missing").messages.count_tokens(
            model=MODEL, messages=body["messages"]
        )
    assert [m.id for m in client(base_url).models.list()] == [
        "claude-sonnet-4-5",
        "claude-opus-4-1",
        "claude-haiku-4-5",
    ]


def test_one_byte_chunking_puts_each_byte_in_its_own_http_chunk() -> None:
    body = request("raw bytes", stream=True)
    want = wire(plan_for(select("glued_text"), Ask(body, stream=True)))

    async def fetch() -> tuple[bytes, Simulator]:
        async with Simulator(default_scenario="glued_text@bytes") as sim:
            reader, writer = await asyncio.open_connection(sim.host, sim.port)
            data = orjson.dumps(body)
            writer.write(
                b"POST /v1/messages?beta=true HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
                + data
            )
            raw = await asyncio.wait_for(reader.read(-1), HANG)
            writer.close()
            return raw, sim

    raw, sim = asyncio.run(fetch())
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding: chunked" in head
    sizes: list[int] = []
    body_bytes, rest = b"", chunked
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        sizes.append(size)
        body_bytes, rest = body_bytes + rest[:size], rest[size + 2 :]
    assert body_bytes == want and set(sizes) == {1}
    assert sim.records[-1].outcome == "complete"
