"""``tools``: rules that need no judge — which tools may be called (name globs), which models a
route's clients may ask for, and a cap on ``max_tokens``."""

from __future__ import annotations

import fnmatch
from typing import Any

from sseguard.config.policy_specs import ToolsSpec
from sseguard.errors import GatewayError
from sseguard.observe.record import Decision
from sseguard.policy.base import Block, Policy, PolicyContext, ToolCall


class Tools(Policy):
    def __init__(self, spec: ToolsSpec, place: int) -> None:
        super().__init__(spec, place)
        self.rules = spec
        self.judges_tools = bool(spec.allow or spec.deny)

    def request(self, ctx: PolicyContext, body: dict[str, Any]) -> dict[str, Any]:
        rules = self.rules
        model = str(body.get("model", ""))
        if rules.models and not any(fnmatch.fnmatchcase(model, g) for g in rules.models):
            ctx.decide(Decision(self.name, "refuse", model, "model not in the tools policy's list"))
            raise GatewayError(
                403, f"model: {model!r} is not allowed on this route", "permission_error"
            )
        cap = rules.max_tokens
        asked = body.get("max_tokens")
        if cap is not None and isinstance(asked, int) and asked > cap:
            ctx.decide(Decision(self.name, "cap", model, f"max_tokens {asked} capped to {cap}"))
            body = {**body, "max_tokens": cap}
        return body

    async def tool_call(self, ctx: PolicyContext, call: ToolCall) -> Block | None:
        why = self.refusal(call.name)
        ctx.decide(Decision(self.name, "allow" if why is None else "block", call.name, why or ""))
        return None if why is None else Block(why)

    def refusal(self, tool: str) -> str | None:
        """Why ``tool`` may not be called here, or None when it may."""
        rules = self.rules
        denied = next((g for g in rules.deny if fnmatch.fnmatchcase(tool, g)), None)
        if denied is not None:
            return f"tools matching {denied!r} are denied on this route"
        if rules.allow and not any(fnmatch.fnmatchcase(tool, g) for g in rules.allow):
            return "the tool is not in this route's allowed list"
        return None
