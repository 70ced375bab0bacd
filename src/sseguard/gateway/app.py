"""The ASGI gateway: routes requests to handlers and watches for clients that leave.

Thin by design: validation of what routing needs, then ``Exchange`` does the work. Per-request state
lives in the call, never on the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from sseguard.config import Config, Route
from sseguard.config.teams import KeySpec
from sseguard.dashboard.routes import Dashboard, is_dashboard
from sseguard.errors import GatewayError
from sseguard.gateway.asgi import (
    AddHeaders,
    ClientGone,
    CollectSink,
    Message,
    Receive,
    Scope,
    Send,
    StreamSink,
    header_dict,
    read_body,
    send_error,
    send_json,
)
from sseguard.gateway.edges import AnthropicEdge, BrowserEdge, Edge, Framing, OpenAIEdge
from sseguard.gateway.models import list_models
from sseguard.gateway.origins import Origins, answered_hosts, preflight
from sseguard.gateway.playground import playground_page
from sseguard.gateway.readiness import Check, readiness
from sseguard.gateway.side_calls import SideCalls
from sseguard.gateway.tokens import count_tokens
from sseguard.observe import tracing
from sseguard.observe.capture import Capture, CaptureStore, redact_headers
from sseguard.observe.metrics import Metrics
from sseguard.observe.record import RequestRecord
from sseguard.policy.base import PolicyContext, PolicyError
from sseguard.policy.build import chain_for
from sseguard.policy.chain import PolicyChain, PolicySink
from sseguard.protocol.finalize import finalize
from sseguard.protocol.repair import Failure
from sseguard.resilience.breaker import Breakers
from sseguard.resilience.continuation import ContinuationMemory
from sseguard.resilience.exchange import ClientRequest, Exchange
from sseguard.resilience.shared import SharedResilience
from sseguard.teams.admin import PATH as ADMIN_PATH
from sseguard.teams.admin import AdminAPI
from sseguard.teams.gate import Gate, Ticket
from sseguard.teams.state import Unavailable, open_store
from sseguard.upstream.client import UpstreamClient

Observer = Callable[[RequestRecord], None]
LOGGER = logging.getLogger("sseguard.gateway")
SHUTDOWN_ENDING_TIMEOUT = 2.0  # seconds for cancelled streams to write their last events
MESSAGES = "/v1/messages"
ANTHROPIC = AnthropicEdge()
BROWSER = BrowserEdge()
# Endpoints that answer with a model's reply, by the client format they speak.
EDGES: dict[str, Edge] = {
    MESSAGES: ANTHROPIC,
    "/v1/chat/completions": OpenAIEdge(),
    "/v1/chat/sse": BROWSER,
}
# Endpoints that need a gateway key when the config has them (docs/configuration.md, keys).
KEYED = frozenset({*EDGES, "/v1/messages/count_tokens", "/v1/models"})
# A gateway key is the gateway's: it goes no further than the door.
KEY_HEADERS = ("x-api-key", "authorization")


class Gateway:
    """``Gateway(config)`` is the ASGI app; ``startup``/``shutdown`` run from the lifespan."""

    def __init__(
        self,
        config: Config,
        observers: Sequence[Observer] = (),
        on_shutdown: Sequence[Callable[[], None]] = (),
        on_startup: Sequence[Callable[[Gateway], None]] = (),
        checks: Sequence[Check] = (),
    ) -> None:
        self.config = config
        self.client = UpstreamClient(connect_timeout=config.timeouts.connect)
        # What each deployment showed about continuing answers (F37), for every later request.
        self.continuations = ContinuationMemory()
        # Which deployments are down (circuit breakers, per worker process).
        self.breakers = Breakers(config.breaker)
        server = config.server
        self.origins = Origins(
            server.cors_origins, answered_hosts(server.host, server.allowed_hosts)
        )
        self.metrics = Metrics()
        # Teams: keys, limits and budgets, and what replicas share (None/in-process without).
        self.store = open_store(config.state)
        # What /readyz looks at besides starting and draining: the shared state when there is
        # one (503 only if requests fail closed without it), and what the host adds (the log).
        self.checks: tuple[Check, ...] = tuple(checks)
        if config.state.redis_url is not None:
            closed = config.state.on_unavailable == "closed"
            self.checks = (Check("redis", self._reach_state, blocking=closed), *self.checks)
        self.gate = Gate(config, self.store, self.metrics) if config.gateway_keys else None
        self.admin = (
            AdminAPI(config, self.store, self.gate.ring if self.gate else None)
            if config.admin is not None
            else None
        )
        self._shared = (
            SharedResilience(self.store, self.breakers, self.continuations)
            if config.state.redis_url is not None
            else None
        )
        self.dashboard = Dashboard(config, self.origins)
        # Each finished request's record goes to the metrics, the dashboard's live view and then
        # to these (logs, the log store).
        self.observers: tuple[Observer, ...] = (
            self.metrics.observe,
            self.dashboard.live.publish,
            *observers,
        )
        # Each route's policies, built once (routes are frozen; their ids are stable).
        self._chains = {id(route): chain_for(route) for route in config.routes}
        self._side_calls = SideCalls(
            self.client, config, self.continuations, self.breakers, self.observers
        )
        # Blocking closes (the log store's flush), run after the streams' endings are recorded.
        self.on_shutdown = tuple(on_shutdown)
        # Run in the event loop once the server started (serve.py's SIGTERM drain installs itself
        # there: after the server's own signal handlers, which it defers to).
        self.on_startup = tuple(on_startup)
        self.ready = False
        # Set when a stop was asked for and requests are still served: /readyz says 503 so that
        # load balancers take this instance out before it stops listening.
        self.draining = False
        # Request tasks with an open stream: at shutdown they get to send their ending first.
        self._streaming: set[asyncio.Task[Any]] = set()
        self._captures: CaptureStore | None = None  # made on the first captured request
        self._saving: set[asyncio.Future[Any]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if is_dashboard(scope["path"]):  # no model traffic: no record (dashboard/routes.py)
            await self.dashboard(scope, receive, send)
            return
        rec = RequestRecord(f"sg_{os.urandom(10).hex()}", scope["path"])  # uuid4 costs more
        edge = EDGES.get(scope["path"], ANTHROPIC)
        rec.client_format = edge.format
        span = (
            tracing.request_span(scope["method"], scope["path"], header_dict(scope))
            if tracing.enabled()
            else None
        )

        try:
            cors = self.origins.cors(scope)
            if cors is not None:
                send = AddHeaders(send, cors)
                head = preflight(scope)
                if head is not None:
                    rec.status = 204
                    await send({"type": "http.response.start", "status": 204, "headers": head})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await self._route(scope, receive, _StatusNotingSend(send, rec), rec)
        except GatewayError as err:
            rec.outcome = "rejected" if err.status < 500 and not rec.deployments else "error"
            await send_error(_StatusNotingSend(send, rec), err, rec.request_id, edge)
        except ClientGone:
            rec.outcome = "client_gone"
            rec.client_disconnected = True
        except Exception as exc:
            # A bug of sseguard's own, before any streaming began: the client still gets a 500 in
            # its endpoint's format, never the server's plain-text page.
            rec.outcome = "error"
            LOGGER.exception("internal error in request %s", rec.request_id)
            if not rec.status:
                error = GatewayError(500, _internal(exc), "api_error")
                await send_error(_StatusNotingSend(send, rec), error, rec.request_id, edge)
        finally:
            rec.finish(rec.status or 499)  # 499: the client left before any status went out
            if span is not None:
                span.end(rec)
            for observe in self.observers:
                observe(rec)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    # Per worker process: a tracer provider's export thread does not survive a fork.
                    stop_tracing = tracing.configure()
                except tracing.TracingConfigError as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if stop_tracing is not None:
                    self.on_shutdown = (*self.on_shutdown, stop_tracing)
                if self._shared is not None:
                    self._shared.start()
                for start in self.on_startup:
                    start(self)
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                if self._streaming:
                    # uvicorn has just cancelled the streams its grace period let run; their
                    # truthful endings must go out before the process exits.
                    await asyncio.wait(set(self._streaming), timeout=SHUTDOWN_ENDING_TIMEOUT)
                if self._saving:
                    await asyncio.wait(set(self._saving), timeout=SHUTDOWN_ENDING_TIMEOUT)
                await self.client.close()
                if self._shared is not None:
                    await self._shared.stop()
                await self.store.close()
                for close in self.on_shutdown:
                    await asyncio.to_thread(close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive, send: Send, rec: RequestRecord) -> None:
        method = scope["method"]
        path = scope["path"]
        request_id = rec.request_id
        edge = EDGES.get(path)
        key: KeySpec | None = None
        if self.gate is not None and path in KEYED:
            headers = header_dict(scope)
            key = await self.gate.authenticate(headers, rec)
            for name in KEY_HEADERS:
                headers.pop(name, None)
            scope = {
                **scope,
                "headers": [(k.encode(), v.encode("latin-1")) for k, v in headers.items()],
            }
        if edge is not None:
            if method == "GET" and edge is BROWSER:
                await self._browser_get(scope, receive, send, rec, key)
                return
            _allow(method, "POST")
            body = await self._json_body(receive)
            await self._answer(edge, scope, body, receive, send, rec, key)
        elif path == "/playground":
            _allow(method, "GET")
            await send_json(send, 200, playground_page(), content_type="text/html; charset=utf-8")
        elif path == "/v1/messages/count_tokens":
            _allow(method, "POST")
            body = await self._json_body(receive)
            if key is not None and self.gate is not None:
                model = body.get("model")
                self.gate.permit(key, model if isinstance(model, str) else "")
            status, headers, payload = await count_tokens(
                self.client,
                self.config,
                scope["query_string"].decode("latin-1"),
                header_dict(scope),
                body,
            )
            await send_json(send, status, payload, {**headers, "x-sseguard-request-id": request_id})
        elif path == "/v1/models":
            _allow(method, "GET")
            status, headers, payload = await list_models(
                self.client,
                self.config,
                scope["query_string"].decode("latin-1"),
                header_dict(scope),
            )
            await send_json(send, status, payload, {**headers, "x-sseguard-request-id": request_id})
        elif self.admin is not None and (path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/")):
            sent = await self._json_body(receive) if method == "POST" else None
            status, payload = await self.admin.handle(method, path, header_dict(scope), sent)
            await send_json(send, status, payload, {"x-sseguard-request-id": request_id})
        elif path == "/metrics":
            _allow(method, "GET")
            payload = self.metrics.exposition()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
                }
            )
            await send({"type": "http.response.body", "body": payload})
        elif path == "/healthz":
            await send_json(send, 200, b'{"status":"ok"}')
        elif path == "/readyz":
            state = "draining" if self.draining else "ready" if self.ready else "starting"
            status, payload = await readiness(state, self.checks)
            await send_json(send, status, payload)
        else:
            raise GatewayError(404, f"sseguard has no endpoint {method} {path}", "not_found_error")

    async def _reach_state(self) -> str | None:
        try:
            await self.store.ping()
        except Unavailable as exc:
            return str(exc)
        return None

    async def _json_body(self, receive: Receive) -> dict[str, Any]:
        raw = await read_body(receive, self.config.limits.max_request_bytes)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise GatewayError(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise GatewayError(
                400, f"the request body must be a JSON object, not {type(body).__name__}"
            )
        return body

    async def _browser_get(
        self, scope: Scope, receive: Receive, send: Send, rec: RequestRecord, key: KeySpec | None
    ) -> None:
        """``EventSource``: parameters in the query. Its automatic reconnection after the stream
        ended carries ``Last-Event-ID``; a 204 is the answer that stops it instead of asking the
        model again."""
        if "last-event-id" in header_dict(scope):
            rec.outcome = "rejected"
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        query = scope["query_string"].decode("latin-1")
        try:
            params = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
        except ValueError:
            raise GatewayError(400, "the query string is malformed") from None
        await self._answer(BROWSER, scope, BROWSER.query(params), receive, send, rec, key)

    async def _answer(
        self,
        edge: Edge,
        scope: Scope,
        client_body: dict[str, Any],
        receive: Receive,
        send: Send,
        rec: RequestRecord,
        key: KeySpec | None = None,
    ) -> None:
        body = edge.request(client_body)
        model: str = body["model"]
        rec.client_model = model
        stream = body.get("stream", False)
        rec.stream = stream
        route = self.config.route_for(model)
        if route is None:
            raise GatewayError(
                404, f"model: no route of this gateway serves {model!r}", "not_found_error"
            )
        rec.route = route.match
        ticket: Ticket | None = None
        if key is not None and self.gate is not None:
            ticket = await self.gate.admit(key, model, rec)
        try:
            await self._exchange(edge, scope, client_body, body, route, receive, send, rec, ticket)
        finally:
            if ticket is not None and self.gate is not None:
                await self.gate.settle(ticket, rec)

    async def _exchange(
        self,
        edge: Edge,
        scope: Scope,
        client_body: dict[str, Any],
        body: dict[str, Any],
        route: Route,
        receive: Receive,
        send: Send,
        rec: RequestRecord,
        ticket: Ticket | None,
    ) -> None:
        """The admitted request, through its route's policies and the exchange."""
        model: str = body["model"]
        stream = rec.stream
        chain = self._chains.get(id(route))
        policy: PolicyContext | None = None
        if chain is not None:
            policy = PolicyContext(rec, body, header_dict(scope), self._side_calls.ask)
            body = chain.request(policy, body)
        request = ClientRequest(
            MESSAGES,
            # Only a Messages client's query is meant for the upstream (``?beta=true``, F28).
            scope["query_string"].decode("latin-1") if edge is ANTHROPIC else "",
            header_dict(scope),
            body,
            rec.request_id,
        )
        capture = self._capture_for(route, scope, request) if route.capture else None
        exchange = Exchange(
            self.client,
            self.config,
            route,
            request,
            rec,
            capture,
            self.continuations,
            self.breakers,
        )
        policies = (chain, policy) if chain is not None and policy is not None else None
        try:
            if stream:
                self.metrics.active.inc()
                try:
                    framing = edge.framing(rec.request_id, client_body, model)
                    await self._stream(edge, framing, exchange, receive, send, rec, policies)
                finally:
                    self.metrics.active.dec()
            else:
                await self._collect(edge, exchange, receive, send, rec, policies, ticket)
        finally:
            if chain is not None and policy is not None:
                chain.complete(policy)
            if capture is not None:
                self._save_capture(rec.request_id, capture)

    def _capture_for(self, route: Route, scope: Scope, request: ClientRequest) -> Capture:
        observe = self.config.observe
        if self._captures is None:
            self._captures = CaptureStore(
                observe.capture_dir, observe.capture_max_count, observe.capture_max_bytes
            )
        secrets = tuple(
            s for name in route.deployments for s in self.config.deployment(name).secrets
        )
        # Each direction's bytes are bounded so one runaway stream cannot take the whole budget.
        capture = Capture(limit=max(1, observe.capture_max_bytes // 4), secrets=secrets)
        capture.client_request = {
            "method": scope["method"],
            "path": request.path,
            "query": request.query,
            "headers": redact_headers(request.headers, secrets),
            "body": request.body,
        }
        return capture

    def _save_capture(self, request_id: str, capture: Capture) -> None:
        """Written by a worker thread: files and pruning must not hold up the event loop."""
        assert self._captures is not None
        future = asyncio.get_running_loop().run_in_executor(
            None, self._captures.save, request_id, capture
        )
        self._saving.add(future)
        future.add_done_callback(self._saving.discard)

    async def _stream(
        self,
        edge: Edge,
        framing: Framing,
        exchange: Exchange,
        receive: Receive,
        send: Send,
        rec: RequestRecord,
        policies: tuple[PolicyChain, PolicyContext] | None,
    ) -> None:
        request_id = rec.request_id
        sink = StreamSink(
            send.raw if isinstance(send, _StatusNotingSend) else send,
            lambda: {**exchange.response_headers, "x-sseguard-request-id": request_id},
            rec,
            self.metrics.tally(),
            framing,
        )
        sink.capture = exchange.capture
        task = asyncio.current_task()
        assert task is not None
        self._streaming.add(task)
        try:
            await _until_disconnect(exchange.run(_policed(sink, policies)), receive)
        except asyncio.CancelledError:
            # The server's shutdown grace ran out: end the stream truthfully, not with a cut.
            # The cancellation asked this request to end, and now it has: nothing to propagate.
            if exchange.repairer.ended:
                raise
            await _shutdown_ending(edge, exchange, sink, send, request_id)
            return
        except GatewayError as err:
            if sink.committed:  # cannot happen by Exchange's contract; never send two status lines
                raise
            rec.outcome = "error"
            err.headers = {**exchange.response_headers, **err.headers, **exchange.retry_advice}
            await send_error(send, err, request_id, edge)
            return
        except PolicyError as err:
            # Fails closed: the decision log holds the cause; the client learns which policy.
            LOGGER.warning("request %s: %s", request_id, err)
            rec.outcome = "error"
            if sink.committed:
                rec.midstream = "error"
            failure = Failure("", "api_error", err.public)
            await _end_early(edge, exchange, sink, send, request_id, 500, failure)
            return
        except Exception as exc:
            # A bug of sseguard's own: the stream still ends with a typed error, recorded as one,
            # never a chunked body that just stops (which a client may take for a whole answer).
            LOGGER.exception("internal error in request %s", request_id)
            rec.outcome = "error"
            if sink.committed:
                rec.midstream = "error"
            failure = Failure("", "api_error", _internal(exc))
            await _end_early(edge, exchange, sink, send, request_id, 500, failure)
            return
        finally:
            self._streaming.discard(task)
            self.metrics.add_gaps(sink.gaps)
        await sink.end()

    async def _collect(
        self,
        edge: Edge,
        exchange: Exchange,
        receive: Receive,
        send: Send,
        rec: RequestRecord,
        policies: tuple[PolicyChain, PolicyContext] | None,
        ticket: Ticket | None = None,
    ) -> None:
        request_id = rec.request_id
        sink = CollectSink(rec)
        try:
            await _until_disconnect(exchange.run(_policed(sink, policies)), receive)
        except GatewayError as err:
            err.headers = {**exchange.response_headers, **err.headers, **exchange.retry_advice}
            raise
        except PolicyError as err:
            LOGGER.warning("request %s: %s", request_id, err)
            raise GatewayError(500, err.public, "api_error", exchange.response_headers) from None
        headers = {**exchange.response_headers, "x-sseguard-request-id": request_id}
        message = sink.message({**headers, **exchange.retry_advice})
        payload = edge.answer(message, request_id, rec.client_model)
        if exchange.capture is not None:
            exchange.capture.add_to(exchange.capture.client_bytes, payload)
        if ticket is not None and self.gate is not None:
            # Counted before the answer goes out: a client's next request sees this one's spend.
            await self.gate.settle(ticket, rec)
        await send_json(send, 200, payload, headers)


class _StatusNotingSend:
    """The ASGI ``send`` that notes the response status in the record. A stream's sink takes
    ``raw`` instead and notes its own 200: one call layer less on every event written."""

    __slots__ = ("raw", "record")

    def __init__(self, raw: Send, record: RequestRecord) -> None:
        self.raw = raw
        self.record = record

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.record.status = message["status"]
        await self.raw(message)


def _policed(sink: Any, policies: tuple[PolicyChain, PolicyContext] | None) -> Any:
    """The exchange's sink: the client's own, or the route's policies in front of it."""
    return sink if policies is None else PolicySink(sink, *policies)


async def _until_disconnect(work: Any, receive: Receive) -> None:
    """Run ``work`` in this task; if the client disconnects first, cancel it, which closes the
    upstream (F36). One watcher task beside the request's own, not a second task for the work."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await work
    except asyncio.CancelledError:
        # Ours alone: the client left. Anyone else's (the server's shutdown) propagates.
        if gone and task.uncancel() == 0:
            raise ClientGone from None
        raise
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _shutdown_ending(
    edge: Edge, exchange: Exchange, sink: StreamSink, send: Send, request_id: str
) -> None:
    message = "sseguard is shutting down and its grace period for open streams ran out"
    failure = Failure("F20", "api_error", message)
    await _end_early(edge, exchange, sink, send, request_id, 503, failure)


async def _end_early(
    edge: Edge,
    exchange: Exchange,
    sink: StreamSink,
    send: Send,
    request_id: str,
    status: int,
    failure: Failure,
) -> None:
    """A stream that cannot go on: a typed error event after commit, else the real status."""
    if sink.committed:
        await sink.write(finalize(exchange.repairer, "error", failure))
        await sink.end()
    else:
        error = GatewayError(status, failure.message, failure.error_type)
        await send_error(send, error, request_id, edge)


def _internal(exc: Exception) -> str:
    """What the client is told of sseguard's own failure: its kind, not its text, which may hold
    request content; the traceback is in the gateway's log."""
    return f"sseguard failed internally ({type(exc).__name__}); the gateway's log has the details"


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise GatewayError(
            405, f"use {allowed} for this endpoint, not {method}", "invalid_request_error"
        )
