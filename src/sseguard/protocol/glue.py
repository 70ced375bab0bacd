"""Splitting one SSE event's data back into the events that were glued into it (F02).

Some gateways lose the blank line between two events or turn it into spaces, so one dispatched
event carries ``{...}}    event: content_block_delta\\n{...}``. This is the rare path: it runs only
when the data did not parse as JSON, so it may afford the stdlib's scanner.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_SCANNER = json.JSONDecoder()
_MARKER = re.compile(r"(?:event|data):[ \t]?")
_NAME = re.compile(r"[A-Za-z0-9_.\-]*")
_TYPE = re.compile(r'"type"\s*:\s*"([a-z_]+)"')
_SPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Piece:
    """A complete JSON value with the ``event:`` name before it, or (``lost``) a fragment cut short."""

    name: str | None
    text: str
    lost: bool = False

    def announced_types(self) -> list[str]:
        """Event types a lost fragment names, so the caller can tell lost content from noise."""
        return _TYPE.findall(self.text)


def split_glued(data: str) -> list[Piece]:
    """Recover every complete top-level JSON value and the ``event:`` name before each.

    Field markers are recognised only between values, never inside a complete JSON string; a value
    cut mid-way (its closing bytes lost) is skipped up to the next marker and reported as lost.
    """
    out: list[Piece] = []
    name: str | None = None
    pos = 0
    n = len(data)
    while pos < n:
        while pos < n and data[pos] in _SPACE:
            pos += 1
        if pos >= n:
            break
        if data.startswith("event:", pos):
            pos += 6
            while pos < n and data[pos] in " \t":
                pos += 1
            m = _NAME.match(data, pos)
            end = m.end() if m else pos
            name = data[pos:end] or None
            pos = end
            continue
        if data.startswith("data:", pos):
            pos += 5
            if pos < n and data[pos] == " ":
                pos += 1
            continue
        if data[pos] in "{[":
            try:
                _, end = _SCANNER.raw_decode(data, pos)
            except ValueError:
                end = -1
            if end > 0:
                out.append(Piece(name, data[pos:end]))
                name = None
                pos = end
                continue
        # Not a value we can read whole: skip to the next field marker and count it lost.
        m = _MARKER.search(data, pos + 1)
        stop = m.start() if m else n
        out.append(Piece(name, data[pos:stop], lost=True))
        name = None
        pos = stop
    return out
