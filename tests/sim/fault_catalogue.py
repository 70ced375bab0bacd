"""docs/faults.md as data: the fault IDs of its tables and the simulator scenarios each row names.

A row is a table line whose first cell is an ID (``| F02 | ...``); its last cell lists the scenarios
that play it, each in backticks, or says ``no scenario yet``.
"""

from __future__ import annotations

import re
from pathlib import Path

FAULTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "faults.md"
NO_SCENARIO = "no scenario yet"
_ROW = re.compile(r"^\| (F\d+b?) \|(.*)\|[ \t]*$", re.MULTILINE)
_NAME = re.compile(r"`([a-z0-9_]+)`")


def fault_rows() -> dict[str, str]:
    """Each ID of the catalogue's tables with the text of its last (scenario) cell."""
    rows: dict[str, str] = {}
    for m in _ROW.finditer(FAULTS_DOC.read_text(encoding="utf-8")):
        fault = m.group(1)
        assert fault not in rows, f"{fault} has two rows in {FAULTS_DOC}"
        rows[fault] = m.group(2).rsplit("|", 1)[-1].strip()
    return rows


def listed_scenarios() -> dict[str, set[str]]:
    """Each ID with the scenario names its row lists (empty for ``no scenario yet``)."""
    return {fault: set(_NAME.findall(cell)) for fault, cell in fault_rows().items()}
