"""A response body under its ``content-encoding``, decoded as it arrives (F24).

Shared by the gateway's upstream connection and ``probe``, which must both read a body the way it
really is: a proxy that inflated a body and kept the header sends plain bytes under ``gzip``, and
"deflate" comes zlib-wrapped as HTTP says, or raw from many servers. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import zlib

# Enough bytes of a deflate body to tell a raw stream from plain text by inflating them.
_CHECKED_BYTES = 16
ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class BodyDecoder:
    """``feed`` each body chunk and ``flush`` at the end; ``zlib.error`` means a corrupt body.

    ``stale`` is the encoding the body was labelled with but did not have: its bytes are passed
    on as they came. Nothing comes out until the first bytes tell which case it is.
    """

    __slots__ = ("_head", "_inflate", "encoding", "stale")

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.stale: str | None = None
        gzip = encoding != "deflate"
        self._inflate: zlib._Decompress | None = zlib.decompressobj(
            16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        )
        self._head: bytes | None = b""  # the first bytes, until they tell

    @classmethod
    def for_label(cls, content_encoding: str | None) -> BodyDecoder | None:
        """A decoder for the gzip and deflate labels; None for identity or anything else."""
        encoding = (content_encoding or "").strip().lower()
        return cls(encoding) if encoding in ENCODINGS else None

    def feed(self, data: bytes) -> bytes:
        if self._head is not None:
            data = self._checked(self._head + data, final=False)
        inflate = self._inflate
        return inflate.decompress(data) if inflate is not None and data else data

    def flush(self) -> bytes:
        out = b""
        if self._head is not None:  # a body shorter than the check needs
            out = self._checked(self._head, final=True)
        inflate = self._inflate
        return inflate.flush() if inflate is not None else out

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
                zlib.decompressobj(-zlib.MAX_WBITS).decompress(head)
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


__all__ = ["ENCODINGS", "BodyDecoder"]
