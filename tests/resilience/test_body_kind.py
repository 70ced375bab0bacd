"""Sniffing a 200 that is not labelled as an event stream (F26): the first bytes decide, and the
decision waits while they could still go either way."""

from __future__ import annotations

import pytest

from sseguard.resilience.verdicts import SNIFF_LIMIT, body_kind


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b'event: message_start\ndata: {"type"', "sse"),
        (b'data: {"type":"message_start"}', "sse"),  # no event: lines (F03)
        (b"data:{", "sse"),  # no space (F04)
        (b": keep-alive\n\n", "sse"),  # a comment first (F08)
        (b"\xef\xbb\xbfevent: message_start", "sse"),  # a BOM first (F35)
        (b"\r\n\r\nid: 1\n", "sse"),
        (b"retry: 3000\n", "sse"),
        (b'{"type":"message"', "json"),
        (b'  \n{"id":"chatcmpl-1"', "json"),
        (b"<html><head>", "other"),
        (b"Internal Server Error", "other"),
        (b"[1, 2]", "other"),
        (b"", None),  # nothing yet
        (b"\n\n", None),
        (b"ev", None),  # could become "event:"
        (b"dat", None),
        (b"evil", "other"),
        (b" " * SNIFF_LIMIT, "other"),  # whitespace without end is no answer
    ],
)
def test_body_kind(head: bytes, kind: str | None) -> None:
    assert body_kind(head) == kind
