"""The window and budget rules (teams/limits.py) with the in-process backend and a clock the
tests move; the config of keys and prices; the gate's answers; breakers and learned
continuations taken from another replica."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from sseguard.config import ConfigError
from sseguard.config.schema import Breaker, Config
from sseguard.config.teams import KeySpec, Price, key_digest
from sseguard.errors import GatewayError
from sseguard.observe.metrics import Metrics
from sseguard.observe.record import RequestRecord
from sseguard.resilience.breaker import Breakers, State
from sseguard.resilience.continuation import ContinuationMemory
from sseguard.resilience.shared import SharedResilience
from sseguard.teams.gate import Gate
from sseguard.teams.keys import new_key, presented
from sseguard.teams.limits import Quota, Windows
from sseguard.teams.prices import cost_micros, rate_tokens
from sseguard.teams.state import MemoryState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rpm_is_a_sliding_window_exact_whatever_the_minute_boundary() -> None:
    clock = Clock()
    w = Windows(clock)
    quota = Quota(rpm=5)
    clock.now = 59.5  # a fixed window would reset at 60 and let five more in
    for i in range(5):
        assert w.admit("k", quota, f"r{i}", 600) is None
    clock.now = 60.5
    refusal = w.admit("k", quota, "r5", 600)
    assert refusal is not None and refusal.reason == "rpm"
    assert refusal.retry_after == 59  # the first entry (59.5) leaves at 119.5
    clock.now = 119.5  # all five left together: five more, not six
    assert [w.admit("k", quota, f"s{i}", 600) for i in range(5)] == [None] * 5
    assert w.admit("k", quota, "s5", 600) is not None


def test_refused_requests_are_not_counted() -> None:
    clock = Clock()
    w = Windows(clock)
    for i in range(20):
        w.admit("k", Quota(rpm=2), f"r{i}", 600)
    clock.now += 60
    assert w.admit("k", Quota(rpm=2), "late", 600) is None


def test_tpm_counts_tokens_at_the_end_and_frees_with_the_window() -> None:
    clock = Clock()
    w = Windows(clock)
    quota = Quota(tpm=100)
    assert w.admit("k", quota, "a", 600) is None
    w.settle("k", "a", 60, 0)
    clock.now += 10
    assert w.admit("k", quota, "b", 600) is None  # 60 < 100
    w.settle("k", "b", 70, 0)  # overshoots: known only at the end
    clock.now += 5
    refusal = w.admit("k", quota, "c", 600)
    assert refusal is not None and refusal.reason == "tpm"
    assert refusal.retry_after == 45  # "a" leaves at +60: 70 left, under 100
    clock.now += 45
    assert w.admit("k", quota, "c", 600) is None


def test_max_streams_takes_a_slot_per_request_and_frees_it_at_the_end_or_lease() -> None:
    clock = Clock()
    w = Windows(clock)
    quota = Quota(max_streams=2)
    assert w.admit("k", quota, "a", 100) is None
    assert w.admit("k", quota, "b", 100) is None
    refusal = w.admit("k", quota, "c", 100)
    assert refusal is not None and refusal.reason == "streams" and refusal.retry_after == 1
    w.settle("k", "a", 0, 0)
    assert w.admit("k", quota, "c", 100) is None
    # A replica that crashed never settles: its lease expires.
    assert w.admit("k", quota, "d", 100) is not None
    clock.now += 100
    assert w.admit("k", quota, "d", 100) is None


def test_a_budget_stops_at_the_first_request_past_it() -> None:
    w = Windows(Clock())
    quota = Quota(budget_micros=10)
    assert w.admit("k", quota, "a", 600) is None
    w.settle("k", "a", 0, 9)
    assert w.admit("k", quota, "b", 600) is None
    w.settle("k", "b", 0, 5)  # 14: over, known at its end
    refusal = w.admit("k", quota, "c", 600)
    assert refusal is not None and refusal.reason == "budget" and refusal.spent_micros == 14
    assert w.spent("k") == 14 and w.spent("other") == 0


def test_keys_are_separate() -> None:
    w = Windows(Clock())
    assert w.admit("a", Quota(rpm=1), "1", 600) is None
    assert w.admit("b", Quota(rpm=1), "2", 600) is None


def record(**usage: int) -> RequestRecord:
    rec = RequestRecord("sg_test", "/v1/messages")
    for name, value in usage.items():
        setattr(rec, f"billed_{name}", value)
    return rec


def test_cost_uses_anthropics_cache_multipliers_by_default() -> None:
    price = Price(input=3.0, output=15.0)
    assert price.cache_write == pytest.approx(3.75)
    assert price.cache_read == pytest.approx(0.3)
    rec = record(
        input_tokens=1000,
        output_tokens=100,
        cache_creation_input_tokens=2000,
        cache_read_input_tokens=10000,
    )
    # 3000 + 1500 + 7500 + 3000 micro-dollars
    assert cost_micros(price, rec) == 15000
    assert rate_tokens(rec) == 3100  # cache reads left out
    assert cost_micros(Price(input=0.001, output=0), record(input_tokens=1)) == 1  # rounded up


def keys_config(**extra: Any) -> dict[str, Any]:
    return {
        "deployments": [
            {"name": "up", "kind": "anthropic", "base_url": "https://x.test", "api_key": "k"}
        ],
        **extra,
    }


def test_a_key_in_clear_is_kept_only_as_its_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_KEY", "sg-from-env")
    config = Config.model_validate(
        keys_config(
            keys=[
                {"name": "a", "key": "sg-clear"},
                {"name": "b", "key_env": "TEAM_KEY", "models": "claude-*"},
                {"name": "c", "key_sha256": hashlib.sha256(b"x").hexdigest().upper()},
            ]
        )
    )
    a, b, c = config.keys
    assert a.key_sha256 == key_digest("sg-clear")
    assert b.key_sha256 == key_digest("sg-from-env") and b.models == ("claude-*",)
    assert c.key_sha256 == hashlib.sha256(b"x").hexdigest()
    dumped = str(config.redacted()) + repr(config)
    assert "sg-clear" not in dumped and "sg-from-env" not in dumped
    assert config.gateway_keys


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"keys": [{"name": "a"}]}, "give one of key, key_env, key_sha256"),
        ({"keys": [{"name": "a", "key": "x", "key_sha256": "0" * 64}]}, "give one of"),
        ({"keys": [{"name": "a", "key_sha256": "abc"}]}, "64 hexadecimal"),
        ({"keys": [{"name": "a", "key": "x"}, {"name": "a", "key": "y"}]}, "declared twice"),
        ({"keys": [{"name": "a", "key": "x"}, {"name": "b", "key": "x"}]}, "same key"),
        ({"keys": [{"name": "a", "key": "x", "budget_usd": 5}]}, "needs a price table"),
        ({"keys": [{"name": "a", "key": "x"}], "admin": {"key": "x"}}, "also a gateway key"),
        ({"keys": [{"name": "a", "key": "x", "rpm": 0}]}, "greater than or equal to 1"),
        ({"state": {"redis_url": "http://x"}}, "redis://"),
    ],
)
def test_bad_key_configs_are_refused_at_load(extra: dict[str, Any], says: str) -> None:
    with pytest.raises((ValueError, ConfigError)) as info:
        Config.model_validate(keys_config(**extra))
    assert says in str(info.value)


def test_passthrough_deployments_cannot_be_combined_with_gateway_keys() -> None:
    data = {
        "deployments": [
            {
                "name": "up",
                "kind": "anthropic",
                "base_url": "https://x.test",
                "passthrough_key": True,
            }
        ],
        "keys": [{"name": "a", "key": "x"}],
    }
    with pytest.raises(ValueError, match="passthrough_key cannot be combined"):
        Config.model_validate(data)


def test_a_client_presents_its_key_as_x_api_key_or_bearer() -> None:
    assert presented({"x-api-key": "sg-a"}) == "sg-a"
    assert presented({"authorization": "Bearer sg-b"}) == "sg-b"
    assert presented({"authorization": "Basic xyz"}) is None
    assert presented({}) is None
    key = new_key()
    assert key.startswith("sg-") and len(key) > 40 and new_key() != key


def gate_for(**key: Any) -> tuple[Gate, Metrics]:
    config = Config.model_validate(
        keys_config(
            keys=[{"name": "team", "key": "sg-team", **key}],
            prices={"claude-*": {"input": 1.0, "output": 1.0}},
        )
    )
    metrics = Metrics()
    return Gate(config, MemoryState(), metrics), metrics


def refused(coro: Any) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        asyncio.run(coro)
    return info.value


def test_the_gate_answers_each_refusal_with_its_status_and_headers() -> None:
    gate, metrics = gate_for(models=["claude-*"], rpm=1, budget_usd=0.000002)
    rec = RequestRecord("sg_1", "/v1/messages")
    err = refused(gate.authenticate({}, rec))
    assert (err.status, err.error_type, err.headers["x-should-retry"]) == (
        401,
        "authentication_error",
        "false",
    )
    err = refused(gate.authenticate({"x-api-key": "sk-ant-provider"}, rec))
    assert err.status == 401 and "sk-ant-provider" not in err.message
    spec = asyncio.run(gate.authenticate({"authorization": "Bearer sg-team"}, rec))
    assert rec.key_name == "team"
    err = refused(gate.admit(spec, "gpt-4o", rec))
    assert (err.status, err.error_type) == (403, "permission_error")

    async def two() -> GatewayError:
        ticket = await gate.admit(spec, "claude-x", rec)
        rec.billed_input_tokens = 3
        await gate.settle(ticket, rec)
        await gate.settle(ticket, rec)  # once per ticket
        try:
            await gate.admit(spec, "claude-x", RequestRecord("sg_2", "/v1/messages"))
        except GatewayError as exc:
            return exc
        raise AssertionError("admitted past its budget")

    err = asyncio.run(two())
    assert (err.status, err.error_type, err.headers["x-should-retry"]) == (
        402,
        "billing_error",
        "false",
    )
    assert "budget" in err.message
    exposition = metrics.exposition().decode()
    assert 'sseguard_key_rejections_total{key="-",reason="missing_key"} 1.0' in exposition
    assert 'sseguard_key_rejections_total{key="team",reason="budget"} 1.0' in exposition


def test_a_limit_is_a_429_with_retry_after() -> None:
    gate, _ = gate_for(rpm=1)
    spec = asyncio.run(gate.authenticate({"x-api-key": "sg-team"}, RequestRecord("a", "/")))

    async def twice() -> GatewayError:
        await gate.admit(spec, "claude-x", RequestRecord("a", "/"))
        try:
            await gate.admit(spec, "claude-x", RequestRecord("b", "/"))
        except GatewayError as exc:
            return exc
        raise AssertionError("admitted past rpm")

    err = asyncio.run(twice())
    assert (err.status, err.error_type) == (429, "rate_limit_error")
    assert 1 <= int(err.headers["retry-after"]) <= 60
    assert err.headers["x-should-retry"] == "true"


def test_runtime_keys_are_found_in_the_store_and_revoked_there() -> None:
    gate, _ = gate_for()
    spec = KeySpec(name="later", key_sha256=key_digest("sg-later"))

    async def run() -> None:
        assert await gate.store.add_key(spec)
        assert not await gate.store.add_key(spec)
        rec = RequestRecord("a", "/")
        assert (await gate.authenticate({"x-api-key": "sg-later"}, rec)).name == "later"
        assert await gate.store.revoke_key("later")
        with pytest.raises(GatewayError):
            await gate.authenticate({"x-api-key": "sg-later"}, rec)

    asyncio.run(run())


def test_a_breaker_transition_is_taken_over_by_another_replica() -> None:
    clock = Clock()
    settings = Breaker(failure_threshold=1, cooldown=30)
    here, there = Breakers(settings, clock), Breakers(settings, clock)
    told: list[tuple[str, State, float, float]] = []
    here.on_transition = lambda *args: told.append(args)
    here.failure("primary")
    assert told and told[0][1] is State.OPEN
    name, state, until, cooldown = told[0]
    there.adopt(name, state, until, cooldown)
    assert there.state("primary") is State.OPEN
    assert not there.allow("primary")
    clock.now += 30
    assert there.allow("primary")  # its cooldown ends when the first replica's does


def test_shared_facts_reach_breakers_and_continuations() -> None:
    breakers = Breakers(Breaker())
    memory = ContinuationMemory()
    shared = SharedResilience(MemoryState(), breakers, memory)
    shared.apply({"kind": "instruct", "deployment": "d"})
    assert memory.strategy("d", "auto") == "instruct"
    shared.apply(
        {"kind": "breaker", "deployment": "d", "state": "open", "until": 1e12, "cooldown": 5}
    )
    assert breakers.state("d") is State.OPEN and not breakers.allow("d")
    shared.apply({"kind": "breaker", "deployment": "d", "state": "bogus"})  # ignored
    shared.apply({"kind": "breaker"})
    assert breakers.state("d") is State.OPEN
    learned: list[str] = []
    memory.on_learn = learned.append
    memory.learn("e", "auto")
    assert learned == ["e"]
