"""A client's history on its way to an Anthropic deployment, seen on the wire: thinking without a
signature (what an OpenAI-compatible upstream's reasoning became) is left out, since the API
refuses a request that carries it (F27); signed thinking arrives as the client sent it.

A real ``sseguard serve`` process in front of the recording upstream, which keeps every request;
its request log says how many blocks were left out (F27).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest

from processes import Running, gateway_config, running
from upstream_recorder import CANNED_TEXT, RecordingUpstream, recording_upstream

LABEL = "history"
SIGNATURE = "EqQBCkgIBBABGAIiQGatewayHistorySignature0123456789+/=="
SIGNED = {"type": "thinking", "thinking": "Oslo, then. ❄️", "signature": SIGNATURE}
UNSIGNED = {"type": "thinking", "thinking": "reasoning from an OpenAI-compatible model"}
ANSWER = {"type": "text", "text": "It is cold in Oslo."}


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    with recording_upstream() as recorder:
        yield recorder


@pytest.fixture(scope="module")
def gw(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    config = gateway_config(tmp_path_factory.mktemp("gw"), upstream.base("ok", LABEL))
    with running("serve", "--config", str(config), banner=b"sseguard listening on") as served:
        yield served


def ask(
    upstream: RecordingUpstream, gw: Running, model: str, *turn: dict[str, Any]
) -> tuple[list[dict[str, Any]], bytes]:
    """Send a conversation whose assistant turn holds ``turn``: the messages the upstream got,
    and its body as bytes. ``model`` tells the requests apart, upstream and in the log."""
    conversation: list[Any] = [  # the SDK's types have no thinking block without a signature
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": list(turn)},
        {"role": "user", "content": "And tomorrow?"},
    ]
    client = anthropic.Anthropic(base_url=gw.url, api_key="sk-client-key", max_retries=0)
    answer = client.messages.create(model=model, max_tokens=64, messages=conversation)
    assert [(b.type, getattr(b, "text", None)) for b in answer.content] == [("text", CANNED_TEXT)]
    (record,) = [r for r in upstream.of(LABEL) if r.body["model"] == model]
    messages: list[dict[str, Any]] = record.body["messages"]
    return messages, record.raw_body


def logged(gw: Running, model: str) -> dict[str, Any]:
    """The request log line of the request for ``model`` (lines leave in batches: bounded wait)."""

    def line(lines: list[bytes]) -> dict[str, Any] | None:
        records = (orjson.loads(x) for x in lines if x.startswith(b"{"))
        return next((r for r in records if r.get("client_model") == model), None)

    found = line(gw.output.wait_until(lambda lines: line(lines) is not None, timeout=10))
    assert found is not None
    return found


def test_unsigned_thinking_in_the_history_does_not_reach_the_upstream(
    upstream: RecordingUpstream, gw: Running
) -> None:
    model = "claude-history-unsigned"
    messages, _ = ask(upstream, gw, model, UNSIGNED, ANSWER)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [ANSWER]
    assert logged(gw, model)["anomalies"] == {"F27": 1}


def test_signed_thinking_in_the_history_reaches_the_upstream_unchanged(
    upstream: RecordingUpstream, gw: Running
) -> None:
    model = "claude-history-signed"
    messages, raw = ask(upstream, gw, model, SIGNED, ANSWER)
    assert messages[1]["content"] == [SIGNED, ANSWER]
    assert orjson.dumps(SIGNED) in raw  # the block as the client wrote it, signature and all
    assert "F27" not in logged(gw, model)["anomalies"]
