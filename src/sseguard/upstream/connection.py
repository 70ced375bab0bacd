"""One HTTP/1.1 connection to an upstream: the request goes out in one write, the response is parsed
by httptools in the protocol's ``data_received`` and its body waits in a list until read.

Why not aiohttp's client for this one job: per streamed event its ``StreamReader`` runs six Python
calls between the socket and the reader (a parser wrapper, ``feed_data``, HTTP chunk bookkeeping,
the waiter helper, ``readany``, ``_wait`` with its timer), and per request its ``_request`` is the
largest self time in the gateway's profile (docs/benchmarks.md). Here a read is one parser callback
that appends and wakes the reader. The parsing itself stays a library's (httptools, llhttp).

A committed stream can take its body without a task switch per read: ``divert(consumer)`` hands each
body chunk to a plain callback inside ``data_received`` (the gateway repairs and writes it to the
client right there), until the callback declines one or ``hand_back()`` wakes the reader.

Flow control: past ``HIGH_WATER`` bytes unread, the socket stops being read until the reader
catches up, so a slow client never makes the gateway buffer an upstream's whole answer. The same
holds for a compressed body's inflated bytes: they are inflated piece by piece (``BodyDecoder``)
only while fewer than ``HIGH_WATER`` wait unread, and the compressed rest waits with the socket
paused, so a body that inflates a thousandfold (a gzip bomb) never inflates faster than the
reader takes it, and the reader's bound on one event (F09) stops it.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Callable, Hashable
from typing import cast

import httptools

from sseguard.upstream.encoding import BodyDecoder

HIGH_WATER = 64 * 1024
MAX_HEAD = 64 * 1024  # status line and headers: more is not an HTTP answer worth buffering


class UpstreamBroken(ConnectionError):
    """The connection failed or the upstream broke HTTP: closed before the answer was whole, or sent
    bytes that are not HTTP/1.1."""


class Connection(asyncio.Protocol):
    """Reusable for one request after another; ``reusable`` says whether the last one left it so."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_complete",
        "_decoder",
        "_error",
        "_handed_back",
        "_head",
        "_head_size",
        "_keep_alive",
        "_loop",
        "_paused",
        "_raw_headers",
        "_sized",
        "_waiter",
        "consumer",
        "headers",
        "idle_since",
        "key",
        "parser",
        "received",
        "status",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, key: Hashable) -> None:
        self._loop = loop
        self.key = key  # the pool this connection returns to
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        # "Anthropic-compatible" servers are often hand-written: bare LF line ends, folded or
        # padded header lines and spaces after a chunk size are read as aiohttp's client reads
        # them. A length that contradicts the framing (Content-Length with chunked) stays an error.
        self.parser.set_dangerous_leniencies(
            lenient_headers=True,
            lenient_optional_cr_before_lf=True,
            lenient_spaces_after_chunk_size=True,
            lenient_optional_crlf_after_chunk=True,
        )
        self.status = 0
        self.headers: dict[str, str] = {}
        self.received = False  # any byte of this request's answer
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._head: asyncio.Future[None] = self._loop.create_future()
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._complete = False
        self._keep_alive = False
        self._error: UpstreamBroken | None = None
        self._decoder: BodyDecoder | None = None  # for a gzip or deflate body (F24)
        self._sized = False  # the body has a length or chunked framing: EOF before its end is a cut
        self._paused = False
        # Takes body chunks before they are queued for ``read()``; False means "not this one".
        self.consumer: Callable[[bytes], bool] | None = None
        self._handed_back = False

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    @property
    def reusable(self) -> bool:
        """The answer was read to its end and the upstream keeps the connection open."""
        return self._complete and self._keep_alive and self.usable

    def request(self, head_and_body: bytes) -> None:
        """Send one request; ``response_head()`` then waits for its status and headers."""
        assert self.transport is not None
        if self._paused:  # the last answer's reader stopped short of its end
            self.transport.resume_reading()
        self._reset()
        self.transport.write(head_and_body)

    async def response_head(self) -> None:
        await self._head

    def divert(self, consumer: Callable[[bytes], bool]) -> bool:
        """Give the body's next chunks to ``consumer`` as they arrive instead of queueing them;
        refused (False) while chunks are queued or compressed bytes wait to be inflated, which
        must be read first to keep their order.

        A chunk the consumer declines (returns False) is queued as usual, and the consumer is
        dropped: from then on ``read()`` has the body again, until the next ``divert``."""
        decoder = self._decoder
        if (
            self._chunks
            or self._error is not None
            or self._complete
            or (decoder is not None and decoder.pending)
        ):
            return False
        self.consumer = consumer
        return True

    def queued(self) -> bytes:
        """The body bytes received and not read yet, left where they are."""
        chunks = self._chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def unread(self, data: bytes) -> None:
        """Put bytes a reader looked at back in front of the body (sniffing a mislabelled one)."""
        if data:
            self._chunks.insert(0, data)
            self._buffered += len(data)

    def hand_back(self) -> None:
        """Drop the consumer and wake the reader: its ``read()`` returns ``b""`` once, though the
        body may go on. For a consumer that has seen the stream end, or must stop taking it."""
        self.consumer = None
        self._handed_back = True
        self._wake()

    async def read(self) -> bytes:
        """The body bytes received since the last read; ``b""`` at its end or after ``hand_back``.
        Bytes received before a failure are returned before the failure is raised."""
        while not self._chunks:
            if self._handed_back:
                self._handed_back = False
                return b""
            decoder = self._decoder
            if decoder is not None:
                if decoder.pending:
                    self._inflate(decoder)  # queues a piece, or ends in an error or with none left
                    continue
                if self._paused and self.transport is not None:
                    # All that came is inflated and read, to no bytes: read the socket again.
                    self._paused = False
                    self.transport.resume_reading()
            if self._error is not None:
                raise self._error
            if self._complete:
                return b""
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            decoder = self._decoder
            if decoder is None or not decoder.pending:  # else the next read inflates more first
                self._paused = False
                self.transport.resume_reading()
        return data

    def close(self) -> None:
        """Drop the connection now: an upstream must stop generating for a client that left (F36)."""
        self.consumer = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # The request is one write, but a keep-alive request must not wait for an ACK either.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"the upstream sent malformed HTTP ({exc})")
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self._head.done():
            self._fail("the upstream closed the connection before answering")
        elif not self._complete:
            if self._sized:
                self._fail("the upstream closed the connection mid-body")
            else:
                # A body without length or chunks ends with the connection.
                if self._decoder is not None:
                    self._decoder.end()
                self._finish()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD:
            self._fail(f"the upstream's response headers exceed {MAX_HEAD // 1024} KiB")
            self.close()
            return
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in self._raw_headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        self.status = self.parser.get_status_code()
        self._sized = "content-length" in headers or "chunked" in headers.get(
            "transfer-encoding", ""
        )
        self._decoder = BodyDecoder.for_label(headers.get("content-encoding"))
        if not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        decoder = self._decoder
        if decoder is not None:
            decoder.feed(body)
            self._inflate(decoder)
            return
        consumer = self.consumer
        if consumer is not None:
            if consumer(body):
                return
            self.consumer = None
        self._queue(body)

    def _queue(self, body: bytes) -> None:
        """Keep body bytes for ``read()``; past ``HIGH_WATER`` unread, stop reading the socket."""
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def _inflate(self, decoder: BodyDecoder) -> None:
        """Hand on inflated pieces while the consumer takes them or fewer than ``HIGH_WATER``
        bytes wait unread; the compressed rest stays in the decoder, with the socket paused
        until ``read()`` has taken it all."""
        while self._buffered <= HIGH_WATER:
            try:
                piece = decoder.read()
            except zlib.error as exc:
                # Even after the body's last byte arrived: inflating trails the bytes.
                self._complete = False
                self._fail(
                    f"the upstream's {self.headers['content-encoding']} body is corrupt: {exc}"
                )
                self.close()
                return
            if not piece:
                return
            consumer = self.consumer
            if consumer is not None:
                if consumer(piece):
                    continue
                self.consumer = None
            self._queue(piece)

    @property
    def stale_encoding(self) -> str | None:
        """A content-encoding the body did not have: its bytes came as they were sent."""
        decoder = self._decoder
        return decoder.stale if decoder is not None else None

    def on_message_complete(self) -> None:
        # Asked now: once this callback returns, the parser has reset and says False.
        self._keep_alive = self.parser.should_keep_alive()
        decoder = self._decoder
        if decoder is not None:
            decoder.end()
            self._inflate(decoder)
        self._finish()

    def _finish(self) -> None:
        self._complete = True
        self.idle_since = self._loop.time()
        if not self._head.done():
            self._head.set_result(None)
        self._wake()

    def _fail(self, why: str) -> None:
        if self._error is not None or self._complete:
            return
        error = self._error = UpstreamBroken(why)
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: nobody may be waiting any more
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
