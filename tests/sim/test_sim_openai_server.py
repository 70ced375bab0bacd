"""The simulator's chat.completions endpoint over real loopback sockets, driven by the official
``openai`` SDK: the clean answers are what the SDK expects, the faulty ones fail the way they should."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from simstream import FORECAST

from sseguard.sim import SCENARIO_HEADER, expected_completion
from sseguard.sim.content import CANONICAL_TEXT, THINKING_TEXT
from sseguard.sim.server import MODELS

MODEL = "gpt-sim-1"
HANG = 10  # seconds; only to turn a hang into a failure


def client(url: str, timeout: float = HANG, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=url + "/v1", api_key="x", max_retries=0, timeout=timeout, **options
    )


def request(prompt: str, *extra_messages: dict[str, Any], **options: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": prompt}, *extra_messages]
    return {"model": MODEL, "max_completion_tokens": 256, "messages": messages, **options}


def streamed(c: openai.OpenAI, body: dict[str, Any]) -> list[Any]:
    return list(c.chat.completions.create(**body, stream=True))


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def finish_reasons(chunks: list[Any]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


def test_clean_stream_with_usage_gives_the_expected_text(base_url: str) -> None:
    body = request("clean please", stream_options={"include_usage": True})
    chunks = streamed(client(base_url), body)
    assert text_of(chunks) == CANONICAL_TEXT
    assert finish_reasons(chunks) == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.model_dump(exclude_unset=True) == expected_completion(body)["usage"]


def test_clean_non_stream_is_the_expected_completion(base_url: str) -> None:
    body = request("not streamed")
    completion = client(base_url).chat.completions.create(**body)
    assert completion.model_dump(exclude_unset=True) == expected_completion(body)
    assert completion.choices[0].message.content == CANONICAL_TEXT


@pytest.mark.parametrize("scenario", ["oa_clean", "oa_parallel_tools"])
def test_tools_add_up_in_the_sdks_own_accumulator(base_url: str, scenario: str) -> None:
    body = request("forecast?", tools=[FORECAST])
    with client(f"{base_url}/s/{scenario}").chat.completions.stream(**body) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["get_forecast"] * (len(calls))
    inputs = [json.loads(c.function.arguments) for c in calls]
    assert inputs[0] == json.loads(
        expected_completion(body)["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    )
    assert len(calls) == (2 if scenario == "oa_parallel_tools" else 1)
    assert len({c.id for c in calls}) == len({json.dumps(i) for i in inputs}) == len(calls)


def test_reasoning_effort_streams_reasoning_content_first(base_url: str) -> None:
    chunks = streamed(client(base_url), request("think", reasoning_effort="high"))
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks
    )
    assert reasoning == THINKING_TEXT and text_of(chunks) == CANONICAL_TEXT


def test_no_finish_ends_quietly_without_a_finish_reason(base_url: str) -> None:
    chunks = streamed(client(f"{base_url}/s/oa_no_finish"), request("truncated"))
    assert finish_reasons(chunks) == [] and CANONICAL_TEXT.startswith(text_of(chunks))
    assert 0 < len(text_of(chunks)) < len(CANONICAL_TEXT)


def test_mid_stream_cut_is_a_connection_error(base_url: str) -> None:
    with pytest.raises(openai.APIConnectionError):
        streamed(client(f"{base_url}/s/oa_cut"), request("cut"))


def test_error_chunk_raises_with_its_message(base_url: str) -> None:
    with pytest.raises(openai.APIError, match="overloaded") as caught:
        streamed(client(f"{base_url}/s/oa_error_chunk"), request("error chunk"))
    assert caught.value.body == {
        "message": "The model is overloaded. Please try again later.",
        "type": "server_error",
        "param": None,
        "code": 503,
    }


def test_429_is_a_rate_limit_error_with_retry_after(base_url: str) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client(f"{base_url}/s/oa_429").chat.completions.create(**request("429"))
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"


def test_html_502_is_a_server_error(base_url: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client(f"{base_url}/s/oa_html_502").chat.completions.create(**request("502"))
    assert caught.value.status_code == 502


def test_stall_times_out(base_url: str) -> None:
    with pytest.raises(openai.APITimeoutError):
        streamed(client(f"{base_url}/s/oa_stall", timeout=0.5), request("stall"))


def test_json_for_a_stream_leaves_the_sdk_with_no_chunks(base_url: str) -> None:
    assert streamed(client(f"{base_url}/s/oa_json"), request("json")) == []


@pytest.mark.parametrize(
    ("where", "options"),
    [
        ("url prefix", {"url": "/s/oa_429"}),
        ("model suffix", {"model": f"{MODEL}+oa_429"}),
        ("header", {"headers": {SCENARIO_HEADER: "oa_429"}}),
    ],
)
def test_scenario_selection(base_url: str, where: str, options: dict[str, Any]) -> None:
    c = client(base_url + options.get("url", ""), default_headers=options.get("headers"))
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(**{**request(where), "model": options.get("model", MODEL)})


def test_a_scenario_of_the_other_api_is_a_400_that_says_where_it_answers(base_url: str) -> None:
    with pytest.raises(openai.BadRequestError, match=r"'close_in_text' answers messages") as oa:
        client(f"{base_url}/s/close_in_text").chat.completions.create(**request("x"))
    assert oa.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    anthropic_client = anthropic.Anthropic(
        base_url=f"{base_url}/s/oa_cut", api_key="x", max_retries=0, timeout=HANG
    )
    with pytest.raises(anthropic.BadRequestError, match=r"'oa_cut' answers chat.completions"):
        anthropic_client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}]
        )


def test_once_429_fails_first_then_succeeds(base_url: str) -> None:
    c = client(f"{base_url}/s/oa_429_once")
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(**request("retry me"))
    assert c.chat.completions.create(**request("retry me")).choices[0].finish_reason == "stop"


def test_once_cut_resumes_with_an_assistant_prefill(base_url: str) -> None:
    c = client(f"{base_url}/s/oa_cut_once")
    with pytest.raises(openai.APIConnectionError):
        streamed(c, request("resume me"))
    resumed = streamed(
        c, request("resume me", {"role": "assistant", "content": CANONICAL_TEXT[:40]})
    )
    assert text_of(resumed) == CANONICAL_TEXT[40:] and finish_reasons(resumed) == ["stop"]


def test_models_list_in_the_openai_shape(base_url: str) -> None:
    models = list(client(base_url).models.list())
    assert [m.id for m in models] == list(MODELS)
    assert all(m.object == "model" and m.owned_by and m.created for m in models)
