"""The policy layer in-process: a chain over repaired streams, its sink, and the built-in
policies' decisions. A stand-in ``ask`` plays the judge here; the gateway tests ask a real one
(the simulator's) through the whole exchange."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sseguard.config.policy_specs import NoopSpec, ToolJudgeSpec, ToolsSpec
from sseguard.errors import GatewayError
from sseguard.observe.record import RequestRecord
from sseguard.policy.base import Block, Policy, PolicyContext, PolicyError, ToolCall
from sseguard.policy.chain import PolicyChain, PolicySink
from sseguard.policy.noop import Noop
from sseguard.policy.tool_judge import ToolJudge
from sseguard.policy.tools import Tools
from sseguard.protocol.events import Event
from streams import (
    MESSAGE_STOP,
    assert_valid,
    block_stop,
    delta,
    message_delta,
    message_start,
    repair,
    text,
    text_start,
    texts,
    tool_start,
    wire,
)

DANGER = '{"command": "rm -rf /home/me/project"}'
HARMLESS = '{"command": "ls"}'


def answer(*tools: tuple[str, str], stop: str = "tool_use") -> list[Event]:
    """A repaired answer: a text block, then one tool call per ``(name, input json)``."""
    parts: list[dict[str, Any]] = [
        message_start(),
        text_start(0),
        text(0, "Let me see."),
        block_stop(0),
    ]
    for i, (name, given) in enumerate(tools, start=1):
        parts += [
            tool_start(i, f"toolu_{i}", name),
            delta(i, "input_json_delta", given[:7]),
            delta(i, "input_json_delta", given[7:]),
            block_stop(i),
        ]
    parts += [message_delta(stop), MESSAGE_STOP]
    events, _ = repair(wire(*parts))
    return events


def context(body: dict[str, Any] | None = None, ask: Any = None) -> PolicyContext:
    body = body or {"model": "claude-x", "max_tokens": 100, "messages": []}
    return PolicyContext(RequestRecord("sg_test", "/v1/messages"), body, {}, ask)


class Collected:
    """The client's end of a PolicySink: what was written, in order, and when it committed."""

    streaming = True

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.committed = False
        self.last_write = 0.0
        self.can_write_now = lambda: True

    async def write(self, events: list[Event]) -> None:
        self.committed = True
        self.events += events

    def write_now(self, events: list[Event]) -> None:
        self.events += events

    async def ping(self) -> None:
        return None


def through(chain: PolicyChain, ctx: PolicyContext, batches: list[list[Event]]) -> list[Event]:
    sink = Collected()
    policed = PolicySink(sink, chain, ctx)

    async def run() -> None:
        for batch in batches:
            await policed.write(batch)

    asyncio.run(run())
    return sink.events


def judged_by(verdicts: dict[str, float]) -> Any:
    """An ``ask`` that answers like a judge: the probability of the first name it finds."""
    asked: list[dict[str, Any]] = []

    async def ask(
        deployments: tuple[str, ...], body: dict[str, Any], ctx: Any, purpose: str
    ) -> dict[str, Any]:
        asked.append(body)
        question = body["messages"][-1]["content"]
        p = next((v for k, v in verdicts.items() if k in question), 0.0)
        reply = f'Here: {{"probability": {p}, "explanation": "checked {purpose}"}}'
        return {"content": [{"type": "text", "text": reply}]}

    ask.asked = asked  # type: ignore[attr-defined]
    return ask


def tool_judge(**options: Any) -> ToolJudge:
    return ToolJudge(ToolJudgeSpec(use="tool_judge", judge="judge", **options), 0)


def stop_reason(events: list[Event]) -> str:
    return next(e.payload["delta"]["stop_reason"] for e in events if e.type == "message_delta")


def tool_names(events: list[Event]) -> list[str]:
    return [
        e.payload["content_block"]["name"]
        for e in events
        if e.type == "content_block_start" and e.payload["content_block"]["type"] == "tool_use"
    ]


def test_noop_passes_the_very_events() -> None:
    events = answer(("Bash", HARMLESS))
    chain = PolicyChain([Noop(NoopSpec(use="noop"), 0)])
    assert not chain.holds
    out = through(chain, context(), [events])
    assert out == events and all(a is b for a, b in zip(out, events, strict=True))


def test_a_dangerous_call_becomes_text_and_the_turn_ends() -> None:
    ctx = context(ask=judged_by({"rm -rf": 0.97}))
    out = through(PolicyChain([tool_judge()]), ctx, [answer(("Bash", DANGER))])
    assert_valid(out)
    assert tool_names(out) == []
    said = texts(out)
    assert said.startswith("Let me see.") and "blocked a call to the tool 'Bash'" in said
    assert "rm -rf /home/me/project" in said and "0.97" in said
    assert stop_reason(out) == "end_turn"  # no tool_use is left for a tool_result to answer
    (decision,) = ctx.record.decisions
    assert (decision.policy, decision.decision, decision.subject) == ("tool_judge", "block", "Bash")
    assert decision.probability == 0.97 and decision.seconds is not None


def test_a_harmless_call_passes_unchanged() -> None:
    events = answer(("Bash", HARMLESS))
    ctx = context(ask=judged_by({"rm -rf": 0.97}))
    out = through(PolicyChain([tool_judge()]), ctx, [events])
    assert out == events
    assert [d.decision for d in ctx.record.decisions] == ["allow"]


