"""The request log's schema, migrations and statements, written once for SQLite and PostgreSQL.

Both stores (``store`` for a SQLite file, ``store_pg`` for a PostgreSQL database) run these: the
migration list is this module's alone, so the two schemas cannot drift apart. The SQL keeps to what
both dialects read the same way (plain types, ``ON CONFLICT DO NOTHING``, ``IN (SELECT … LIMIT
?)``) with ``?`` placeholders, which the PostgreSQL store turns into its own. What differs is
written apart as ``Only`` statements; so far that is one thing: SQLite's implicit ``rowid``, which
retention by row count reads, is an identity column of that name in PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from sseguard.observe.record import RequestRecord

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Only:
    """A statement one dialect runs and the other skips (it has the same thing built in)."""

    dialect: Dialect
    sql: str


# Each step runs once, in order, in its own transaction; version N is MIGRATIONS[N - 1]. Append new
# steps, never edit what a released version applied (an ``Only`` for the other dialect leaves the
# first's databases as they are: PostgreSQL's statements in step 1 came before any PostgreSQL log).
MIGRATIONS: tuple[tuple[str | Only, ...], ...] = (
    (
        """CREATE TABLE requests (
            request_id TEXT PRIMARY KEY,
            started_at DOUBLE PRECISION NOT NULL,
            endpoint TEXT NOT NULL,
            client_format TEXT NOT NULL,
            route TEXT NOT NULL,
            client_model TEXT NOT NULL,
            stream BOOLEAN NOT NULL,
            deployment TEXT,
            status INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            midstream TEXT NOT NULL,
            resumes INTEGER NOT NULL,
            ttfb DOUBLE PRECISION,
            ttft DOUBLE PRECISION,
            duration DOUBLE PRECISION NOT NULL,
            events_out INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_creation_input_tokens INTEGER NOT NULL,
            cache_read_input_tokens INTEGER NOT NULL,
            stop_reason TEXT,
            client_disconnected BOOLEAN NOT NULL,
            bytes_in BIGINT NOT NULL,
            bytes_out BIGINT NOT NULL,
            deployments TEXT NOT NULL,
            attempts TEXT NOT NULL,
            anomalies TEXT NOT NULL
        )""",
        # Write order, for retention by row count (SQLite numbers its rows itself). Several
        # gateways insert at once: numbers are taken in insert order, which is close enough.
        Only(
            "postgresql",
            "ALTER TABLE requests ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY",
        ),
        Only("postgresql", "CREATE UNIQUE INDEX requests_rowid ON requests (rowid)"),
        "CREATE INDEX requests_started_at ON requests (started_at)",
        "CREATE INDEX requests_status ON requests (status, started_at)",
        "CREATE INDEX requests_deployment ON requests (deployment, started_at)",
        """CREATE TABLE anomalies (
            request_id TEXT NOT NULL REFERENCES requests (request_id) ON DELETE CASCADE,
            fault TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (request_id, fault)
        )""",
        "CREATE INDEX anomalies_fault ON anomalies (fault)",
    ),
    # What the upstreams billed over all attempts and resumes, beside what the client received.
    (
        "ALTER TABLE requests ADD COLUMN billed_input_tokens INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE requests ADD COLUMN billed_output_tokens INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE requests ADD COLUMN billed_cache_creation_input_tokens INTEGER NOT NULL"
        " DEFAULT 0",
        "ALTER TABLE requests ADD COLUMN billed_cache_read_input_tokens INTEGER NOT NULL DEFAULT 0",
    ),
    # The policy layer: the client request a judge's own call was made for, and what the route's
    # policies decided, one row each in the order they decided (``seq``). Rows written before
    # have no parent and no decisions. The indexes serve ``sseguard logs --policy/--decision``;
    # the primary key serves reading a request's decisions back and the cascading delete.
    (
        "ALTER TABLE requests ADD COLUMN parent_id TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE decisions (
            request_id TEXT NOT NULL REFERENCES requests (request_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            policy TEXT NOT NULL,
            decision TEXT NOT NULL,
            subject TEXT NOT NULL,
            reason TEXT NOT NULL,
            probability DOUBLE PRECISION,
            seconds DOUBLE PRECISION,
            PRIMARY KEY (request_id, seq)
        )""",
        "CREATE INDEX decisions_policy ON decisions (policy, decision)",
        "CREATE INDEX decisions_decision ON decisions (decision)",
    ),
    # Gateway keys: which key (by its configured name) each request came with; "" before.
    (
        "ALTER TABLE requests ADD COLUMN key_name TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX requests_key_name ON requests (key_name, started_at)",
    ),
    # The dashboard (issue 22): each stream's longest wait between two events, charted per
    # deployment. Its pages go newest first with ties broken by id (a keyset, not an OFFSET that
    # reads every row it skips); a request's judge calls are found by their parent, which only
    # they have, so the index holds those rows alone. The per-deployment aggregates read one
    # covering index and never the rows themselves (measured in SQLite on 100,000 requests:
    # 1.2 s through the old index's row look-ups, 0.09 s so); it and the keyset index serve
    # everything the two indexes they replace did.
    (
        "ALTER TABLE requests ADD COLUMN max_gap DOUBLE PRECISION",
        "DROP INDEX requests_started_at",
        "CREATE INDEX requests_started_id ON requests (started_at, request_id)",
        "DROP INDEX requests_deployment",
        "CREATE INDEX requests_deployment_stats ON requests (deployment, started_at, request_id,"
        " outcome, resumes, ttft, max_gap, deployments)",
        "CREATE INDEX requests_parent ON requests (parent_id) WHERE parent_id <> ''",
    ),
)

