"""A route's policies from its configuration: one chain per route, built once."""

from __future__ import annotations

from sseguard.config import Route
from sseguard.config.policy_specs import NoopSpec, PolicySpec, RedactSpec, ToolJudgeSpec, ToolsSpec
from sseguard.policy.base import Policy
from sseguard.policy.chain import PolicyChain
from sseguard.policy.noop import Noop
from sseguard.policy.redact import Redact
from sseguard.policy.tool_judge import ToolJudge
from sseguard.policy.tools import Tools


def chain_for(route: Route) -> PolicyChain | None:
    """``None`` for a route without policies: its requests take no policy path at all."""
    if not route.policies:
        return None
    return PolicyChain([_policy(spec, place) for place, spec in enumerate(route.policies)])


def _policy(spec: PolicySpec, place: int) -> Policy:
    if isinstance(spec, ToolJudgeSpec):
        return ToolJudge(spec, place)
    if isinstance(spec, ToolsSpec):
        return Tools(spec, place)
    if isinstance(spec, RedactSpec):
        return Redact(spec, place)
    assert isinstance(spec, NoopSpec)
    return Noop(spec, place)
