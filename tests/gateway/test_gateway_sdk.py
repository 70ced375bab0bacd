"""Every simulator scenario through a real gateway process with the official ``anthropic`` SDK.

max_retries=0, so the gateway's own resilience is what is tested. Recoverable scenarios must give
the complete expected answer; the others a typed ``anthropic`` error within the time bound — never
a hang, a raw parse error, or a cut answer returned as complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import anthropic
import pytest

from processes import gateway, gateway_config, simulator
from sseguard.sim import CATALOGUE, expected_answer

# Scenarios no attempt can get through: the answer must be a typed error.
FAILING = {
    "endless_message_start",
    "spliced_generation",
    "eof_after_text_delta",
    "eof_in_tool_call",
    "eof_in_thinking",
    "error_before_content",
    "error_json_in_stream",
    "error_after_content",
    "error_untyped",
    "error_text_after_content",
    "overloaded_529",
    "server_error_500",
    "rate_limited_429",
    "close_in_text",
    "close_in_tool_call",
    "close_in_thinking",
    "close_after_thinking",
    "truncated_event",
    "truncated_tool_input",
    "stall_before_first_byte",
    "accept_then_silence",
    "unauthorized_401",
    "bad_request_400",
    "stall_mid_stream",
    "stall_with_keepalives",
    "stall_with_pings",
    "html_200",
    "html_502",
}
# With a tool offered the simulator's text is short and these break after all of it: the resume's
# continuation is then the tool call alone, which they have nothing to damage (the simulator skips
# the fault and says so), and the gateway completes the answer.
RESUMED_WHEN_TOOLS_OFFERED = frozenset(
    {
        "close_in_text",
        "close_after_thinking",
        "eof_after_text_delta",
        "error_after_content",
        "error_text_after_content",
        "spliced_generation",
        "stall_mid_stream",
        "stall_with_keepalives",
        "stall_with_pings",
    }
)
# Played in the disconnect tests: it never ends by design (F36).
NOT_HERE = {"endless_text"}
SCENARIOS = sorted(set(CATALOGUE) - NOT_HERE)
TIME_BOUND = 45.0  # detects hangs only
T = TypeVar("T")

TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


@dataclass
class Result:
    message: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def request_for(name: str, stream: bool) -> dict[str, Any]:
    scenario = CATALOGUE[name]
    body: dict[str, Any] = {
        "model": f"claude-sonnet-4-5+{name}",
        "max_tokens": 2048,
        # A distinct conversation per scenario and mode, so _once counters do not collide.
        "messages": [
            {"role": "user", "content": f"Tell me about {name} ({'stream' if stream else 'json'})"}
        ],
    }
    if scenario.tool or "tool" in name:
        body["tools"] = [TOOL]
    if scenario.thinking or "thinking" in name:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return body


def call(base_url: str, name: str, stream: bool, body: dict[str, Any] | None = None) -> Result:
    """One SDK request for scenario ``name`` (``body`` overrides the matrix's request)."""
    client = anthropic.Anthropic(
        base_url=base_url, api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    body = body or request_for(name, stream)
    started = time.monotonic()
    try:
        if stream:
            with client.messages.stream(**body) as s:
                for _ in s:
                    pass
                message = s.get_final_message()
        else:
            message = client.messages.create(**body)
        return Result(message=message, seconds=time.monotonic() - started)
    except Exception as exc:  # the verdict is judged by the test, per scenario
        return Result(error=exc, seconds=time.monotonic() - started)


@pytest.fixture(scope="module")
def gw_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("gw")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url)) as url:
        yield url


@pytest.fixture(scope="module")
def results(gw_url: str) -> dict[tuple[str, bool], Result]:
    return run_matrix(call, gw_url, SCENARIOS)


