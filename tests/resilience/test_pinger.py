"""The ping timer (F22): a ping after each interval of silence, none while events flow, none after
close, and a failed ping ends the pinging instead of raising into the loop."""

from __future__ import annotations

import asyncio
import time

from sseguard.resilience.pinger import Pinger


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.last_write = time.monotonic()
        self.pings = 0
        self.fail = fail
        self.pinged = asyncio.Event()
        self.committed = False
        self.ping_times: list[float] = []

    async def ping(self) -> None:
        self.committed = True  # the first ping sends the status line
        self.ping_times.append(time.monotonic())
        self.pings += 1
        self.last_write = time.monotonic()
        self.pinged.set()
        if self.fail:
            raise ConnectionResetError("client gone")


def test_silence_gets_pings_and_close_stops_them() -> None:
    async def main() -> int:
        sink = Sink()
        pinger = Pinger(sink, 0.01)
        for _ in range(3):
            sink.pinged.clear()
            await asyncio.wait_for(sink.pinged.wait(), timeout=5)
        pinger.close()
        seen = sink.pings
        await asyncio.sleep(0.05)
        assert sink.pings == seen
        return seen

    assert asyncio.run(main()) == 3


def test_writes_keep_pings_away() -> None:
    async def main() -> tuple[int, int]:
        sink = Sink()
        pinger = Pinger(sink, 0.5)
        stalls = 0
        for _ in range(60):  # an event every 10 ms for 0.6 s: never 0.5 s of silence
            await asyncio.sleep(0.01)
            now = time.monotonic()
            # Unless the machine itself stalled this loop that long (seen under heavy load).
            stalls += now - sink.last_write >= 0.5
            sink.last_write = now
        pinger.close()
        return sink.pings, stalls

    pings, stalls = asyncio.run(main())
    assert pings <= stalls


def test_a_failed_ping_stops_pinging() -> None:
    async def main() -> int:
        sink = Sink(fail=True)
        pinger = Pinger(sink, 0.01)
        await asyncio.wait_for(sink.pinged.wait(), timeout=5)
        await asyncio.sleep(0.05)
        pinger.close()
        return sink.pings

    assert asyncio.run(main()) == 1


def test_the_ping_that_would_commit_waits_longer_than_the_next_ones() -> None:
    """Before commit the first ping waits ``first`` seconds: it gives up the real status of a
    failure, so it goes out only when a silent request would otherwise be dropped."""

    async def main() -> tuple[float, list[float]]:
        sink = Sink()
        started = sink.last_write
        pinger = Pinger(sink, 0.01, first=0.2)
        for _ in range(3):
            sink.pinged.clear()
            await asyncio.wait_for(sink.pinged.wait(), timeout=5)
        pinger.close()
        return started, sink.ping_times

    started, times = asyncio.run(main())
    assert times[0] - started >= 0.2
