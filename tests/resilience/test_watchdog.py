"""The read watchdog: cancels a read that overruns, never a write, and never swallows a
cancellation that came from elsewhere. Time bounds here only detect hangs."""

from __future__ import annotations

import asyncio

import pytest

from sseguard.resilience.watchdog import Watchdog


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, timeout=10))  # type: ignore[arg-type]


def test_a_read_that_overruns_is_cancelled_and_consumed() -> None:
    async def main() -> str:
        dog = Watchdog()
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        dog.arm(0.01)
        try:
            await never
        except asyncio.CancelledError:
            assert dog.consume()
            return "timed out"
        finally:
            dog.disarm()
            dog.close()
        return "read"

    assert run(main()) == "timed out"


def test_progress_moves_the_deadline_without_firing() -> None:
    async def main() -> int:
        dog = Watchdog()
        reads = 0
        for _ in range(20):
            dog.arm(0.05)
            await asyncio.sleep(0.005)  # each read well inside its own limit
            dog.disarm()
            reads += 1
        dog.close()
        assert not dog.expired
        return reads

    assert run(main()) == 20


def test_time_outside_reads_is_never_blamed() -> None:
    async def main() -> bool:
        dog = Watchdog()
        dog.arm(0.01)
        await asyncio.sleep(0)  # a read that ends at once
        dog.disarm()
        await asyncio.sleep(0.05)  # a slow write to the client, past the read's deadline
        dog.close()
        return dog.expired

    assert run(main()) is False


def test_a_foreign_cancellation_is_not_consumed() -> None:
    async def reader(started: asyncio.Event) -> None:
        dog = Watchdog()
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        dog.arm(60)
        started.set()
        try:
            await never
        except asyncio.CancelledError:
            assert not dog.consume()
            raise
        finally:
            dog.close()

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.ensure_future(reader(started))
        await started.wait()
        task.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
