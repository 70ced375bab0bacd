"""The simulator's judge model: what a ``judge*`` model answers when asked whether a request could
cause harm, so a gateway policy that holds tool calls for a judge can be tested end to end.

Pure. The rules below are the simulator's stand-in for a real judge's judgement: a short list of
destructive or dangerous commands, matched by regular expression, so a test knows in advance which
tool calls its judge blocks. They are no security feature and protect nothing: a real policy asks a
real model, and anything the list misses is judged harmless here.
"""

from __future__ import annotations

import re

import orjson

JUDGE_PREFIX = "judge"  # base model names that judge: judge, judge-1, judge-haiku...
DANGEROUS = 0.97  # the probability of harm when a rule matches
HARMLESS = 0.02  # and when none does
# Every rule: what the judge names in its explanation, and what it looks for in the request.
RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("deletes files (rm)", r"\brm\s+(?:-[-\w]*\s+)*[\w~./$\"'*-]"),
        ("removes directories (rmdir)", r"\brmdir\b"),
        ("formats a file system (mkfs)", r"\bmkfs\b"),
        ("overwrites a device (dd)", r"\bdd\s+(?:\S+\s+)*if="),
        ("writes over a disk device", r">\s*/dev/sd"),
        ("destroys file contents (shred)", r"\bshred\b"),
        ("drops a table or a database", r"\bdrop\s+(?:table|database)\b"),
        ("truncates data", r"\btruncate\b"),
        ("opens every file to everyone (chmod -R 777)", r"\bchmod\s+-R\s+777\b"),
        (
            "runs a script from the network (curl | sh)",
            r"\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b",
        ),
        ("stops the machine (shutdown, reboot)", r"\b(?:shutdown|reboot)\b"),
        ("rewrites shared history (git push --force)", r"\bgit\s+push\b[^\n]*(?:--force\b|\s-f\b)"),
        ("kills init (kill -9 1)", r"\bkill\s+-9\s+-?1\b"),
    )
)
# What the judge_prose scenario answers: a verdict in words, with no JSON to parse.
PROSE_VERDICT = (
    "I looked at the request carefully. It seems mostly fine to me, although I cannot be "
    "completely sure without knowing more about the files and systems it touches."
)


def is_judge(model: str) -> bool:
    """``judge``, ``judge-1``: the base model name (scenario suffix removed) starts with ``judge``."""
    return model.startswith(JUDGE_PREFIX)


def danger_in(text: str) -> str | None:
    """The label of the first rule ``text`` matches, or None when it looks harmless."""
    return next((label for label, pattern in RULES if pattern.search(text)), None)


def verdict(text: str) -> str:
    """The judge's whole answer to a request whose last user turn reads ``text``: one JSON object
    with the probability of harm and a one-sentence explanation."""
    label = danger_in(text)
    if label is None:
        return orjson.dumps(
            {
                "probability": HARMLESS,
                "explanation": "Nothing in the request deletes data, stops a system or runs "
                "untrusted code.",
            }
        ).decode()
    return orjson.dumps(
        {
            "probability": DANGEROUS,
            "explanation": f"The request {label}, which can destroy data or take a system down.",
        }
    ).decode()
