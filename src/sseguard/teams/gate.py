"""The gateway's door for teams: who is calling (their key), may they use this model, may this
request start (limits, budget), and what it cost when it ended.

Asked once when a request starts and once when it ends, never per event: the stream's own path
is the same with keys on or off. Every refusal is a ``GatewayError`` the client's edge renders in
its own format, names the key only by its configured name, and is counted in
``sseguard_key_rejections_total{key,reason}``.

Statuses, chosen for what the official SDKs and Claude Code do with them (they retry 408, 409,
429 and 5xx unless ``x-should-retry`` says otherwise):

- 401 ``authentication_error``: no key, or not a key of this gateway;
- 403 ``permission_error``: the key may not use the model;
- 429 ``rate_limit_error`` with ``retry-after``: a limit (rpm, tpm, max_streams), retried by the
  client when the window frees;
- 402 ``billing_error`` (OpenAI type ``insufficient_quota``) with ``x-should-retry: false``: the
  budget is spent, which waiting does not change;
- 503 when the shared state is unreachable and ``state.on_unavailable`` is ``closed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sseguard.config import Config
from sseguard.config.teams import KeySpec, Price, key_digest, price_for
from sseguard.errors import GatewayError
from sseguard.observe.metrics import Metrics
from sseguard.observe.record import RequestRecord
from sseguard.teams.keys import KeyRing, presented
from sseguard.teams.limits import Quota
from sseguard.teams.prices import cost_micros, dollars, rate_tokens
from sseguard.teams.state import StateStore, Unavailable

LOGGER = logging.getLogger("sseguard.teams")
NO_KEY = "-"
LEASE_MARGIN = 60.0  # seconds a stream slot outlives the longest a request may run
NO_RETRY = {"x-should-retry": "false"}


@dataclass(slots=True)
class Ticket:
    """A request let in: settled once when it ends."""

    key: KeySpec
    request_id: str
    price: Price | None
    counted: bool  # the store counted it (False when served with the store unreachable)
    settled: bool = False


class Gate:
    def __init__(self, config: Config, store: StateStore, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.ring = KeyRing(config.keys)
        self._metrics = metrics
        self._closed = config.state.on_unavailable == "closed"
        self._lease = config.timeouts.total + LEASE_MARGIN
        self._down = False  # the last call found the store unreachable (logged once per outage)

    def _refuse(
        self,
        key: str,
        reason: str,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> GatewayError:
        self._metrics.key_rejections.labels(key, reason).inc()
        return GatewayError(status, message, None, headers)

    def _unreachable(self, exc: Unavailable, key: str) -> GatewayError | None:
        """What a request gets when the store is down: nothing (served, ``open``) or a 503."""
        mode = "closed" if self._closed else "open"
        self._metrics.state_unavailable.labels(mode).inc()
        if not self._down:
            self._down = True
            what = "refusing requests" if self._closed else "serving without limits or budgets"
            LOGGER.warning("shared state unreachable (%s): %s until it is back", exc, what)
        if not self._closed:
            return None
        return self._refuse(
            key,
            "state_unavailable",
            503,
            "the gateway's shared state (Redis) is unreachable and state.on_unavailable is "
            "closed: requests are refused until it is back",
            {"retry-after": "1"},
        )

    def _reachable(self) -> None:
        if self._down:
            self._down = False
            LOGGER.warning("shared state reachable again: limits and budgets kept again")

    async def authenticate(self, headers: dict[str, str], rec: RequestRecord) -> KeySpec:
        """The caller's key (its name goes on the record), else 401."""
        key = presented(headers)
        if key is None:
            raise self._refuse(
                NO_KEY,
                "missing_key",
                401,
                "this gateway needs one of its keys, sent as x-api-key or Authorization: Bearer",
                NO_RETRY,
            )
        digest = key_digest(key)
        spec = self.ring.fixed.get(digest)
        if spec is None:
            try:
                spec = await self.store.find_key(digest)
            except Unavailable as exc:
                spec = self.ring.remembered(digest)
                if spec is None or self._closed:
                    error = self._unreachable(exc, NO_KEY)
                    raise error or self._refuse(
                        NO_KEY,
                        "state_unavailable",
                        503,
                        "the gateway's shared state (Redis) is unreachable, so a key created "
                        "at runtime cannot be checked; try again shortly",
                        {"retry-after": "1"},
                    ) from None
            else:
                self._reachable()
                if spec is None:
                    self.ring.forget(digest)
                else:
                    self.ring.remember(spec)
        if spec is None:
            raise self._refuse(
                NO_KEY, "unknown_key", 401, "the key sent is not a key of this gateway", NO_RETRY
            )
        rec.key_name = spec.name
        return spec

    def permit(self, spec: KeySpec, model: str) -> Price | None:
        """403 unless the key may use ``model``; the model's price when one is configured."""
        if not spec.allows(model):
            raise self._refuse(
                spec.name,
                "model",
                403,
                f"key {spec.name!r} may not use model {model!r}"
                f" (allowed: {', '.join(spec.models)})",
                NO_RETRY,
            )
        price = price_for(self.config.prices, model)
        if spec.budget_usd is not None and price is None:
            raise self._refuse(
                spec.name,
                "no_price",
                403,
                f"key {spec.name!r} has a budget, and model {model!r} has no price in the "
                "gateway's price table, so its cost could not be counted",
                NO_RETRY,
            )
        return price

    async def admit(self, spec: KeySpec, model: str, rec: RequestRecord) -> Ticket:
        """Let the request start, or raise the refusal (429, 402, 503)."""
        price = self.permit(spec, model)
        budget = None if spec.budget_usd is None else round(spec.budget_usd * 1_000_000)
        quota = Quota(spec.rpm, spec.tpm, spec.max_streams, budget)
        if quota == Quota():
            return Ticket(spec, rec.request_id, price, counted=False)  # nothing to count
        try:
            refusal = await self.store.admit(spec.name, quota, rec.request_id, self._lease)
        except Unavailable as exc:
            error = self._unreachable(exc, spec.name)
            if error is not None:
                raise error from None
            return Ticket(spec, rec.request_id, price, counted=False)
        self._reachable()
        if refusal is None:
            return Ticket(spec, rec.request_id, price, counted=True)
        if refusal.reason == "budget":
            raise self._refuse(
                spec.name,
                "budget",
                402,
                f"key {spec.name!r} has spent its budget of ${spec.budget_usd:g}"
                f" (spent ${dollars(refusal.spent_micros):g}): ask the gateway's operator to "
                "raise it; retrying does not help",
                NO_RETRY,
            )
        what = {
            "rpm": f"its limit of {spec.rpm} requests per minute",
            "tpm": f"its limit of {spec.tpm} tokens per minute",
            "streams": f"its limit of {spec.max_streams} requests at once",
        }[refusal.reason]
        raise self._refuse(
            spec.name,
            refusal.reason,
            429,
            f"key {spec.name!r} reached {what}; retry in {refusal.retry_after} s",
            {"retry-after": str(refusal.retry_after), "x-should-retry": "true"},
        )

    async def settle(self, ticket: Ticket, rec: RequestRecord) -> None:
        """The request ended (or its answer is about to be sent): free its slot, add its tokens
        and cost. Once per ticket; a store that is down loses this request's count (its slot's
        lease expires on its own)."""
        if ticket.settled:
            return
        ticket.settled = True
        spec = ticket.key
        if not ticket.counted and spec.tpm is None and spec.budget_usd is None:
            return
        cost = cost_micros(ticket.price, rec) if ticket.price is not None else 0
        tokens = rate_tokens(rec) if spec.tpm is not None else 0
        if not ticket.counted and not tokens and not cost:
            return
        try:
            await self.store.settle(spec.name, ticket.request_id, tokens, cost)
        except Unavailable as exc:
            self._metrics.state_unavailable.labels("closed" if self._closed else "open").inc()
            LOGGER.warning(
                "request %s of key %s: usage not counted: %s", rec.request_id, spec.name, exc
            )
