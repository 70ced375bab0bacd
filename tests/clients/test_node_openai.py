"""The official ``openai`` Node SDK (pinned in package.json) against a real gateway's
``/v1/chat/completions``, streaming and not, with tools and reasoning: a sample of the scenario
matrix covering each kind of repair and each kind of failure (the Python SDK runs all of it, in
tests/gateway/test_gateway_openai_sdk.py).

Recoverable scenarios give the expected text, tool calls and finish reason; the others a typed
``OpenAI.APIError``, not a connection error, never a hang or a cut answer with ``finish_reason``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from node_env import node_env, run_script

from gateway.test_gateway_openai_sdk import FINISH, openai_request
from gateway.test_gateway_sdk import FAILING, request_for
from processes import gateway, gateway_config, simulator
from sseguard.sim import expected_answer

SAMPLE = [
    "clean",
    "thinking_signature_intact",
    "glued_text",
    "glued_tool_input",
    "no_event_lines",
    "index_gap",
    "tool_start_no_input",
    "usage_null",
    "done_sentinel",
    "stream_mode_flipped",
    "close_in_text_once",
    "overloaded_529_once",
    "error_after_content",
    "close_in_tool_call",
    "rate_limited_429",
    "html_502",
]
MODES = ("stream", "create")
WORKERS = 8
HANG_BOUND = 60.0  # per node process: detects hangs only


@dataclass
class Run:
    out: dict[str, Any] | None
    stdout: str
    stderr: str
    seconds: float


def run_node(gw_url: str, name: str, mode: str) -> Run:
    started = time.monotonic()
    proc = run_script(
        "openai_chat.mjs",
        f"{gw_url}/v1",
        mode,
        "45000",
        stdin=json.dumps(openai_request(name, mode == "stream")),
        timeout=HANG_BOUND,
    )
    # Not splitlines(): JSON.stringify leaves U+2028 raw, and that is a line break to Python.
    lines = proc.stdout.rstrip("\n").split("\n")
    out = json.loads(lines[0]) if proc.returncode == 0 and len(lines) == 1 else None
    return Run(out, proc.stdout, proc.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Run]]:
    node_env()  # installed once, before the threads start
    tmp = tmp_path_factory.mktemp("node-openai")
    with simulator() as sim_url, gateway(gateway_config(tmp, sim_url)) as gw_url:
        jobs = [(name, mode) for name in SAMPLE for mode in MODES]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {job: pool.submit(run_node, gw_url, *job) for job in jobs}
            yield {job: f.result() for job, f in futures.items()}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SAMPLE)
def test_node_openai_through_gateway(
    runs: dict[tuple[str, str], Run], name: str, mode: str
) -> None:
    run = runs[(name, mode)]
    out = run.out
    assert out is not None, f"{name}: stdout {run.stdout[:500]!r}, stderr {run.stderr[-1000:]!r}"
    if name in FAILING:
        assert not out["ok"], f"{name}: a broken answer was returned as complete: {out!r}"
        assert out["is_api_error"] and out["error_name"] != "APIConnectionError", out
        assert "JSON" not in out["message"], out
        return
    assert out["ok"], f"{name}: {out!r}"
    want = expected_answer({**request_for(name, mode == "stream"), "model": "claude-sonnet-4-5"})
    assert out["finish_reason"] == FINISH[want["stop_reason"]], name
    assert out["text"] == "".join(b["text"] for b in want["content"] if b["type"] == "text")
    want_tools = [(b["name"], b["input"]) for b in want["content"] if b["type"] == "tool_use"]
    assert [(t["name"], json.loads(t["arguments"])) for t in out["tools"]] == want_tools, name
    want_thinking = "".join(b["thinking"] for b in want["content"] if b["type"] == "thinking")
    assert out["reasoning"] == want_thinking, name
    assert out["usage"]["completion_tokens"] > 0
