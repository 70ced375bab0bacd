"""Attempt counting for ``_once`` scenarios: which request is a conversation's first attempt.

Holds no I/O; a bounded LRU so a long-running simulator never grows without limit.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import orjson

from sseguard.sim.content import JSON, conversation_of

DEFAULT_CAPACITY = 10_000


def once_key(scenario: str, model: str, body: JSON) -> bytes:
    """(scenario, model, messages before the answer): a retry and a resume of one conversation
    share the key, whether the resume asks by prefill or by instruction; concurrent tests with
    other prompts do not."""
    raw = orjson.dumps([scenario, model, conversation_of(body)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).digest()


class Attempts:
    """``first(key)`` is True once per key (until the key falls out of the LRU)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def first(self, key: bytes) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True