CREATE_SCHEMA_VERSION = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)
SELECT_VERSION = "SELECT MAX(version) FROM schema_version"
INSERT_VERSION = "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"


def steps(dialect: Dialect) -> list[list[str]]:
    """The migration steps as this dialect runs them, step N at index N - 1."""
    return [
        [
            s if isinstance(s, str) else s.sql
            for s in step
            if isinstance(s, str) or s.dialect == dialect
        ]
        for step in MIGRATIONS
    ]


SCALARS = (
    "request_id",
    "started_at",
    "endpoint",
    "client_format",
    "route",
    "client_model",
    "stream",
    "status",
    "outcome",
    "midstream",
    "resumes",
    "ttfb",
    "ttft",
    "duration",
    "events_out",
    "max_gap",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "billed_input_tokens",
    "billed_output_tokens",
    "billed_cache_creation_input_tokens",
    "billed_cache_read_input_tokens",
    "stop_reason",
    "client_disconnected",
    "parent_id",
    "key_name",
    "bytes_in",
    "bytes_out",
)
JSON_COLUMNS = ("deployments", "attempts", "anomalies")
BOOLEANS = ("stream", "client_disconnected")
COLUMNS = (*SCALARS, "deployment", *JSON_COLUMNS)
# Idempotent inserts: a batch retried after an ambiguous failure must not fail on its own rows.
INSERT_REQUEST = (
    f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    " ON CONFLICT (request_id) DO NOTHING"
)
INSERT_ANOMALY = (
    "INSERT INTO anomalies (request_id, fault, count) VALUES (?, ?, ?)"
    " ON CONFLICT (request_id, fault) DO NOTHING"
)
DECISION_FIELDS = ("policy", "decision", "subject", "reason", "probability", "seconds")
INSERT_DECISION = (
    f"INSERT INTO decisions (request_id, seq, {', '.join(DECISION_FIELDS)})"
    f" VALUES ({', '.join('?' * (len(DECISION_FIELDS) + 2))})"
    " ON CONFLICT (request_id, seq) DO NOTHING"
)
SELECT_DECISIONS = (
    f"SELECT request_id, {', '.join(DECISION_FIELDS)} FROM decisions"
    " WHERE request_id IN ({}) ORDER BY request_id, seq"
)
# Request ids per look-up of their decisions: under SQLite's least limit on bound parameters.
DECISION_LOOKUP_IDS = 500


class Rows(Protocol):
    """What a statement returns, as both drivers' cursors have it."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Executor(Protocol):
    """Runs this module's statements (``?`` placeholders) on one connection."""

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Rows: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> object: ...


class RequestLogError(Exception):
    """The request log cannot be opened or read; the message says which one and why."""


class NoRequestLog(RequestLogError):
    """The log to read does not exist (the gateway has not written it, or it looked elsewhere)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``sseguard logs`` asks for; None means any."""

    since: float | None = None  # epoch seconds
    status: int | None = None
    deployment: str | None = None  # the deployment tried last
    anomaly: str | None = None  # a fault ID (docs/faults.md)
    outcome: str | None = None
    policy: str | None = None  # with a decision by this policy (its name in the route's list)
    decision: str | None = None  # with a decision of this kind (block, mask...); by ``policy``
    limit: int = 50
    until: float | None = None  # epoch seconds, exclusive
    # A page's keyset: only rows older than this (started_at, request_id), as the last row of
    # the page before gave it; None for the newest.
    before: tuple[float, str] | None = None
    routed: bool = False  # only requests a route served: model calls, not /metrics or /healthz
    parent: str | None = None  # only the calls made for this request (a judge's)


