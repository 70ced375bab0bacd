"""Policies on the live stream (issue 20) through a real gateway in front of the simulator, whose
obedient agent (``+agent``) calls the shell tool with the command the user quotes, and whose judge
model rates commands: a dangerous call is replaced and the turn ends, a harmless one passes as it
came, pings flow while a slow judge decides, secrets never leave in whole or in part, and ``noop``
changes no byte."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import orjson
import pytest

from processes import Running, running, simulator
from shell_tool import BASH
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.sim import FAKE_ANTHROPIC_KEY, FAKE_AWS_KEY_ID
from sseguard.sse import SSEDecoder

TIME_BOUND = 60.0  # detects hangs only
JUDGE_DELAY = 3.0  # the slow judge's answer starts this late (ping_interval is 1 s)


def config(sim: str) -> str:
    judge = '{use = "tool_judge", judge = "judge", model = "judge"}'
    return f"""
[server]
host = "127.0.0.1"
port = 0

[timeouts]
connect = 2
first_event = 8
idle = 8
progress = 8
total = 60
ping_interval = 1

[[deployments]]
name = "sim"
base_url = "{sim}"
kind = "anthropic-compatible"
passthrough_key = true

[[deployments]]
name = "sim-x"  # one model name upstream for the noop and plain routes: the same answer
base_url = "{sim}"
kind = "anthropic-compatible"
passthrough_key = true
model = "x-claude"

[[deployments]]
name = "judge"
base_url = "{sim}"
kind = "anthropic-compatible"
passthrough_key = true

[[deployments]]
name = "slow-judge"
base_url = "{sim}/s/delay_{JUDGE_DELAY:g}"
kind = "anthropic-compatible"
passthrough_key = true

[[deployments]]
name = "prose-judge"
base_url = "{sim}/s/judge_prose"
kind = "anthropic-compatible"
passthrough_key = true

[[routes]]
match = "guarded-*"
deployments = ["sim"]
policies = [{judge}]

[[routes]]
match = "slow-*"
deployments = ["sim"]
policies = [{judge.replace('"judge",', '"slow-judge",')}]

[[routes]]
match = "prose-*"
deployments = ["sim"]
policies = [{judge.replace('"judge",', '"prose-judge",')}]

[[routes]]
match = "redacted-*"
deployments = ["sim"]
policies = [{{use = "redact"}}]

[[routes]]
match = "noop-*"
deployments = ["sim-x"]
policies = [{{use = "noop"}}]

[[routes]]
match = "plain-*"
deployments = ["sim-x"]

[[routes]]
match = "denied-*"
deployments = ["sim"]
policies = [{{use = "tools", deny = ["Bash"], models = ["denied-claude*"], max_tokens = 64}}]

[[routes]]
match = "*"
deployments = ["sim"]

[observe]
request_log = ""
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp: Path = tmp_path_factory.mktemp("policies")
    with simulator() as sim:
        path = tmp / "sseguard.toml"
        path.write_text(config(sim))
        with running("serve", "--config", str(path), banner=b"sseguard listening on") as gw:
            yield gw


def ask(command: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"Please run `{command}` in my project."}]


def sse(
    url: str, model: str, messages: list[dict[str, Any]], **extra: Any
) -> tuple[bytes, list[tuple[str, dict[str, Any]]]]:
    """The raw stream a client gets, and its events (name, payload)."""
    body = {"model": model, "max_tokens": 256, "stream": True, "messages": messages, **extra}
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=orjson.dumps(body),
        headers={"x-api-key": "test", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIME_BOUND) as response:
        assert response.status == 200
        raw: bytes = response.read()
    decoded = SSEDecoder().feed(raw)
    # Whatever a policy did, the client holds a valid stream that ends as a message should.
    problems = violations([Event(e.event, e.data, orjson.loads(e.data)) for e in decoded])
    assert not problems, problems
    return raw, [(e.event, orjson.loads(e.data)) for e in decoded]


def metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=TIME_BOUND) as response:
        text: str = response.read().decode()
    return text


def test_a_dangerous_tool_call_is_replaced_and_the_turn_ends(gateway: Running) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key="test", max_retries=0)
    with client.messages.stream(
        model="guarded-claude+agent",
        max_tokens=256,
        tools=[BASH],  # type: ignore[list-item]
        messages=ask("rm -rf /home/me/project"),  # type: ignore[arg-type]
    ) as stream:
        message = stream.get_final_message()
    kinds = [b.type for b in message.content]
    assert "tool_use" not in kinds
    said = "".join(b.text for b in message.content if b.type == "text")
    assert "blocked a call to the tool 'Bash'" in said and "rm -rf /home/me/project" in said
    assert message.stop_reason == "end_turn"


