"""Structured logs: one JSON line per finished request.

The record holds no key and no body, so the line is safe to ship anywhere. ``serve`` writes the
lines to stderr from a thread (``log_to_stderr``); a program that uses the gateway without it gets
them on the ``sseguard.request`` logger at INFO instead.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO

from sseguard.observe.record import RequestRecord

REQUEST_LOGGER = logging.getLogger("sseguard.request")


_pending: queue.SimpleQueue[list[RequestRecord] | None] | None = None  # set by log_to_stderr


def log_requests(batch: list[RequestRecord]) -> None:
    """Hands finished records to the log thread when there is one: the JSON encoding and the
    write then happen off the event loop (a batch observer, ``observe.handoff``)."""
    if _pending is not None:
        _pending.put(batch)
    elif REQUEST_LOGGER.isEnabledFor(logging.INFO):
        for rec in batch:
            REQUEST_LOGGER.info(rec.json().decode())


def log_to_stderr() -> Callable[[], None]:
    """Bare JSON lines on stderr: what log shippers and ``jq`` expect. Returns the stop function.

    Written by a thread: a slow or full stderr pipe must never stall the event loop that relays
    every stream. A batch of lines is one write, not a ``logging`` record and a flush per line:
    those cost about as much as the rest of a request's bookkeeping together (bench/instructions.py).
    """
    global _pending
    pending: queue.SimpleQueue[list[RequestRecord] | None] = queue.SimpleQueue()
    out: BinaryIO | None = getattr(sys.stderr, "buffer", None)

    def run() -> None:
        while (batch := pending.get()) is not None:
            data = b"".join([rec.json() + b"\n" for rec in batch])
            try:
                if out is not None:
                    out.write(data)
                    out.flush()
                else:  # a stderr replaced by text-only stream (a test runner's capture)
                    sys.stderr.write(data.decode())
                    sys.stderr.flush()
            except (OSError, ValueError):
                continue  # stderr closed or gone: the request log and metrics still have them

    thread = threading.Thread(target=run, name="sseguard-request-log-lines", daemon=True)
    thread.start()
    _pending = pending

    def stop() -> None:
        global _pending
        _pending = None
        pending.put(None)
        thread.join()

    return stop
