"""The request log's reads for the dashboard: keyset pages, one record, per-deployment aggregates
and time series, their bounds, and the schema step that added what they need."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sseguard.observe.log_sql import MAX_BUCKETS, MIGRATIONS, SAMPLE_ROWS, Filters, percentile
from sseguard.observe.log_target import (
    deployment_series,
    deployment_summary,
    find,
    open_store,
    query,
)
from sseguard.observe.record import Attempt, RequestRecord
from sseguard.observe.store import RequestLogStore, connect, migrate

T0 = 1_800_000_000.0


def record(n: int, deployment: str = "east", **fields: Any) -> RequestRecord:
    rec = RequestRecord(f"sg_{n:020x}", "/v1/messages", route="claude-*", client_model="m")
    rec.started_at = T0 + n
    for name in fields.pop("tried", [deployment]):
        rec.tried(name)
    rec.status = 200
    for name, value in fields.items():
        setattr(rec, name, value)
    return rec


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or a new PostgreSQL database's DSN: both read through the same SQL."""
    if request.param == "sqlite":
        return str(tmp_path / "log.sqlite3")
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn


def write(target: str | Path, records: list[RequestRecord]) -> None:
    store = open_store(target)
    store.observe(records)
    store.close()


def test_pages_go_newest_first_by_keyset_without_gaps_or_repeats(log: str) -> None:
    path = log
    records = [record(n) for n in range(25)]
    records.append(record(24, request_id="sg_" + "f" * 20))  # same started_at as #24: a tie
    write(path, records)
    seen: list[str] = []
    before = None
    while True:
        page = query(path, Filters(limit=7, before=before))
        seen += [r["request_id"] for r in page]
        if len(page) < 7:
            break
        before = (page[-1]["started_at"], page[-1]["request_id"])
    assert len(seen) == len(set(seen)) == 26
    assert seen[0] == "sg_" + "f" * 20  # the tie broken by id, descending


def test_filters_by_range_route_and_parent(log: str) -> None:
    path = log
    scrape = record(3, tried=[])
    scrape.route = ""
    judge = record(4, parent_id=f"sg_{1:020x}")
    write(path, [record(1), record(2), scrape, judge])
    got = query(path, Filters(since=T0 + 2, until=T0 + 4))
    assert [r["request_id"][-1] for r in got] == ["3", "2"]
    assert [r["request_id"][-1] for r in query(path, Filters(routed=True))] == ["4", "2", "1"]
    assert [r["request_id"] for r in query(path, Filters(parent=f"sg_{1:020x}"))] == [
        judge.request_id
    ]


def test_find_gives_one_record_with_its_attempts_or_none(log: str) -> None:
    path = log
    rec = record(1, tried=["east", "west"], max_gap=0.25)
    rec.attempts = [
        Attempt("east", 529, "F18", "overloaded", 0.1),
        Attempt("west", 200, None, "", 1),
    ]
    write(path, [rec])
    got = find(path, rec.request_id)
    assert got is not None
    assert got["max_gap"] == 0.25
    assert [a["fault"] for a in got["attempts"]] == ["F18", None]
    assert find(path, "sg_nothing") is None


def test_summary_counts_per_deployment_with_anomalies_and_percentiles(log: str) -> None:
    path = log
    records = [record(n, ttft=n / 100, max_gap=n / 10) for n in range(1, 101)]
    records += [
        record(101, outcome="error", status=529),
        record(102, resumes=1, outcome="resumed", anomalies={"F20": 1}),
        record(103, deployment="west", tried=["east", "west"], anomalies={"F02": 3, "F15": 1}),
        record(104, deployment="west", anomalies={"F02": 1}),
        record(105, tried=[]),  # no deployment: in no row
        record(500, deployment="north"),  # outside the range
    ]
    write(path, records)
    rows = {r["deployment"]: r for r in deployment_summary(path, T0, T0 + 200)}
    assert set(rows) == {"east", "west"}
    east, west = rows["east"], rows["west"]
    assert (east["requests"], east["errors"], east["resumed"], east["fell_back"]) == (102, 1, 1, 0)
    assert (east["ttft_p50"], east["ttft_p99"]) == (0.5, 0.99)
    assert (east["gap_p50"], east["gap_p99"]) == (5.0, 9.9)
    assert east["anomalies"] == {"F20": {"count": 1, "requests": 1}}
    assert west["fell_back"] == 1
    assert west["anomalies"] == {
        "F02": {"count": 4, "requests": 2},
        "F15": {"count": 1, "requests": 1},
    }
    assert west["ttft_p50"] is None  # no TTFT recorded
    assert list(rows) == ["east", "west"]  # busiest first


