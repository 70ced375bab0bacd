"""Every simulator scenario through a real gateway process with the official ``@anthropic-ai/sdk`` on
Node (pinned in package.json, installed by node_env.py), streaming and not.

The same matrix as tests/gateway/test_gateway_sdk.py (its request shapes, its FAILING set): one
simulator and one gateway process for the module, one ``node stream.mjs`` process per request, run
concurrently. ``maxRetries: 0``, so the gateway's own retries are under test. Recoverable scenarios
must give exactly the expected text, tool input and stop_reason; the others a typed Anthropic error
— never a hang, a raw JSON parse error, or a cut answer returned as complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from node_env import NodeEnv, node_env

from gateway.test_gateway_sdk import (
    FAILING,
    NO_PREFILL_MODEL,
    RESUMED_WITHOUT_PREFILL,
    SCENARIOS,
    no_prefill_request,
    request_for,
)
from processes import gateway, gateway_config, simulator
from sseguard.sim import CATALOGUE, expected_answer

MODES = ("stream", "create")
WORKERS = 10  # node processes at a time (2 cores; most of a run is waiting on the gateway)
CLIENT_TIMEOUT = 45.0  # the SDK's own per-request timeout
HANG_BOUND = 60.0  # wall time per node process: detects hangs only
# What the SDK raises for an HTTP error status or an `event: error` in the stream. Not
# APIConnectionError (the gateway dropped the connection) nor a timeout (it hung).
TYPED_ERRORS = {
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "InternalServerError",
    "OverloadedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "GatewayTimeoutError",
}
RAW_PARSE_ERRORS = ("Could not parse", "Unexpected token", "SyntaxError", "JSON at position")


@dataclass
class Run:
    out: dict[str, Any] | None
    stdout: str
    stderr: str
    returncode: int | None
    seconds: float


def run_node(
    env: NodeEnv, base_url: str, name: str, mode: str, body: dict[str, Any] | None = None
) -> Run:
    body = dict(body or request_for(name, mode == "stream"))
    model = body.pop("model")
    cmd = [env.node, str(env.stream_script), base_url, model, mode, str(int(CLIENT_TIMEOUT * 1000))]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            input=json.dumps(body),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=HANG_BOUND,
            cwd=env.clients_dir,
            # Nothing from the caller's ANTHROPIC_* settings leaks into the request.
            env={"PATH": os.environ.get("PATH", ""), "ANTHROPIC_API_KEY": "sk-test"},
        )
    except subprocess.TimeoutExpired as exc:
        return Run(None, str(exc.stdout or ""), str(exc.stderr or ""), None, HANG_BOUND)
    seconds = time.monotonic() - started
    # Not splitlines(): JSON.stringify leaves U+2028 raw, and that is a line break to Python.
    lines = proc.stdout.rstrip("\n").split("\n")
    out = json.loads(lines[0]) if len(lines) == 1 else None
    return Run(out, proc.stdout, proc.stderr, proc.returncode, seconds)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Run]]:
    env = node_env()
    tmp = tmp_path_factory.mktemp("node-sdk")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url)) as gw_url:
        jobs = [(name, mode) for name in SCENARIOS for mode in MODES]
        no_prefill = [(name, mode) for name in RESUMED_WITHOUT_PREFILL for mode in MODES]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {job: pool.submit(run_node, env, gw_url, *job) for job in jobs}
            for name, mode in no_prefill:
                body = no_prefill_request(name, mode == "stream")
                futures[(f"{NO_PREFILL_MODEL}+{name}", mode)] = pool.submit(
                    run_node, env, gw_url, name, mode, body
                )
            yield {job: f.result() for job, f in futures.items()}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_node_sdk_through_gateway(runs: dict[tuple[str, str], Run], name: str, mode: str) -> None:
    run = runs[(name, mode)]
    assert run.returncode is not None, f"{name}: node still running after {HANG_BOUND} s (hang)"
    assert run.returncode == 0 and run.out is not None, (
        f"{name}: stream.mjs exit {run.returncode}, stdout {run.stdout[:500]!r}, "
        f"stderr {run.stderr[-1000:]!r}"
    )
    # The SDK logs a raw parse failure to stderr before throwing it.
    for marker in RAW_PARSE_ERRORS:
        assert marker not in run.stderr, f"{name}: {run.stderr[-1000:]!r}"
    out = run.out
    if name in FAILING:
        assert not out["ok"], f"{name}: a broken answer was returned as complete: {out!r}"
        assert out["is_api_error"] and out["error_name"] in TYPED_ERRORS, f"{name}: {out!r}"
        for marker in RAW_PARSE_ERRORS:
            assert marker not in out["message"], f"{name}: {out!r}"
        return
    assert out["ok"], f"{name}: {out!r}"
    want = expected_answer(
        {k: v for k, v in request_for(name, mode == "stream").items() if k != "model"}
        | {"model": "claude-sonnet-4-5"}
    )
    assert out["stop_reason"] == want["stop_reason"], name
    want_text = "".join(b["text"] for b in want["content"] if b["type"] == "text")
    assert out["text"] == want_text, name
    want_tools = [b["input"] for b in want["content"] if b["type"] == "tool_use"]
    if CATALOGUE[name].huge:
        got = out["tool_inputs"]
        assert len(got) == 1 and len(json.dumps(got[0])) > 1_000_000, name
    else:
        assert out["tool_inputs"] == want_tools, name
    usage = out["usage"]
    assert isinstance(usage["input_tokens"], int) and isinstance(usage["output_tokens"], int)
    assert run.seconds < HANG_BOUND


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", RESUMED_WITHOUT_PREFILL)
def test_node_sdk_gets_the_whole_answer_from_a_model_that_refuses_prefill(
    runs: dict[tuple[str, str], Run], name: str, mode: str
) -> None:
    """F37: the resume asks by instruction; the final message is whole and valid."""
    run = runs[(f"{NO_PREFILL_MODEL}+{name}", mode)]
    assert run.returncode == 0 and run.out is not None, (run.stdout[:500], run.stderr[-1000:])
    out = run.out
    assert out["ok"], f"{name}: {out!r}"
    body = no_prefill_request(name, mode == "stream")
    want = expected_answer(body | {"model": NO_PREFILL_MODEL})
    assert out["text"] == "".join(b["text"] for b in want["content"] if b["type"] == "text")
    assert out["tool_inputs"] == [b["input"] for b in want["content"] if b["type"] == "tool_use"]
    assert out["stop_reason"] == want["stop_reason"]
