"""Every OpenAI-format simulator scenario behind a real gateway whose deployment is
``openai-compatible``, seen by the official ``anthropic`` SDK, streaming and not.

The upstream speaks chat.completions with its faults (no ``[DONE]``, no ``finish_reason``, empty
``choices``, split or repeated tool arguments, ``usage: null``, error objects, cuts, stalls); the
client must get what an Anthropic upstream would have given: the complete answer, or a typed
``anthropic`` error — never a hang, a parse error, or a cut answer passed off as complete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from gateway.test_gateway_sdk import TIME_BOUND, TOOL, Result, call, run_matrix, text_of
from processes import gateway, gateway_config, simulator
from sseguard.sim import OPENAI_CATALOGUE, expected_answer

# No attempt gets through these: each ends in a typed error.
FAILING = {
    "oa_no_finish",
    "oa_done_no_finish",
    "oa_error_chunk",
    "oa_429",
    "oa_cut",
    "oa_stall",
    "oa_html_502",
}
SCENARIOS = sorted(OPENAI_CATALOGUE)
OPENAI_DEPLOYMENT = """
[[deployments]]
name = "local"
base_url = "{sim}/v1"
kind = "openai-compatible"
api_key = "sk-local"
"""


def openai_gateway_config(tmp: Any, sim_url: str) -> Any:
    """The test config with its one deployment turned into an OpenAI-compatible one."""
    path = gateway_config(tmp, sim_url)
    text = path.read_text()
    start = text.index("[[deployments]]")
    end = text.index("[[routes]]")
    routes = text[end:].replace('"sim"', '"local"')
    path.write_text(text[:start] + OPENAI_DEPLOYMENT.format(sim=sim_url) + "\n" + routes)
    return path


def request_for(name: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": f"claude-sonnet-4-5+{name}",
        "max_tokens": 2048,
        "messages": [
            {"role": "user", "content": f"Tell me about {name} ({'stream' if stream else 'json'})"}
        ],
    }
    if "tool" in name or "args" in name:
        body["tools"] = [TOOL]
    if "reasoning" in name:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return body


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, bool], Result]]:
    tmp = tmp_path_factory.mktemp("gw-oa")
    with simulator() as sim_url, gateway(openai_gateway_config(tmp, sim_url)) as gw_url:
        yield run_matrix(
            lambda url, name, stream: call(url, name, stream, body=request_for(name, stream)),
            gw_url,
            SCENARIOS,
        )


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_openai_upstream_scenario(
    results: dict[tuple[str, bool], Result], name: str, stream: bool
) -> None:
    res = results[(name, stream)]
    assert res.seconds < TIME_BOUND, f"{name} took {res.seconds:.1f} s"
    if name in FAILING:
        assert res.message is None, f"{name}: a broken answer was returned as complete"
        assert isinstance(res.error, anthropic.APIStatusError | anthropic.APIError), res.error
        assert not isinstance(res.error, anthropic.APIConnectionError), f"{name}: {res.error!r}"
        assert "Could not parse" not in str(res.error)
        return
    assert res.error is None, f"{name}: {res.error!r}"
    got = res.message
    body = request_for(name, stream)
    want = expected_answer({**body, "model": "claude-sonnet-4-5"})
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    if name == "oa_length":
        assert got.stop_reason == "max_tokens"
        assert want_text.startswith(text_of(got)) and text_of(got)
        return
    assert text_of(got) == want_text, name
    tools = [b for b in got.content if b.type == "tool_use"]
    if name == "oa_parallel_tools":
        assert got.stop_reason == "tool_use" and len(tools) == 2
        assert len({t.id for t in tools}) == 2 and all(t.input for t in tools)
    else:
        assert got.stop_reason == want["stop_reason"], name
        want_tools = [(b["name"], b["input"]) for b in want["content"] if b["type"] == "tool_use"]
        assert [(t.name, t.input) for t in tools] == want_tools, name
    if "reasoning" in name:
        thinking = [b for b in got.content if b.type == "thinking"]
        assert len(thinking) == 1 and thinking[0].thinking
    assert got.usage.output_tokens > 0 or name == "oa_usage_null"
    assert isinstance(got.usage.input_tokens, int)


def test_openai_upstream_errors_keep_their_status(tmp_path: Any) -> None:
    with simulator() as sim_url, gateway(openai_gateway_config(tmp_path, sim_url)) as gw_url:
        client = anthropic.Anthropic(base_url=gw_url, api_key="k", max_retries=0, timeout=30)
        started = time.monotonic()
        with pytest.raises(anthropic.RateLimitError) as limited:
            client.messages.create(**request_for("oa_429", False))
        assert limited.value.response.headers.get("retry-after") == "1"
        assert time.monotonic() - started < TIME_BOUND
        with pytest.raises(anthropic.BadRequestError) as refused:
            client.messages.create(
                **request_for("oa_clean", False),
                tools=[{"type": "web_search_20250305", "name": "web_search"}],
            )
        assert "OpenAI-compatible" in refused.value.message
