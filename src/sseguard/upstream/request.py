"""The request sent upstream for a client's request: URL, headers and body for one deployment.

Pure. The only place that knows which client headers travel on (F28) and which never do (hop-by-hop
headers, the client's credentials unless the deployment passes them through), and what of the
history an Anthropic-style deployment would refuse (unsigned thinking, F27: ``history``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sseguard.config import Deployment
from sseguard.translate.messages_to_chat import chat_request
from sseguard.upstream.history import drop_unsigned_thinking

# Client headers forwarded as they are; everything else is dropped (credentials are re-added by
# the deployment's auth style, content-length and encodings are the HTTP client's business).
FORWARDED = frozenset({"anthropic-version", "content-type", "user-agent", "x-stainless-helper"})


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    body: bytes
    # Thinking blocks without a signature left out of the history (F27), for the request record.
    unsigned_thinking: int = 0


CHARS_PER_TOKEN = 4  # a rough mean for English text and JSON; an estimate is labelled as one


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """Characters of everything the model would read, over four: for count_tokens without an
    upstream endpoint (F29), and for upstreams that report usage only at the end."""
    parts = [body.get("system"), body.get("messages"), body.get("tools")]
    size = sum(len(orjson.dumps(p)) for p in parts if p is not None)
    return max(1, size // CHARS_PER_TOKEN)


def client_key(headers: dict[str, str]) -> str | None:
    """The client's own API key (``x-api-key`` or a bearer token), for passthrough deployments."""
    key = headers.get("x-api-key") or headers.get("api-key")
    if key:
        return key
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


# An OpenAI-compatible deployment's base URL is the one its SDK takes (``.../v1``); these are the
# paths under it that stand for sseguard's Anthropic-side paths.
OPENAI_PATHS = {"/v1/messages": "/chat/completions", "/v1/models": "/models"}


def build(
    deployment: Deployment,
    path: str,
    query: str,
    client_headers: dict[str, str],
    body: dict[str, Any] | None,
) -> UpstreamRequest:
    """``path`` is the client's path (``/v1/messages``); the query string is kept (``?beta=true``).

    Raises ``TranslationError`` when an OpenAI-compatible deployment cannot express the request.
    An OpenAI-compatible deployment needs no ``history`` rule: chat.completions has no place for
    thinking, so the translation leaves all of it out, signed or not.
    """
    if deployment.kind == "openai-compatible":
        return _openai(deployment, path, client_headers, body)
    url = deployment.base_url + path + (f"?{query}" if query else "")
    headers = {k: v for k, v in client_headers.items() if k in FORWARDED}
    headers.setdefault("anthropic-version", deployment.anthropic_version)
    beta = deployment.filter_beta(client_headers.get("anthropic-beta"))
    if beta:
        headers["anthropic-beta"] = beta
    headers.update(deployment.headers)
    headers.update(deployment.auth_headers(client_key(client_headers)))
    data = b""
    dropped = 0
    if body is not None:
        if isinstance(body.get("model"), str):
            body = {**body, "model": deployment.upstream_model(body["model"])}
        if isinstance(body.get("messages"), list):
            messages, dropped = drop_unsigned_thinking(body["messages"])
            if dropped:
                body = {**body, "messages": messages}
        data = orjson.dumps(body)
        headers["content-type"] = "application/json"
    return UpstreamRequest(url, headers, data, dropped)


def _openai(
    deployment: Deployment, path: str, client_headers: dict[str, str], body: dict[str, Any] | None
) -> UpstreamRequest:
    """No Anthropic headers and no query (``?beta=true`` means nothing there); the body in
    chat.completions form, streamed with usage."""
    url = deployment.base_url + OPENAI_PATHS[path]
    headers = {k: v for k, v in client_headers.items() if k == "user-agent"}
    headers.update(deployment.headers)
    headers.update(deployment.auth_headers(client_key(client_headers)))
    data = b""
    if body is not None:
        model = body.get("model")
        if isinstance(model, str):
            body = {**body, "model": deployment.upstream_model(model)}
        data = orjson.dumps(chat_request(body))
        headers["content-type"] = "application/json"
    return UpstreamRequest(url, headers, data)