def test_one_of_two_calls_blocked_keeps_tool_use() -> None:
    ctx = context(ask=judged_by({"rm -rf": 0.9}))
    out = through(PolicyChain([tool_judge()]), ctx, [answer(("Bash", DANGER), ("Read", HARMLESS))])
    assert_valid(out)
    assert tool_names(out) == ["Read"]
    assert stop_reason(out) == "tool_use"


def test_what_precedes_a_call_is_written_before_the_judge_is_awaited() -> None:
    """So the client is committed and pinged while a slow judge decides."""
    written_before_judging: list[int] = []
    sink = Collected()

    async def ask(*_: Any) -> dict[str, Any]:
        written_before_judging.append(len(sink.events))
        return {"content": [{"type": "text", "text": '{"probability": 0.1}'}]}

    events = answer(("Bash", HARMLESS))
    policed = PolicySink(sink, PolicyChain([tool_judge()]), context(ask=ask))
    asyncio.run(policed.write(events))
    assert written_before_judging == [4]  # message_start and the whole text block
    assert sink.events == events


def test_a_call_split_over_writes_is_judged_whole() -> None:
    events = answer(("Bash", DANGER))
    ctx = context(ask=judged_by({"rm -rf": 0.97}))
    out = through(PolicyChain([tool_judge()]), ctx, [[e] for e in events])
    assert_valid(out)
    assert tool_names(out) == [] and stop_reason(out) == "end_turn"


@pytest.mark.parametrize(
    ("reply", "on_error", "decision"),
    [
        ("I think this is fine.", "block", "block"),
        ("I think this is fine.", "allow", "allow"),
        ('{"probability": 7}', "block", "block"),
    ],
)
def test_an_unreadable_judge_decides_by_on_error(reply: str, on_error: str, decision: str) -> None:
    async def ask(*_: Any) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": reply}]}

    ctx = context(ask=ask)
    out = through(PolicyChain([tool_judge(on_error=on_error)]), ctx, [answer(("Bash", HARMLESS))])
    assert_valid(out)
    assert tool_names(out) == ([] if decision == "block" else ["Bash"])
    (made,) = ctx.record.decisions
    assert made.decision == decision and made.reason.startswith("the judge failed")


def test_a_failing_judge_call_and_a_slow_one_decide_by_on_error() -> None:
    async def fails(*_: Any) -> dict[str, Any]:
        raise GatewayError(529, "overloaded", "overloaded_error")

    async def hangs(*_: Any) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    for ask, why in ((fails, "overloaded"), (hangs, "no verdict within 0.05 s")):
        ctx = context(ask=ask)
        out = through(PolicyChain([tool_judge(timeout=0.05)]), ctx, [answer(("Bash", HARMLESS))])
        assert tool_names(out) == []
        assert why in ctx.record.decisions[0].reason


class Broken(Policy):
    judges_tools = True

    async def tool_call(self, ctx: PolicyContext, call: ToolCall) -> Block | None:
        raise KeyError("a bug")


def test_a_broken_policy_fails_closed_by_default_and_open_when_told() -> None:
    events = answer(("Bash", HARMLESS))
    ctx = context()
    with pytest.raises(PolicyError) as err:
        through(PolicyChain([Broken(NoopSpec(use="noop"), 0)]), ctx, [events])
    assert "KeyError" in err.value.public and "a bug" not in err.value.public
    assert ctx.record.decisions[0].decision == "error"

    ctx = context()
    chain = PolicyChain([Broken(NoopSpec(use="noop", on_failure="open"), 0)])
    assert through(chain, ctx, [events]) == events
    assert "failed open" in ctx.record.decisions[0].reason


def test_tools_policy_denies_by_glob_and_limits_requests() -> None:
    spec = ToolsSpec(use="tools", deny=("Bash*", "mcp__*"), models=("claude-*",), max_tokens=50)
    policy = Tools(spec, 0)
    ctx = context()
    out = through(
        PolicyChain([policy]), ctx, [answer(("BashOutput", HARMLESS), ("Read", HARMLESS))]
    )
    assert tool_names(out) == ["Read"]
    assert [d.decision for d in ctx.record.decisions] == ["block", "allow"]

    chain = PolicyChain([policy])
    capped = chain.request(ctx, {"model": "claude-x", "max_tokens": 4096, "messages": []})
    assert capped["max_tokens"] == 50
    with pytest.raises(GatewayError) as err:
        chain.request(ctx, {"model": "gpt-4o", "max_tokens": 10, "messages": []})
    assert err.value.status == 403 and err.value.error_type == "permission_error"


def test_the_judge_sees_the_call_and_the_users_last_words() -> None:
    ask = judged_by({})
    body = {
        "model": "claude-x",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "please clean the build"}]},
        ],
    }
    through(
        PolicyChain([tool_judge(model="judge-1")]), context(body, ask), [answer(("Bash", DANGER))]
    )
    (asked,) = ask.asked
    question = asked["messages"][0]["content"]
    assert "please clean the build" in question and "first" not in question
    assert "name: Bash" in question and "rm -rf /home/me/project" in question
    assert asked["model"] == "judge-1" and asked["stream"] is False


def test_a_decisions_reason_is_bounded() -> None:
    async def ask(*_: Any) -> dict[str, Any]:
        raise GatewayError(502, "upstream said: " + "x" * 5000)

    ctx = context(ask=ask)
    through(PolicyChain([tool_judge()]), ctx, [answer(("Bash", HARMLESS))])
    reason = ctx.record.decisions[0].reason
    assert len(reason) == 500 and reason.startswith("the judge failed: upstream said")
