"""BodyDecoder: a body read as it is under its content-encoding label (F24), any chunking."""

from __future__ import annotations

import gzip
import zlib

import pytest

from sseguard.upstream.encoding import BodyDecoder

SSE = b'event: message_start\ndata: {"type":"message_start"}\n\n' * 20


def raw_deflate(data: bytes) -> bytes:
    out = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return out.compress(data) + out.flush()


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
def test_a_body_decodes_to_what_was_sent(case: str, chunk: int) -> None:
    label, body, stale = CASES[case]
    decoder = BodyDecoder.for_label(f" {label.upper()} ")
    assert decoder is not None
    out = b"".join(decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))
    out += decoder.flush()
    assert out == (SSE if case != "tiny-plain" else b"x")
    assert decoder.stale == stale


def test_identity_and_unknown_labels_get_no_decoder() -> None:
    assert BodyDecoder.for_label(None) is None
    assert BodyDecoder.for_label("identity") is None
    assert BodyDecoder.for_label("br") is None


def test_a_corrupt_gzip_body_raises() -> None:
    body = bytearray(gzip.compress(SSE))
    body[20:30] = b"\x00" * 10
    decoder = BodyDecoder("gzip")
    with pytest.raises(zlib.error):
        decoder.feed(bytes(body))
        decoder.flush()
