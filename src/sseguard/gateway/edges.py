"""Client formats at the gateway's exit edge: how a request becomes a Messages request, and how
repaired Messages events, final messages and errors are written back in the client's format.

One pipeline serves every client (docs/design.md): an edge only translates at the two ends, so every
resilience rule applies to OpenAI and browser clients unchanged.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson

from sseguard.errors import GatewayError
from sseguard.protocol.events import Event
from sseguard.sse import encode, escape_line_separators
from sseguard.translate import browser
from sseguard.translate.chat_to_messages import messages_request
from sseguard.translate.chunks_out import ChunkEncoder
from sseguard.translate.completion_out import chat_completion, error_body
from sseguard.translate.errors import TranslationError

PING_FRAME = encode("ping", '{"type": "ping"}')


class Framing(Protocol):
    """One response's stream framing; may hold state (chunk ids, tool arguments)."""

    ping: bytes

    def encode(self, events: list[Event]) -> bytes: ...


class Edge(Protocol):
    format: str  # the request record's client_format

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """The Messages request for this client's request; ``GatewayError`` 400 when malformed."""
        ...

    def framing(self, request_id: str, client_body: dict[str, Any], model: str) -> Framing:
        """The framing of one streamed answer; ``client_body`` is the request as the client sent it."""
        ...

    def answer(self, message: dict[str, Any], request_id: str, model: str) -> bytes:
        """The non-streaming answer for a complete Message."""
        ...

    def error(self, err: GatewayError, request_id: str) -> tuple[str, bytes]:
        """(content type, body) of an error answered before any part of a stream went out."""
        ...


class AnthropicFraming:
    ping = PING_FRAME

    def encode(self, events: list[Event]) -> bytes:
        if len(events) == 1:  # a paced stream: one event per upstream read, the common case
            event = events[0]
            frame = event.frame
            return frame if frame is not None else _framed(event)
        return b"".join([e.frame or _framed(e) for e in events])


def _framed(event: Event) -> bytes:
    """An event the repair layer built or changed: raw line separators in its JSON escaped, as
    Anthropic writes them (F06: clients reading lines with ``str.splitlines()`` break there)."""
    return encode(event.type, escape_line_separators(event.data))


class AnthropicEdge:
    """Messages in, Messages out: validation of what routing needs, nothing translated."""

    format = "anthropic"

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise GatewayError(400, "model: a model name (string) is required")
        if not isinstance(body.get("messages"), list):
            raise GatewayError(400, "messages: a list of messages is required")
        if not isinstance(body.get("stream", False), bool):
            raise GatewayError(400, "stream: must be true or false")
        return body

    def framing(self, request_id: str, client_body: dict[str, Any], model: str) -> Framing:
        return AnthropicFraming()

    def answer(self, message: dict[str, Any], request_id: str, model: str) -> bytes:
        return _dumps(message)

    def error(self, err: GatewayError, request_id: str) -> tuple[str, bytes]:
        return "application/json", err.body(request_id)


class OpenAIFraming:
    """``chat.completion.chunk`` objects; a comment keeps the connection warm (OpenAI SDKs skip it)."""

    ping = b": ping\n\n"

    def __init__(self, encoder: ChunkEncoder) -> None:
        self.encode = encoder.feed


class OpenAIEdge:
    """``/v1/chat/completions``: translated in, rendered back, errors in OpenAI's shape."""

    format = "openai"

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        return _translated(messages_request, body)

    def framing(self, request_id: str, client_body: dict[str, Any], model: str) -> Framing:
        options = client_body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        encoder = ChunkEncoder(
            completion_id=_completion_id(request_id),
            model=model,
            created=int(time.time()),
            include_usage=include_usage,
        )
        return OpenAIFraming(encoder)

    def answer(self, message: dict[str, Any], request_id: str, model: str) -> bytes:
        answered = message.get("model")  # the model that answered, after any fallback
        completion = chat_completion(
            message,
            completion_id=_completion_id(request_id),
            model=answered if isinstance(answered, str) and answered else model,
            created=int(time.time()),
        )
        return _dumps(completion)

    def error(self, err: GatewayError, request_id: str) -> tuple[str, bytes]:
        return "application/json", error_body(err.error_type, err.message)


class BrowserEdge:
    """``/v1/chat/sse`` for web pages: always a stream, errors as an ``error`` event under the
    real status, so a page using ``fetch`` reads both and ``EventSource`` stops instead of retrying."""

    format = "browser"

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        return _translated(browser.messages_request, body)

    def query(self, params: dict[str, str]) -> dict[str, Any]:
        return _translated(browser.query_body, params)

    def framing(self, request_id: str, client_body: dict[str, Any], model: str) -> Framing:
        return browser.BrowserFraming()

    def answer(self, message: dict[str, Any], request_id: str, model: str) -> bytes:
        raise AssertionError("the browser endpoint always streams")

    def error(self, err: GatewayError, request_id: str) -> tuple[str, bytes]:
        payload = {
            "type": err.error_type,
            "message": err.message,
            "status": err.status,
            "request_id": request_id,
        }
        return "text/event-stream; charset=utf-8", b"event: error\nid: 1\ndata: %s\n\n" % _dumps(
            payload
        )


def _completion_id(request_id: str) -> str:
    """The gateway's request id inside OpenAI's id format, so a client's log leads to our log."""
    return f"chatcmpl-{request_id}"


def _translated(translate: Any, body: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = translate(body)
    except TranslationError as exc:
        raise GatewayError(400, str(exc)) from None
    return result


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)
