"""The error vocabulary: Anthropic's error types, the HTTP statuses they stand for, and the error a
client receives (``GatewayError``), in Anthropic's JSON shape with the real HTTP status.

One module for every layer (protocol, translate, resilience, gateway, probe), so a type and its
status never mean two things. Whose fault it was is in the message (the client's request, an
upstream, sseguard itself); the status is the one a client's retry logic understands. Never
carries a provider key. Pure.
"""

from __future__ import annotations

from typing import Any

import orjson

# The types Anthropic's API documents for its error objects.
ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "timeout_error",
        "overloaded_error",
    }
)

# Anthropic's documented error types by HTTP status.
ERROR_TYPE_FOR_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

STATUS_FOR_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def error_type_for_status(status: int) -> str:
    """The type a status stands for; an undocumented one by its class (the client's or not)."""
    found = ERROR_TYPE_FOR_STATUS.get(status)
    if found is not None:
        return found
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


class GatewayError(Exception):
    """An answer that is an error: status, Anthropic error type, message, extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type or error_type_for_status(status)
        self.message = message
        self.headers = headers or {}
        self._body = body  # an upstream's own Anthropic-shaped error body, passed on as it was

    def body(self, request_id: str | None = None) -> bytes:
        if self._body is not None:
            return self._body
        payload: dict[str, Any] = {
            "type": "error",
            "error": {"type": self.error_type, "message": self.message},
        }
        if request_id:
            payload["request_id"] = request_id
        return orjson.dumps(payload)


def anthropic_error_body(body: bytes) -> dict[str, Any] | None:
    """The upstream body when it already is an Anthropic error object, else None."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if (
        isinstance(value, dict)
        and value.get("type") == "error"
        and isinstance(value.get("error"), dict)
        and isinstance(value["error"].get("type"), str)
    ):
        return value
    return None
