"""``GET /v1/models``: the upstream's own list when it has one, else the models the routes name, in
the shape of whoever asks.

Clients (Claude Code among them) use it to validate model names; an upstream without the endpoint
must not make the gateway look broken. Anthropic and OpenAI clients share the path, so the shape
follows the ``anthropic-version`` header every Anthropic SDK sends.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.config import Config
from sseguard.upstream.client import UpstreamClient
from sseguard.upstream.request import build

GLOB_CHARS = frozenset("*?[")


def anthropic_listing(ids: list[str]) -> dict[str, Any]:
    data = [
        {"type": "model", "id": i, "display_name": i, "created_at": "1970-01-01T00:00:00Z"}
        for i in ids
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
    }


def openai_listing(ids: list[str]) -> dict[str, Any]:
    data = [{"id": i, "object": "model", "created": 0, "owned_by": "sseguard"} for i in ids]
    return {"object": "list", "data": data}


def _ids(body: bytes) -> list[str] | None:
    """The model ids of a listing in either shape; None when the body is not one."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list):
        return None
    return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


async def list_models(
    client: UpstreamClient, config: Config, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    openai_client = "anthropic-version" not in headers
    route = config.route_for("*") or (config.routes[0] if config.routes else None)
    if route is not None:
        deployment = config.deployment(route.deployments[0])
        req = build(deployment, "/v1/models", query, headers, None)
        reply = await client.fetch(
            req, timeout=config.timeouts.connect, limit=1024 * 1024, method="GET"
        )
        if reply is not None and reply.status == 200:
            same_shape = openai_client == (deployment.kind == "openai-compatible")
            if same_shape:
                return 200, reply.headers, reply.body
            ids = _ids(reply.body)
            if ids is not None:
                listing = openai_listing(ids) if openai_client else anthropic_listing(ids)
                return 200, {}, orjson.dumps(listing)
    ids = [r.match for r in config.routes if not GLOB_CHARS & set(r.match)]
    listing = openai_listing(ids) if openai_client else anthropic_listing(ids)
    return 200, {}, orjson.dumps(listing)
