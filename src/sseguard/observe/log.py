"""Structured logs: one JSON line per finished request on the ``sseguard.request`` logger.

The record holds no key and no body, so the line is safe to ship anywhere; ``serve`` points the
logger at stderr at INFO.
"""

from __future__ import annotations

import logging
import queue
import sys
from logging.handlers import QueueHandler, QueueListener

import orjson

from sseguard.observe.record import RequestRecord

REQUEST_LOGGER = logging.getLogger("sseguard.request")


def log_request(rec: RequestRecord) -> None:
    if REQUEST_LOGGER.isEnabledFor(logging.INFO):
        REQUEST_LOGGER.info(orjson.dumps(rec.as_dict()).decode())


def log_to_stderr(level: int = logging.INFO) -> QueueListener:
    """Bare JSON lines on stderr: what log shippers and ``jq`` expect.

    Written by a thread behind a queue: a slow or full stderr pipe must never stall the event loop
    that relays every stream.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, handler)
    listener.start()
    REQUEST_LOGGER.handlers[:] = [QueueHandler(records)]
    REQUEST_LOGGER.setLevel(level)
    REQUEST_LOGGER.propagate = False
    return listener
