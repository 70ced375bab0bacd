"""The simulator's HTTP side: an aiohttp app that picks a scenario per request and plays its plan, on
POST /v1/messages (Anthropic) and POST /v1/chat/completions (OpenAI), each with its own scenarios.

Owns sockets, timing and the attempt counters; decides nothing about content or faults (``content``,
``scenarios``). Async first (``Simulator``); ``start_in_thread`` serves synchronous callers.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from sseguard.sim.attempts import Attempts, once_key
from sseguard.sim.content import JSON, estimate_tokens
from sseguard.sim.mutations import MESSAGES
from sseguard.sim.scenarios import (
    DIALECTS,
    ScenarioError,
    Selection,
    default_for,
    plan_for,
    select,
    split_model,
)
from sseguard.sim.wire import Ask, Dialect, Loop, Pause, Plan, Stall, Write

SCENARIO_HEADER = "x-sim-scenario"
URL_PREFIX = "/s/{spec}"
MODELS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")
MODELS_CREATED = ("2025-09-29T00:00:00Z", 1_759_104_000)  # the same instant, as each API spells it
RECORD_LIMIT = 1_000
SHUTDOWN_GRACE = 0.5  # seconds: stalled answers are cut at shutdown instead of held for a minute


@dataclass(frozen=True, slots=True)
class Record:
    """One answered request: what tests of retries and disconnects (F36) look at."""

    path: str
    scenario: str
    status: int
    outcome: str  # "complete", "aborted", "client gone" or "rejected"


class Simulator:
    """``async with Simulator(port=0) as sim:`` serves at ``sim.base_url`` until the block ends."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, default_scenario: str = "clean"
    ) -> None:
        self.host = host
        self.port = port
        self.default = select(default_scenario)
        self.records: deque[Record] = deque(maxlen=RECORD_LIMIT)
        self._attempts = Attempts()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url_for(self, spec: str) -> str:
        """A base URL that selects ``spec`` for every request: ``.../s/<spec>``."""
        return f"{self.base_url}/s/{spec}"

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("", URL_PREFIX):
            for dialect in DIALECTS:
                app.router.add_post(prefix + dialect.path, self._answerer(dialect))
            app.router.add_post(prefix + "/v1/messages/count_tokens", self._count_tokens)
            app.router.add_get(prefix + "/v1/models", self._models)
        # Cancelling the handler when the client leaves is what ends stalls and loops (F21, F36).
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=SHUTDOWN_GRACE, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _select(self, request: web.Request, body: JSON, dialect: Dialect) -> Selection:
        """URL prefix first, then the header, then the model-name suffix, then the default (on the
        other API's endpoint, that API's clean scenario)."""
        _, model_spec = split_model(str(body.get("model", "")))
        spec = request.match_info.get("spec") or request.headers.get(SCENARIO_HEADER) or model_spec
        return select(spec, dialect) if spec else default_for(dialect, self.default)

    async def _body_and_scenario(
        self, request: web.Request, dialect: Dialect
    ) -> tuple[JSON, Selection] | web.StreamResponse:
        """The request's JSON and its scenario, or the 400 that says which one is wrong."""
        body = await _json_body(request, dialect)
        if isinstance(body, web.Response):
            return body
        try:
            return body, self._select(request, body, dialect)
        except ScenarioError as err:
            return self._reject(request, err, dialect)

    def _answerer(self, dialect: Dialect) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def answer(request: web.Request) -> web.StreamResponse:
            return await self._answer(request, dialect)

        return answer

    async def _answer(self, request: web.Request, dialect: Dialect) -> web.StreamResponse:
        chosen = await self._body_and_scenario(request, dialect)
        if isinstance(chosen, web.StreamResponse):
            return chosen
        body, selection = chosen
        model, _ = split_model(str(body.get("model", "")))
        body = {**body, "model": model} if model else body
        first = not selection.scenario.once or self._attempts.first(
            once_key(selection.scenario.name, model, body)
        )
        betas = request.headers.get("anthropic-beta", "")
        ask = Ask(
            body=body,
            stream=body.get("stream") is True,
            betas=tuple(b.strip() for b in betas.split(",") if b.strip()),
        )
        plan = plan_for(selection, ask, first_attempt=first)
        return await self._play(request, selection, plan)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        chosen = await self._body_and_scenario(request, MESSAGES)
        if isinstance(chosen, web.StreamResponse):
            return chosen
        body, selection = chosen
        if selection.scenario.count_tokens_status != 200:
            # F29: providers without the endpoint answer a plain not-found.
            status = selection.scenario.count_tokens_status
            self._record(request, selection.spec, status, "complete")
            return _error(MESSAGES, status, "not_found_error", "Not found")
        self._record(request, selection.spec, 200, "complete")
        return web.json_response({"input_tokens": estimate_tokens(body)}, dumps=_dumps)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        # Anthropic's and OpenAI's clients list models at the same path: one answer carries both
        # shapes' fields, and each client reads its own.
        created_at, created = MODELS_CREATED
        data = [
            {
                "type": "model",
                "id": model,
                "display_name": model.replace("-", " ").title(),
                "created_at": created_at,
                "object": "model",
                "created": created,
                "owned_by": "sseguard-sim",
            }
            for model in MODELS
        ]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": MODELS[0],
                "last_id": MODELS[-1],
            },
            dumps=_dumps,
        )

    def _reject(self, request: web.Request, err: ScenarioError, dialect: Dialect) -> web.Response:
        self._record(request, err.spec, 400, "rejected")
        return _error(dialect, 400, "invalid_request_error", str(err))

    def _record(self, request: web.Request, spec: str, status: int, outcome: str) -> None:
        self.records.append(Record(request.path, spec, status, outcome))

    async def _play(
        self, request: web.Request, selection: Selection, plan: Plan
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=plan.status, reason=_reason(plan.status), headers=dict(plan.headers)
        )
        outcome = "client gone"  # unless the plan runs to its end
        try:
            for step in plan.steps:
                if isinstance(step, Write):
                    await _send(request, response, step.data)
                elif isinstance(step, Loop):
                    for _ in range(step.limit):
                        await _send(request, response, step.data)
                        await asyncio.sleep(step.interval)
                elif isinstance(step, Pause | Stall):
                    await asyncio.sleep(step.seconds if isinstance(step, Pause) else step.cap)
            if plan.abort:
                outcome = "aborted"
                return _abort(request, response)
            outcome = "complete"
            await response.write_eof()
            return response
        finally:
            self._record(request, selection.spec, plan.status, outcome)


