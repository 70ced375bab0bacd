"""The request log in PostgreSQL, on a real server (tests/postgres.py): migrations alone and from
several gateways at once, the DSN's password kept out of every output, the database going away
and coming back, and `sseguard serve` replicas (and SIGTERM) read back with `sseguard logs --db`.

What both stores share (round trip, filters, retention) runs on both in test_request_log.py.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from click.testing import CliRunner

from postgres import Cluster, free_port
from processes import Running, gateway_config, running, simulator
from sseguard.cli import main
from sseguard.observe import store_pg
from sseguard.observe.log_sql import MIGRATIONS, Filters, RequestLogError
from sseguard.observe.log_target import describe, without_password
from sseguard.observe.record import RequestRecord
from sseguard.observe.store_pg import PostgresRequestLog, query

pytestmark = pytest.mark.processes  # a PostgreSQL server, whatever else a test starts
PASSWORD = "pw-must-not-show"


def record(request_id: str) -> RequestRecord:
    rec = RequestRecord(request_id, "/v1/messages", route="*", client_model="claude-sonnet-4-5")
    rec.tried("east")
    rec.finish(200)
    return rec


def with_password(dsn: str) -> str:
    """Trust authentication ignores it; the point is where it would show."""
    return dsn.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def count(dsn: str, table: str = "requests") -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def test_migrations_from_an_empty_database_then_reopening_is_a_no_op(pg_dsn: str) -> None:
    PostgresRequestLog(pg_dsn).close()
    assert versions(pg_dsn) == list(range(1, len(MIGRATIONS) + 1))
    PostgresRequestLog(pg_dsn).close()  # every step would fail ("relation already exists")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert store_pg.migrate(conn) == len(MIGRATIONS)
    assert versions(pg_dsn) == list(range(1, len(MIGRATIONS) + 1))
    with psycopg.connect(pg_dsn) as conn:  # the same columns as SQLite's, and the identity
        columns = {
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests'"
            )
        }
    assert {"parent_id", "billed_input_tokens", "deployment", "rowid"} <= columns


def test_gateways_starting_together_apply_each_step_once(pg_dsn: str) -> None:
    """Eight connections migrate an empty database at the same instant: the advisory lock lets
    one apply each step; without it they fail on "relation already exists" or a duplicate
    version row."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def migrate() -> None:
        with store_pg.connect(pg_dsn) as conn:
            start.wait()
            try:
                store_pg.migrate(conn)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert versions(pg_dsn) == list(range(1, len(MIGRATIONS) + 1))


def test_one_gateway_prunes_at_a_time(pg_dsn: str) -> None:
    """A pass that finds another gateway's retention lock held deletes nothing and ends."""
    now = time.time()
    log = PostgresRequestLog(pg_dsn)
    log.observe([record(f"sg_{i}") for i in range(3)])
    log.close()
    with psycopg.connect(pg_dsn, autocommit=True) as other, store_pg.connect(pg_dsn) as conn:
        other.execute("SELECT pg_advisory_lock(%s)", (store_pg.RETENTION_LOCK,))
        assert store_pg.prune(conn, max_age=None, max_rows=1, now=now) == (0, True)
        other.execute("SELECT pg_advisory_unlock(%s)", (store_pg.RETENTION_LOCK,))
        assert store_pg.prune(conn, max_age=None, max_rows=1, now=now) == (2, True)
    assert count(pg_dsn) == 1


def test_the_password_is_left_out_wherever_a_dsn_is_shown() -> None:
    assert without_password("postgresql://app:s3cr%40t@db.example:5433/log?sslmode=require") == (
        "postgresql://app@db.example:5433/log?sslmode=require"
    )
    assert without_password("postgres://h1:5432,h2:5432/log?password=x&application_name=a") == (
        "postgres://h1:5432,h2:5432/log?application_name=a"
    )
    assert describe("postgresql://u:p@h/d") == "postgresql://u@h/d"
    assert describe("log.sqlite3") == os.path.abspath("log.sqlite3")