def test_a_harmless_call_passes_unchanged(gateway: Running) -> None:
    messages = ask("ls -la")
    _, plain = sse(gateway.url, "claude+agent", messages, tools=[BASH])
    _, judged = sse(gateway.url, "guarded-claude+agent", messages, tools=[BASH])
    strip = lambda events: [(n, p) for n, p in events if n != "ping"]  # noqa: E731
    calls = [
        p
        for n, p in judged
        if n == "content_block_start" and p["content_block"]["type"] == "tool_use"
    ]
    assert len(calls) == 1 and calls[0]["content_block"]["name"] == "Bash"
    # The same answer as without the policy, but for the model name the sim echoes.
    assert len(strip(plain)) == len(strip(judged))
    assert [p.get("delta") for _, p in strip(plain)] == [p.get("delta") for _, p in strip(judged)]


def test_pings_flow_while_a_slow_judge_decides(gateway: Running) -> None:
    started = time.monotonic()
    _, events = sse(gateway.url, "slow-claude+agent", ask("rm -rf /srv/data"), tools=[BASH])
    took = time.monotonic() - started
    names = [n for n, _ in events]
    assert took >= JUDGE_DELAY
    # After the text before the call, the client holds a committed stream kept alive by pings
    # until the judge's verdict replaces the call.
    first_text_stop = names.index("content_block_stop")
    between = names[first_text_stop + 1 : names.index("content_block_start", first_text_stop)]
    assert between.count("ping") >= 2, names
    assert names[-1] == "message_stop"


def test_an_unreadable_judge_blocks_by_default(gateway: Running) -> None:
    _, events = sse(gateway.url, "prose-claude+agent", ask("ls"), tools=[BASH])
    texts = "".join(p["delta"].get("text", "") for n, p in events if n == "content_block_delta")
    assert "the judge could not decide" in texts
    assert not any(
        n == "content_block_start" and p["content_block"]["type"] == "tool_use" for n, p in events
    )


def test_a_split_secret_never_reaches_the_client(gateway: Running) -> None:
    raw, events = sse(
        gateway.url,
        "redacted-claude+leak_secret",
        [{"role": "user", "content": "config?"}],
        tools=[BASH],
    )
    text = raw.decode()
    for secret in (FAKE_ANTHROPIC_KEY, FAKE_AWS_KEY_ID):
        pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
        leaked = [p for p in pieces if p in text]
        assert not leaked, leaked[:3]
    assert "[redacted" in text
    assert [n for n, _ in events][-1] == "message_stop"


def test_noop_changes_no_byte(gateway: Running) -> None:
    messages = [{"role": "user", "content": "Tell me about streams."}]
    plain, _ = sse(gateway.url, "plain-1", messages)
    nooped, _ = sse(gateway.url, "noop-1", messages)
    ping = b'event: ping\ndata: {"type":"ping"}\n\n'  # the gateway's own, when they fall
    assert plain.replace(ping, b"") == nooped.replace(ping, b"")


def test_the_tools_policy_denies_refuses_and_caps(gateway: Running) -> None:
    _, events = sse(gateway.url, "denied-claude+agent", ask("ls"), tools=[BASH])
    assert not any(
        n == "content_block_start" and p["content_block"]["type"] == "tool_use" for n, p in events
    )
    client = anthropic.Anthropic(base_url=gateway.url, api_key="test", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError, match="not allowed on this route"):
        client.messages.create(model="denied-gpt", max_tokens=5, messages=ask("ls"))  # type: ignore[arg-type]
    openai_client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="test", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError, match="not allowed on this route"):
        openai_client.chat.completions.create(
            model="denied-gpt", messages=[{"role": "user", "content": "hi"}]
        )
    client.messages.create(model="denied-claude", max_tokens=500, messages=ask("ls"))  # type: ignore[arg-type]
    text = metrics(gateway.url)
    assert 'sseguard_policy_decisions_total{decision="cap",policy="tools"}' in text
    assert 'sseguard_policy_decisions_total{decision="refuse",policy="tools"}' in text


def test_policy_decisions_are_counted(gateway: Running) -> None:
    text = metrics(gateway.url)
    assert 'sseguard_policy_decisions_total{decision="block",policy="tool_judge"}' in text


def test_openai_clients_get_the_same_policies(gateway: Running) -> None:
    """The chat.completions endpoint renders from the policed stream: a blocked call is text
    there too, and the turn ends with ``stop``; a secret is masked."""
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="test", max_retries=0)
    shell = {
        "type": "function",
        "function": {"name": "Bash", "parameters": BASH["input_schema"]},
    }
    stream = client.chat.completions.create(
        model="guarded-claude+agent",
        messages=[{"role": "user", "content": "Please run `rm -rf /var/lib/db`"}],
        tools=[shell],  # type: ignore[list-item]
        stream=True,
    )
    content, calls, finish = "", 0, None
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            calls += len(choice.delta.tool_calls or [])
            finish = choice.finish_reason or finish
    assert calls == 0 and finish == "stop"
    assert "blocked a call to the tool 'Bash'" in content

    answer = client.chat.completions.create(
        model="redacted-claude+leak_secret",
        messages=[{"role": "user", "content": "config?"}],
    )
    text = answer.choices[0].message.content or ""
    assert FAKE_ANTHROPIC_KEY[:16] not in text and "[redacted anthropic_key]" in text
