"""Structured logs: one JSON line per finished request on the ``sseguard.request`` logger.

The record holds no key and no body, so the line is safe to ship anywhere; ``serve`` points the
logger at stderr at INFO.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable

from sseguard.observe.record import RequestRecord

REQUEST_LOGGER = logging.getLogger("sseguard.request")


_pending: queue.SimpleQueue[list[RequestRecord] | None] | None = None  # set by log_to_stderr


def log_requests(batch: list[RequestRecord]) -> None:
    """Hands finished records to the log thread when there is one: the JSON encoding and the
    logging machinery then run off the event loop (a batch observer, ``observe.handoff``)."""
    if _pending is not None:
        _pending.put(batch)
    elif REQUEST_LOGGER.isEnabledFor(logging.INFO):
        for rec in batch:
            _emit(rec)


def _emit(rec: RequestRecord) -> None:
    REQUEST_LOGGER.info(rec.json().decode())


def log_to_stderr(level: int = logging.INFO) -> Callable[[], None]:
    """Bare JSON lines on stderr: what log shippers and ``jq`` expect. Returns the stop function.

    Written by a thread: a slow or full stderr pipe must never stall the event loop that relays
    every stream. Handlers added to the ``sseguard.request`` logger run on that thread too.
    """
    global _pending
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    REQUEST_LOGGER.handlers[:] = [handler]
    REQUEST_LOGGER.setLevel(level)
    REQUEST_LOGGER.propagate = False
    pending: queue.SimpleQueue[list[RequestRecord] | None] = queue.SimpleQueue()

    def run() -> None:
        while (batch := pending.get()) is not None:
            if REQUEST_LOGGER.isEnabledFor(logging.INFO):
                for rec in batch:
                    _emit(rec)

    thread = threading.Thread(target=run, name="sseguard-request-log-lines", daemon=True)
    thread.start()
    _pending = pending

    def stop() -> None:
        global _pending
        _pending = None
        pending.put(None)
        thread.join()

    return stop
