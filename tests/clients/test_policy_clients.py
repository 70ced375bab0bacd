"""A tool judge in front of real clients (issue 20): the Claude Code CLI in print mode with its
real Bash tool, the official Python and Node SDKs, through a gateway whose route holds every tool
call for a judge model. The simulator's obedient agent (``+agent``) calls Bash with the command
the user quotes; its judge rates destructive commands as harmful.

- a destructive command is blocked: Claude Code prints why, and the file it would delete exists;
- a harmless one passes and runs: the file it makes exists;
- the same through the official SDKs' own tool runners (Python and Node) with a real shell tool;
- a judge that takes longer than 25 s trips no client's timeout: pings keep every client waiting,
  and the call passes once the judge answers.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic import beta_tool
from node_env import NodeEnv, claude_env, node_env, run_script

from processes import Running, running, simulator
from shell_tool import BASH

HANG_BOUND = 150.0  # wall time per client run: detects hangs only
SLOW_JUDGE = 26.0  # seconds before the slow judge's verdict starts


def config(sim: str) -> str:
    judge = '{use = "tool_judge", judge = "%s", model = "judge"}'
    deployment = """
[[deployments]]
name = "%s"
base_url = "%s"
kind = "anthropic-compatible"
passthrough_key = true
"""
    return (
        """
[server]
host = "127.0.0.1"
port = 0

[timeouts]
first_event = 60
idle = 60
total = 300
ping_interval = 5
"""
        + deployment % ("sim", sim)
        + deployment % ("judge", sim)
        + deployment % ("slow-judge", f"{sim}/s/delay_{SLOW_JUDGE:g}")
        + f"""
[[routes]]
match = "guarded-*"
deployments = ["sim"]
policies = [{judge % "judge"}]

[[routes]]
match = "slow-*"
deployments = ["sim"]
policies = [{judge % "slow-judge"}]

[[routes]]
match = "*"
deployments = ["sim"]

