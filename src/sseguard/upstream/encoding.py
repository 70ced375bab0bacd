"""A response body under its ``content-encoding``, decoded as it is read (F24).

Shared by the gateway's upstream connection and ``probe``, which must both read a body the way it
really is: a proxy that inflated a body and kept the header sends plain bytes under ``gzip``, and
"deflate" comes zlib-wrapped as HTTP says, or raw from many servers. Pure: bytes in, bytes out.

Inflation is bounded: a compressed body can inflate a thousandfold (1 MiB of gzip to 1 GiB, a
"gzip bomb"), so feeding only queues, and each ``read`` inflates at most ``PIECE`` bytes. A reader
that holds what it read and reads no more (the upstream connection past its high-water mark)
stops the inflating too, and whatever bounds the reader's bytes — the size of one event, F09 —
bounds the inflated bytes as they are produced.
"""

from __future__ import annotations

import zlib
from collections import deque

# Enough bytes of a deflate body to tell a raw stream from plain text by inflating them.
_CHECKED_BYTES = 16
ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})
PIECE = 64 * 1024  # the most one read inflates


class BodyDecoder:
    """``feed`` each body chunk, ``read`` until it gives ``b""``, ``end`` at the body's end and
    read again; ``zlib.error`` (from ``read``) means a corrupt body, after which nothing more
    comes out. ``pending`` says that ``read`` has more to give without more input.

    ``stale`` is the encoding the body was labelled with but did not have: its bytes are passed
    on as they came. Nothing comes out until the first bytes tell which case it is.
    """

    __slots__ = ("_ended", "_full", "_head", "_inflate", "_input", "encoding", "stale")

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.stale: str | None = None
        gzip = encoding != "deflate"
        self._inflate: zlib._Decompress | None = zlib.decompressobj(
            16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        )
        self._head: bytes | None = b""  # the first bytes, until they tell
        self._input: deque[bytes] = deque()  # fed and not inflated yet
        self._full = False  # the last read filled its piece: zlib may hold more output
        self._ended = False  # end() was called and its final output is not read yet

    @classmethod
    def for_label(cls, content_encoding: str | None) -> BodyDecoder | None:
        """A decoder for the gzip and deflate labels; None for identity or anything else."""
        encoding = (content_encoding or "").strip().lower()
        return cls(encoding) if encoding in ENCODINGS else None

    @property
    def pending(self) -> bool:
        """``read`` has more to give without more input."""
        return bool(self._input) or self._full or self._ended

    def feed(self, data: bytes) -> None:
        """Queue the body's next bytes; nothing is inflated until ``read``."""
        if self._head is not None:
            data = self._checked(self._head + data, final=False)
        if data:
            self._input.append(data)

    def end(self) -> None:
        """The body is whole: ``read`` gives what is left, a body too short to tell included."""
        if self._head is not None:
            data = self._checked(self._head, final=True)
            if data:
                self._input.append(data)
        self._ended = True

    def read(self, limit: int = PIECE) -> bytes:
        """The next decoded bytes, at most ``limit`` of them inflated (a stale label's plain
        bytes come as they were fed); ``b""`` once everything fed is out."""
        queue = self._input
        inflate = self._inflate
        if inflate is None:
            self._ended = False
            if not queue:
                return b""
            data = queue[0] if len(queue) == 1 else b"".join(queue)
            queue.clear()
            return data
        try:
            while queue or self._full:
                if inflate.eof:
                    # Bytes after the compressed stream's end are dropped, as they always were,
                    # and not kept either: zlib would pile them up in unused_data.
                    queue.clear()
                    self._full = False
                    break
                out = inflate.decompress(queue.popleft() if queue else b"", limit)
                tail = inflate.unconsumed_tail
                if tail:
                    queue.appendleft(tail)
                self._full = len(out) == limit
                if out:
                    return out
            if self._ended:
                self._ended = False
                return inflate.flush()
        except zlib.error:
            queue.clear()
            self._full = self._ended = False
            raise
        return b""

    def _checked(self, head: bytes, *, final: bool) -> bytes:
        """The first bytes, once there are enough to tell whether they are what the label says
        (b"" until then)."""
        encoding = self.encoding
        if len(head) < (2 if encoding != "deflate" else _CHECKED_BYTES) and not final:
            self._head = head
            return b""
        self._head = None
        if final:
            pass  # a whole body too short for any header: not compressed
        elif encoding == "deflate":
            if head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0:
                return head  # a zlib header
            try:
                # Bounded like every inflation: the first chunk may be a bomb's.
                zlib.decompressobj(-zlib.MAX_WBITS).decompress(head, PIECE)
            except zlib.error:
                pass
            else:
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                return head
        elif head.startswith(b"\x1f\x8b"):
            return head
        self._inflate = None
        self.stale = encoding
        return head


__all__ = ["ENCODINGS", "PIECE", "BodyDecoder"]