async def _send(request: web.Request, response: web.StreamResponse, data: bytes) -> None:
    if not response.prepared:
        await response.prepare(request)
    await response.write(data)


def _abort(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """F20: drop the connection without the chunked terminator, as a dying proxy does."""
    if request.transport is not None:
        request.transport.abort()
    # The handler must still return a response; aiohttp finds the transport gone and writes nothing.
    return response


async def _json_body(request: web.Request, dialect: Dialect) -> JSON | web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as err:
        return _error(dialect, 400, "invalid_request_error", f"request body is not JSON: {err}")
    if not isinstance(body, dict):
        return _error(dialect, 400, "invalid_request_error", "request body must be a JSON object")
    return body


def _error(dialect: Dialect, status: int, kind: str, message: str) -> web.Response:
    body = dialect.error(kind, message)
    return web.json_response(body, status=status, reason=_reason(status), dumps=_dumps)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _reason(status: int) -> str:
    # 529 is Anthropic's own status; http.HTTPStatus does not know it.
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else "Unknown"


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, default_scenario: str = "clean"
) -> tuple[str, Callable[[], None]]:
    """Serve from a background thread with its own event loop: (base URL, stop function)."""
    simulator = Simulator(host, port, default_scenario)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sseguard-sim", daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(simulator.start(), loop).result(timeout=10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    return url, stop
