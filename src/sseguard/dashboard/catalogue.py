"""The fault catalogue's text for each ID, for the dashboard to explain what it counts.

docs/faults.md is the one source: ``faults.json`` beside this module is generated from its
tables (``python -m sseguard.dashboard.catalogue docs/faults.md``), because the docs are not
installed with the package, and a test fails when the two differ.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from importlib.resources import files
from pathlib import Path

# A table row whose first cell is a fault ID: | F02 | Name | What arrives | What sseguard does | ...
_ROW = re.compile(r"^\| (F\d+b?) \|(.*)\|[ \t]*$", re.MULTILINE)
_CELL = re.compile(r"(?<!\\)\|")
FIELDS = ("name", "arrives", "does")


def parse(markdown: str) -> dict[str, dict[str, str]]:
    """Each ID of the catalogue's tables with its name, what arrives and what sseguard does."""
    out: dict[str, dict[str, str]] = {}
    for m in _ROW.finditer(markdown):
        cells = [c.strip().replace("\\|", "|") for c in _CELL.split(m.group(2))]
        out[m.group(1)] = dict(zip(FIELDS, cells[: len(FIELDS)], strict=True))
    return out


@cache
def faults() -> dict[str, dict[str, str]]:
    """The packaged table, read once."""
    raw = files("sseguard.dashboard").joinpath("faults.json").read_text(encoding="utf-8")
    table: dict[str, dict[str, str]] = json.loads(raw)
    return table


def render(table: dict[str, dict[str, str]]) -> str:
    return json.dumps(table, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/faults.md")
    target = Path(__file__).with_name("faults.json")
    target.write_text(render(parse(source.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {target} from {source}")
