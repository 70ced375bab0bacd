"""SSE events to canonical bytes: an ``event:`` line, one ``data:`` line per line of data, a blank line."""

from __future__ import annotations

from sseguard.sse.names import COMMON_EVENT_NAMES

_HEADS = {n: f"event: {n}\ndata: ".encode() for n in COMMON_EVENT_NAMES}


def encode(event: str | None, data: str, id: str | None = None) -> bytes:
    """Frame one event.

    Data holding line breaks is split into several ``data:`` lines at CRLF, CR or LF, exactly the
    ends the decoder recognises, so decoding the frame gives back ``data`` with LF joins.
    """
    if "\n" in data or "\r" in data:
        lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        body = "".join(f"data: {line}\n" for line in lines)
    elif event is not None and id is None:
        # Every Messages event. Non-ASCII data is joined as bytes: the f-string would build a
        # wide string and encode it again, where data.encode() is usually a copy of the UTF-8
        # that orjson cached in the string when the repairer parsed it (2,000 instructions less).
        if not data.isascii():
            ready = _HEADS.get(event)
            if ready is not None:
                return b"".join((ready, data.encode(), b"\n\n"))
        return f"event: {event}\ndata: {data}\n\n".encode()
    else:
        body = f"data: {data}\n"
    head = "" if event is None else f"event: {event}\n"
    if id is not None:
        head += f"id: {id}\n"
    return f"{head}{body}\n".encode()


# The characters JSON allows raw inside strings but Python's str.splitlines() (and the line
# readers built on it) breaks lines at (F06); every other one it splits at is a control character
# JSON must escape anyway. Anthropic's API writes them escaped.
_LINE_SEPARATORS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})
_RAW_SEPARATORS = (
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
    (b"\xc2\x85", b"\\u0085"),
)


def has_line_separators(text: str) -> bool:
    """Raw U+2028, U+2029 or U+0085 in the text; a constant-time no for ASCII text."""
    return not text.isascii() and ("\u2028" in text or "\u2029" in text or "\x85" in text)


def escape_line_separators(json_text: str) -> str:
    """JSON text with those characters written as escapes: the same JSON value, and no line
    break for a client that splits lines with ``str.splitlines()``. Only for JSON, where they
    can only stand inside strings."""
    return json_text.translate(_LINE_SEPARATORS) if has_line_separators(json_text) else json_text


def escape_line_separators_in(json_bytes: bytes) -> bytes:
    """``escape_line_separators`` for JSON already encoded as UTF-8."""
    if json_bytes.isascii():
        return json_bytes
    for raw, escaped in _RAW_SEPARATORS:
        if raw in json_bytes:
            json_bytes = json_bytes.replace(raw, escaped)
    return json_bytes


def encode_comment(text: str = "") -> bytes:
    """A comment frame: ignored by every conforming parser, it keeps idle intermediaries awake."""
    return f": {text}\n\n".encode() if text else b":\n\n"
