"""What differs between upstream protocol families once a response is in hand: error bodies, a JSON
answer to a stream request (F25), and the stage that turns the stream into Messages events.

The upstream layer is the only one that knows providers (docs/design.md): the exchange asks the
deployment's format instead of testing its kind at each step.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from sseguard.config import Deployment
from sseguard.protocol.anomalies import AnomalyLog
from sseguard.protocol.stream import Translator
from sseguard.translate.chunks_in import ChunkTranslator
from sseguard.translate.completion_in import anthropic_error_from_openai, message_from_completion
from sseguard.upstream.request import estimate_input_tokens


class UpstreamFormat(Protocol):
    def error_body(self, status: int, raw: bytes) -> bytes:
        """The body of a non-200 answer, in Anthropic's error shape when it can be."""
        ...

    def json_answer(self, raw: bytes, model: str) -> tuple[dict[str, Any] | None, bytes | None]:
        """A JSON body answering a stream request: (the Message it holds, None), or (None, an
        Anthropic error body) when it is an error, or (None, None) when it is neither."""
        ...

    def translator(self, anomalies: AnomalyLog, body: dict[str, Any]) -> Translator | None:
        """The stage between the SSE decoder and the repairer; None when events are Messages."""
        ...


class AnthropicFormat:
    def error_body(self, status: int, raw: bytes) -> bytes:
        value = _loads(raw)
        if isinstance(value, dict) and value.get("type") == "error":
            return raw
        # Gateways that call themselves Anthropic-compatible (LiteLLM's proxy, one-api and its
        # forks) answer their own errors in OpenAI's shape; what they said is still the cause.
        return anthropic_error_from_openai(status, raw) or raw

    def json_answer(self, raw: bytes, model: str) -> tuple[dict[str, Any] | None, bytes | None]:
        value = _loads(raw)
        kind = value.get("type") if isinstance(value, dict) else None
        if kind == "message":
            return value, None
        if kind == "error":
            return None, raw
        # An error in another shape under a 200 (F17), typed by its code or words.
        if isinstance(value, dict) and value.get("error"):
            return None, anthropic_error_from_openai(200, raw)
        return None, None

    def translator(self, anomalies: AnomalyLog, body: dict[str, Any]) -> Translator | None:
        return None


class OpenAIFormat:
    def error_body(self, status: int, raw: bytes) -> bytes:
        return anthropic_error_from_openai(status, raw) or raw

    def json_answer(self, raw: bytes, model: str) -> tuple[dict[str, Any] | None, bytes | None]:
        value = _loads(raw)
        if not isinstance(value, dict):
            return None, None
        message = message_from_completion(value, model=model)
        if message is not None:
            return message, None
        return None, anthropic_error_from_openai(200, raw)

    def translator(self, anomalies: AnomalyLog, body: dict[str, Any]) -> Translator | None:
        # OpenAI reports usage at the end; message_start announces the local estimate until then.
        return ChunkTranslator(
            anomalies, model=body["model"], input_tokens=estimate_input_tokens(body)
        )


ANTHROPIC_FORMAT = AnthropicFormat()
OPENAI_FORMAT = OpenAIFormat()


def format_of(deployment: Deployment) -> UpstreamFormat:
    return OPENAI_FORMAT if deployment.kind == "openai-compatible" else ANTHROPIC_FORMAT


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
