"""The Vercel AI SDK, a client none of the official SDKs' tests cover, through a real gateway: every
simulator scenario with ``@ai-sdk/anthropic`` on ``/v1/messages`` and ``@ai-sdk/openai-compatible``
on ``/v1/chat/completions``, ``streamText`` and ``generateText``, with a tool offered as agents do.

An answer the application holds is exactly the simulator's answer to the request the SDK sent (text,
tool inputs, finish reason); a scenario no attempt gets through ends in an error the SDK raises or
streams, never a raw parse error or a cut answer with a normal finish. Driving it by hand found a
resume that dropped the tool call following the text (finish "tool-calls", no tool call).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from node_env import run_script

from gateway.test_gateway_sdk import FAILING, RESUMED_WHEN_TOOLS_OFFERED, SCENARIOS
from processes import gateway, gateway_config, simulator
from sseguard.sim import CATALOGUE, expected_answer
from sseguard.translate.chat_to_messages import messages_request

PROVIDERS = ("anthropic", "openai")
MODES = ("stream", "generate")
CONCURRENCY = 12  # requests in flight in the one node process
HANG_BOUND = 300.0  # the whole matrix: detects hangs only (each stall scenario waits ~4 s)
FINISH = {"end_turn": "stop", "tool_use": "tool-calls", "max_tokens": "length"}
NORMAL_FINISHES = set(FINISH.values())
RAW_PARSE_ERRORS = ("Could not parse", "Unexpected token", "JSON at position", "AI_JSONParseError")
# Per docs/faults.md, rules that leave a choice to the operator, and this client's own strictness:
# F10 passes unknown events through by default, and the AI SDK's closed union rejects them (the
# answer is still complete; a route's drop_events removes them); F28 forwards anthropic-beta
# values, and the AI SDK's Anthropic provider sends one, which beta_rejected refuses with 400.
CLIENT_VERDICTS = {
    ("unknown_events", "anthropic", "stream"): "AI_TypeValidationError",
    ("beta_rejected", "anthropic", "stream"): "AI_APICallError",
    ("beta_rejected", "anthropic", "generate"): "AI_APICallError",
}


def job_id(name: str, provider: str, mode: str) -> str:
    return f"{name}/{provider}/{mode}"


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    jobs = [
        {
            "id": job_id(name, provider, mode),
            "provider": provider,
            "mode": mode,
            "model": f"claude-sonnet-4-5+{name}",
            # A distinct conversation per job, so _once scenarios count their own attempts.
            "prompt": f"What is the weather? ({name}, {provider}, {mode})",
        }
        for name in SCENARIOS
        for provider in PROVIDERS
        for mode in MODES
    ]
    tmp = tmp_path_factory.mktemp("ai-sdk")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url)) as gw_url:
        proc = run_script(
            "ai_sdk.mjs", gw_url, str(CONCURRENCY), stdin=json.dumps(jobs), timeout=HANG_BOUND
        )
    assert proc.returncode == 0, f"ai_sdk.mjs failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    # Not splitlines(): JSON.stringify leaves U+2028 raw, and that is a line break to Python.
    out = [json.loads(line) for line in proc.stdout.rstrip("\n").split("\n")]
    return {o["id"]: o for o in out}


def wanted(provider: str, sent: str) -> dict[str, Any]:
    """The simulator's answer to the request the SDK sent (the scenario suffix aside)."""
    body = json.loads(sent)
    if provider == "openai":
        body = messages_request(body)
    return expected_answer({**body, "model": "claude-sonnet-4-5"})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_ai_sdk_through_gateway(
    seen: dict[str, dict[str, Any]], name: str, provider: str, mode: str
) -> None:
    got = seen[job_id(name, provider, mode)]
    errors = got["errors"]
    for error in errors:
        for marker in RAW_PARSE_ERRORS:
            assert marker not in error["message"], f"{name}: {error}"
    verdict = CLIENT_VERDICTS.get((name, provider, mode))
    if verdict is not None:
        assert [e["name"] for e in errors] == [verdict], f"{name}: {errors}"
        return
    if errors:
        assert name in FAILING and name not in RESUMED_WHEN_TOOLS_OFFERED, f"{name}: {errors}"
        assert got["finish"] not in NORMAL_FINISHES, f"{name}: a cut answer finished {got}"
        return
    assert got["body"] is not None
    want = wanted(provider, got["body"])
    assert got["text"] == "".join(b["text"] for b in want["content"] if b["type"] == "text")
    if CATALOGUE[name].huge:  # the scenario forces megabytes the request alone does not say
        assert len(got["toolInputs"]) == 1 and len(json.dumps(got["toolInputs"][0])) > 1_000_000
    else:
        inputs = [b["input"] for b in want["content"] if b["type"] == "tool_use"]
        assert got["toolInputs"] == inputs
    assert got["finish"] == FINISH[want["stop_reason"]]


def test_the_failing_scenarios_fail_here_too(seen: dict[str, dict[str, Any]]) -> None:
    """The verdicts above let a FAILING scenario succeed when its answer is exact; the ones
    with nothing to skip must still fail, or the matrix would prove nothing about errors."""
    must_fail = FAILING - RESUMED_WHEN_TOOLS_OFFERED
    for name in must_fail:
        for provider in PROVIDERS:
            for mode in MODES:
                got = seen[job_id(name, provider, mode)]
                assert got["errors"], f"{name} {provider} {mode}: {got}"
