"""One honest retry layer (issue 18), through a real gateway in front of the simulator: a silent
or stalling deployment hands over to the fallback at once, errors after sseguard's own attempts
tell clients not to retry, nothing-delivered failures keep their status on streaming requests,
and the record says which model answered and what was billed."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import orjson
import pytest

from processes import Running, running, simulator
from sseguard.sim import expected_answer

FALLBACK_MODEL = "fallback-model"  # what the fallback deployment renames every model to
TIME_BOUND = 40.0  # detects hangs only


def config(sim: str) -> str:
    deployments = {
        "silent": (f"{sim}/s/stall_before_first_byte", ""),
        "stall": (f"{sim}/s/stall_mid_stream", ""),
        "pings": (f"{sim}/s/stall_with_pings", ""),
        "overloaded": (f"{sim}/s/overloaded_529", ""),
        "loop": (f"{sim}/s/endless_message_start", ""),
        "down": (f"{sim}/s/overloaded_529", ""),
        "fallback": (sim, f'model = "{FALLBACK_MODEL}"'),
    }
    routes = {
        "silent-*": ["silent", "fallback"],
        "stall-*": ["stall", "fallback"],
        "pings-*": ["pings", "fallback"],
        "overloaded-*": ["overloaded"],
        "loop-*": ["loop"],
        "down-*": ["down", "fallback"],
    }
    text = """
[server]
host = "127.0.0.1"
port = 0

[timeouts]
connect = 2
first_event = 4
idle = 4
progress = 4
total = 60

[retry]
max_attempts = 2
backoff_base = 0.05
backoff_max = 0.2

[breaker]
failure_threshold = 2
cooldown = 300
"""
    for name, (url, extra) in deployments.items():
        text += (
            f'\n[[deployments]]\nname = "{name}"\nkind = "anthropic-compatible"\n'
            f'base_url = "{url}"\npassthrough_key = true\n{extra}\n'
        )
    for match, chain in routes.items():
        text += f'\n[[routes]]\nmatch = "{match}"\ndeployments = {orjson.dumps(chain).decode()}\n'
    return text + '\n[observe]\nrequest_log = ""\n'


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp: Path = tmp_path_factory.mktemp("failover")
    with simulator() as sim:
        path = tmp / "failover.toml"
        path.write_text(config(sim))
        with running("serve", "--config", str(path), banner=b"sseguard listening on") as gw:
            yield gw


def ask(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": f"failover {model} {uuid.uuid4().hex[:8]}"}],
    }


def record_of(gw: Running, prompt: str) -> dict[str, Any]:
    """The request's JSON log line (they leave the gateway in batches: waited for, bounded)."""

    def find(lines: list[bytes]) -> dict[str, Any] | None:
        for line in lines:
            if line.startswith(b"{"):
                rec = orjson.loads(line)
                if rec["client_model"] == prompt:
                    return rec  # type: ignore[no-any-return]
        return None

    lines = gw.output.wait_until(lambda got: find(got) is not None, timeout=10)
    found = find(lines)
    assert found is not None
    return found


@pytest.mark.parametrize("model", ["silent-a", "stall-a", "pings-a"])
def test_a_failing_primary_hands_over_to_the_fallback_at_once(gw: Running, model: str) -> None:
    body = ask(model)
    client = anthropic.Anthropic(
        base_url=gw.url, api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    started = time.monotonic()
    with client.messages.stream(**body) as stream:
        message = stream.get_final_message()
    seconds = time.monotonic() - started
    want = expected_answer({**body, "model": FALLBACK_MODEL})
    # The silent primary's stream never started: the fallback's whole answer. The stalled ones
    # were cut after some text: the fallback's continuation completes it (one resume).
    assert "".join(b.text for b in message.content if b.type == "text") == "".join(
        b["text"] for b in want["content"] if b["type"] == "text"
    )
    rec = record_of(gw, model)
    tried = [a["deployment"] for a in rec["attempts"]]
    # The stalled deployment is asked once, never a second time: no second wait on it.
    assert tried == [model.split("-")[0], "fallback"], rec["attempts"]
    assert rec["outcome"] == ("complete" if model == "silent-a" else "resumed")
    if model == "silent-a":
        assert message.model == FALLBACK_MODEL  # the model that answered, not the one asked
        assert rec["attempts"][0]["fault"] == "F21"
    else:
        assert message.stop_reason == "end_turn"
        # Billed: both upstream calls, the continuation re-reading the prompt and the answer so
        # far; received: one message, the prompt counted once.
        assert rec["billed_input_tokens"] > rec["input_tokens"] > 0
        assert rec["billed_output_tokens"] > 0
    print(f"{model}: answered in {seconds:.1f} s")


def test_the_openai_edge_names_the_model_that_answered(gw: Running) -> None:
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="sk-test", max_retries=0)
    prompt = ask("silent-b")
    completion = client.chat.completions.create(
        model="silent-b", messages=prompt["messages"], timeout=TIME_BOUND
    )
    assert completion.model == FALLBACK_MODEL
    chunks = list(
        client.chat.completions.create(
            model="silent-b", messages=prompt["messages"], stream=True, timeout=TIME_BOUND
        )
    )
    assert {c.model for c in chunks} == {FALLBACK_MODEL}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_errors_after_sseguards_attempts_tell_clients_not_to_retry(
    gw: Running, stream: bool
) -> None:
    """F40: the SDKs and Claude Code honour x-should-retry; sseguard already spent its retries."""
    client = anthropic.Anthropic(
        base_url=gw.url, api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        if stream:
            with client.messages.stream(**ask("overloaded-a")) as s:
                s.get_final_message()
        else:
            client.messages.create(**ask("overloaded-a"))
    assert caught.value.status_code == 529
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_a_failure_with_nothing_delivered_keeps_its_status_on_a_stream(gw: Running) -> None:
    """An endless message_start (F11) on every attempt: nothing reached the client, so a
    streaming client gets the real status, not a 200 and a lone error event."""
    client = anthropic.Anthropic(
        base_url=gw.url, api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(**ask("loop-a")) as s,
    ):
        s.get_final_message()
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "message_start" in str(caught.value)


def test_a_down_primary_is_skipped_once_its_breaker_opened(gw: Running) -> None:
    """Two requests in a row find the primary overloaded after its retries (threshold 2): from
    then on requests go to the fallback straight away, instead of paying the primary's retries."""
    client = anthropic.Anthropic(
        base_url=gw.url, api_key="sk-test", max_retries=0, timeout=TIME_BOUND
    )
    tried = []
    for n in range(3):
        model = f"down-{n}"
        message = client.messages.create(**ask(model))
        assert message.model == FALLBACK_MODEL
        tried.append([a["deployment"] for a in record_of(gw, model)["attempts"]])
    assert tried == [["down", "down", "fallback"], ["down", "down", "fallback"], ["fallback"]]


def test_nothing_delivered_keeps_its_status_on_the_openai_and_browser_edges(gw: Running) -> None:
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        list(
            client.chat.completions.create(
                model="loop-b",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                timeout=TIME_BOUND,
            )
        )
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    page = urllib.request.Request(
        f"{gw.url}/v1/chat/sse",
        data=orjson.dumps({"model": "loop-c", "prompt": "hi"}),
        headers={"content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(page, timeout=TIME_BOUND)
    assert refused.value.code == 502
    assert refused.value.read().startswith(b"event: error\n")
    assert refused.value.headers["x-should-retry"] == "false"
