"""``GET /v1/models``: the upstream's own list when it has one, else the models the routes name.

Clients (Claude Code among them) use it to validate model names; an upstream without the endpoint
must not make the gateway look broken.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.config import Config
from sseguard.upstream.client import UpstreamClient
from sseguard.upstream.request import build

GLOB_CHARS = frozenset("*?[")


def listing_from_routes(config: Config) -> dict[str, Any]:
    ids = [r.match for r in config.routes if not GLOB_CHARS & set(r.match)]
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


async def list_models(
    client: UpstreamClient, config: Config, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    route = config.route_for("*") or (config.routes[0] if config.routes else None)
    if route is not None:
        deployment = config.deployment(route.deployments[0])
        req = build(deployment, "/v1/models", query, headers, None)
        reply = await client.fetch(
            req, timeout=config.timeouts.connect, limit=1024 * 1024, method="GET"
        )
        if reply is not None and reply.status == 200:
            return 200, reply.headers, reply.body
    return 200, {}, orjson.dumps(listing_from_routes(config))
