"""Body chunks written straight to uvicorn's transport, for events repaired inside the upstream
connection's ``data_received`` where no coroutine can be awaited.

ASGI's ``send`` is a coroutine, and awaiting it per event means a task per stream woken per event;
on paced streams that wake-up and uvicorn's ``send`` were a third of the gateway's CPU
(docs/benchmarks.md). Once uvicorn's httptools protocol has sent a chunked response's head, a body
message is one ``transport.write`` of a chunk frame when the socket is not paused and the client is
still there; ``DirectSend`` does exactly that, and says when it cannot (``ready()``), so the caller
falls back to ``await send(...)``, which waits for the socket to drain. It relies on five
attributes of uvicorn's ``RequestResponseCycle`` (``transport``, ``flow``, ``disconnected``,
``chunked_encoding``, ``response_complete``); under any other server, or another uvicorn,
``of()`` returns None and every write goes through ``send``. tests/gateway/test_direct_send.py
fails if the pinned uvicorn stops matching.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle


class DirectSend:
    __slots__ = ("_cycle", "_flow", "_transport")

    def __init__(self, cycle: Any) -> None:
        self._cycle = cycle
        self._flow = cycle.flow
        self._transport: asyncio.Transport = cycle.transport

    @classmethod
    def of(cls, send: object) -> DirectSend | None:
        """The direct path behind an ASGI ``send`` after a chunked response's head, if there is one."""
        cycle = getattr(send, "__self__", None)
        if type(cycle) is not RequestResponseCycle:
            return None
        if getattr(cycle, "chunked_encoding", None) is not True or cycle.response_complete:
            return None
        try:
            direct = cls(cycle)
            direct.ready()
        except AttributeError:  # a uvicorn whose cycle no longer looks like this
            return None
        return direct

    def ready(self) -> bool:
        """A write now goes out without waiting: the socket is not paused, the client is there."""
        return not self._flow.write_paused and not self._cycle.disconnected

    def body(self, data: bytes) -> None:
        """One body chunk, framed as uvicorn frames it."""
        if data:
            self._transport.write(b"%x\r\n%b\r\n" % (len(data), data))
