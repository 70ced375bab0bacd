"""Reading a judge's answer: the first JSON object with a probability, or a clear refusal."""

from __future__ import annotations

import pytest

from sseguard.policy.judging import read_verdict


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"probability": 0.9, "explanation": "deletes a tree"}', (0.9, "deletes a tree")),
        ('```json\n{"probability": 0, "reason": "a read"}\n```', (0.0, "a read")),
        ('Sure. {"note": "x"} then {"harm_probability": "0.4"}', (0.4, "")),
        ('{"probability": "85%", "explanation": "drops {a table}"}', (0.85, "drops {a table}")),
        ('{"probability": 1}', (1.0, "")),
    ],
)
def test_verdicts_are_read_robustly(answer: str, expected: tuple[float, str]) -> None:
    assert read_verdict(answer) == expected


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("It looks dangerous to me.", "no JSON object"),
        ('{"probability": 1.5}', "outside 0..1"),
        ('{"probability": true}', "not a number"),
        ('{"probability": "high"}', "not a number"),
        ('{"probability": 0.2', "no JSON object"),
    ],
)
def test_unreadable_verdicts_are_errors(answer: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        read_verdict(answer)
