"""``tool_judge``: every tool call is shown to a judge model before the client gets it; above the
threshold it is blocked (the client gets a text block saying so instead).

The judge is asked through the gateway's own resilience (its deployments' timeouts, retries and
fallback), and its call is logged as a request of its own with this request as its parent. A
judge that fails, times out or answers something unreadable decides by ``on_error``.
"""

from __future__ import annotations

import asyncio
import time

from sseguard.config.policy_specs import ToolJudgeSpec
from sseguard.errors import GatewayError
from sseguard.observe.record import Decision
from sseguard.policy.base import Block, Policy, PolicyContext, ToolCall
from sseguard.policy.judging import answer_text, judge_request, read_verdict


class ToolJudge(Policy):
    judges_tools = True

    def __init__(self, spec: ToolJudgeSpec, place: int) -> None:
        super().__init__(spec, place)
        self.options = spec

    async def tool_call(self, ctx: PolicyContext, call: ToolCall) -> Block | None:
        opts = self.options
        assert ctx.ask is not None, "a judging policy needs the gateway's ask"
        model = opts.model or str(ctx.body.get("model", ""))
        body = judge_request(model, ctx.last_user_text(), call.name, call.input, opts.max_tokens)
        started = time.monotonic()
        try:
            async with asyncio.timeout(opts.timeout):
                message = await ctx.ask(opts.judges, body, ctx, self.name)
            probability, explanation = read_verdict(answer_text(message))
        except (GatewayError, ValueError, TimeoutError) as exc:
            why = (
                f"no verdict within {opts.timeout:g} s"
                if isinstance(exc, TimeoutError)
                else str(exc)
            )
            block = opts.on_error == "block"
            seconds = time.monotonic() - started
            decision = Decision(
                self.name,
                "block" if block else "allow",
                call.name,
                f"the judge failed: {why}",
                seconds=seconds,
            )
            ctx.decide(decision)
            return (
                Block(f"the judge could not decide ({why}), and this route blocks then")
                if block
                else None
            )
        seconds = time.monotonic() - started
        blocked = probability >= opts.threshold
        verdict = "block" if blocked else "allow"
        ctx.decide(Decision(self.name, verdict, call.name, explanation, probability, seconds))
        if not blocked:
            return None
        return Block(
            f"the judge rated its harm at {probability:.2f} (threshold {opts.threshold:g})"
            + (f": {explanation}" if explanation else "")
        )
