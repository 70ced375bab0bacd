"""Whether an endpoint takes an assistant prefill (F37), judged without I/O.

The check asks a question twice: once alone, then with the opening words of that first answer as
a trailing assistant turn. A model that takes the prefill carries on after those words; one that
ignores it (vLLM without ``continue_final_message``) answers from the top, so its answer starts with
them again; one that refuses it (every Claude model since 4.6) answers 400. The prefill is taken
from the model's own first answer rather than fixed, so the judgement holds however the model
phrases an answer ("Sure! 1, 2, 3" as well as "1, 2, 3"), and for a server that gives every
question the same answer, as the simulator does.

Refusing or ignoring a prefill is a capability of the model, not a fault of the stream: the
gateway's ``continuation: auto`` asks such a deployment by instruction. So the check is reported
as information; it adds no finding and never changes the verdict or the exit status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

import orjson

from sseguard.resilience.continuation import refuses_prefill

# Counting: an answer from the top starts with the same words nearly every time.
QUESTION = "Count from 1 to 10, separated by commas."
OPENING_WORDS = 3  # of the first answer, sent as the prefill: "1, 2, 3,"
ADVICE = "continuation: auto handles it (instruct)"
_WORD = re.compile(r"\S+")
_QUOTED = 60  # characters of an answer quoted in the report

Result = Literal["accepts", "refuses", "ignores", "unknown"]
_SUMMARY = {
    "accepts": "accepts prefill",
    "refuses": "refuses prefill (F37)",
    "ignores": "ignores prefill (F37)",
}


class ErrorAnswer(NamedTuple):
    """A request of the check answered with another status than 200."""

    status: int
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.error_type}: {self.message}"


@dataclass(frozen=True, slots=True)
class PrefillCheck:
    result: Result
    detail: str  # the refusal, the answer's start, or what kept the probe from telling
    prefill: str = ""  # the assistant turn sent; "" when the check never got that far

    @property
    def summary(self) -> str:
        return _SUMMARY.get(self.result) or f"could not tell: {self.detail}"

    @property
    def fault(self) -> str | None:
        return "F37" if self.result in ("refuses", "ignores") else None

    @property
    def advice(self) -> str | None:
        return ADVICE if self.fault else None


def opening(answer: str) -> str:
    """The prefill taken from a first answer: its first words, ending at a word's end (the API
    refuses a final assistant turn that ends in whitespace) and leaving at least one word for
    the continuation; "" when the answer has fewer than two words."""
    words = list(_WORD.finditer(answer))[: OPENING_WORDS + 1]
    n = min(OPENING_WORDS, len(words) - 1)
    return answer[words[0].start() : words[n - 1].end()] if n > 0 else ""


def judge_answer(prefill: str, answer: str) -> PrefillCheck:
    """A 200 to the prefilled request: it started over if its text begins with the prefill."""
    if not answer.strip():
        return PrefillCheck("unknown", "the answer to the prefill holds no text", prefill)
    if answer.lstrip().startswith(prefill):
        return PrefillCheck("ignores", f"answered from the top: {quote(answer)}", prefill)
    return PrefillCheck("accepts", f"continued with {quote(answer)}", prefill)


def judge_error(prefill: str, error: ErrorAnswer) -> PrefillCheck:
    """Any other status to the prefilled request: a refusal if its words say so (the gateway's
    own rule, so what probe reports is what ``continuation: auto`` will learn)."""
    if refuses_prefill(error.status, error.error_type, error.message):
        return PrefillCheck("refuses", str(error), prefill)
    return PrefillCheck("unknown", f"the prefilled request: {error}", prefill)


def quote(text: str) -> str:
    """The start of an answer as a JSON string: quoted, line ends and control characters shown."""
    cut = text[:_QUOTED]
    return orjson.dumps(cut).decode() + ("…" if len(text) > _QUOTED else "")
