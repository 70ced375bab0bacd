"""The one shared upstream HTTP client, and what an upstream answer looks like before commit.

aiohttp, because its client costs a tenth of httpx's per streamed event (ARCHITECTURE.md). Upstream
gzip is decoded here, so no ``content-encoding`` or ``content-length`` of the upstream ever reaches
a client (F24). Reads use ``readany()``: never line iteration, which fails on long lines (F09).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from sseguard.upstream.request import UpstreamRequest

# Upstream response headers a client should see: request ids and rate-limit state.
PASSED_ON_PREFIXES = ("anthropic-ratelimit-", "x-ratelimit-")
PASSED_ON = frozenset({"request-id", "x-request-id", "retry-after", "apim-request-id"})
MAX_ERROR_BODY = 64 * 1024


class UpstreamUnreachable(Exception):
    """Connecting or sending failed: the request never produced an HTTP answer."""


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: dict[str, str]  # lower-cased
    response: aiohttp.ClientResponse

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
        content = self.response.content
        while len(out) < limit:
            chunk = await content.readany()
            if not chunk:
                break
            out += chunk
        return bytes(out[:limit])

    async def read_chunk(self) -> bytes:
        return await self.response.content.readany()

    def close(self) -> None:
        """Drop the connection now: the upstream must stop generating for a client that left (F36)."""
        self.response.close()


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # only those passed on to clients
    body: bytes


class UpstreamClient:
    """Pooled connections for thousands of concurrent streams; created inside the running loop."""

    def __init__(self, *, connect_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=0, ttl_dns_cache=300, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
                skip_auto_headers=("User-Agent",),
                read_bufsize=2**16,
            )
        return self._session

    async def send(
        self, req: UpstreamRequest, *, header_timeout: float, method: str = "POST"
    ) -> UpstreamResponse:
        """Send and wait for the status line and headers (at most ``header_timeout`` seconds)."""
        session = self._get_session()
        try:
            async with asyncio.timeout(header_timeout):
                resp = await session.request(
                    method, req.url, data=req.body or None, headers=req.headers
                )
        except TimeoutError as exc:
            raise UpstreamUnreachable(
                f"no HTTP answer from the upstream within {header_timeout:g} s"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachable(
                f"could not connect to the upstream: {exc.strerror or exc}"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise UpstreamUnreachable(
                f"the upstream request failed: {type(exc).__name__}: {exc}"
            ) from exc
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return UpstreamResponse(resp.status, headers, resp)

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
        finally:
            resp.close()
        return Reply(resp.status, resp.passed_on(), body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
