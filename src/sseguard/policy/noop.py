"""``noop``: looks at every event and changes nothing — the cost of the layer itself, measured in
bench/ against a route without policies."""

from __future__ import annotations

from sseguard.policy.base import Policy, PolicyContext
from sseguard.protocol.events import Event


class Noop(Policy):
    def events(self, ctx: PolicyContext, events: list[Event]) -> list[Event]:
        return events