def test_series_slices_the_range_and_stays_bounded(log: str) -> None:
    path = log
    write(path, [record(n, ttft=1.0, anomalies={"F02": 1} if n == 5 else {}) for n in range(10)])
    series = deployment_series(path, "east", T0, T0 + 10, 5)
    assert [s["t"] for s in series] == [T0, T0 + 2, T0 + 4, T0 + 6, T0 + 8]
    assert [s["requests"] for s in series] == [2] * 5
    assert [s["anomalies"] for s in series] == [0, 0, 1, 0, 0]
    assert series[0]["ttft_p99"] == 1.0 and series[0]["gap_p50"] is None
    assert len(deployment_series(path, "east", T0, T0 + 10, 10_000)) <= MAX_BUCKETS
    assert deployment_series(path, "nowhere", T0, T0 + 10, 5) == []


def test_percentiles_come_from_a_bounded_uniform_sample_of_a_large_range(tmp_path: Path) -> None:
    """More rows than SAMPLE_ROWS: the sample keeps the ids below a threshold, and the ids are
    random, so its median is the median's neighbourhood."""
    path = tmp_path / "log.sqlite3"
    RequestLogStore(path).close()
    rows = 3 * SAMPLE_ROWS
    conn = connect(path)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO requests (request_id, started_at, endpoint, client_format, route,"
        " client_model, stream, deployment, status, outcome, midstream, resumes, ttft, duration,"
        " events_out, input_tokens, output_tokens, cache_creation_input_tokens,"
        " cache_read_input_tokens, client_disconnected, bytes_in, bytes_out, deployments,"
        " attempts, anomalies) VALUES (?, ?, '/v1/messages', 'anthropic', '*', 'm', 1, 'east',"
        " 200, 'complete', 'none', 0, ?, 1, 1, 0, 0, 0, 0, 0, 0, 0, '[\"east\"]', '[]', '{}')",
        [(f"sg_{os.urandom(10).hex()}", T0 + n / 1000, n / rows) for n in range(rows)],
    )
    conn.execute("COMMIT")
    conn.close()
    (east,) = deployment_summary(path, T0, T0 + rows)
    assert east["requests"] == rows
    assert east["ttft_p50"] == pytest.approx(0.5, abs=0.03)
    assert east["ttft_p99"] == pytest.approx(0.99, abs=0.01)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0], 0.99) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0


def test_a_version_4_log_gains_max_gap_and_the_dashboard_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.sqlite3"
    monkeypatch.setattr("sseguard.observe.log_sql.MIGRATIONS", MIGRATIONS[:4])
    conn = connect(path)
    assert migrate(conn) == 4
    conn.close()
    monkeypatch.undo()
    write(path, [record(1, max_gap=0.5)])
    with sqlite3.connect(path) as conn:
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT COUNT(*), AVG(ttft) FROM requests"
                " WHERE deployment = 'east' AND started_at >= 0 AND started_at < 1"
            )
        )
    assert {"requests_started_id", "requests_deployment_stats", "requests_parent"} <= indexes
    assert "COVERING INDEX requests_deployment_stats" in plan
    assert query(path, Filters())[0]["max_gap"] == 0.5
