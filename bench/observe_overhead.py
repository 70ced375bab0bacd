"""What the per-request record and the metrics add to the per-event work of a streaming response.

Run: ``.venv/bin/python bench/observe_overhead.py``. The same realistic stream as ``bench/core.py``
goes through decode -> repair -> encode -> send() (which discards): once through a bare sink that
only encodes and sends, once through the gateway's streaming sink, which also keeps the request
record and feeds the inter-event histogram, and then hands the finished record to the metrics and
the JSON log formatter. Reports CPU per
event for each and the overhead in percent. A benchmark reports; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import orjson

from core import chunked, realistic_stream
from sseguard.gateway.asgi import StreamSink
from sseguard.gateway.edges import AnthropicFraming
from sseguard.observe.metrics import Metrics
from sseguard.observe.record import RequestRecord
from sseguard.protocol.events import Event
from sseguard.protocol.stream import StreamRepair


async def discard(message: Any) -> None:
    return None


class BareSink:
    """The streaming sink's own work (encode, note the time for pings, send) without any record
    keeping: the baseline."""

    last_write = 0.0
    committed = False
    framing = AnthropicFraming()

    async def write(self, events: list[Event]) -> None:
        if not self.committed:
            self.committed = True
            await discard({"type": "http.response.start", "status": 200, "headers": []})
        self.last_write = time.monotonic()
        await discard(
            {
                "type": "http.response.body",
                "body": self.framing.encode(events),
                "more_body": True,
            }
        )


async def relay(chunks: list[bytes], observed: bool, metrics: Metrics) -> None:
    rec = RequestRecord("sg_bench", "/v1/messages")
    sink: StreamSink | BareSink = (
        StreamSink(discard, dict, rec, metrics.tally(), AnthropicFraming())
        if observed
        else BareSink()
    )
    pipe = StreamRepair()
    for chunk in chunks:
        events = pipe.feed(chunk)
        if events:
            await sink.write(events)
    await sink.write(pipe.close())
    if observed:
        rec.add_anomalies(pipe.repairer.anomalies.counts())
        rec.add_usage(pipe.repairer.usage)
        rec.finish(200)
        assert isinstance(sink, StreamSink)
        metrics.add_gaps(sink.gaps)
        metrics.observe(rec)
        orjson.dumps(rec.as_dict())


def best(chunks: list[bytes], observed: bool, metrics: Metrics, seconds: float) -> float:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(relay(chunks, observed, metrics))  # warm up
        gc.collect()
        result = float("inf")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.process_time()
            loop.run_until_complete(relay(chunks, observed, metrics))
            result = min(result, time.process_time() - t0)
        return result
    finally:
        loop.close()


def main() -> None:
    raw = realistic_stream(2000)
    n = raw.count(b"\n\n")
    metrics = Metrics()
    print(f"stream: {n} events; one core, process CPU time, best of 4 s each")
    # One event per read is what a paced LLM stream delivers; bigger reads batch several.
    per_event = [frame + b"\n\n" for frame in raw.split(b"\n\n") if frame]
    for label, chunks in (
        ("one event per read", per_event),
        ("1,500-byte reads", chunked(raw, 1500)),
        ("16 KiB reads", chunked(raw, 16384)),
    ):
        bare = best(chunks, False, metrics, 4.0)
        full = best(chunks, True, metrics, 4.0)
        print(
            f"{label:>18}: without record/metrics {bare / n * 1e6:.3f} us/event, "
            f"with {full / n * 1e6:.3f} us/event: overhead {100 * (full - bare) / bare:+.1f} %"
        )


if __name__ == "__main__":
    main()
