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


def encode_comment(text: str = "") -> bytes:
    """A comment frame: ignored by every conforming parser, it keeps idle intermediaries awake."""
    return f": {text}\n\n".encode() if text else b":\n\n"
