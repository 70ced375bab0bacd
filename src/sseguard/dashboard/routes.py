"""The dashboard's routes under ``/dashboard``: its page and assets (package data, nothing from
elsewhere), its JSON API and the live stream. Read-only: every route is a GET.

Dashboard requests are no model traffic: the gateway hands them here before it makes a request
record, so they are not counted in /metrics, not written to the request log, and not shown in
the live view they would otherwise feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from sseguard.config import Config
from sseguard.dashboard import queries
from sseguard.dashboard.access import COOKIE, accepted, refusal
from sseguard.dashboard.catalogue import faults
from sseguard.dashboard.live import Live
from sseguard.errors import GatewayError
from sseguard.gateway.asgi import Receive, Scope, Send
from sseguard.gateway.origins import Origins
from sseguard.observe.log_sql import RequestLogError

LOGGER = logging.getLogger("sseguard.dashboard")
PREFIX = "/dashboard"
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
}
# The page runs only its own scripts and styles, is framed by no other page, and sends no
# Referer (a ?token= must not leak to anything it links to).
PAGE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        b" form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def is_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@cache
def asset(name: str) -> bytes:
    return files("sseguard.dashboard").joinpath("static", name).read_bytes()


class Dashboard:
    """The dashboard app: ``await dashboard(scope, receive, send)`` for a path under PREFIX."""

    def __init__(self, config: Config, origins: Origins) -> None:
        settings = config.dashboard
        self.enabled = settings.enabled
        self._token = settings.token.get_secret_value() if settings.token is not None else None
        self._admin = config.admin.key_sha256 if config.admin is not None else None
        self._origins = origins
        self.log = config.observe.request_log  # a SQLite file's path or a PostgreSQL DSN
        self.captures = Path(config.observe.capture_dir)
        self.live = Live()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if not self.enabled:
            await _json(send, 404, _error("the dashboard is turned off (dashboard.enabled)"))
            return
        try:
            self._origins.cors(scope)  # the Host check against DNS rebinding, as for any request
        except GatewayError as err:
            await _json(send, err.status, _error(err.message))
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _json(send, 405, _error("the dashboard is read-only: use GET"))
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        secured = self._token is not None or self._admin is not None
        if path in (PREFIX, PREFIX + "/") and "token" in params and secured:
            await self._sign_in(params["token"], send)
            return
        refused = refusal(scope, self._token, self._admin)
        if refused is not None:
            await _json(send, refused[0], _error(refused[1]))
            return
        await self._route(path[len(PREFIX) :], params, scope, receive, send)

    async def _route(
        self, path: str, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        if path in ("", "/"):
            await _send(send, 200, asset("index.html"), "text/html; charset=utf-8", PAGE_HEADERS)
        elif path.startswith("/static/") and path[len("/static/") :] in STATIC:
            name = path[len("/static/") :]
            cache_for = [(b"cache-control", b"max-age=300")]
            await _send(send, 200, asset(name), STATIC[name], cache_for)
        elif path == "/api/live":
            await self.live.stream(scope, receive, send)
        elif path == "/api/faults":
            await _json(send, 200, orjson.dumps(faults()))
        elif path.startswith("/api/"):
            await self._api(path[len("/api/") :], params, send)
        else:
            await _json(send, 404, _error(f"the dashboard has no page {PREFIX}{path}"))

    async def _api(self, name: str, params: dict[str, str], send: Send) -> None:
        """The JSON reads, each off the event loop (SQLite and files block)."""
        log, captures = self.log, self.captures
        parts = name.split("/")
        work: Callable[[], dict[str, Any] | None]
        if name in ("deployments", "series", "requests"):
            if log is None:
                await _json(send, 409, _error("the request log is off (observe.request_log)"))
                return
            read = {
                "deployments": queries.deployments,
                "series": queries.series,
                "requests": queries.requests,
            }[name]
            work = lambda: read(log, params)  # noqa: E731
        elif len(parts) == 2 and parts[0] == "requests":
            work = lambda: queries.request(log, captures, parts[1])  # noqa: E731
        elif len(parts) == 3 and parts[0] == "requests" and parts[2] == "capture":
            work = lambda: queries.capture(captures, parts[1])  # noqa: E731
        else:
            await _json(send, 404, _error(f"the dashboard has no API {name!r}"))
            return
        try:
            result = await asyncio.to_thread(work)
        except queries.BadParameter as exc:
            await _json(send, 400, _error(str(exc)))
            return
        except RequestLogError as exc:
            LOGGER.warning("dashboard: %s", exc)
            await _json(send, 503, _error(str(exc)))
            return
        if result is None:
            await _json(send, 404, _error("no such request in the request log or the captures"))
            return
        await _json(send, 200, orjson.dumps(result), [(b"cache-control", b"no-store")])

    async def _sign_in(self, given: str, send: Send) -> None:
        """``/dashboard?token=...`` (the dashboard token or the admin key): it becomes a cookie
        for this path (the page's own requests and its EventSource carry it) and leaves the
        address bar."""
        if not accepted(given, self._token, self._admin):
            await _json(send, 401, _error("wrong dashboard token"))
            return
        cookie = f"{COOKIE}={given}; Path={PREFIX}; HttpOnly; SameSite=Strict"
        headers = [(b"location", PREFIX.encode()), (b"set-cookie", cookie.encode("latin-1"))]
        await _send(send, 303, b"", "text/plain", headers)


def _error(message: str) -> bytes:
    return orjson.dumps({"error": {"type": "dashboard_error", "message": message}})


async def _json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _send(send, status, body, "application/json", headers)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    head = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