def run_matrix(
    call: Callable[[str, str, bool], T], gw_url: str, names: Iterable[str]
) -> dict[tuple[str, bool], T]:
    """``call`` for every scenario, streaming and not, all at once through one gateway."""
    jobs = [(name, stream) for name in names for stream in (True, False)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        futures = {job: pool.submit(call, gw_url, *job) for job in jobs}
        return {job: f.result(timeout=TIME_BOUND * 3) for job, f in futures.items()}


def text_of(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_through_gateway(
    results: dict[tuple[str, bool], Result], name: str, stream: bool
) -> None:
    res = results[(name, stream)]
    assert res.seconds < TIME_BOUND, f"{name} took {res.seconds:.1f} s"
    if name in FAILING:
        assert res.message is None, f"{name}: a broken answer was returned as complete"
        assert isinstance(res.error, anthropic.APIError), f"{name}: {res.error!r}"
        assert "Could not parse" not in str(res.error)
        return
    assert res.error is None, f"{name}: {res.error!r}"
    want = expected_answer(
        {k: v for k, v in request_for(name, stream).items() if k != "model"}
        | {"model": "claude-sonnet-4-5"}
    )
    got = res.message
    assert got.stop_reason == want["stop_reason"], name
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    assert text_of(got) == want_text, name
    want_tools = [b["input"] for b in want["content"] if b["type"] == "tool_use"]
    got_tools = [b.input for b in got.content if b.type == "tool_use"]
    if CATALOGUE[name].huge:
        assert len(got_tools) == 1 and len(str(got_tools[0])) > 1_000_000
    else:
        assert got_tools == want_tools, name
    assert isinstance(got.usage.output_tokens, int) and isinstance(got.usage.input_tokens, int)


@pytest.mark.parametrize(
    "name",
    ["close_in_text_once", "eof_after_text_delta", "error_after_content", "stall_mid_stream"],
)
def test_a_resume_keeps_the_tool_call_that_followed_the_text(gw_url: str, name: str) -> None:
    """With a tool offered the simulator's text is short and the break comes after all of it, so
    the continuation is the tool call alone, numbered 0 like the interrupted text block. It was
    dropped as that block's duplicate: stop_reason tool_use and no tool call (found with the
    Vercel AI SDK). The persistent faults have nothing to damage in that continuation."""
    body = request_for(name, True) | {
        "tools": [TOOL],
        "messages": [{"role": "user", "content": f"Weather after {name}?"}],
    }
    res = call(gw_url, name, True, body)
    assert res.error is None, f"{name}: {res.error!r}"
    want = expected_answer({**body, "model": "claude-sonnet-4-5"})
    assert [b["type"] for b in want["content"]] == ["text", "tool_use"]
    got = res.message
    assert [b.type for b in got.content] == ["text", "tool_use"]
    assert text_of(got) == want["content"][0]["text"]
    assert got.content[1].input == want["content"][1]["input"]
    assert got.stop_reason == "tool_use"


# Every Claude model since 4.6 refuses prefill (F37, the simulator plays it for these names): each
# of these cuts must still end as the whole answer, by instruction, thinking and tool calls too.
NO_PREFILL_MODEL = "claude-sonnet-4-6"
RESUMED_WITHOUT_PREFILL = [
    "close_in_text_once",
    "close_after_thinking_once",
    "close_in_thinking_once",
    "close_in_tool_call_once",
    "truncated_event_once",
    "truncated_tool_input_once",
    "stall_mid_stream_once",
]


def no_prefill_request(name: str, stream: bool) -> dict[str, Any]:
    body = request_for(name, stream)
    return body | {"model": f"{NO_PREFILL_MODEL}+{name}"}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("name", RESUMED_WITHOUT_PREFILL)
def test_a_cut_on_a_model_that_refuses_prefill_ends_as_the_whole_answer(
    gw_url: str, name: str, stream: bool
) -> None:
    body = no_prefill_request(name, stream)
    res = call(gw_url, name, stream, body)
    assert res.error is None, f"{name}: {res.error!r}"
    want = expected_answer(body | {"model": NO_PREFILL_MODEL})
    got = res.message
    assert [b.type for b in got.content] == [b["type"] for b in want["content"]]
    assert all(b.signature for b in got.content if b.type == "thinking")
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    assert text_of(got) == want_text
    assert [b.input for b in got.content if b.type == "tool_use"] == [
        b["input"] for b in want["content"] if b["type"] == "tool_use"
    ]
    assert got.stop_reason == want["stop_reason"]


def test_a_persistent_cut_on_a_model_that_refuses_prefill_names_the_cut(gw_url: str) -> None:
    res = call(gw_url, "close_in_text", True, no_prefill_request("close_in_text", True))
    assert isinstance(res.error, anthropic.APIError), repr(res.error)
    message = str(res.error)
    assert "connection broke mid-stream" in message
    assert "prefill" not in message


def test_pings_in_the_same_reads_as_held_thinking_are_no_stall(gw_url: str) -> None:
    """F38 counts a read that carried a ping as no progress unless it carried content too; held
    thinking is content the client does not see yet (found with Claude Code, which asks for
    thinking: slow_pings ended in a progress timeout, the held thinking deltas ignored)."""
    body = request_for("slow_pings", True) | {
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "slow pings with thinking"}],
    }
    res = call(gw_url, "slow_pings", True, body)
    assert res.error is None, repr(res.error)
    assert [b.type for b in res.message.content] == ["thinking", "text"]