def insert(db: Executor, batch: list[RequestRecord]) -> None:
    """Write these records with their anomalies and decisions, in the caller's transaction."""
    db.executemany(INSERT_REQUEST, [_row(rec.as_dict()) for rec in batch])
    anomalies = [
        (rec.request_id, fault, count) for rec in batch for fault, count in rec.anomalies.items()
    ]
    if anomalies:
        db.executemany(INSERT_ANOMALY, anomalies)
    decisions = [
        (rec.request_id, seq, d.policy, d.decision, d.subject, d.reason, d.probability, d.seconds)
        for rec in batch
        for seq, d in enumerate(rec.decisions)
    ]
    if decisions:
        db.executemany(INSERT_DECISION, decisions)


def _row(rec: dict[str, Any]) -> tuple[Any, ...]:
    deployments = rec["deployments"]
    values = [rec[name] for name in SCALARS]
    values.append(deployments[-1] if deployments else None)
    values.extend(orjson.dumps(rec[name]).decode() for name in JSON_COLUMNS)
    return tuple(values)


def delete_due(
    db: Executor, max_age: float | None, max_rows: int | None, now: float, limit: int
) -> int:
    """Delete at most ``limit`` requests that retention no longer keeps, in the caller's
    transaction: started more than ``max_age`` seconds before ``now``, then beyond the newest
    ``max_rows`` written. Their anomalies and decisions go with them (ON DELETE CASCADE)."""
    deleted = 0
    if max_age is not None:
        deleted += db.execute(
            "DELETE FROM requests WHERE request_id IN (SELECT request_id FROM requests"
            " WHERE started_at < ? ORDER BY started_at LIMIT ?)",
            (now - max_age, limit),
        ).rowcount
    if max_rows is not None and deleted < limit:
        # Row numbers grow with each insert: the newest max_rows rows written are those above
        # the last one minus max_rows, found through the rowid index, not by counting.
        newest = db.execute("SELECT MAX(rowid) FROM requests").fetchone()[0] or 0
        deleted += db.execute(
            "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests"
            " WHERE rowid <= ? ORDER BY rowid LIMIT ?)",
            (newest - max_rows, limit - deleted),
        ).rowcount
    return deleted


def read(db: Executor, filters: Filters, name: str) -> list[dict[str, Any]]:
    """Matching records, newest first, as ``RequestRecord.as_dict()`` plus ``deployment``. Run
    in one read transaction: retention running meanwhile cannot part rows from their decisions.
    ``name`` (a path, a DSN without its password) is for the messages."""
    check_version(db, name)
    sql, args = _select(filters)
    records = [_record(row) for row in db.execute(sql, args).fetchall()]
    decisions = _decisions(db, [rec["request_id"] for rec in records])
    for rec in records:
        rec["decisions"] = decisions.get(rec["request_id"], [])
    return records


def check_version(db: Executor, name: str) -> None:
    """Refuse a log whose schema lacks what this sseguard reads."""
    version = db.execute(SELECT_VERSION).fetchone()[0] or 0
    if version < len(MIGRATIONS):
        # The columns asked for are not there yet: say why rather than "no such column".
        raise RequestLogError(
            f"{name}: written by an older sseguard (schema version {version}, this one reads"
            f" {len(MIGRATIONS)}); `sseguard serve` upgrades it when it next opens it"
        )


def _select(filters: Filters) -> tuple[str, list[Any]]:
    conditions = (
        ("started_at >= ?", filters.since),
        ("started_at < ?", filters.until),
        ("status = ?", filters.status),
        ("deployment = ?", filters.deployment),
        ("outcome = ?", filters.outcome),
        ("parent_id = ?", filters.parent),
        ("request_id IN (SELECT request_id FROM anomalies WHERE fault = ?)", filters.anomaly),
    )
    where = [clause for clause, value in conditions if value is not None]
    args: list[Any] = [value for _, value in conditions if value is not None]
    if filters.parent is not None:
        where.append("parent_id <> ''")  # lets the planner take the partial index
    if filters.routed:
        where.append("route <> ''")
    if filters.before is not None:
        where.append("(started_at, request_id) < (?, ?)")  # row values: one index range
        args += list(filters.before)
    # --policy and --decision together ask for one decision of both: "tool_judge blocked".
    decided = [
        (f"{column} = ?", value)
        for column, value in (("policy", filters.policy), ("decision", filters.decision))
        if value is not None
    ]
    if decided:
        where.append(
            "request_id IN (SELECT request_id FROM decisions WHERE "
            + " AND ".join(clause for clause, _ in decided)
            + ")"
        )
        args += [value for _, value in decided]
    sql = f"SELECT {', '.join(COLUMNS)} FROM requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started_at DESC, request_id DESC LIMIT ?"
    args.append(filters.limit)
    return sql, args


