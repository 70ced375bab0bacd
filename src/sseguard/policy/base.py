"""What a policy is: hooks on the request, on each repaired event, on each whole tool call and
on completion; the per-request context they keep their state on; and how a policy says no.

Policies are stateless objects built once per route from its configuration; everything that
belongs to one request lives on its ``PolicyContext`` (docs/policies.md, "Writing a policy").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sseguard.config.policy_specs import PolicySpec
from sseguard.observe.record import Decision, RequestRecord
from sseguard.protocol.events import Event

# Asks a deployment (or a fallback chain of them) one non-streaming Messages question on behalf of
# a request, through the gateway's resilience; returns the answer Message or raises GatewayError.
AskModel = Callable[
    [tuple[str, ...], dict[str, Any], "PolicyContext", str], Awaitable[dict[str, Any]]
]


REASON_LIMIT = 500  # characters of a decision's reason kept in the record and the log


@dataclass(slots=True)
class ToolCall:
    """A whole tool_use block, held back from the client while policies decide on it."""

    index: int
    id: str
    name: str
    input: Any  # the parsed input; None when its JSON does not parse
    events: list[Event]  # start, deltas and stop, as they will be sent if allowed


@dataclass(slots=True, frozen=True)
class Block:
    """A policy's "no" to a tool call: the client gets a text block with ``reason`` instead."""

    reason: str


class PolicyError(Exception):
    """A policy failed (not decided: failed) and is configured to fail closed."""

    def __init__(self, policy: str, cause: BaseException) -> None:
        self.policy = policy
        # For the client: the kind of failure, not its text, which may quote the request.
        self.public = f"the {policy} policy failed ({type(cause).__name__}) and fails closed"
        super().__init__(f"the {policy} policy failed ({type(cause).__name__}: {cause})")


@dataclass(slots=True)
class PolicyContext:
    """One request's state across its policies: what the client asked, what was decided, and a
    slot per policy for its own state."""

    record: RequestRecord
    body: dict[str, Any]  # the request in Messages form, as the policies left it
    headers: dict[str, str]  # the client's, lower-cased: a judge on a pass-through key needs them
    ask: AskModel | None = None
    state: dict[int, Any] = field(default_factory=dict)  # by the policy's place in the route
    off: set[int] = field(default_factory=set)  # places of policies that failed open
    tools_passed: int = 0  # tool calls the client got
    tools_blocked: int = 0  # tool calls replaced by text

    def decide(self, decision: Decision) -> None:
        if len(decision.reason) > REASON_LIMIT:  # a judge's words may quote the whole call
            decision.reason = decision.reason[: REASON_LIMIT - 1] + "…"
        self.record.decisions.append(decision)

    def last_user_text(self, limit: int = 4000) -> str:
        """The text of the conversation's last user turn (its tool results' text too), for a
        judge that must know what the user asked for; the end is kept when it is too long."""
        for message in reversed(self.body.get("messages") or ()):
            if isinstance(message, dict) and message.get("role") == "user":
                text = _text_of(message.get("content"))
                return text if len(text) <= limit else "…" + text[-limit:]
        return ""


class Policy:
    """A policy with every hook a no-op. Subclasses override what they need; a hook that raises
    is a failure of the policy (``on_failure`` decides what the request does about it).

    ``judges_tools``: the chain holds each tool call whole and awaits ``tool_call`` for it; such a
    route's events go through the awaited write path (a judge takes time), the others keep the
    relay's direct path.
    """

    judges_tools = False

    def __init__(self, spec: PolicySpec, place: int) -> None:
        self.spec = spec
        self.name: str = spec.use
        self.place = place  # its index in the route's list: the key of its per-request state
        self.fails_open = spec.on_failure == "open"

    def request(self, ctx: PolicyContext, body: dict[str, Any]) -> dict[str, Any]:
        """The request before any upstream sees it: returned as is, changed (a copy), or refused
        with ``GatewayError``."""
        return body

    def events(self, ctx: PolicyContext, events: list[Event]) -> list[Event]:
        """Repaired events on their way to the client: a valid stream in, a valid stream out."""
        return events

    async def tool_call(self, ctx: PolicyContext, call: ToolCall) -> Block | None:
        """One whole tool call (only with ``judges_tools``): ``None`` lets it through."""
        return None

    def complete(self, ctx: PolicyContext) -> None:
        """The request is over, however it ended."""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content")))
    return "\n".join(p for p in parts if p)
