"""The Redis backend against a real redis-server: the rules of teams/limits.py hold there too,
atomically under concurrency, and facts published by one replica reach another."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from redis_server import RedisServer, redis_server
from sseguard.config.teams import KeySpec, key_digest
from sseguard.teams.limits import Quota
from sseguard.teams.redis_state import RedisState
from sseguard.teams.state import Unavailable

TIME_BOUND = 10.0  # detects hangs only


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with redis_server() as found:
        yield found


def run(server: RedisServer, work: Any, prefix: str) -> Any:
    async def main() -> Any:
        store = RedisState(server.url, prefix=prefix)
        try:
            return await asyncio.wait_for(work(store), TIME_BOUND)
        finally:
            await store.close()

    return asyncio.run(main())


def test_rpm_is_exact_under_concurrent_admits(server: RedisServer) -> None:
    async def work(store: RedisState) -> list[Any]:
        quota = Quota(rpm=10)
        return await asyncio.gather(*(store.admit("k", quota, f"r{i}", 600) for i in range(50)))

    results = run(server, work, "t1:")
    assert results.count(None) == 10
    refusals = [r for r in results if r is not None]
    assert {r.reason for r in refusals} == {"rpm"}
    assert all(59 <= r.retry_after <= 60 for r in refusals)


def test_streams_are_leased_and_released(server: RedisServer) -> None:
    async def work(store: RedisState) -> None:
        quota = Quota(max_streams=2)
        results = await asyncio.gather(*(store.admit("k", quota, f"r{i}", 600) for i in range(6)))
        admitted = [f"r{i}" for i, r in enumerate(results) if r is None]
        assert len(admitted) == 2
        assert await store.admit("k", quota, "x", 600) is not None
        await store.settle("k", admitted[0], 0, 0)
        assert await store.admit("k", quota, "x", 600) is None
        # A lease that ran out frees its slot without a settle (a crashed replica).
        short = Quota(max_streams=1)
        assert await store.admit("short", short, "a", 0.05) is None
        refused = await store.admit("short", short, "b", 0.05)
        assert refused is not None and refused.reason == "streams"
        deadline = asyncio.get_running_loop().time() + TIME_BOUND
        while await store.admit("short", short, "b", 0.05) is not None:
            assert asyncio.get_running_loop().time() < deadline

    run(server, work, "t2:")


def test_tokens_and_spend_add_up(server: RedisServer) -> None:
    async def work(store: RedisState) -> None:
        quota = Quota(tpm=100, budget_micros=50)
        assert await store.admit("k", quota, "a", 600) is None
        await store.settle("k", "a", 120, 30)
        refused = await store.admit("k", quota, "b", 600)
        assert refused is not None and refused.reason == "tpm" and 59 <= refused.retry_after <= 60
        await store.settle("k", "b", 0, 30)
        refused = await store.admit("k", quota, "c", 600)
        assert refused is not None and refused.reason == "budget" and refused.spent_micros == 60
        assert await store.spent(["k", "none"]) == {"k": 60, "none": 0}

    run(server, work, "t3:")


def test_runtime_keys_live_in_redis(server: RedisServer) -> None:
    spec = KeySpec(name="later", key_sha256=key_digest("sg-later"), models=("claude-*",), rpm=3)

    async def work(store: RedisState) -> None:
        assert await store.add_key(spec)
        assert not await store.add_key(spec)
        other = RedisState(server.url, prefix="t4:")
        try:
            assert await other.find_key(spec.key_sha256) == spec
            assert [k.name for k in await other.runtime_keys()] == ["later"]
            assert await other.revoke_key("later")
            assert not await other.revoke_key("later")
        finally:
            await other.close()
        assert await store.find_key(spec.key_sha256) is None

    run(server, work, "t4:")


def test_facts_reach_the_other_replicas_and_late_joiners(server: RedisServer) -> None:
    async def work(store: RedisState) -> None:
        got: list[dict[str, Any]] = []
        arrived = asyncio.Event()

        def listener(fact: dict[str, Any]) -> None:
            got.append(fact)
            arrived.set()

        other = RedisState(server.url, prefix="t5:")
        listening = asyncio.ensure_future(other.listen(listener))
        try:
            # Published until the subscription is up: the first may precede it (then it is
            # still read from the kept facts).
            await store.publish({"kind": "instruct", "deployment": "d"})
            await arrived.wait()
            assert got[0]["deployment"] == "d" and got[0]["origin"] == store.origin
            own: list[dict[str, Any]] = []
            late = asyncio.ensure_future(store.listen(own.append))
            await store.publish({"kind": "instruct", "deployment": "e"})
            while len(got) < 2 or got[-1]["deployment"] != "e":
                arrived.clear()
                await arrived.wait()
            late.cancel()
            assert own == []  # a replica skips its own facts
        finally:
            listening.cancel()
            await other.close()
        # Both listeners, asked to stop, end: redis-py may swallow a cancellation that lands
        # inside a read and read on, which hung this test's teardown one run in three.
        _, pending = await asyncio.wait({listening, late}, timeout=5.0)
        assert not pending

    run(server, work, "t5:")


def test_an_unreachable_redis_is_unavailable_quickly() -> None:
    async def work() -> None:
        store = RedisState("redis://127.0.0.1:9/0", timeout=0.2)
        try:
            with pytest.raises(Unavailable):
                await store.admit("k", Quota(rpm=1), "a", 600)
            with pytest.raises(Unavailable, match="less than a second ago"):
                await store.find_key("0" * 64)
        finally:
            await store.close()

    asyncio.run(asyncio.wait_for(work(), TIME_BOUND))
