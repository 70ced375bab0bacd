"""Questions the gateway itself asks a model on behalf of a client's request — a tool judge's
verdict — through the same exchange as any request: its deployments' timeouts, retries, breakers
and fallback. Each is recorded as a request of its own, with the client's request as its parent,
so the log shows what judging cost and why it decided."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from sseguard.config import Config, Route
from sseguard.errors import GatewayError
from sseguard.gateway.asgi import CollectSink
from sseguard.observe import tracing
from sseguard.observe.record import RequestRecord
from sseguard.policy.base import PolicyContext
from sseguard.resilience.breaker import Breakers
from sseguard.resilience.continuation import ContinuationMemory
from sseguard.resilience.exchange import ClientRequest, Exchange
from sseguard.upstream.client import UpstreamClient

# The client's headers a side call keeps: its key, for deployments that pass the client's on.
_KEPT = ("x-api-key", "api-key", "authorization", "anthropic-version")


class SideCalls:
    def __init__(
        self,
        client: UpstreamClient,
        config: Config,
        continuations: ContinuationMemory,
        breakers: Breakers,
        observers: Sequence[Callable[[RequestRecord], None]],
    ) -> None:
        self._client = client
        self._config = config
        self._continuations = continuations
        self._breakers = breakers
        self._observers = observers
        self._routes: dict[tuple[str, ...], Route] = {}

    async def ask(
        self,
        deployments: tuple[str, ...],
        body: dict[str, Any],
        ctx: PolicyContext,
        purpose: str,
    ) -> dict[str, Any]:
        """The answer Message of a non-streaming ``body``; ``GatewayError`` when none came."""
        parent = ctx.record
        rec = RequestRecord(f"sg_{os.urandom(10).hex()}", f"policy:{purpose}")
        rec.parent_id = parent.request_id
        rec.route = rec.endpoint
        rec.client_model = str(body.get("model", ""))
        route = self._routes.get(deployments)
        if route is None:
            route = self._routes[deployments] = Route(deployments=deployments, midstream="error")
        headers = {k: v for k, v in ctx.headers.items() if k in _KEPT}
        request = ClientRequest("/v1/messages", "", headers, body, rec.request_id)
        exchange = Exchange(
            self._client,
            self._config,
            route,
            request,
            rec,
            None,
            self._continuations,
            self._breakers,
        )
        sink = CollectSink(rec)
        try:
            with tracing.step_span(
                f"sseguard.policy.{purpose}", **{"sseguard.request_id": rec.request_id}
            ):
                await exchange.run(sink)
            message = sink.message({})
            rec.status = 200
            return message
        except GatewayError as err:
            rec.outcome = "error"
            rec.status = err.status
            raise
        except BaseException:  # cancelled: the judge's time ran out, or the client left
            rec.outcome = "client_gone"
            raise
        finally:
            rec.finish(rec.status or 499)
            for observe in self._observers:
                observe(rec)
