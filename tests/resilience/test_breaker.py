"""Per-deployment circuit breakers: every transition, on a fake clock (no sleeps)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sseguard.config.schema import Breaker
from sseguard.resilience.breaker import Breakers, State


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breakers(**settings: object) -> tuple[Breakers, Clock]:
    clock = Clock()
    base: dict[str, object] = {"failure_threshold": 3, "cooldown": 10, "max_cooldown": 40}
    return Breakers(Breaker.model_validate({**base, **settings}), clock=clock), clock


def play(b: Breakers, clock: Clock, script: str, name: str = "a") -> None:
    """Run a script of steps on one deployment: ``f`` failure, ``s`` success, ``ok``/``no`` an
    allow() that must say yes/no, ``+N`` N seconds pass, ``=state`` the state it must be in."""
    for i, step in enumerate(script.split()):
        where = f"step {i} ({step!r}) of {script!r}"
        if step == "f":
            b.failure(name)
        elif step == "s":
            b.success(name)
        elif step in ("ok", "no"):
            assert b.allow(name) is (step == "ok"), where
        elif step.startswith("+"):
            clock.now += float(step[1:])
        elif step.startswith("="):
            assert b.state(name) is State(step[1:]), where
        else:
            raise ValueError(f"unknown step {step!r}")


# Threshold 3, cooldown 10 s, max_cooldown 40 s.
@pytest.mark.parametrize(
    "script",
    [
        pytest.param("=closed ok ok", id="a new deployment is closed"),
        pytest.param("f f =closed ok", id="failures below the threshold"),
        pytest.param("f f f =open no", id="threshold failures in a row open it"),
        pytest.param("f f s f f =closed ok f =open", id="a success resets the count"),
        pytest.param("f f f +9.9 no =open +0.1 ok =half_open", id="open until the cooldown"),
        pytest.param("f f f +100 =open ok =half_open", id="only allow() leaves open"),
        pytest.param("f f f +10 ok no no +5 no =half_open", id="one probe at a time"),
        pytest.param("f f f +10 ok s =closed ok ok f f =closed f =open", id="probe success"),
        pytest.param("f f f +10 ok f =open +19.9 no +0.1 ok", id="probe failure doubles"),
        pytest.param(
            "f f f +10 ok f +20 ok f +40 ok f =open +39.9 no +0.1 ok", id="growth up to the cap"
        ),
        pytest.param("f f f +10 ok f +20 ok s f f f +9.9 no +0.1 ok", id="success resets it"),
        pytest.param("f f f +10 ok +9.9 no +0.1 ok =half_open no", id="lost probe replaced"),
        pytest.param("f f f +10 ok f +20 ok +19.9 no +0.1 ok", id="lost probe, grown cooldown"),
        pytest.param("f f f +5 f f +5 ok", id="failures while open do not extend it"),
        pytest.param("f f f s =open +9 no", id="a success while open changes nothing"),
        pytest.param("f f f +10 ok no s =closed ok", id="any report ends half-open"),
    ],
)
def test_transitions(script: str) -> None:
    b, clock = breakers()
    play(b, clock, script)


def test_disabled_never_opens() -> None:
    b, clock = breakers(enabled=False)
    play(b, clock, "f f f f f f =closed ok")
    assert b.snapshot() == {"a": "closed"}


def test_threshold_one_opens_on_the_first_failure() -> None:
    b, clock = breakers(failure_threshold=1)
    play(b, clock, "f =open no +10 ok f =open")


def test_no_growth_when_the_cap_is_the_cooldown() -> None:
    b, clock = breakers(max_cooldown=10)
    play(b, clock, "f f f +10 ok f +10 ok f +10 ok")


def test_deployments_are_independent() -> None:
    b, clock = breakers()
    play(b, clock, "f f f =open", name="a")
    play(b, clock, "f f =closed ok", name="b")
    play(b, clock, "+10 ok =half_open", name="a")
    play(b, clock, "ok", name="c")
    assert b.snapshot() == {"a": "half_open", "b": "closed", "c": "closed"}


def test_state_and_snapshot_do_not_create_or_move() -> None:
    b, clock = breakers()
    assert b.state("unknown") is State.CLOSED
    assert b.snapshot() == {}
    play(b, clock, "f f f +10")
    assert b.snapshot() == {"a": "open"}  # past its cooldown, but nobody asked yet


def test_the_default_settings() -> None:
    b = Breakers(Breaker())
    for _ in range(4):
        b.failure("a")
    assert b.allow("a")
    b.failure("a")
    assert not b.allow("a")


# -- order(): the deployments to try, never none --------------------------------------------------


def test_order_keeps_route_order_and_skips_open_ones() -> None:
    b, clock = breakers()
    play(b, clock, "f f f", name="b")
    assert list(b.order(["a", "b", "c"])) == ["a", "c"]


def test_order_asks_lazily() -> None:
    """A request served by its first deployment takes no probe of a later one."""
    b, clock = breakers()
    play(b, clock, "f f f +10", name="b")
    chain = b.order(["a", "b"])
    assert next(chain) == "a"
    assert b.state("b") is State.OPEN  # not asked yet: still free for another request's probe
    assert next(chain) == "b" and b.state("b") is State.HALF_OPEN


def test_order_when_every_deployment_is_open_tries_the_soonest() -> None:
    b, clock = breakers()
    play(b, clock, "f f f +10 ok", name="c")  # its probe is out, presumed lost at 1020
    play(b, clock, "+2 f f f", name="a")  # open until 1022
    play(b, clock, "+5 f f f", name="b")  # open until 1027
    clock.now += 1
    assert list(b.order(["b", "a", "c"])) == ["c"]  # c lets a probe through in 2 s, a in 4, b in 9
    assert b.state("c") is State.HALF_OPEN  # the request is c's probe: its report decides
    play(b, clock, "no s =closed ok", name="c")
    assert b.snapshot() == {"c": "closed", "a": "open", "b": "open"}


def test_order_ties_go_to_route_order() -> None:
    b, clock = breakers()
    play(b, clock, "f f f", name="a")
    play(b, clock, "f f f", name="b")
    assert list(b.order(["b", "a"])) == ["b"]


def test_a_forced_attempt_that_fails_reopens_with_growth() -> None:
    b, clock = breakers()
    play(b, clock, "f f f", name="a")
    assert list(b.order(["a"])) == ["a"]
    play(b, clock, "f =open +19.9 no +0.1 ok", name="a")


def test_order_after_a_tried_deployment_adds_none() -> None:
    """Only a request that could try nothing gets the forced one."""
    b, clock = breakers()
    play(b, clock, "f f f", name="b")
    assert list(b.order(["a", "b"])) == ["a"]
    assert list(b.order([])) == []


# -- a property: one probe at a time, and never stuck ----------------------------------------------

# Failures and allows weigh more than successes, so runs reach open and half-open often.
steps = st.lists(
    st.sampled_from(
        ["allow", "allow", "failure", "failure", "success", 0.5, 5.0, 10.0, 20.0, 40.0]
    ),
    min_size=10,
    max_size=80,
)


@given(steps)
def test_never_two_probes_and_never_stuck(script: list[str | float]) -> None:
    b, clock = breakers()
    probe_since: float | None = None  # when the probe out was handed out
    for step in script:
        if isinstance(step, float):
            clock.now += step
        elif step == "allow":
            before = b.state("a")
            allowed = b.allow("a")
            assert allowed or before is not State.CLOSED
            if allowed and before is not State.CLOSED:
                # A second probe only once the first is presumed lost (a cooldown, at least 10 s).
                assert probe_since is None or clock.now - probe_since >= 10
                probe_since = clock.now
        else:
            getattr(b, step)("a")
        if b.state("a") is not State.HALF_OPEN:
            probe_since = None
    clock.now += 40  # the largest cooldown: whatever happened, a request gets through again
    assert b.allow("a")