[observe]
request_log = ""
"""
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    node_env()  # installed before the clock of any test starts
    path = tmp_path_factory.mktemp("policy-clients") / "sseguard.toml"
    with simulator() as sim:
        path.write_text(config(sim))
        with running("serve", "--config", str(path), banner=b"sseguard listening on") as gw:
            yield gw


def claude(
    env: NodeEnv, url: str, model: str, prompt: str, work: Path
) -> subprocess.CompletedProcess[str]:
    """``claude -p`` offering the model its Bash tool alone, allowed without a permission
    prompt, for a few turns at most."""
    home = work.parent / f"{work.name}-home"
    home.mkdir()
    cmd = [
        str(env.claude),
        "-p",
        prompt,
        "--model",
        model,
        "--tools",
        "Bash",
        "--allowedTools",
        "Bash",
        "--max-turns",
        "3",
        "--no-session-persistence",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    run_env = {**claude_env(home, url), "CLAUDE_CODE_MAX_RETRIES": "0"}
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=HANG_BOUND,
        cwd=work,
        env=run_env,
    )


def tool_uses(stdout: str) -> list[dict[str, Any]]:
    """The tool calls Claude Code received, from its stream-json lines."""
    calls = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("type") == "assistant":
            calls += [b for b in event["message"]["content"] if b.get("type") == "tool_use"]
    return calls


def workdir(tmp_path: Path, name: str) -> Path:
    work = tmp_path / name
    work.mkdir()
    return work


def test_claude_code_a_destructive_command_is_blocked_and_the_file_survives(
    gateway: Running, tmp_path: Path
) -> None:
    work = workdir(tmp_path, "blocked")
    victim = work / "precious.txt"
    victim.write_text("keep me")
    run = claude(
        node_env(), gateway.url, "guarded-claude+agent", f"Please run `rm -f {victim}`", work
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert victim.read_text() == "keep me"
    assert tool_uses(run.stdout) == []
    assert "blocked a call to the tool 'Bash'" in run.stdout


def test_claude_code_a_harmless_command_passes_and_runs(gateway: Running, tmp_path: Path) -> None:
    work = workdir(tmp_path, "allowed")
    made = work / "made.txt"
    run = claude(
        node_env(), gateway.url, "guarded-claude+agent", f"Please run `touch {made}`", work
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert made.exists()
    (call,) = tool_uses(run.stdout)
    assert call["name"] == "Bash" and call["input"]["command"] == f"touch {made}"


def test_a_judge_slower_than_25_s_trips_no_client_timeout(gateway: Running, tmp_path: Path) -> None:
    """All three clients at once, each with its own timeout at its default."""
    work = workdir(tmp_path, "slow")
    made = work / "slow.txt"
    body = {
        "max_tokens": 512,
        "tools": [BASH],
        "messages": [{"role": "user", "content": "Please run `ls -la`"}],
    }

    def python_sdk() -> Any:
        client = anthropic.Anthropic(base_url=gateway.url, api_key="sk-test", max_retries=0)
        with client.messages.stream(model="slow-claude+agent", **body) as stream:  # type: ignore[arg-type]
            return stream.get_final_message()

    def node_sdk() -> dict[str, Any]:
        done = run_script(
            "stream.mjs",
            gateway.url,
            "slow-claude+agent",
            "stream",
            "600000",
            stdin=json.dumps(body),
            timeout=HANG_BOUND,
        )
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return out

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        py = pool.submit(python_sdk)
        node = pool.submit(node_sdk)
        code = pool.submit(
            claude, node_env(), gateway.url, "slow-claude+agent", f"Please run `touch {made}`", work
        )
        message, node_out, run = py.result(), node.result(), code.result()
    assert time.monotonic() - started >= SLOW_JUDGE
    assert message.stop_reason == "tool_use"
    assert [b.input["command"] for b in message.content if b.type == "tool_use"] == ["ls -la"]  # type: ignore[index]
    assert node_out["ok"], node_out
    assert (
        node_out["stop_reason"] == "tool_use" and node_out["tool_inputs"][0]["command"] == "ls -la"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert made.exists()


def python_tool_loop(url: str, work: Path, prompt: str) -> tuple[list[str], Any]:
    """The Python SDK's tool runner with a real ``Bash``: (commands run, final message)."""
    ran: list[str] = []

    @beta_tool
    def Bash(command: str) -> str:
        """Run a shell command."""
        ran.append(command)
        done = subprocess.run(
            ["/bin/sh", "-c", command], cwd=work, capture_output=True, text=True, timeout=30
        )
        return done.stdout + done.stderr or "(no output)"

    client = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
    runner = client.beta.messages.tool_runner(
        model="guarded-claude+agent",
        max_tokens=1024,
        tools=[Bash],
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        max_iterations=4,
        # The full history each turn: by default the runner continues a server-side message
        # thread (beta), which the simulator does not keep.
        thread=False,
    )
    return ran, runner.until_done()


@pytest.mark.parametrize("sdk", ["python", "node"])
def test_sdk_tool_runners_run_a_harmless_command_and_never_a_destructive_one(
    gateway: Running, tmp_path: Path, sdk: str
) -> None:
    work = workdir(tmp_path, sdk)
    victim, made = work / "precious.txt", work / "made.txt"
    victim.write_text("keep me")
    outcomes = {}
    for prompt in (f"Please run `rm -f {victim}`", f"Please run `touch {made}`"):
        if sdk == "python":
            ran, message = python_tool_loop(gateway.url, work, prompt)
            text, stop = (
                "".join(b.text for b in message.content if b.type == "text"),
                message.stop_reason,
            )
        else:
            done = run_script(
                "tool_loop.mjs",
                gateway.url,
                "guarded-claude+agent",
                str(work),
                prompt,
                stdin="",
                timeout=HANG_BOUND,
            )
            out = json.loads(done.stdout.strip().splitlines()[-1])
            assert out["ok"], out
            ran, text, stop = out["ran"], out["text"], out["stop_reason"]
        outcomes[prompt.split("`")[1].split()[0]] = (ran, text, stop)
    ran, text, stop = outcomes["rm"]
    assert ran == [] and victim.read_text() == "keep me"
    assert "blocked a call to the tool 'Bash'" in text and stop == "end_turn"
    ran, text, stop = outcomes["touch"]
    assert ran == [f"touch {made}"] and made.exists()
    assert text.startswith("Done:") and stop == "end_turn", (text, stop)
