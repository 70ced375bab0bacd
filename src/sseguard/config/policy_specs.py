"""What a route's ``policies:`` list may hold: one model per built-in policy, told apart by
``use``. The policies themselves are in ``sseguard.policy``; this is only their configuration."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from sseguard.config.types import Flag, Glob, Model, Name, Seconds
from sseguard.policy.masking import pattern

# closed: a policy that fails ends the request with a typed error (a real status when nothing
# was sent yet); open: the request goes on as if the policy were not there, and says so in the log.
OnFailure = Literal["closed", "open"]


class NoopSpec(Model):
    """Passes everything: the cost of the layer itself, measured."""

    use: Literal["noop"]
    on_failure: OnFailure = "closed"


class ToolJudgeSpec(Model):
    """Each tool call the model makes is held whole and shown to a judge model first."""

    use: Literal["tool_judge"]
    # The deployment(s) that judge, in fallback order, with the same timeouts and retries as any
    # request; their calls are logged as requests of their own.
    judge: Name | tuple[Name, ...]
    model: str | None = None  # the judge's model; by default the model the client asked for
    threshold: Annotated[float, Field(strict=False, ge=0.0, le=1.0)] = 0.6
    on_error: Literal["block", "allow"] = "block"  # the judge failed or answered nonsense
    timeout: Seconds = 60.0  # for one judgement, retries included
    max_tokens: Annotated[int, Field(strict=True, gt=0)] = 512
    on_failure: OnFailure = "closed"

    @property
    def judges(self) -> tuple[str, ...]:
        return (self.judge,) if isinstance(self.judge, str) else self.judge


class RedactSpec(Model):
    """Secrets masked in text and tool input as they stream."""

    use: Literal["redact"]
    defaults: Flag = True  # the built-in patterns (provider keys, tokens, private keys)
    patterns: dict[Name, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict
    )  # name → bounded regex
    mask: Annotated[str, Field(min_length=1, max_length=200)] = "[redacted {name}]"
    tool_input: Flag = True
    on_failure: OnFailure = "closed"

    @field_validator("patterns")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for name, regex in value.items():
            pattern(name, regex)  # raises ValueError naming the pattern and what is wrong
        return value

    @field_validator("mask")
    @classmethod
    def _json_safe(cls, value: str) -> str:
        # The mask also goes inside tool input JSON strings, as it is.
        if any(c in value for c in '"\\') or any(ord(c) < 0x20 for c in value):
            raise ValueError("the mask may not hold quotes, backslashes or control characters")
        return value


class ToolsSpec(Model):
    """Rules on tool names and on the request: which tools may be called, which models asked
    for, how many tokens at most."""

    use: Literal["tools"]
    allow: tuple[Glob, ...] = ()  # tool name globs; empty: every tool not denied
    deny: tuple[Glob, ...] = ()  # tool name globs; deny wins over allow
    models: tuple[Glob, ...] = ()  # client model globs allowed; empty: any the route serves
    max_tokens: Annotated[int, Field(strict=True, gt=0)] | None = (
        None  # a request asking more gets this
    )
    on_failure: OnFailure = "closed"


PolicySpec = Annotated[
    NoopSpec | ToolJudgeSpec | RedactSpec | ToolsSpec, Field(discriminator="use")
]


def judges_tools(spec: PolicySpec) -> bool:
    """Whether the policy decides on whole tool calls (they must be held whole to be judged)."""
    if isinstance(spec, ToolJudgeSpec):
        return True
    return isinstance(spec, ToolsSpec) and bool(spec.allow or spec.deny)
