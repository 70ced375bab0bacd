"""BodyDecoder: a body read as it is under its content-encoding label (F24), any chunking, and
inflated piece by piece, never more than ``PIECE`` bytes a read (a gzip bomb)."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import pytest

from sseguard.upstream.encoding import PIECE, BodyDecoder

SSE = b'event: message_start\ndata: {"type":"message_start"}\n\n' * 20
GIB = 1 << 30


def raw_deflate(data: bytes) -> bytes:
    out = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return out.compress(data) + out.flush()


def gzip_bomb(unit: bytes, total: int, head: bytes = b"", *, wrap: str = "gzip") -> bytes:
    """A valid body of ``head`` then ``unit`` repeated up to ``total`` bytes, gzip or raw
    deflate, built in well under a second: a block of 1 MiB compressed once, after a full flush
    (which makes it independent of what came before), and repeated. About 1 KiB per MiB of a
    repeated byte: 1 GiB of zeros is 1 MiB of gzip."""
    block = unit * ((1 << 20) // len(unit))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    count = total // len(block)
    stream = first + piece * count + end
    if wrap == "raw":
        return stream
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    size = (len(head) + count * len(block)) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + stream + struct.pack("<II", crc, size)


def pieces(decoder: BodyDecoder, limit: int = PIECE) -> list[bytes]:
    """Read until the decoder has nothing more for what it was fed."""
    out = []
    while piece := decoder.read(limit):
        assert len(piece) <= limit or decoder.stale
        out.append(piece)
    assert not decoder.pending
    return out


def decode(decoder: BodyDecoder, chunks: list[bytes], limit: int = PIECE) -> bytes:
    """A whole body through the decoder, read after each chunk, as a connection reads it."""
    out = []
    for chunk in chunks:
        decoder.feed(chunk)
        out += pieces(decoder, limit)
    decoder.end()
    out += pieces(decoder, limit)
    return b"".join(out)


CASES = {
    "gzip": ("gzip", gzip.compress(SSE), None),
    "x-gzip": ("x-gzip", gzip.compress(SSE), None),
    "deflate-zlib": ("deflate", zlib.compress(SSE), None),
    "deflate-raw": ("deflate", raw_deflate(SSE), None),
    "stale-gzip": ("gzip", SSE, "gzip"),
    "stale-deflate": ("deflate", SSE, "deflate"),
    "tiny-plain": ("gzip", b"x", "gzip"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("limit", [1, 9, PIECE])
def test_a_body_decodes_to_what_was_sent(case: str, chunk: int, limit: int) -> None:
    """Whatever the chunking and however small the pieces: a piece that fills its limit may
    leave output inside zlib, which the next read must still give."""
    label, body, stale = CASES[case]
    decoder = BodyDecoder.for_label(f" {label.upper()} ")
    assert decoder is not None
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    assert decode(decoder, chunks, limit) == (SSE if case != "tiny-plain" else b"x")
    assert decoder.stale == stale


def test_identity_and_unknown_labels_get_no_decoder() -> None:
    assert BodyDecoder.for_label(None) is None
    assert BodyDecoder.for_label("identity") is None
    assert BodyDecoder.for_label("br") is None


def test_a_corrupt_gzip_body_raises_and_then_gives_nothing() -> None:
    body = bytearray(gzip.compress(SSE))
    body[20:30] = b"\x00" * 10
    decoder = BodyDecoder("gzip")
    with pytest.raises(zlib.error):
        decode(decoder, [bytes(body)])
    assert not decoder.pending
    assert decoder.read() == b""


def test_feeding_inflates_nothing() -> None:
    """Inflating is the reader's to drive: what it does not read is never inflated."""
    bomb = gzip_bomb(b"\x00", GIB)
    decoder = BodyDecoder("gzip")
    tracemalloc.start()
    try:
        decoder.feed(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # the bytes fed are queued, not copied
    assert decoder.pending


@pytest.mark.parametrize("wrap", ["gzip", "raw"])
def test_a_bomb_comes_out_in_bounded_pieces(wrap: str) -> None:
    """1 GiB of zeros in 1 MiB of gzip (or raw deflate, whose first bytes are tried before they
    are believed): no read, the first included, holds more than a piece, and nothing else is
    allocated on the way. It once came out of one feed whole."""
    bomb = gzip_bomb(b"\x00", GIB, wrap=wrap)
    decoder = BodyDecoder("gzip" if wrap == "gzip" else "deflate")
    tracemalloc.start()
    try:
        decoder.feed(bomb)
        for _ in range(64):  # 4 MiB of output
            piece = decoder.read()
            assert piece == bytes(PIECE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # zlib hands back the input's unread tail as a copy, a piece is out, a trial piece of raw
    # deflate was made and dropped: about twice the input, never what the bomb inflates to.
    assert peak < 2 * len(bomb) + 4 * PIECE
    assert decoder.pending


def test_a_bomb_read_to_its_end_gives_all_of_it_piece_by_piece() -> None:
    total = 64 << 20
    decoder = BodyDecoder("gzip")
    decoder.feed(gzip_bomb(b"\x00", total))
    decoder.end()
    sizes = [len(p) for p in pieces(decoder)]
    assert sum(sizes) == total
    assert max(sizes) == PIECE


def test_bytes_after_the_compressed_end_are_dropped_not_kept() -> None:
    decoder = BodyDecoder("gzip")
    decoder.feed(gzip.compress(SSE))
    assert b"".join(pieces(decoder)) == SSE
    junk = b"j" * 65536

    def after_the_end() -> None:
        for _ in range(64):
            decoder.feed(junk)
            assert decoder.read() == b""

    tracemalloc.start()
    try:
        after_the_end()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(junk)  # zlib kept all 4 MiB of them in unused_data
    decoder.end()
    assert pieces(decoder) == []
