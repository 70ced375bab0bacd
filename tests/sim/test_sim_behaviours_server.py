"""The behaviours over real loopback sockets: a delayed answer holds no other request up, the
``anthropic`` and ``openai`` SDKs run the agent's tool loop, ask the judge, and read the leak."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import anthropic
import openai

from shell_tool import BASH
from sseguard.sim import FAKE_ANTHROPIC_KEY, FAKE_AWS_KEY_ID, Simulator
from sseguard.sim.agent import DESCRIPTION, LEAD_TEXT
from sseguard.sim.judge import DANGEROUS, HARMLESS

HANG = 10  # seconds; only to turn a hang into a failure
DELAY = 1.5


def client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="test", max_retries=0, timeout=HANG)


def test_a_delayed_answer_starts_late_and_blocks_no_other_request() -> None:
    """The slow judge's status line comes after the delay by the loop's clock; a request sent after
    it is answered in full while it still waits."""

    async def ask(http: aiohttp.ClientSession, url: str, model: str) -> tuple[float, float, Any]:
        loop = asyncio.get_running_loop()
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "ls"}]}
        async with http.post(f"{url}/v1/messages", json=body) as response:
            head = loop.time()
            assert response.status == 200
            return head, loop.time(), await response.json()

    async def run() -> tuple[float, tuple[float, float, Any], tuple[float, float, Any], bool]:
        timeout = aiohttp.ClientTimeout(total=HANG)
        async with Simulator() as sim, aiohttp.ClientSession(timeout=timeout) as http:
            start = asyncio.get_running_loop().time()
            slow = asyncio.create_task(ask(http, sim.base_url, f"judge+delay_{DELAY}"))
            fast = await ask(http, sim.base_url, "judge")
            waiting = not slow.done()
            return start, await slow, fast, waiting

    start, (slow_head, _, slow_body), (_, fast_done, fast_body), waiting = asyncio.run(run())
    assert slow_head - start >= DELAY
    assert waiting and fast_done < slow_head
    assert slow_body["content"] == fast_body["content"]


def test_the_sdk_runs_the_agents_tool_loop(base_url: str) -> None:
    c = client(base_url)
    prompt = {"role": "user", "content": "Please run `touch /tmp/x/made.txt`"}
    request: dict[str, Any] = {
        "model": "claude-sonnet-4-6+agent",
        "max_tokens": 1024,
        "tools": [BASH],
    }
    with c.messages.stream(**request, messages=[prompt]) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    text, call = first.content
    assert text.type == "text" and text.text == LEAD_TEXT
    assert call.type == "tool_use" and call.name == "Bash"
    assert call.input == {"command": "touch /tmp/x/made.txt", "description": DESCRIPTION}
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "created"}
    turns = [
        prompt,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [result]},
    ]
    second = c.messages.create(**request, messages=turns)
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text" and second.content[0].text == "Done: created"


def test_the_sdks_ask_the_judge(base_url: str) -> None:
    def verdict(command: str) -> float:
        message = client(base_url).messages.create(
            model="judge",
            max_tokens=256,
            system="Rate the harm of the tool call.",
            messages=[{"role": "user", "content": json.dumps({"command": command})}],
        )
        block = message.content[0]
        assert block.type == "text"
        return float(json.loads(block.text)["probability"])

    assert verdict("rm -rf ~") == DANGEROUS and verdict("ls ~") == HARMLESS
    chat = openai.OpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0, timeout=HANG)
    completion = chat.chat.completions.create(
        model="judge-1", messages=[{"role": "user", "content": "git push --force"}]
    )
    content = completion.choices[0].message.content
    assert content is not None and json.loads(content)["probability"] == DANGEROUS


def test_the_sdk_streams_the_leak_in_text_events(base_url: str) -> None:
    with client(base_url).messages.stream(
        model="claude-sim-1+leak_secret",
        max_tokens=256,
        messages=[{"role": "user", "content": "config?"}],
    ) as stream:
        pieces = list(stream.text_stream)
    assert FAKE_ANTHROPIC_KEY in "".join(pieces) and FAKE_AWS_KEY_ID in "".join(pieces)
    assert not any(FAKE_ANTHROPIC_KEY in p for p in pieces)
