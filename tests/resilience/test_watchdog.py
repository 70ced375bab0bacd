"""The read watchdog: cancels a read that overruns, never a write, and never swallows a
cancellation that came from elsewhere. Time bounds here only detect hangs."""

from __future__ import annotations

import asyncio
import time

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
            started = time.monotonic()
            dog.arm(0.05)
            try:
                await asyncio.sleep(0.005)  # each read well inside its own limit
            except asyncio.CancelledError:
                # Only if the machine stalled this read past its limit (seen under heavy load).
                assert dog.consume() and time.monotonic() - started >= 0.05
            else:
                reads += 1
            dog.disarm()
        dog.close()
        assert not dog.expired
        return reads

    reads = run(main())
    assert isinstance(reads, int) and reads > 0


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


def test_a_deadline_moved_later_by_assignment_holds_the_read_open() -> None:
    """The relay moves the deadline per event without a call: the timer, set for the armed
    deadline, must notice the later one when it fires and wait for it instead of cancelling."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        dog = Watchdog()
        answer: asyncio.Future[str] = loop.create_future()
        dog.arm(0.01)
        dog.deadline = time.monotonic() + 60  # data kept coming
        loop.call_later(0.05, answer.set_result, "read")  # well past the armed 10 ms
        try:
            return await answer
        except asyncio.CancelledError:
            return "cancelled"
        finally:
            dog.disarm()
            dog.close()

    assert run(main()) == "read"


def test_a_deadline_moved_later_still_expires() -> None:
    async def main() -> bool:
        dog = Watchdog()
        never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        dog.arm(0.01)
        dog.deadline = time.monotonic() + 0.03
        try:
            await never
        except asyncio.CancelledError:
            return dog.consume()
        finally:
            dog.disarm()
            dog.close()
        return False

    assert run(main()) is True
