"""The state replicas share, behind one interface with two backends: this process
(``MemoryState``, no ``state.redis_url``) or Redis (``redis_state.RedisState``).

What it holds: each key's limit windows and spend (``limits.py`` says how they are kept), the keys
created at runtime (the admin API, ``sseguard keys create``), and the resilience facts a replica
learns that the others should know at once: circuit breaker transitions and deployments that
refuse prefill (``resilience/shared.py``).

A backend that cannot be reached raises ``Unavailable``; ``state.on_unavailable`` decides what a
request then gets (``gate.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from sseguard.config.teams import KeySpec, State
from sseguard.teams.limits import Quota, Refusal, Windows

Listener = Callable[[dict[str, Any]], None]


class Unavailable(Exception):
    """The shared state could not be reached; the message says how, never with credentials."""


class StateStore(Protocol):
    """One gateway's state. Every method may raise ``Unavailable``."""

    async def admit(
        self, name: str, quota: Quota, request_id: str, lease: float
    ) -> Refusal | None: ...

    async def settle(self, name: str, request_id: str, tokens: int, cost_micros: int) -> None: ...

    async def spent(self, names: list[str]) -> dict[str, int]: ...

    async def find_key(self, digest: str) -> KeySpec | None: ...

    async def add_key(self, spec: KeySpec) -> bool:
        """False when a runtime key of that name exists."""
        ...

    async def revoke_key(self, name: str) -> bool:
        """False when no runtime key has that name."""
        ...

    async def runtime_keys(self) -> list[KeySpec]: ...

    async def publish(self, fact: dict[str, Any]) -> None:
        """Tell the other replicas a resilience fact (kept for replicas that start later)."""
        ...

    def listen(self, listener: Listener) -> Coroutine[Any, Any, None]:
        """Hand every fact published so far, then each new one, to ``listener`` (until closed)."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Reach the backend once (readiness); ``Unavailable`` when it cannot be reached."""
        ...


class MemoryState:
    """This process's state: exact and immediate, shared by nothing else (each worker of
    ``--workers N`` keeps its own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = Windows(clock)
        self._keys: dict[str, KeySpec] = {}  # digest -> spec

    async def admit(self, name: str, quota: Quota, request_id: str, lease: float) -> Refusal | None:
        return self.windows.admit(name, quota, request_id, lease)

    async def settle(self, name: str, request_id: str, tokens: int, cost_micros: int) -> None:
        self.windows.settle(name, request_id, tokens, cost_micros)

    async def spent(self, names: list[str]) -> dict[str, int]:
        return {name: self.windows.spent(name) for name in names}

    async def find_key(self, digest: str) -> KeySpec | None:
        return self._keys.get(digest)

    async def add_key(self, spec: KeySpec) -> bool:
        if any(k.name == spec.name for k in self._keys.values()):
            return False
        self._keys[spec.key_sha256] = spec
        return True

    async def revoke_key(self, name: str) -> bool:
        for digest, spec in list(self._keys.items()):
            if spec.name == name:
                del self._keys[digest]
                return True
        return False

    async def runtime_keys(self) -> list[KeySpec]:
        return sorted(self._keys.values(), key=lambda k: k.name)

    async def publish(self, fact: dict[str, Any]) -> None:
        return None  # no other replica to tell

    async def listen(self, listener: Listener) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:  # this process's memory is always there
        return None


def open_store(state: State) -> StateStore:
    """The backend ``state`` asks for: Redis when it names one, else this process."""
    if state.redis_url is None:
        return MemoryState()
    from sseguard.teams.redis_state import RedisState  # redis is imported only when used

    return RedisState(
        state.redis_url.get_secret_value(), prefix=state.prefix, timeout=state.timeout
    )
