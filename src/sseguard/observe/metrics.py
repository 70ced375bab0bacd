"""Prometheus metrics, fed from each finished request record.

Label values come from the configuration (route globs, deployment names), from fault IDs and
HTTP statuses: never from request ids or raw client model strings, so cardinality stays bounded.
With several workers, prometheus_client's multiprocess mode aggregates across processes.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from sseguard.observe.record import RequestRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
GAP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
NONE = "-"


class GapTally:
    """Inter-event gaps of one stream, counted locally per histogram bucket.

    ``Histogram.observe`` takes a lock and costs about a microsecond; once per write that is a
    fifth of a relayed event's CPU. A stream counts its gaps here and the histogram takes them in
    one go when the stream ends.
    """

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(GAP_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(GAP_BUCKETS, seconds)] += 1
        self.total += seconds


class _Labelled:
    """``metric.labels(*values)``, looked up once per distinct values: prometheus_client's own
    look-up validates every value and takes a lock on each call, and a finished request makes
    half a dozen. Label values are bounded (see above), so the cache is too."""

    __slots__ = ("_cache", "_labels")

    def __init__(self, metric: Any) -> None:
        self._labels = metric.labels
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self._labels(*values)
        return child


class Metrics:
    """The gateway's metrics on their own registry (a fresh one per app, so tests stay apart)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "sseguard_requests_total",
            "Requests answered, by route, the deployment that answered last, status and outcome.",
            ["route", "deployment", "status", "outcome"],
            registry=r,
        )
        self.ttft = Histogram(
            "sseguard_ttft_seconds",
            "Time from request to the first event sent to the client.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "sseguard_request_duration_seconds",
            "Time from request to the end of the response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inter_event = Histogram(
            "sseguard_inter_event_seconds",
            "Time between two writes of events to a streaming client.",
            buckets=GAP_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "sseguard_tokens_total", "Tokens reported by upstreams.", ["direction"], registry=r
        )
        self.anomalies = Counter(
            "sseguard_anomalies_total",
            "Upstream faults found and repaired or reported, by fault ID (docs/faults.md).",
            ["fault", "deployment"],
            registry=r,
        )
        self.retries = Counter(
            "sseguard_retries_total",
            "Upstream attempts after the first.",
            ["deployment"],
            registry=r,
        )
        self.fallbacks = Counter(
            "sseguard_fallbacks_total",
            "Requests that moved to a later deployment of their route.",
            ["route"],
            registry=r,
        )
        self.midstream = Counter(
            "sseguard_midstream_failures_total",
            "Committed streams that broke, by what the mid-stream rules did.",
            ["outcome"],
            registry=r,
        )
        self.active = Gauge(
            "sseguard_active_streams",
            "Streams open to clients right now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._requests = _Labelled(self.requests)
        self._duration = _Labelled(self.duration)
        self._ttft = _Labelled(self.ttft)
        self._tokens = _Labelled(self.tokens)
        self._anomalies = _Labelled(self.anomalies)
        self._retries = _Labelled(self.retries)
        self._fallbacks = _Labelled(self.fallbacks)
        self._midstream = _Labelled(self.midstream)

    def observe(self, rec: RequestRecord) -> None:
        route = rec.route or NONE
        last = rec.deployments[-1] if rec.deployments else NONE
        self._requests(route, last, str(rec.status), rec.outcome).inc()
        self._duration(route).observe(rec.duration)
        if rec.ttft is not None:
            self._ttft(route).observe(rec.ttft)
        if rec.input_tokens:
            self._tokens("input").inc(rec.input_tokens)
        if rec.output_tokens:
            self._tokens("output").inc(rec.output_tokens)
        for fault, count in rec.anomalies.items():
            self._anomalies(fault, last).inc(count)
        for attempt in rec.attempts[1:] if rec.attempts else ():
            self._retries(attempt.deployment).inc()
        if len(rec.deployments) > 1:
            self._fallbacks(route).inc()
        if rec.midstream != "none":
            self._midstream(rec.midstream).inc()

    def add_gaps(self, tally: GapTally) -> None:
        """Merge one stream's gaps into the histogram (prometheus_client's per-bucket values are
        not cumulative, so each count goes to its own bucket)."""
        if not any(tally.counts):
            return
        hist: Any = self.inter_event
        for bucket, count in zip(hist._buckets, tally.counts, strict=True):
            if count:
                bucket.inc(count)
        hist._sum.inc(tally.total)

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
