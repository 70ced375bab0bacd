"""Breakers and learned continuations shared between replicas through the state store.

Each replica still decides on its own, synchronously, on every attempt (no round trip to Redis
on the request path): what it shares are the transitions. A breaker that opens, half-opens for a
probe or closes on one replica is published, and the others take the same state with the same
end of the wait; a deployment found to refuse prefill is instructed by every replica from then
on. Facts arrive in milliseconds; a replica that starts later reads the last fact per deployment.
Failure counts stay per replica: the first replica to count ``failure_threshold`` failures opens
the breaker for all.

A fact that cannot be published (Redis unreachable) is dropped with a log line: the replica that
learned it still acts on it, and breakers recover by their cooldown anyway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sseguard.resilience.breaker import Breakers, State
from sseguard.resilience.continuation import ContinuationMemory
from sseguard.teams.state import StateStore, Unavailable

LOGGER = logging.getLogger("sseguard.state")
BREAKER = "breaker"
STOP_TIMEOUT = 2.0  # seconds the listening task gets to end at shutdown
INSTRUCT = "instruct"


class SharedResilience:
    """Wires one gateway's breakers and continuation memory to its state store."""

    def __init__(
        self, store: StateStore, breakers: Breakers, continuations: ContinuationMemory
    ) -> None:
        self._store = store
        self._breakers = breakers
        self._continuations = continuations
        self._pending: set[asyncio.Task[None]] = set()
        self._listening: asyncio.Task[None] | None = None

    def start(self) -> None:
        """From the running event loop (the gateway's startup)."""
        self._breakers.on_transition = self._breaker_moved
        self._continuations.on_learn = self._learned
        self._listening = asyncio.get_running_loop().create_task(self._store.listen(self.apply))

    async def stop(self) -> None:
        self._breakers.on_transition = None
        self._continuations.on_learn = None
        if self._listening is not None:
            self._listening.cancel()
            # Bounded: a shutdown must not hang on a subscription that will not let go.
            await asyncio.wait({self._listening}, timeout=STOP_TIMEOUT)
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=1.0)

    def apply(self, fact: dict[str, Any]) -> None:
        """Another replica's fact; malformed ones are ignored (another version's, say)."""
        deployment = fact.get("deployment")
        if not isinstance(deployment, str):
            return
        if fact.get("kind") == INSTRUCT:
            self._continuations.adopt(deployment)
        elif fact.get("kind") == BREAKER:
            try:
                state = State(fact["state"])
                until, cooldown = float(fact["until"]), float(fact["cooldown"])
            except (KeyError, TypeError, ValueError):
                return
            self._breakers.adopt(deployment, state, until, cooldown)

    def _breaker_moved(self, name: str, state: State, until: float, cooldown: float) -> None:
        fact = {
            "kind": BREAKER,
            "deployment": name,
            "state": state.value,
            "until": until,
            "cooldown": cooldown,
        }
        self._send(fact)

    def _learned(self, deployment: str) -> None:
        self._send({"kind": INSTRUCT, "deployment": deployment})

    def _send(self, fact: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(fact))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, fact: dict[str, Any]) -> None:
        try:
            await self._store.publish(fact)
        except Unavailable as exc:
            LOGGER.warning("could not share %s of %s: %s", fact["kind"], fact["deployment"], exc)
