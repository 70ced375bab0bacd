"""The dashboard's JSON answers: parameters read and bounded, the store's query functions called,
the results shaped for the page (fault IDs explained by the catalogue).

No SQL here: the request log owns its schema and statements (observe/log_sql.py), and
``log_target`` picks the store that reads the log, a SQLite file or a PostgreSQL database. Every
function is blocking (a database, files): the routes call them off the event loop.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import orjson

from sseguard.dashboard.captures import find_capture, read_capture
from sseguard.dashboard.catalogue import faults
from sseguard.observe import log_target
from sseguard.observe.log_sql import MAX_BUCKETS, Filters

RANGES = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "14d": 14 * 86400}
DEFAULT_RANGE = "1h"
PAGE_DEFAULT = 50
PAGE_MAX = 200
BUCKETS_DEFAULT = 60


class BadParameter(ValueError):
    """A query parameter the API cannot use; the message names it."""


def time_range(params: dict[str, str], now: float | None = None) -> tuple[float, float]:
    """[since, until) from ``range`` (a preset back from now) or ``since``/``until`` (epoch s)."""
    now = time.time() if now is None else now
    if "since" in params:
        since = _number(params, "since")
        until = _number(params, "until") if "until" in params else now
    else:
        name = params.get("range", DEFAULT_RANGE)
        if name not in RANGES:
            raise BadParameter(f"range: one of {', '.join(RANGES)}")
        since, until = now - RANGES[name], now
    if until <= since:
        raise BadParameter("until must come after since")
    return since, until


def deployments(log: str, params: dict[str, str]) -> dict[str, Any]:
    since, until = time_range(params)
    rows = log_target.deployment_summary(log, since, until)
    return {"since": since, "until": until, "deployments": rows, "faults": _named(rows)}


def series(log: str, params: dict[str, str]) -> dict[str, Any]:
    since, until = time_range(params)
    deployment = params.get("deployment")
    if not deployment:
        raise BadParameter("deployment: required")
    buckets = int(_number(params, "buckets", BUCKETS_DEFAULT))
    buckets = max(1, min(buckets, MAX_BUCKETS))
    points = log_target.deployment_series(log, deployment, since, until, buckets)
    return {
        "since": since,
        "until": until,
        "deployment": deployment,
        "width": (until - since) / buckets,
        "points": points,
    }


def requests(log: str, params: dict[str, str]) -> dict[str, Any]:
    """A page of requests, newest first; ``next`` is the cursor of the page after, or None."""
    since, until = time_range(params)
    limit = int(_number(params, "limit", PAGE_DEFAULT))
    limit = max(1, min(limit, PAGE_MAX))
    filters = Filters(
        since=since,
        until=until,
        deployment=params.get("deployment") or None,
        anomaly=params.get("anomaly") or None,
        outcome=params.get("outcome") or None,
        routed=params.get("all") != "1",
        before=_cursor(params["cursor"]) if params.get("cursor") else None,
        limit=limit + 1,  # one more says whether there is a next page
    )
    rows = log_target.query(log, filters)
    page = rows[:limit]
    after = None
    if len(rows) > limit:
        last = page[-1]
        after = base64.urlsafe_b64encode(
            orjson.dumps([last["started_at"], last["request_id"]])
        ).decode()
    return {"requests": [_row(rec) for rec in page], "next": after}


def request(log: str | None, captures: Path, request_id: str) -> dict[str, Any] | None:
    """One request in full: the record, its judge calls, the catalogue text of every fault it
    names, and whether a capture was kept."""
    rec = log_target.find(log, request_id) if log is not None else None
    folder = find_capture(captures, request_id)
    if rec is None and folder is None:
        return None
    calls = (
        [_row(r) for r in log_target.query(log, Filters(parent=request_id, limit=PAGE_MAX))]
        if log is not None and rec is not None
        else []
    )
    ids = set(rec["anomalies"]) if rec else set()
    ids |= {a["fault"] for a in rec["attempts"] if a.get("fault")} if rec else set()
    table = faults()
    return {
        "record": rec,
        "calls": calls,
        "faults": {f: table[f] for f in sorted(ids) if f in table},
        "capture": folder is not None,
    }


def capture(captures: Path, request_id: str) -> dict[str, Any] | None:
    folder = find_capture(captures, request_id)
    if folder is None:
        return None
    shown = read_capture(folder)
    ids = {f for up in shown["upstream"] for f in up["replay"]["anomalies"]}
    table = faults()
    shown["faults"] = {f: table[f] for f in sorted(ids) if f in table}
    return shown


def _row(rec: dict[str, Any]) -> dict[str, Any]:
    """A list row: the record without its attempts' and decisions' details."""
    keep = (
        "request_id",
        "started_at",
        "endpoint",
        "client_model",
        "deployment",
        "deployments",
        "status",
        "outcome",
        "midstream",
        "resumes",
        "ttft",
        "duration",
        "max_gap",
        "anomalies",
        "parent_id",
        "stream",
    )
    row = {name: rec.get(name) for name in keep}
    row["decisions"] = len(rec.get("decisions", ()))
    return row


def _named(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the fault IDs the rows mention, for labels (the detail view has the rest)."""
    table = faults()
    ids = {f for row in rows for f in row["anomalies"]}
    return {f: table[f]["name"] for f in sorted(ids) if f in table}


def _number(params: dict[str, str], name: str, default: float | None = None) -> float:
    if name not in params:
        if default is None:
            raise BadParameter(f"{name}: required")
        return default
    try:
        value = float(params[name])
    except ValueError:
        raise BadParameter(f"{name}: not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadParameter(f"{name}: not a finite number")
    return value


def _cursor(text: str) -> tuple[float, str]:
    try:
        started_at, request_id = orjson.loads(base64.urlsafe_b64decode(text.encode()))
        return float(started_at), str(request_id)
    except (ValueError, TypeError):
        raise BadParameter("cursor: not one this API gave") from None
