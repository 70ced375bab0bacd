"""Records of what the repair layer changed or could not fix, keyed by fault ID (docs/faults.md).

They feed metrics (``fault="F02"``), logs, ``probe`` and ``replay``; the stream itself stays valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_DETAILS = 8  # per fault ID: enough to diagnose, bounded for endless faults (F11 loops)


@dataclass(slots=True)
class Anomaly:
    fault: str
    count: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str:
        return self.details[0] if self.details else ""


class AnomalyLog:
    """Counts per fault ID with the first few details; insertion order is first occurrence."""

    __slots__ = ("_by_fault",)

    def __init__(self) -> None:
        self._by_fault: dict[str, Anomaly] = {}

    def record(self, fault: str, detail: str) -> None:
        entry = self._by_fault.get(fault)
        if entry is None:
            entry = self._by_fault[fault] = Anomaly(fault)
        entry.count += 1
        if len(entry.details) < MAX_DETAILS:
            entry.details.append(detail)

    def __iter__(self) -> Iterator[Anomaly]:
        return iter(self._by_fault.values())

    def __len__(self) -> int:
        return len(self._by_fault)

    def __contains__(self, fault: object) -> bool:
        return fault in self._by_fault

    def get(self, fault: str) -> Anomaly | None:
        return self._by_fault.get(fault)

    def counts(self) -> dict[str, int]:
        return {a.fault: a.count for a in self._by_fault.values()}