def _record(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(COLUMNS, row, strict=True))
    for name in BOOLEANS:
        out[name] = bool(out[name])
    for name in JSON_COLUMNS:
        out[name] = orjson.loads(out[name])
    return out


def _decisions(db: Executor, request_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The decisions of these requests, each request's in order, as ``Decision`` fields."""
    out: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(request_ids), DECISION_LOOKUP_IDS):
        ids = request_ids[start : start + DECISION_LOOKUP_IDS]
        sql = SELECT_DECISIONS.format(", ".join("?" * len(ids)))
        for request_id, *values in db.execute(sql, ids):
            out.setdefault(request_id, []).append(dict(zip(DECISION_FIELDS, values, strict=True)))
    return out


def find(db: Executor, request_id: str, name: str) -> dict[str, Any] | None:
    """One record by its id, with its decisions; None when the log does not hold it."""
    check_version(db, name)
    row = db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM requests WHERE request_id = ?", (request_id,)
    ).fetchone()
    if row is None:
        return None
    rec = _record(row)
    rec["decisions"] = _decisions(db, [request_id]).get(request_id, [])
    return rec


# Aggregates for the dashboard: one row per deployment (at most MAX_DEPLOYMENTS) or per time
# slice (at most MAX_BUCKETS), whatever the number of requests in the range. A request's
# deployment is the one it tried last; one that reached none (no route, refused before) is in no
# deployment's row. Counts are exact. Percentiles (nearest rank) are over at most SAMPLE_ROWS
# values per query: all of them when the range holds no more, else the requests whose random id
# falls below a threshold, a uniform sample read from the covering index alone. SQLite's window
# functions took 0.9 s for exact ones over 100,000 rows; the sample takes tens of milliseconds.
MAX_DEPLOYMENTS = 100
MAX_BUCKETS = 240
SAMPLE_ROWS = 20_000
ID_PREFIX = "sg_"  # then 20 random hex digits (gateway/app.py): the sample's key
# Deployment names cannot hold a comma (config: [A-Za-z0-9][A-Za-z0-9._-]*), so the JSON list of
# those tried has one exactly when there were several: the request fell back. (No LIKE: its
# '%' would be a placeholder to psycopg.)
FELL_BACK = "LENGTH(deployments) > LENGTH(REPLACE(deployments, ',', ''))"
_COUNTS = (
    "COUNT(*), SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN resumes > 0 THEN 1 ELSE 0 END),"
    f" SUM(CASE WHEN {FELL_BACK} THEN 1 ELSE 0 END)"
)
_COUNT_NAMES = ("requests", "errors", "resumed", "fell_back")
_RANGE = "deployment = ? AND started_at >= ? AND started_at < ?"
_DEPLOYMENTS = (
    # Each distinct name by one index seek, not a scan of every row (a loose index scan).
    "WITH RECURSIVE d(name) AS (SELECT MIN(deployment) FROM requests UNION ALL"
    " SELECT (SELECT MIN(deployment) FROM requests WHERE deployment > d.name) FROM d"
    " WHERE d.name IS NOT NULL) SELECT name FROM d WHERE name IS NOT NULL LIMIT ?"
)
_FAULTS = (
    "SELECT a.fault, SUM(a.count), COUNT(*) FROM requests r"
    " JOIN anomalies a ON a.request_id = r.request_id"
    " WHERE r.deployment = ? AND r.started_at >= ? AND r.started_at < ?"
    " GROUP BY a.fault ORDER BY a.fault"
)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted ``values``: the one at rank ceil(p * n)."""
    if not values:
        return None
    return values[max(0, math.ceil(p * len(values)) - 1)]


def _sample_clause(rows: int) -> tuple[str, tuple[Any, ...]]:
    """The condition that keeps about SAMPLE_ROWS of ``rows`` requests, by their random ids."""
    if rows <= SAMPLE_ROWS:
        return "", ()
    share = int(SAMPLE_ROWS / rows * 16**6)
    return " AND request_id < ?", (f"{ID_PREFIX}{share:06x}",)


def _spread(values: list[tuple[float | None, float | None]]) -> dict[str, float | None]:
    """TTFT and longest-gap p50/p99 of (ttft, max_gap) pairs."""
    out: dict[str, float | None] = {}
    for index, name in enumerate(("ttft", "gap")):
        column = sorted(x for v in values if (x := v[index]) is not None)
        out[f"{name}_p50"] = percentile(column, 0.5)
        out[f"{name}_p99"] = percentile(column, 0.99)
    return out


def summary(db: Executor, since: float, until: float, name: str) -> list[dict[str, Any]]:
    """Per deployment over [since, until): requests, errors, resumed and fallen-back requests,
    anomalies by fault ID (occurrences and requests), TTFT and longest-gap p50/p99; busiest
    first."""
    check_version(db, name)
    out: list[dict[str, Any]] = []
    for (deployment,) in db.execute(_DEPLOYMENTS, (MAX_DEPLOYMENTS,)).fetchall():
        args = (deployment, since, until)
        row = db.execute(f"SELECT {_COUNTS} FROM requests WHERE {_RANGE}", args).fetchone()
        if not row[0]:
            continue
        rec: dict[str, Any] = {
            "deployment": deployment,
            **dict(zip(_COUNT_NAMES, (int(v or 0) for v in row), strict=True)),
        }
        sample, extra = _sample_clause(row[0])
        values = db.execute(
            f"SELECT ttft, max_gap FROM requests WHERE {_RANGE}{sample} LIMIT ?",
            (*args, *extra, SAMPLE_ROWS),
        ).fetchall()
        rec.update(_spread(values))
        rec["anomalies"] = {
            fault: {"count": int(count), "requests": int(requests)}
            for fault, count, requests in db.execute(_FAULTS, args)
        }
        out.append(rec)
    out.sort(key=lambda rec: (-rec["requests"], rec["deployment"]))
    return out


def series(
    db: Executor, deployment: str, since: float, until: float, buckets: int, name: str
) -> list[dict[str, Any]]:
    """One deployment over [since, until) in ``buckets`` equal slices (at most MAX_BUCKETS):
    each non-empty slice's start ``t``, counts, anomalies, and TTFT and longest-gap p50/p99."""
    check_version(db, name)
    buckets = max(1, min(buckets, MAX_BUCKETS))
    width = max((until - since) / buckets, 1e-3)
    # The slice number, floor((started_at - since) / width), never negative. CAST truncates in
    # SQLite and rounds in PostgreSQL: one less where it went above is the floor in both.
    x = f"((started_at - {float(since)!r}) / {float(width)!r})"
    slot = f"(CAST({x} AS INTEGER) - CASE WHEN CAST({x} AS INTEGER) > {x} THEN 1 ELSE 0 END)"
    args = (deployment, since, until)
    out: dict[int, dict[str, Any]] = {}
    total = 0
    for row in db.execute(
        f"SELECT {slot}, {_COUNTS} FROM requests WHERE {_RANGE} GROUP BY {slot}", args
    ):
        counts = [int(v or 0) for v in row[1:]]
        total += counts[0]
        out[int(row[0])] = {
            "t": since + int(row[0]) * width,
            **dict(zip(_COUNT_NAMES, counts, strict=True)),
            "anomalies": 0,
        }
    sample, extra = _sample_clause(total)
    values: dict[int, list[tuple[float | None, float | None]]] = {}
    for index, ttft, gap in db.execute(
        f"SELECT {slot}, ttft, max_gap FROM requests WHERE {_RANGE}{sample} LIMIT ?",
        (*args, *extra, SAMPLE_ROWS),
    ):
        values.setdefault(int(index), []).append((ttft, gap))
    anomalies = db.execute(
        f"SELECT {slot}, SUM(a.count) FROM requests r"
        " JOIN anomalies a ON a.request_id = r.request_id"
        " WHERE r.deployment = ? AND r.started_at >= ? AND r.started_at < ?"
        f" GROUP BY {slot}",
        args,
    )
    for index, count in anomalies:
        if int(index) in out:
            out[int(index)]["anomalies"] = int(count)
    for index, rec in out.items():
        rec.update(_spread(values.get(index, [])))
    return [out[index] for index in sorted(out) if index < buckets]