def test_a_database_that_cannot_be_reached_stops_serve_with_the_cause(tmp_path: Path) -> None:
    dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/log"
    with pytest.raises(RequestLogError, match=r"127\.0\.0\.1") as raised:
        PostgresRequestLog(dsn)
    assert PASSWORD not in str(raised.value)
    config = gateway_config(
        tmp_path, "http://127.0.0.1:9", extra=f'\n[observe]\nrequest_log = "{dsn}"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "sseguard", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "request log: postgresql://postgres@127.0.0.1" in result.stderr
    assert "refused" in result.stderr.lower(), result.stderr  # the cause, from libpq
    assert PASSWORD not in result.stderr + result.stdout


def test_logs_reads_the_database_and_never_prints_the_password(pg_dsn: str) -> None:
    dsn = with_password(pg_dsn)
    log = PostgresRequestLog(dsn)
    log.observe([record("sg_a"), record("sg_b")])
    log.close()
    result = CliRunner().invoke(main, ["logs", "--db", dsn, "--json"])
    assert result.exit_code == 0, result.output
    assert {orjson.loads(line)["request_id"] for line in result.output.splitlines()} == {
        "sg_a",
        "sg_b",
    }
    assert PASSWORD not in result.output
    empty = pg_dsn.rsplit("/", 1)[0] + "/postgres"  # a database with no log in it
    result = CliRunner().invoke(main, ["logs", "--db", with_password(empty)])
    assert result.exit_code == 1 and "no request log in postgresql://postgres@" in result.output
    gone = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/log"
    result = CliRunner().invoke(main, ["logs", "--db", gone])
    assert result.exit_code == 1 and "127.0.0.1" in result.output
    assert PASSWORD not in result.output


@pytest.fixture
def outage(postgres_cluster: Cluster) -> Iterator[Cluster]:
    """The server, started again after the test whatever it did (the session shares it)."""
    try:
        yield postgres_cluster
    finally:
        if not (postgres_cluster.data / "postmaster.pid").exists():
            postgres_cluster.start()


def wait_for(done: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_rows_are_held_while_the_database_is_away_and_written_when_it_is_back(
    pg_dsn: str, outage: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    log = PostgresRequestLog(pg_dsn, flush_interval=0.01, retry_max=0.2)
    log.observe([record("sg_before")])
    wait_for(lambda: log.written == 1)
    outage.stop()
    with caplog.at_level(logging.WARNING, logger="sseguard.request_log"):
        for i in range(20):
            log.observe([record(f"sg_away_{i}")])
        wait_for(lambda: "cannot be reached" in caplog.text)
        assert log.written == 1
        health = log.health()  # what /readyz shows, without taking the gateway out
        assert health is not None and health.startswith("the database has been unreachable")
        outage.start()
        wait_for(lambda: log.written == 21)
        assert log.health() is None
        log.close()
    assert log.dropped == 0
    assert count(pg_dsn) == 21
    assert "the database is back after" in caplog.text and "0 records dropped" in caplog.text


def test_past_the_bound_rows_are_dropped_counted_and_said(
    pg_dsn: str, outage: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    log = PostgresRequestLog(pg_dsn, flush_interval=0.01, retry_max=0.2, queue_rows=5)
    outage.stop()
    with caplog.at_level(logging.WARNING, logger="sseguard.request_log"):
        for i in range(20):
            log.observe([record(f"sg_{i}")])
            time.sleep(0.005)
        assert log.rejected == 15  # what memory holds is bounded: the batch in hand included
        outage.start()
        wait_for(lambda: log.written == 5)
        log.close()
    assert count(pg_dsn) == 5
    assert "15 records dropped meanwhile" in caplog.text


def test_shutdown_gives_an_absent_database_its_grace_then_drops_and_says_so(
    pg_dsn: str, outage: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    log = PostgresRequestLog(pg_dsn, flush_interval=0.01, close_grace=1.0)
    outage.stop()
    with caplog.at_level(logging.WARNING, logger="sseguard.request_log"):
        log.observe([record("sg_lost")])
        started = time.monotonic()
        log.close()
    assert time.monotonic() - started < 5
    assert log.failed == 1
    assert "not written: the database is unreachable at shutdown" in caplog.text


def post(url: str, model: str) -> str:
    """One non-streamed request; the gateway's id for it."""
    body = {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=orjson.dumps(body),
        headers={"x-api-key": "sk-pg", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return str(response.headers["x-sseguard-request-id"])


def logs_json(dsn: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "sseguard", "logs", "--db", dsn, "--json", "--limit", "1000"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert PASSWORD.encode() not in out.stdout + out.stderr
    return [orjson.loads(line) for line in out.stdout.splitlines()]


def serve_with(tmp_path: Path, sim_url: str, dsn: str, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    extra = f'\n[observe]\nrequest_log = "{dsn}"\nrequest_log_max_rows = 100000\n'
    return gateway_config(folder, sim_url, extra=extra)


def test_two_replicas_write_into_one_database_and_logs_shows_both(
    tmp_path: Path, pg_dsn: str
) -> None:
    """Two `sseguard serve` started at once on an empty database (their migrations meet at the
    advisory lock), each serving requests; `sseguard logs --db DSN --json` lists every one."""
    dsn = with_password(pg_dsn)
    with simulator() as sim_url, ExitStack() as stack:
        configs = [serve_with(tmp_path, sim_url, dsn, name) for name in ("a", "b")]

        def start(config: Path) -> Running:
            return stack.enter_context(
                running("serve", "--config", str(config), banner=b"sseguard listening on")
            )

        with ThreadPoolExecutor(2) as pool:
            replicas = list(pool.map(start, configs))
        for replica in replicas:
            banner = b"".join(replica.output)
            assert PASSWORD.encode() not in banner
        sent = {
            post(replica.url, f"claude-sonnet-4-5+delay_0.{n % 3}"): index
            for n in range(12)
            for index, replica in enumerate(replicas)
        }
    # Both gateways have stopped (SIGINT): their shutdowns flushed their queues.
    rows = logs_json(dsn)
    assert {row["request_id"] for row in rows} == set(sent) and len(rows) == 24
    assert all(row["outcome"] == "complete" and row["deployment"] == "sim" for row in rows)
    assert versions(pg_dsn) == list(range(1, len(MIGRATIONS) + 1))


def test_sigterm_right_after_the_requests_loses_no_row(tmp_path: Path, pg_dsn: str) -> None:
    """The rows are still in the gateway's hand-off and queue when SIGTERM comes: its lifespan
    shutdown writes them before the process exits."""
    with simulator() as sim_url:
        config = serve_with(tmp_path, sim_url, pg_dsn, "gw")
        with running("serve", "--config", str(config), banner=b"sseguard listening on") as gw:
            with ThreadPoolExecutor(8) as pool:
                ids = set(pool.map(lambda _: post(gw.url, "claude-sonnet-4-5"), range(40)))
            gw.proc.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once its shutdown is done: the exit says SIGTERM.
            assert gw.proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert len(ids) == 40
    assert {row["request_id"] for row in query(pg_dsn, Filters(limit=1000))} == ids
