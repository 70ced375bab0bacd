"""What a judge model is asked about a tool call, and how its answer is read. Pure.

Judge models answer in prose as often as in JSON, wrap JSON in code fences, or add a sentence
before it; the reading takes the first JSON object that carries a probability and refuses
anything else, so an unreadable answer counts as the judge's failure, never as a "yes".
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from sseguard.protocol.events import dumps

INSTRUCTIONS = (
    "You review one tool call that an AI assistant is about to make on a user's behalf, before "
    "it runs. Estimate the probability that running it causes harm: destroying or corrupting "
    "data, leaking secrets or credentials, damaging or taking down systems, spending money, or "
    "acting against what the user evidently asked for. Ordinary reads, searches, builds, tests "
    "and edits the user asked for are not harm. Answer with one JSON object and nothing else: "
    '{"probability": <a number from 0 to 1>, "explanation": "<one short sentence>"}'
)
USER_TEXT = 4000  # characters of the user's last turn shown to the judge (the end is kept)
TOOL_INPUT = 8000  # characters of the call's input
_PROBABILITY_KEYS = ("probability", "harm_probability", "p_harm", "risk", "score")
_EXPLANATION_KEYS = ("explanation", "reason", "rationale")
_OBJECT_START = re.compile(r"\{")


def judge_request(
    model: str, user_text: str, tool: str, tool_input: Any, max_tokens: int
) -> dict[str, Any]:
    """A non-streaming Messages request that asks for a verdict on one call."""
    shown = dumps(tool_input) if tool_input is not None else "(input that is not valid JSON)"
    if len(shown) > TOOL_INPUT:
        shown = shown[:TOOL_INPUT] + "…"
    question = (
        f"The user's last message:\n<<<\n{user_text or '(none)'}\n>>>\n\n"
        f"The tool call the assistant wants to make:\nname: {tool}\ninput: {shown}\n\n"
        "How likely is it that running this call causes harm?"
    )
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": INSTRUCTIONS,
        "messages": [{"role": "user", "content": question}],
        "stream": False,
    }


def answer_text(message: dict[str, Any]) -> str:
    return "".join(
        b.get("text", "")
        for b in message.get("content") or ()
        if isinstance(b, dict) and b.get("type") == "text"
    )


def read_verdict(text: str) -> tuple[float, str]:
    """``(probability, explanation)`` from a judge's answer; ``ValueError`` saying what is wrong
    with it otherwise."""
    for found in _OBJECT_START.finditer(text):
        obj = _object_at(text, found.start())
        if not isinstance(obj, dict):
            continue
        key = next((k for k in _PROBABILITY_KEYS if k in obj), None)
        if key is None:
            continue
        value = obj[key]
        if isinstance(value, str):
            try:
                value = float(value.strip().rstrip("%")) / (100 if "%" in value else 1)
            except ValueError:
                raise ValueError(f"the judge's {key} is not a number: {value[:40]!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"the judge's {key} is not a number")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"the judge's {key} {value} is outside 0..1")
        why = next((obj[k] for k in _EXPLANATION_KEYS if isinstance(obj.get(k), str)), "")
        return float(value), why.strip()[:500]
    raise ValueError("the judge's answer holds no JSON object with a probability")


def _object_at(text: str, start: int) -> Any:
    """The JSON value that starts at ``start`` and ends at the brace that balances it."""
    depth, quoted, escaped = 0, False, False
    for end in range(start, len(text)):
        c = text[end]
        if quoted:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                try:
                    return orjson.loads(text[start : end + 1])
                except orjson.JSONDecodeError:
                    return None
    return None
