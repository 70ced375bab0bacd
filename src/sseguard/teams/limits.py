"""A key's limits as data, and the in-process windows that keep them.

Each request is checked once at its start and settled once at its end (docs/configuration.md):

- ``rpm``: a sliding-window log, the start time of every request admitted in the last 60 s. Exact:
  the (rpm + 1)-th request within any 60 s is refused, wherever the minute boundary falls, which a
  fixed window would not promise. Its ``retry-after`` is when the oldest entry leaves the window.
- ``tpm``: the same log of (end time, tokens); a request starts only while the tokens of the last
  60 s are under the limit. Tokens are known at the end, so one request may overshoot: the next
  ones wait for it to leave the window.
- ``max_streams``: a lease per request in flight, freed when it ends, and expiring on its own after
  ``lease`` seconds (longer than any request may run), so a crashed replica's slots come back.
- ``budget``: micro-dollars spent so far; a request starts only while it is under the budget.

``Windows`` is the in-process backend's state; the Redis backend runs the same rules in Lua
(``redis_state.py``), and the unit tests hold both to the same cases.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 60.0  # seconds: per minute


@dataclass(frozen=True, slots=True)
class Quota:
    """What one request of a key must fit in; None is no limit."""

    rpm: int | None = None
    tpm: int | None = None
    max_streams: int | None = None
    budget_micros: int | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request may not start: ``budget``, ``streams``, ``rpm`` or ``tpm``, and when to come
    back (whole seconds, at least 1; 0 for a spent budget, which does not come back)."""

    reason: str
    retry_after: int
    spent_micros: int = 0


def retry_seconds(seconds: float) -> int:
    """``retry-after`` is whole seconds: rounded up, so a client that waits it is let in."""
    return max(1, math.ceil(seconds - 1e-9))


@dataclass(slots=True)
class _KeyWindows:
    requests: deque[float] = field(default_factory=deque)  # start times
    tokens: deque[tuple[float, int]] = field(default_factory=deque)  # (end time, tokens)
    leases: dict[str, float] = field(default_factory=dict)  # request id -> expiry
    spent: int = 0  # micro-dollars


class Windows:
    """Every key's windows in this process. Synchronous: on the event loop each call runs whole,
    so a check and the record it makes cannot interleave with another request's."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._keys: dict[str, _KeyWindows] = {}

    def _of(self, name: str) -> _KeyWindows:
        found = self._keys.get(name)
        if found is None:
            found = self._keys[name] = _KeyWindows()
        return found

    def admit(self, name: str, quota: Quota, request_id: str, lease: float) -> Refusal | None:
        """Check every limit; when all hold, count the request and take its stream slot."""
        now = self._clock()
        w = self._of(name)
        if quota.budget_micros is not None and w.spent >= quota.budget_micros:
            return Refusal("budget", 0, w.spent)
        if quota.max_streams is not None:
            for rid, expiry in list(w.leases.items()):
                if expiry <= now:
                    del w.leases[rid]
            if len(w.leases) >= quota.max_streams:
                return Refusal("streams", 1, w.spent)
        if quota.rpm is not None:
            while w.requests and w.requests[0] <= now - WINDOW:
                w.requests.popleft()
            if len(w.requests) >= quota.rpm:
                # The oldest entries leave first; enough must go to make room for one.
                frees = w.requests[len(w.requests) - quota.rpm]
                return Refusal("rpm", retry_seconds(frees + WINDOW - now), w.spent)
        if quota.tpm is not None:
            while w.tokens and w.tokens[0][0] <= now - WINDOW:
                w.tokens.popleft()
            total = sum(n for _, n in w.tokens)
            if total >= quota.tpm:
                for at, n in w.tokens:
                    total -= n
                    if total < quota.tpm:
                        return Refusal("tpm", retry_seconds(at + WINDOW - now), w.spent)
        if quota.rpm is not None:
            w.requests.append(now)
        if quota.max_streams is not None:
            w.leases[request_id] = now + lease
        return None

    def settle(self, name: str, request_id: str, tokens: int, cost_micros: int) -> None:
        """The request ended: free its slot, add its tokens and its cost."""
        now = self._clock()
        w = self._of(name)
        w.leases.pop(request_id, None)
        if tokens > 0:
            w.tokens.append((now, tokens))
        w.spent += cost_micros

    def spent(self, name: str) -> int:
        found = self._keys.get(name)
        return 0 if found is None else found.spent
