"""Per-deployment circuit breakers: a deployment that keeps failing is skipped for a while.

Without them every request pays a down primary's whole timeout and retry budget before it reaches
the healthy fallback (F18, F21). Pure and synchronous: no I/O, no asyncio, time from an injected
clock. One ``Breakers`` serves every request of a gateway process; the event loop runs one
callback at a time, so it needs no locks.

Which outcomes count is the caller's decision. The exchange reports, once per request and
deployment after that deployment's retries are spent (not once per attempt):

- ``failure``: the upstream failed: 5xx, 529, 429, a timeout or stall, no connection, a stream
  that broke before its end;
- ``success``: the upstream answered: a complete stream, or an error that is about the request
  rather than the upstream (the client's 4xx), since a deployment that says "bad request" is up;
- nothing: the request never reached the upstream or was cancelled (the client left). A probe
  that never reports is presumed lost once a cooldown has passed since it started, and the next
  ``allow`` hands out a new one, so a cancelled probe cannot keep a deployment half-open.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sseguard.config.schema import Breaker

# Told each transition (deployment, new state, end of its cooldown or probe wait as
# ``time.time()``, cooldown): how replicas share breakers (resilience/shared.py).
Transition = Callable[[str, "State", float, float], None]


class State(enum.Enum):
    """What a deployment's breaker lets through."""

    CLOSED = "closed"  # requests go through; consecutive failures are counted
    OPEN = "open"  # requests skip it until its cooldown has passed
    HALF_OPEN = "half_open"  # one probe request is out; the others skip it until it reports


@dataclass(slots=True)
class _Circuit:
    """One deployment's breaker. ``until``: when OPEN, the end of the cooldown; when HALF_OPEN,
    the moment the probe out is presumed lost. Either way, when ``allow`` hands out a probe."""

    cooldown: float
    state: State = State.CLOSED
    failures: int = 0
    until: float = 0.0

    def open(self, now: float) -> None:
        self.state = State.OPEN
        self.until = now + self.cooldown

    def probe(self, now: float) -> None:
        self.state = State.HALF_OPEN
        self.until = now + self.cooldown

    def close(self, base_cooldown: float) -> None:
        self.state = State.CLOSED
        self.failures = 0
        self.cooldown = base_cooldown


class Breakers:
    """One breaker per deployment name, created on first use (closed).

    CLOSED --``failure_threshold`` failures in a row--> OPEN; OPEN --``allow`` once the cooldown
    has passed--> HALF_OPEN, that caller being the probe; HALF_OPEN --success--> CLOSED (count
    and cooldown reset); HALF_OPEN --failure--> OPEN with the cooldown doubled, up to
    ``max_cooldown``. Reports that arrive while OPEN come from requests let through before it
    opened, about an upstream state the opening already judged: they change nothing. In
    HALF_OPEN the first report decides, whichever request sends it.
    """

    def __init__(self, settings: Breaker, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}
        self.on_transition: Transition | None = None

    def _told(self, name: str, circuit: _Circuit) -> None:
        if self.on_transition is not None:
            wall = time.time() + (circuit.until - self._clock())
            self.on_transition(name, circuit.state, wall, circuit.cooldown)

    def adopt(self, name: str, state: State, until_wall: float, cooldown: float) -> None:
        """Another replica's transition: this one takes the same state, cooldown and end of the
        wait (given in wall-clock time, translated to this breaker's clock), telling no one."""
        circuit = self._circuit(name)
        circuit.state = state
        circuit.cooldown = cooldown
        circuit.until = self._clock() + (until_wall - time.time())
        if state is State.CLOSED:
            circuit.failures = 0

    def _circuit(self, name: str) -> _Circuit:
        circuit = self._circuits.get(name)
        if circuit is None:
            circuit = self._circuits[name] = _Circuit(self._settings.cooldown)
        return circuit

    def allow(self, name: str) -> bool:
        """May a request try this deployment now? Once a breaker is not closed, True only for
        the probe: the first caller after the cooldown, or after a probe was presumed lost."""
        circuit = self._circuit(name)
        if circuit.state is State.CLOSED:
            return True
        now = self._clock()
        if now < circuit.until:
            return False
        circuit.probe(now)
        self._told(name, circuit)
        return True

    def success(self, name: str) -> None:
        """The deployment answered (see the module docstring for what counts)."""
        circuit = self._circuit(name)
        if circuit.state is State.CLOSED:
            circuit.failures = 0
        elif circuit.state is State.HALF_OPEN:
            circuit.close(self._settings.cooldown)
            self._told(name, circuit)

    def failure(self, name: str) -> None:
        """The deployment failed this request, after its retries (see the module docstring)."""
        if not self._settings.enabled:
            return  # nothing opens, so every deployment stays closed
        circuit = self._circuit(name)
        if circuit.state is State.CLOSED:
            circuit.failures += 1
            if circuit.failures >= self._settings.failure_threshold:
                circuit.open(self._clock())
                self._told(name, circuit)
        elif circuit.state is State.HALF_OPEN:
            circuit.cooldown = min(circuit.cooldown * 2, self._settings.max_cooldown)
            circuit.open(self._clock())
            self._told(name, circuit)

    def state(self, name: str) -> State:
        """The breaker's state as last changed: an OPEN breaker past its cooldown stays OPEN
        until an ``allow`` makes its caller the probe."""
        circuit = self._circuits.get(name)
        return State.CLOSED if circuit is None else circuit.state

    def snapshot(self) -> dict[str, str]:
        """Every deployment seen so far → its state's value, for metrics and logs."""
        return {name: circuit.state.value for name, circuit in self._circuits.items()}

    def order(self, names: Iterable[str]) -> Iterator[str]:
        """The deployments a request should try, in route order, asked lazily: each ``allow`` runs
        only when the caller moves on to that deployment, so a request that succeeds early takes
        no probe it will not use. When none is allowed, the one whose breaker lets a probe
        through soonest is yielded anyway, as its probe: a request is never refused without any
        upstream attempt."""
        yielded = False
        skipped: list[str] = []
        for name in names:
            if self.allow(name):
                yielded = True
                yield name
            else:
                skipped.append(name)
        if skipped and not yielded:
            soonest = min(skipped, key=lambda name: self._circuits[name].until)  # first on ties
            self._circuits[soonest].probe(self._clock())
            self._told(soonest, self._circuits[soonest])
            yield soonest
