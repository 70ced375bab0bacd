"""The loop-side hand-off of finished records: one batch per interval, in order, none lost."""

from __future__ import annotations

import asyncio

from sseguard.observe.handoff import Handoff
from sseguard.observe.record import RequestRecord

TIME_BOUND = 10.0  # detects hangs only


def test_records_of_one_interval_arrive_as_one_batch_in_order() -> None:
    async def main() -> list[list[str]]:
        batches: list[list[str]] = []
        arrived = asyncio.Event()

        def observe(batch: list[RequestRecord]) -> None:
            batches.append([rec.request_id for rec in batch])
            arrived.set()

        handoff = Handoff([observe, lambda batch: None], interval=0.01)
        for i in range(3):
            handoff(RequestRecord(f"sg_{i}", "/v1/messages"))
        await asyncio.wait_for(arrived.wait(), TIME_BOUND)
        arrived.clear()
        handoff(RequestRecord("sg_3", "/v1/messages"))  # a new interval starts its own timer
        await asyncio.wait_for(arrived.wait(), TIME_BOUND)
        return batches

    assert asyncio.run(main()) == [["sg_0", "sg_1", "sg_2"], ["sg_3"]]


def test_flush_hands_over_at_once_and_the_later_timer_finds_nothing() -> None:
    async def main() -> list[list[str]]:
        batches: list[list[str]] = []
        handoff = Handoff([lambda b: batches.append([r.request_id for r in b])], interval=0.01)
        handoff(RequestRecord("sg_0", "/v1/messages"))
        handoff.flush()  # shutdown: what is pending goes now
        assert batches == [["sg_0"]]
        # The timer the first record started still fires; it must not hand over an empty batch.
        # Timers run in deadline order, so once a later one has fired, that one has too.
        fired = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.02, fired.set_result, None)
        await asyncio.wait_for(fired, TIME_BOUND)
        return batches

    assert asyncio.run(main()) == [["sg_0"]]
