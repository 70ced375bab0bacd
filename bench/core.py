"""Events per second on one core for the stream core, next to the official SDK on the same bytes.

Run: ``scripts/sseguard-bench-core`` or ``.venv/bin/python bench/core.py [--events 2000] [--json]``.
It builds one realistic ~2,000-event Messages stream (thinking, long text with multi-byte
characters, a tool call), then times, over the same bytes and the same network-sized reads:

- sseguard decode -> repair -> encode (what the gateway does per event);
- sseguard decode -> repair -> accumulate (what a ``stream: false`` answer costs);
- the ``anthropic`` SDK's SSE decoder -> typed events -> its message accumulator.

A benchmark reports numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import orjson

from sseguard.protocol.accumulate import Accumulator
from sseguard.protocol.stream import StreamRepair
from sseguard.sse import encode

WORDS = [
    "The",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "—",
    "café,",
    "naïve,",
    "日本語,",
    "👋🏽",
    "and",
    "more",
]


def frame(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def realistic_stream(n_events: int) -> bytes:
    """About ``n_events`` events: 15 % thinking, 65 % text, 20 % tool input, as a long agent turn."""
    body = n_events - 12
    n_think, n_tool = body * 15 // 100, body * 20 // 100
    n_text = body - n_think - n_tool
    out = [
        frame(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bench",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-sonnet-4-5",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 2048, "output_tokens": 1},
                },
            }
        ),
        frame({"type": "ping"}),
        frame(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            }
        ),
    ]
    for i in range(n_think):
        word = WORDS[i % len(WORDS)]
        out.append(
            frame(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": f"{word} {i} "},
                }
            )
        )
    out.append(
        frame(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "EqQBCkgIARAB" * 20},
            }
        )
    )
    out.append(frame({"type": "content_block_stop", "index": 0}))
    out.append(
        frame(
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            }
        )
    )
    for i in range(n_text):
        word = WORDS[i % len(WORDS)]
        out.append(
            frame(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": f" {word}"},
                }
            )
        )
    out.append(frame({"type": "content_block_stop", "index": 1}))
    out.append(
        frame(
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_b",
                    "name": "write",
                    "input": {},
                },
            }
        )
    )
    tool_json = orjson.dumps(
        {"path": "notes.md", "lines": [f"{w} {i}" for i, w in enumerate(WORDS * 40)]}
    ).decode()
    step = max(1, len(tool_json) // max(1, n_tool))
    pieces = [tool_json[i : i + step] for i in range(0, len(tool_json), step)]
    while len(pieces) > max(1, n_tool):
        last = pieces.pop()
        pieces[-1] += last
    for piece in pieces:
        out.append(
            frame(
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
            )
        )
    out.append(frame({"type": "content_block_stop", "index": 2}))
    out.append(
        frame(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": n_events},
            }
        )
    )
    out.append(frame({"type": "message_stop"}))
    return b"".join(out)


def chunked(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def sseguard_relay(chunks: list[bytes]) -> int:
    pipe = StreamRepair()
    written = 0
    for chunk in chunks:
        for ev in pipe.feed(chunk):
            written += len(encode(ev.type, ev.data))
    for ev in pipe.close():
        written += len(encode(ev.type, ev.data))
    assert pipe.repairer.ended
    return written


def sseguard_accumulate(chunks: list[bytes]) -> int:
    pipe = StreamRepair()
    acc = Accumulator()
    for chunk in chunks:
        for ev in pipe.feed(chunk):
            acc.feed(ev)
    for ev in pipe.close():
        acc.feed(ev)
    return len(acc.message()["content"])


def sdk_accumulate(chunks: list[bytes]) -> int:
    from anthropic._models import construct_type
    from anthropic._streaming import SSEDecoder as SDKDecoder
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent

    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for sse in SDKDecoder().iter_bytes(iter(chunks)):
        # What the SDK's Stream does per event: parse the JSON, build the typed event, accumulate.
        event = construct_type(type_=RawMessageStreamEvent, value=sse.json())
        snapshot = accumulate_event(
            event=event,  # type: ignore[arg-type]
            current_snapshot=snapshot,
            json_bufs=json_bufs,
        )
    assert snapshot is not None
    return len(snapshot.content)


def measure(fn: Callable[[list[bytes]], int], chunks: list[bytes], seconds: float) -> float:
    """Best-of runs of the whole stream, in seconds per stream (best is the least disturbed)."""
    fn(chunks)  # warm up imports and caches
    best = float("inf")
    deadline = time.perf_counter() + seconds
    gc.collect()
    while time.perf_counter() < deadline:
        t0 = time.process_time()
        fn(chunks)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=2000, help="events in the stream (default 2000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="time per measurement (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    raw = realistic_stream(args.events)
    n_events = raw.count(b"\n\n")
    rows = []
    for read_size in (1500, 16384):
        chunks = chunked(raw, read_size)
        for name, fn in (
            ("sseguard decode+repair+encode", sseguard_relay),
            ("sseguard decode+repair+accumulate", sseguard_accumulate),
            ("anthropic SDK decode+accumulate", sdk_accumulate),
        ):
            per_stream = measure(fn, chunks, args.seconds)
            rows.append(
                {
                    "pipeline": name,
                    "read_size": read_size,
                    "events": n_events,
                    "events_per_s": round(n_events / per_stream),
                    "us_per_event": round(per_stream / n_events * 1e6, 3),
                }
            )
    by = {(r["pipeline"], r["read_size"]): r["events_per_s"] for r in rows}
    for r in rows:
        sdk = by[("anthropic SDK decode+accumulate", r["read_size"])]
        r["x_sdk"] = round(r["events_per_s"] / sdk, 1)
    if args.json:
        print(
            json.dumps(
                {
                    "machine": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(),
                    "results": rows,
                },
                indent=2,
            )
        )
        return
    print(
        f"stream: {n_events} events, {len(raw)} bytes; one core, process CPU time, best of {args.seconds:.0f} s"
    )
    print(f"{'pipeline':36} {'read':>6} {'events/s':>10} {'us/event':>9} {'x SDK':>6}")
    for r in rows:
        print(
            f"{r['pipeline']:36} {r['read_size']:>6} {r['events_per_s']:>10,} {r['us_per_event']:>9} {r['x_sdk']:>6}"
        )


if __name__ == "__main__":
    main()
