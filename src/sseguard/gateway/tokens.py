"""``count_tokens`` (F29): proxied to the deployment that would serve the model, estimated locally
when the provider has no such endpoint, and saying so in a header.

Its failures never count against a deployment: Claude Code calls it for accounting, not for answers.
"""

from __future__ import annotations

from typing import Any

import orjson

from sseguard.config import Config
from sseguard.errors import GatewayError
from sseguard.upstream.client import UpstreamClient
from sseguard.upstream.redact import redact
from sseguard.upstream.request import build, estimate_input_tokens

ESTIMATE_HEADER = "x-sseguard-token-estimate"


async def count_tokens(
    client: UpstreamClient,
    config: Config,
    query: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> tuple[int, dict[str, str], bytes]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "model: a model name (string) is required")
    route = config.route_for(model)
    if route is None:
        raise GatewayError(
            404, f"model: no route of this gateway serves {model!r}", "not_found_error"
        )
    deployment = config.deployment(route.deployments[0])
    if deployment.count_tokens == "proxy":
        req = build(deployment, "/v1/messages/count_tokens", query, headers, body)
        reply = await client.fetch(req, timeout=config.timeouts.first_event, limit=64 * 1024)
        if reply is not None and reply.status != 404:
            return reply.status, reply.headers, redact(reply.body, deployment.secrets)
    return (
        200,
        {ESTIMATE_HEADER: "true"},
        orjson.dumps({"input_tokens": estimate_input_tokens(body)}),
    )
