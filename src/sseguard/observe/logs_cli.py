"""``sseguard logs``: parse its filters and print request log rows as a table or JSON lines.

Presentation only: the SQL and the schema belong to ``store``; this module never writes the log.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import orjson

DURATION = re.compile(r"(\d+)([smhd])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_FORMS = (
    "a duration back from now (30s, 10m, 2h, 7d) or a time "
    "(2026-11-21, 2026-11-21T10:00, 2026-11-21T10:00:00+01:00; local time unless it has an offset)"
)
HEADERS = (
    "time",
    "request id",
    "model",
    "deployment",
    "status",
    "outcome",
    "ttft",
    "duration",
    "tokens in/out",
    "anomalies",
    "decisions",
)


def parse_since(text: str, now: float | None = None) -> float:
    """Epoch seconds for ``--since``; ValueError names the accepted forms."""
    m = DURATION.fullmatch(text)
    if m:
        return (time.time() if now is None else now) - int(m.group(1)) * UNIT_SECONDS[m.group(2)]
    try:
        return datetime.fromisoformat(text).timestamp()  # naive: local time
    except ValueError:
        raise ValueError(f"{text!r} is not {SINCE_FORMS}") from None


def json_lines(records: list[dict[str, Any]]) -> str:
    return "\n".join(orjson.dumps(rec).decode() for rec in records)


def table(records: list[dict[str, Any]]) -> str:
    rows = [HEADERS, *(_cells(rec) for rec in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _cells(rec: dict[str, Any]) -> tuple[str, ...]:
    anomalies = ",".join(
        fault if count == 1 else f"{fault}×{count}"
        for fault, count in sorted(rec["anomalies"].items())
    )
    request_id = rec["request_id"]
    if rec["parent_id"]:  # a judge's call: which client request it decided about
        request_id += f" (for {rec['parent_id']})"
    return (
        datetime.fromtimestamp(rec["started_at"]).strftime("%Y-%m-%d %H:%M:%S"),
        request_id,
        rec["client_model"] or "-",
        rec["deployment"] or "-",
        str(rec["status"]),
        rec["outcome"],
        _seconds(rec["ttft"]),
        _seconds(rec["duration"]),
        f"{rec['input_tokens']}/{rec['output_tokens']}",
        anomalies or "-",
        decisions(rec["decisions"]) or "-",
    )


def decisions(items: list[dict[str, Any]]) -> str:
    """``tool_judge:block(Bash),redact:mask(email)``: policy, decision and subject, in the order
    decided; a repeat is counted (``tool_judge:allow(Read)×3``), not listed again, so a long agent
    turn stays one line. The reason and the probability are in ``--json``."""
    counts: dict[str, int] = {}
    for item in items:
        subject = f"({item['subject']})" if item["subject"] else ""
        key = f"{item['policy']}:{item['decision']}{subject}"
        counts[key] = counts.get(key, 0) + 1
    return ",".join(key if n == 1 else f"{key}×{n}" for key, n in counts.items())


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"
