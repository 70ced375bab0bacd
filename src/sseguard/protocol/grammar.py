"""The Messages stream grammar as a checker: what a strict client (the Node SDK, Claude Code) accepts.

Used by tests to hold the repair layer to its promise, and by ``probe``/``replay`` to describe an
upstream. It reports violations as sentences; it never raises on input.
"""

from __future__ import annotations

from collections.abc import Iterable

from sseguard.protocol.events import (
    CONTENT_BLOCK_DELTA,
    CONTENT_BLOCK_START,
    CONTENT_BLOCK_STOP,
    DELTA_BLOCKS,
    ERROR,
    KNOWN_EVENTS,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    PING,
    Event,
)


def violations(events: Iterable[Event], *, allow_error_end: bool = True) -> list[str]:
    """Everything that breaks the grammar: one ``message_start`` first; blocks with contiguous indices,
    each started once and stopped once, one at a time, deltas of the matching type; one
    ``message_delta`` then ``message_stop`` last. A stream may instead end with one ``error`` event
    (a truthful ending) when ``allow_error_end``.
    """
    problems: list[str] = []
    started = ended = errored = False
    seen_delta = False
    open_block: tuple[int, str] | None = None
    next_index = 0
    for n, ev in enumerate(events):
        where = f"event {n} ({ev.type})"
        p = ev.payload
        if ended or errored:
            problems.append(f"{where}: after the end of the stream")
            continue
        if ev.type not in KNOWN_EVENTS:
            continue  # unknown events pass through (F10); clients skip them
        if p.get("type") != ev.type:
            problems.append(f"{where}: event name differs from data.type {p.get('type')!r}")
        if ev.type == ERROR:
            if not allow_error_end:
                problems.append(f"{where}: error event")
            if open_block is not None:
                problems.append(f"{where}: error while block {open_block[0]} is open")
            errored = True
            continue
        if ev.type == PING:
            continue  # keep-alive: clients skip it anywhere, even before message_start (F22)
        if ev.type == MESSAGE_START:
            if started:
                problems.append(f"{where}: second message_start")
            started = True
            continue
        if not started:
            problems.append(f"{where}: before message_start")
            continue
        if seen_delta and ev.type != MESSAGE_STOP:
            problems.append(f"{where}: between message_delta and message_stop")
        if ev.type == CONTENT_BLOCK_START:
            block = p.get("content_block")
            if open_block is not None:
                problems.append(f"{where}: block {open_block[0]} still open")
            if p.get("index") != next_index:
                problems.append(f"{where}: index {p.get('index')} where {next_index} was due")
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                problems.append(f"{where}: no typed content_block")
                block = {"type": "?"}
            if block["type"] in DELTA_BLOCKS["input_json_delta"] and block.get("input") != {}:
                problems.append(f"{where}: tool block start without input {{}}")
            open_block = (next_index, block["type"])
            next_index += 1
        elif ev.type == CONTENT_BLOCK_DELTA:
            delta = p.get("delta")
            dtype = delta.get("type") if isinstance(delta, dict) else None
            if open_block is None or p.get("index") != open_block[0]:
                problems.append(f"{where}: delta for block {p.get('index')} which is not open")
            elif dtype in DELTA_BLOCKS and open_block[1] not in DELTA_BLOCKS[dtype]:
                problems.append(f"{where}: {dtype} in a {open_block[1]} block")
        elif ev.type == CONTENT_BLOCK_STOP:
            if open_block is None or p.get("index") != open_block[0]:
                problems.append(f"{where}: stop for block {p.get('index')} which is not open")
            open_block = None
        elif ev.type == MESSAGE_DELTA:
            if open_block is not None:
                problems.append(f"{where}: block {open_block[0]} still open")
            usage = p.get("usage")
            if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
                problems.append(f"{where}: usage.output_tokens is not a number")
            if seen_delta:
                problems.append(f"{where}: second message_delta")
            seen_delta = True
        elif ev.type == MESSAGE_STOP:
            if not seen_delta:
                problems.append(f"{where}: message_stop without message_delta")
            ended = True
    if not started and not errored:
        problems.append("no message_start")
    elif not ended and not errored:
        problems.append("no message_stop: the stream is incomplete")
    return problems
