"""Error objects an upstream puts inside a stream, read as Anthropic's typed errors.

They come in Anthropic's shape, in OpenAI's (``{"error": {"code": 429, ...}}``), as vLLM's bare
object or as plain text. A client's retry logic keys on Anthropic's error types, and the gateway
turns an error before commit into the HTTP status its type stands for, so every shape is read as
one of those types: a type Anthropic does not have (``server_error``, ``rate_limit_exceeded``)
would otherwise reach the client as a name no SDK knows, under a status nobody retries. Pure.
"""

from __future__ import annotations

import orjson

from sseguard.errors import ERROR_TYPES


def error_type_of(error: object) -> str:
    """The Anthropic type of an in-band error object, which carries no HTTP status of its own."""
    if not isinstance(error, dict):
        text = str(error).lower()
        code: object = None
    else:
        named = error.get("type")
        if named in ERROR_TYPES:
            return str(named)
        code = error.get("code")
        if code is None:
            code = error.get("status")
        text = f"{named} {error.get('message')}".lower()
    if type(code) is str and code.isascii() and code.isdigit():
        code = int(code)
    if code in (503, 529) or "overload" in text:
        return "overloaded_error"
    if code == 429 or "rate limit" in text or "rate_limit" in text:
        return "rate_limit_error"
    if code in (408, 504) or "timeout" in text or "timed out" in text:
        return "timeout_error"
    return "api_error"


def error_message_of(error: object) -> str:
    """What the upstream said, bounded: a message field, else the object or text itself."""
    if isinstance(error, dict):
        message = error.get("message")
        if type(message) is str and message:
            return message[:500]
        return orjson.dumps(error).decode()[:500]
    return error[:500] if isinstance(error, str) else orjson.dumps(error).decode()[:500]


__all__ = ["error_message_of", "error_type_of"]
