"""Body chunks written straight to uvicorn's transport, for events repaired inside the upstream
connection's ``data_received`` where no coroutine can be awaited.

ASGI's ``send`` is a coroutine, and awaiting it per event means a task per stream woken per event;
on paced streams that wake-up and uvicorn's ``send`` were a third of the gateway's CPU
(docs/benchmarks.md). Once uvicorn's httptools protocol has sent a chunked response's head, a body
message is one ``transport.write`` of a chunk frame when the socket is not paused and the client is
still there; ``DirectSend`` does exactly that, and says when it cannot (``ready()``), so the caller
falls back to ``await send(...)``, which waits for the socket to drain. It relies on five
attributes of uvicorn's ``RequestResponseCycle`` (``transport``, ``flow``, ``disconnected``,
``chunked_encoding``, ``response_complete``) and on ``FlowControl.write_paused``. pyproject.toml
pins uvicorn to the releases tests/gateway/test_direct_send.py has checked; in case another one is
installed anyway, ``available()`` looks for those attributes once per process (``serve`` asks at
startup and warns), and without them ``of()`` returns None: every write goes through ``send``,
as under any other server.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

LOGGER = logging.getLogger("sseguard.gateway")
# What the direct path reads, by the class whose __init__ sets it up.
REQUIRED = (
    (
        RequestResponseCycle,
        ("transport", "flow", "disconnected", "chunked_encoding", "response_complete"),
    ),
    (FlowControl, ("write_paused",)),
)


def missing_attributes() -> tuple[str, ...]:
    """The attributes ``DirectSend`` reads that this uvicorn's classes do not set in ``__init__``.

    Read from the names each ``__init__`` assigns (its code object), since they are instance
    attributes that no class attribute or annotation declares: no instance is built to find out.
    """
    missing = []
    for cls, names in REQUIRED:
        code = getattr(cls.__init__, "__code__", None)
        assigned = set(code.co_names) if code is not None else set()
        missing += [f"{cls.__name__}.{name}" for name in names if name not in assigned]
    return tuple(missing)


@cache
def available() -> bool:
    """Whether this process's uvicorn has what the direct path reads; decided once, and without
    it every write is an awaited ``send`` (slower, but the same bytes)."""
    return not missing_attributes()


def check_server() -> None:
    """Startup's check (``sseguard serve``): one warning, naming what is missing, when the direct
    path is off, so that a slower gateway after a uvicorn upgrade has a visible cause."""
    if not available():
        LOGGER.warning(
            "sseguard: the installed uvicorn lacks %s, which the direct write path reads; "
            "every stream write goes through ASGI send instead (correct, but slower). "
            "Install a uvicorn in the range sseguard pins (pyproject.toml).",
            ", ".join(missing_attributes()),
        )


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
        if type(cycle) is not RequestResponseCycle or not available():
            return None
        if cycle.chunked_encoding is not True or cycle.response_complete:
            return None
        return cls(cycle)

    def ready(self) -> bool:
        """A write now goes out without waiting: the socket is not paused, the client is there."""
        return not self._flow.write_paused and not self._cycle.disconnected

    def body(self, data: bytes) -> None:
        """One body chunk, framed as uvicorn frames it."""
        if data:
            self._transport.write(b"%x\r\n%b\r\n" % (len(data), data))
