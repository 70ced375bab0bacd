"""A client's history on its way to an Anthropic deployment, seen on the wire: thinking without a
signature (what an OpenAI-compatible upstream's reasoning became) is left out, since the API
refuses a request that carries it (F27); signed thinking arrives as the client sent it.

A real ``sseguard serve`` process in front of the recording upstream, which keeps every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import anthropic
import orjson
import pytest

from processes import gateway, gateway_config
from upstream_recorder import CANNED_TEXT, RecordingUpstream, recording_upstream

LABEL = "history"
SIGNATURE = "EqQBCkgIBBABGAIiQGatewayHistorySignature0123456789+/=="
SIGNED = {"type": "thinking", "thinking": "Oslo, then. ❄️", "signature": SIGNATURE}
UNSIGNED = {"type": "thinking", "thinking": "reasoning from an OpenAI-compatible model"}
ANSWER = {"type": "text", "text": "It is cold in Oslo."}


class Served(NamedTuple):
    upstream: RecordingUpstream
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with recording_upstream() as upstream:
        config = gateway_config(tmp_path_factory.mktemp("gw"), upstream.base("ok", LABEL))
        with gateway(config) as url:
            yield Served(upstream, url)


def ask(served: Served, tag: str, *turn: dict[str, Any]) -> tuple[list[dict[str, Any]], bytes]:
    """Send a conversation whose assistant turn holds ``turn``: the messages the upstream got,
    and its body as bytes."""
    conversation: list[Any] = [  # the SDK's types have no thinking block without a signature
        {"role": "user", "content": f"Weather in Oslo? ({tag})"},
        {"role": "assistant", "content": list(turn)},
        {"role": "user", "content": "And tomorrow?"},
    ]
    client = anthropic.Anthropic(base_url=served.url, api_key="sk-client-key", max_retries=0)
    answer = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=conversation)
    assert [(b.type, getattr(b, "text", None)) for b in answer.content] == [("text", CANNED_TEXT)]
    (record,) = served.upstream.of(LABEL, tag)
    messages: list[dict[str, Any]] = record.body["messages"]
    return messages, record.raw_body


def test_unsigned_thinking_in_the_history_does_not_reach_the_upstream(served: Served) -> None:
    messages, _ = ask(served, "without a signature", UNSIGNED, ANSWER)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [ANSWER]


def test_signed_thinking_in_the_history_reaches_the_upstream_unchanged(served: Served) -> None:
    messages, raw = ask(served, "with a signature", SIGNED, ANSWER)
    assert messages[1]["content"] == [SIGNED, ANSWER]
    assert orjson.dumps(SIGNED) in raw  # the block as the client wrote it, signature and all
