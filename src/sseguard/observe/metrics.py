"""Prometheus metrics, fed from each finished request record.

Label values come from the configuration (route globs, deployment names, policy names), from fault
IDs, policies' decision words and HTTP statuses: never from request ids, raw client model strings
or what a policy decided about (tool names, patterns), so cardinality stays bounded.
With several workers, prometheus_client's multiprocess mode aggregates across processes.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from sseguard.observe.record import RequestRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
GAP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# A judge is a model call of its own: from a fast small model's tens of milliseconds to a minute.
JUDGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
NONE = "-"


class GapTally:
    """Inter-event gaps of one stream, counted locally per histogram bucket.

    ``Histogram.observe`` takes a lock and costs about a microsecond; once per write that is a
    fifth of a relayed event's CPU. A stream counts its gaps here and the metric takes them in
    one go when the stream ends. ``values`` keeps each gap as well, only where the metric needs
    them one by one (prometheus_client's multiprocess mode, see ``Metrics``).
    """

    __slots__ = ("counts", "total", "values")

    def __init__(self, keep_values: bool = False) -> None:
        self.counts = [0] * (len(GAP_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0
        self.values: list[float] | None = [] if keep_values else None

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(GAP_BUCKETS, seconds)] += 1
        self.total += seconds
        if self.values is not None:
            self.values.append(seconds)


class _GapHistogram(Collector):
    """The inter-event histogram of one process, as the sum of its finished streams' tallies:
    one merge per stream instead of one ``observe`` per write."""

    name = "sseguard_inter_event_seconds"
    documentation = "Time between two writes of events to a streaming client."

    def __init__(self) -> None:
        self._counts = [0] * (len(GAP_BUCKETS) + 1)
        self._total = 0.0
        self._lock = threading.Lock()  # a scrape may run in another thread than the streams

    def add(self, tally: GapTally) -> None:
        with self._lock:
            self._counts = [a + b for a, b in zip(self._counts, tally.counts, strict=True)]
            self._total += tally.total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._total
        cumulative, buckets = 0, []
        for bound, count in zip((*GAP_BUCKETS, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


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
        # prometheus_client's multiprocess mode (``--workers N``) aggregates only its own metric
        # objects, so there each gap is observed; one process keeps the cheaper merged tallies.
        self._multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self._gaps: _GapHistogram | None = None
        self._inter_event: Histogram | None = None
        if self._multiprocess:
            self._inter_event = Histogram(
                _GapHistogram.name, _GapHistogram.documentation, buckets=GAP_BUCKETS, registry=r
            )
        else:
            self._gaps = _GapHistogram()
            r.register(self._gaps)
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
        self.decisions = Counter(
            "sseguard_policy_decisions_total",
            "What the routes' policies decided (docs/policies.md), by policy and decision.",
            ["policy", "decision"],
            registry=r,
        )
        self.judge_seconds = Histogram(
            "sseguard_policy_judge_seconds",
            "Time a policy took to decide by asking its judge model, per decision.",
            ["policy"],
            buckets=JUDGE_BUCKETS,
            registry=r,
        )
        self.key_rejections = Counter(
            "sseguard_key_rejections_total",
            "Requests refused for their gateway key, by the key's configured name ('-' when "
            "missing or unknown) and reason.",
            ["key", "reason"],
            registry=r,
        )
        self.state_unavailable = Counter(
            "sseguard_state_unavailable_total",
            "Requests that found the shared state (Redis) unreachable, by what they got: "
            "served (on_unavailable: open) or refused (closed).",
            ["on_unavailable"],
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
        self._decisions = _Labelled(self.decisions)
        self._judge_seconds = _Labelled(self.judge_seconds)

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
        for decision in rec.decisions:
            self._decisions(decision.policy, decision.decision).inc()
            if decision.seconds is not None:
                self._judge_seconds(decision.policy).observe(decision.seconds)

    def tally(self) -> GapTally:
        """A new stream's gap tally, in the form ``add_gaps`` takes for this process's mode."""
        return GapTally(keep_values=self._multiprocess)

    def add_gaps(self, tally: GapTally) -> None:
        """Merge one finished stream's gaps into the metric."""
        if self._gaps is not None:
            if any(tally.counts):
                self._gaps.add(tally)
            return
        assert self._inter_event is not None and tally.values is not None
        observe = self._inter_event.observe
        for seconds in tally.values:
            observe(seconds)

    def exposition(self) -> bytes:
        if self._multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
