"""The one shared upstream HTTP client, and what an upstream answer looks like before commit.

HTTP/1.1 on pooled ``Connection`` protocols (``upstream/connection.py``, parsed by httptools): a
streamed event costs one parser callback and one wake-up of the reading task. Upstream gzip and
deflate are decoded there, so no ``content-encoding`` or ``content-length`` of the upstream ever
reaches a client (F24). Reads return whatever arrived, never lines, which fail on long lines (F09).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sseguard.upstream.connection import Connection, UpstreamBroken
from sseguard.upstream.request import UpstreamRequest

# Upstream response headers a client should see: request ids and rate-limit state.
PASSED_ON_PREFIXES = ("anthropic-ratelimit-", "x-ratelimit-")
PASSED_ON = frozenset(
    {"request-id", "x-request-id", "retry-after", "retry-after-ms", "apim-request-id"}
)
MAX_ERROR_BODY = 64 * 1024
# An idle pooled connection older than this is closed rather than reused: servers drop idle
# connections after a while, and a request written into one that is being dropped is lost.
KEEPALIVE_SECONDS = 15.0
MAX_IDLE_PER_HOST = 256


class UpstreamUnreachable(Exception):
    """Connecting or sending failed: the request never produced an HTTP answer."""


class UpstreamSilent(UpstreamUnreachable):
    """The upstream took the request and answered nothing within the time allowed (F21): the
    same silent deployment is not worth a second wait while another may answer."""


class UpstreamResponse:
    """Status and headers of an answer whose body is still to be read."""

    __slots__ = ("_client", "connection", "headers", "read_chunk", "resent", "status")

    def __init__(self, connection: Connection, client: UpstreamClient, resent: str = "") -> None:
        self.status = connection.status
        # Why the request went out twice, if it did: an attempt of its own, to be counted.
        self.resent = resent
        self.headers = connection.headers  # lower-cased
        self.connection = connection
        self._client = client
        # The next body bytes, b"" at the end; raises UpstreamBroken. Bound once: read per event.
        self.read_chunk: Callable[[], Awaitable[bytes]] = connection.read

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def passed_on(self) -> dict[str, str]:
        return {
            k: v
            for k, v in self.headers.items()
            if k in PASSED_ON or k.startswith(PASSED_ON_PREFIXES)
        }

    async def read_all(self, limit: int) -> bytes:
        """A whole (error or JSON) body, bounded: a huge error page is cut, never buffered whole."""
        out = bytearray()
        while len(out) < limit:
            chunk = await self.connection.read()
            if not chunk:
                break
            out += chunk
        return bytes(out[:limit])

    async def peek(self, enough: Callable[[bytes], bool], limit: int) -> bytes:
        """The body's first bytes, read until ``enough`` says so, ``limit`` bytes or the end, and
        left in place for the next reader."""
        got = b""
        try:
            while len(got) < limit and not enough(got):
                chunk = await self.connection.read()
                if not chunk:
                    break
                got += chunk
        finally:
            self.connection.unread(got)
        return got

    def release(self) -> None:
        """The body was read to its end: the connection goes back to the pool when it can."""
        self._client.release(self.connection)

    def close(self) -> None:
        """Drop the connection now: the upstream must stop generating for a client that left (F36)."""
        self.connection.close()


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # only those passed on to clients
    body: bytes


@dataclass(frozen=True, slots=True)
class _Target:
    tls: bool
    host: str
    port: int
    host_header: str
    path: str  # with the query

    @property
    def key(self) -> tuple[bool, str, int]:
        return self.tls, self.host, self.port


@functools.lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamUnreachable(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    tls = parts.scheme == "https"
    default = 443 if tls else 80
    port = parts.port or default
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(tls, host, port, host_header, path)


def _encode(method: str, target: _Target, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {target.path} HTTP/1.1", f"host: {target.host_header}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\0" in value or not name.isprintable():
            raise UpstreamUnreachable(f"header {name!r}: line breaks and NULs are not allowed")
        lines.append(f"{name}: {value}")
    if "accept-encoding" not in headers:
        lines.append("accept-encoding: gzip, deflate")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"content-length: {len(body)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode() + body


class UpstreamClient:
    """Pooled keep-alive connections for thousands of concurrent streams; used inside one loop."""

    def __init__(self, *, connect_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._idle: dict[Hashable, list[Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def send(
        self, req: UpstreamRequest, *, header_timeout: float, method: str = "POST"
    ) -> UpstreamResponse:
        """Send and wait for the status line and headers (at most ``header_timeout`` seconds)."""
        target = _target(req.url)
        data = _encode(method, target, req.headers, req.body)
        resent: list[str] = []
        try:
            async with asyncio.timeout(header_timeout):
                conn = await self._answered(target, data, resent)
        except TimeoutError as exc:
            raise UpstreamSilent(
                f"no HTTP answer from the upstream within {header_timeout:g} s"
            ) from exc
        return UpstreamResponse(conn, self, "; ".join(resent))

    async def _answered(self, target: _Target, data: bytes, resent: list[str]) -> Connection:
        conn = self._take(target.key)
        while True:
            reused = conn is not None
            if conn is None:
                conn = await self._connect(target)
            try:
                conn.request(data)
                await conn.response_head()
            except UpstreamBroken as exc:
                conn.close()
                if reused and not conn.received:
                    # The upstream had just dropped this idle connection: once on a new one. The
                    # first send may still have reached it, so the caller counts it as an attempt.
                    resent.append(f"a pooled connection broke before any answer ({exc})")
                    conn = None
                    continue
                raise UpstreamUnreachable(f"the upstream request failed: {exc}") from exc
            except BaseException:
                conn.close()
                raise
            return conn

    async def _connect(self, target: _Target) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if target.tls else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, target.key),
                    target.host,
                    target.port,
                    ssl=tls,
                    server_hostname=target.host if tls else None,
                )
        except TimeoutError as exc:
            raise UpstreamUnreachable(
                f"could not connect to the upstream within {self._connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise UpstreamUnreachable(
                f"could not connect to the upstream: {exc.strerror or exc}"
            ) from exc
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _take(self, key: Hashable) -> Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if conn.usable and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn
            conn.close()
        return None

    def release(self, conn: Connection) -> None:
        if not conn.reusable:
            conn.close()
            return
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < MAX_IDLE_PER_HOST:
            idle.append(conn)
        else:
            conn.close()

    async def fetch(
        self, req: UpstreamRequest, *, timeout: float, limit: int, method: str = "POST"
    ) -> Reply | None:
        """A whole small answer (count_tokens, models); None when the upstream is unreachable,
        so callers can fall back to a local answer."""
        try:
            resp = await self.send(req, header_timeout=timeout, method=method)
        except UpstreamUnreachable:
            return None
        try:
            body = await resp.read_all(limit)
        except UpstreamBroken:
            resp.close()
            return None
        resp.release()
        return Reply(resp.status, resp.passed_on(), body)

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
