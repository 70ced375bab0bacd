"""Every Anthropic-format simulator scenario through a real gateway's ``/v1/chat/completions`` with the
official ``openai`` Python SDK, streaming and not, with tools and reasoning where the scenario has
them.

The same matrix and verdicts as tests/gateway/test_gateway_sdk.py, seen by an OpenAI client: the
resilience rules apply unchanged behind the translation, recoverable scenarios give the expected
text, tool calls, finish reason and usage, and the others a typed ``openai.APIError`` — never a
hang, a raw parse error, or a cut answer ending in ``finish_reason: stop``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from gateway.test_gateway_sdk import FAILING, SCENARIOS, TIME_BOUND, request_for, run_matrix
from processes import gateway, gateway_config, simulator
from sseguard.sim import CATALOGUE, expected_answer

FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


@dataclass
class Answer:
    """What an OpenAI client ends up holding, from a stream or a completion."""

    text: str = ""
    reasoning: str = ""
    tools: dict[int, dict[str, str]] = field(default_factory=dict)
    finish: str | None = None
    usage: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def openai_request(name: str, stream: bool) -> dict[str, Any]:
    """The OpenAI spelling of the Anthropic matrix's request for ``name``."""
    body = request_for(name, stream)
    out: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": body["max_tokens"],
        "messages": body["messages"],
    }
    for tool in body.get("tools", []):
        function = {
            "name": tool["name"],
            "description": tool["description"],
            "parameters": tool["input_schema"],
        }
        out.setdefault("tools", []).append({"type": "function", "function": function})
    if "thinking" in body:
        out["reasoning_effort"] = "low"  # a 1024-token budget, as the Anthropic matrix asks
    return out


def call(base_url: str, name: str, stream: bool) -> Answer:
    client = openai.OpenAI(
        base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    body = openai_request(name, stream)
    answer = Answer()
    started = time.monotonic()
    try:
        if stream:
            chunks = client.chat.completions.create(
                **body, stream=True, stream_options={"include_usage": True}
            )
            for chunk in chunks:
                if chunk.usage is not None:
                    answer.usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    answer.text += delta.content or ""
                    answer.reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
                    for call_ in delta.tool_calls or ():
                        slot = answer.tools.setdefault(call_.index, {"arguments": ""})
                        if call_.id:
                            slot["id"] = call_.id
                        if call_.function and call_.function.name:
                            slot["name"] = call_.function.name
                        if call_.function and call_.function.arguments:
                            slot["arguments"] += call_.function.arguments
                    answer.finish = choice.finish_reason or answer.finish
        else:
            completion = client.chat.completions.create(**body)
            message = completion.choices[0].message
            answer.text = message.content or ""
            answer.reasoning = (message.model_extra or {}).get("reasoning_content") or ""
            for i, tc in enumerate(message.tool_calls or ()):
                assert tc.type == "function"
                answer.tools[i] = {
                    "id": tc.id,
                    "name": tc.function.name,
                    "arguments": tc.function.arguments,
                }
            answer.finish = completion.choices[0].finish_reason
            answer.usage = completion.usage
    except Exception as exc:  # judged by the test, per scenario
        answer.error = exc
    answer.seconds = time.monotonic() - started
    return answer


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, bool], Answer]]:
    tmp = tmp_path_factory.mktemp("gw-openai")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url)) as gw_url:
        yield run_matrix(call, gw_url, SCENARIOS)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_through_openai_edge(
    answers: dict[tuple[str, bool], Answer], name: str, stream: bool
) -> None:
    got = answers[(name, stream)]
    assert got.seconds < TIME_BOUND, f"{name} took {got.seconds:.1f} s"
    if name in FAILING:
        assert isinstance(got.error, openai.APIError), f"{name}: {got.error!r}"
        assert not isinstance(got.error, openai.APIConnectionError), f"{name}: {got.error!r}"
        assert got.finish is None, f"{name}: a broken answer ended with finish_reason {got.finish}"
        assert "Could not parse" not in str(got.error)
        return
    assert got.error is None, f"{name}: {got.error!r}"
    request = request_for(name, stream)
    want = expected_answer({**request, "model": "claude-sonnet-4-5"})
    assert got.finish == FINISH[want["stop_reason"]], name
    assert got.text == "".join(b["text"] for b in want["content"] if b["type"] == "text"), name
    want_thinking = "".join(b["thinking"] for b in want["content"] if b["type"] == "thinking")
    if CATALOGUE[name].fault != "F13":  # F13 re-homes stray thinking: its place moves, not its text
        assert got.reasoning == want_thinking, name
    want_tools = [b for b in want["content"] if b["type"] == "tool_use"]
    assert [t["name"] for t in got.tools.values()] == [b["name"] for b in want_tools], name
    arguments = [json.loads(t["arguments"]) for t in got.tools.values()]
    if CATALOGUE[name].huge:
        assert len(arguments) == 1 and len(str(arguments[0])) > 1_000_000
    else:
        assert arguments == [b["input"] for b in want_tools], name
    assert got.usage is not None and got.usage.completion_tokens > 0, name
    assert got.usage.total_tokens == got.usage.prompt_tokens + got.usage.completion_tokens


def test_openai_errors_have_openai_shape_and_real_status(tmp_path: Any) -> None:
    with simulator() as sim_url, gateway(gateway_config(tmp_path, sim_url)) as gw_url:
        client = openai.OpenAI(base_url=f"{gw_url}/v1", api_key="k", max_retries=0, timeout=30)
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(
                model="claude-sonnet-4-5",
                messages=[{"role": "user", "content": "hi"}],
                n=2,
            )
        assert bad.value.status_code == 400
        assert isinstance(bad.value.body, dict) and "n" in bad.value.body["message"]
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(
                model="claude-sonnet-4-5+rate_limited_429",
                messages=[{"role": "user", "content": "hi"}],
            )
        assert limited.value.status_code == 429
        assert limited.value.response.headers.get("retry-after") == "1"
        models = [m.id for m in client.models.list()]
        assert "claude-sonnet-4-5" in models
