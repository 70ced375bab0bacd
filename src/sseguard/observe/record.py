"""The per-request record: filled while a request runs, handed to every sink when it ends.

Plain data. The gateway and the exchange write its fields; metrics, logs and the request log read
them. It never holds a provider key or a request body.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass(slots=True)
class Attempt:
    """One upstream try and why it did not answer (``fault`` None when it did)."""

    deployment: str
    status: int | None
    fault: str | None
    detail: str
    seconds: float
    usage: dict[str, int] = field(default_factory=dict)  # as the upstream reported it (billed)


@dataclass(slots=True)
class Decision:
    """What one policy decided about one thing of a request (docs/policies.md): a tool call let
    through or blocked, text masked, a request refused or changed."""

    policy: str  # the policy's name in the route's list (``tool_judge``, ``redact``, ``tools``)
    decision: str  # allow | block | mask | refuse | cap | error
    subject: str = ""  # what it is about: a tool's name, a pattern's name, the request's model
    reason: str = ""  # the judge's explanation, the rule that matched
    probability: float | None = None  # a judge's probability of harm
    seconds: float | None = None  # how long deciding took (a judge call)


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    endpoint: str
    client_format: str = "anthropic"
    started_at: float = field(default_factory=time.time)  # wall clock, for the log
    route: str = ""
    client_model: str = ""
    key_name: str = ""  # the gateway key's configured name (never the key), "" without keys
    stream: bool = False
    deployments: list[str] = field(default_factory=list)  # tried, in order, without repeats
    attempts: list[Attempt] = field(default_factory=list)
    status: int = 0
    ttfb: float | None = None  # seconds to the first upstream byte
    ttft: float | None = None  # seconds to the first event sent to the client
    duration: float = 0.0
    events_out: int = 0
    # The longest wait between two event writes to a streaming client (pings are no events):
    # what a client or proxy with a read timeout lived through (F21, F22); None without two writes.
    max_gap: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # What the upstreams reported over all attempts and resumes: what was billed. The fields
    # above are what the client received (one message, the first input counted once).
    billed_input_tokens: int = 0
    billed_output_tokens: int = 0
    billed_cache_creation_input_tokens: int = 0
    billed_cache_read_input_tokens: int = 0
    stop_reason: str | None = None
    anomalies: dict[str, int] = field(default_factory=dict)
    # none | resumed | error | finalized: what the mid-stream rules did after commit
    midstream: str = "none"
    outcome: str = "complete"  # complete | resumed | error | finalized | rejected | client_gone
    resumes: int = 0
    client_disconnected: bool = False
    # The request this one was made for (a judge's call for a client's request), else "".
    parent_id: str = ""
    decisions: list[Decision] = field(default_factory=list)  # the route's policies', in order
    bytes_in: int = 0
    bytes_out: int = 0
    _t0: float = field(default_factory=time.monotonic, repr=False)

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def mark_first_byte(self) -> None:
        if self.ttfb is None:
            self.ttfb = self.elapsed()

    def mark_first_event(self) -> None:
        if self.ttft is None:
            self.ttft = self.elapsed()

    def tried(self, deployment: str) -> None:
        if deployment not in self.deployments:
            self.deployments.append(deployment)

    def add_anomalies(self, counts: dict[str, int]) -> None:
        for fault, n in counts.items():
            self.anomalies[fault] = self.anomalies.get(fault, 0) + n

    def add_usage(self, usage: dict[str, Any]) -> None:
        for key in _USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int):
                setattr(self, key, value)

    def add_billed(self, usage: dict[str, Any]) -> None:
        """One attempt's usage, as its upstream reported it, added to the bill."""
        for key in _USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                name = f"billed_{key}"
                setattr(self, name, getattr(self, name) + value)

    def finish(self, status: int) -> None:
        self.status = status
        self.duration = self.elapsed()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types, a copy. orjson serializes the dataclass natively (private fields
        left out) several times faster than dataclasses.asdict copies it."""
        out: dict[str, Any] = orjson.loads(self.json())
        return out

    def json(self) -> bytes:
        """The record as one JSON object: the log line."""
        return orjson.dumps(self)
