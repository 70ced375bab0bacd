"""The request log: the store on its own (migrations, round trip, filters, batching, back-pressure),
then a real gateway in front of the simulator, read back with ``sseguard logs`` as a process."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anthropic
import orjson
import psycopg
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from processes import gateway_config, running, simulator
from sseguard.cli import main
from sseguard.config import Config
from sseguard.config.rules import state_dir
from sseguard.config.schema import Observe
from sseguard.observe import store, store_pg
from sseguard.observe.log_sql import MIGRATIONS
from sseguard.observe.log_target import is_dsn, open_store, query
from sseguard.observe.logs_cli import decisions, parse_since, table
from sseguard.observe.record import Attempt, Decision, RequestRecord
from sseguard.observe.store import (
    Filters,
    RequestLogError,
    RequestLogStore,
    connect,
    migrate,
)


def record(request_id: str, **fields: Any) -> RequestRecord:
    rec = RequestRecord(request_id, "/v1/messages", route="*", client_model="claude-sonnet-4-5")
    rec.tried(fields.pop("deployment", "east"))
    for name, value in fields.items():
        setattr(rec, name, value)
    return rec


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The request log under test: a SQLite file, or a new PostgreSQL database's DSN (a server
    of the session's, tests/postgres.py). Both run the same migrations and statements."""
    if request.param == "sqlite":
        return str(tmp_path / "log.sqlite3")
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn


def write(target: str | Path, *records: RequestRecord) -> None:
    log = open_store(target)
    log.observe(list(records))
    log.close()


def column(target: str | Path, sql: str) -> list[Any]:
    """The first column of a statement's rows, read with the log's own driver."""
    if is_dsn(target):
        with psycopg.connect(str(target)) as conn:
            return [row[0] for row in conn.execute(sql)]
    with sqlite3.connect(target) as conn:
        return [row[0] for row in conn.execute(sql)]


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_migrations_apply_once_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    RequestLogStore(path).close()
    assert versions(path) == list(range(1, len(MIGRATIONS) + 1))
    RequestLogStore(path).close()  # every step would fail ("table requests already exists")
    assert versions(path) == list(range(1, len(MIGRATIONS) + 1))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_of_the_previous_version_keeps_its_rows_and_gains_the_new_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written before the policy layer (version 2): its rows read back with no parent and
    no decisions, and new rows store both."""
    path = tmp_path / "log.sqlite3"
    monkeypatch.setattr("sseguard.observe.log_sql.MIGRATIONS", MIGRATIONS[:2])
    conn = connect(path)
    assert migrate(conn) == 2
    with conn:  # a row as version 2 wrote it: no parent_id column, no decisions table
        conn.execute(
            "INSERT INTO requests (request_id, started_at, endpoint, client_format, route,"
            " client_model, stream, deployment, status, outcome, midstream, resumes, duration,"
            " events_out, input_tokens, output_tokens, cache_creation_input_tokens,"
            " cache_read_input_tokens, client_disconnected, bytes_in, bytes_out, deployments,"
            " attempts, anomalies, billed_input_tokens) VALUES ('sg_v2', 1.0, '/v1/messages',"
            " 'anthropic', '*', 'm', 1, 'east', 200, 'complete', 'none', 0, 0.5, 3, 1, 2, 0, 0,"
            " 0, 10, 20, '[\"east\"]', '[]', '{\"F02\": 1}', 7)"
        )
        conn.execute("INSERT INTO anomalies VALUES ('sg_v2', 'F02', 1)")
    conn.close()
    monkeypatch.undo()
    with pytest.raises(
        RequestLogError, match=rf"older sseguard .*version 2, this one reads {len(MIGRATIONS)}"
    ):
        query(path, Filters())  # read by the new version before any gateway upgraded it
    rec = record("sg_v3", parent_id="sg_v2", decisions=[Decision("tool_judge", "allow", "Bash")])
    rec.key_name = "team-a"
    write(path, rec)
    assert versions(path) == list(range(1, len(MIGRATIONS) + 1))
    old, new = sorted(query(path, Filters()), key=lambda row: row["started_at"])
    assert old["request_id"] == "sg_v2" and old["billed_input_tokens"] == 7
    assert (old["parent_id"], old["decisions"], old["anomalies"]) == ("", [], {"F02": 1})
    assert (old["key_name"], new["key_name"]) == ("", "team-a")  # gateway keys: version 4
    assert {k: new[k] for k in rec.as_dict()} == rec.as_dict()
    assert [r["request_id"] for r in query(path, Filters(anomaly="F02"))] == ["sg_v2"]


def test_a_record_round_trips_with_its_attempts_and_anomalies(log: str) -> None:
    path = log
    rec = record(
        "sg_roundtrip",
        stream=True,
        status=200,
        ttfb=0.012,
        ttft=0.0345,
        duration=1.5,
        events_out=42,
        input_tokens=10,
        output_tokens=99,
        cache_read_input_tokens=7,
        stop_reason="end_turn",
        midstream="resumed",
        outcome="resumed",
        resumes=1,
        bytes_in=321,
        bytes_out=4567,
    )
    rec.attempts.append(Attempt("east", 529, "F18", "overloaded", 0.25))
    rec.tried("west")
    rec.add_anomalies({"F02": 3, "F18": 1})
    rec.parent_id = "sg_client"
    rec.decisions += [
        Decision("tool_judge", "block", "Bash", "deletes the home directory", 0.97, 1.25),
        Decision("redact", "mask", "email"),
        Decision("tool_judge", "allow", "Read", "", 0.01, None),  # in order, repeats kept
    ]
    write(path, rec)
    [row] = query(path, Filters())
    assert {k: row[k] for k in rec.as_dict()} == rec.as_dict()
    assert row["deployment"] == "west"  # the last one tried
    assert row["stream"] is True and row["client_disconnected"] is False


def test_filters_and_newest_first(log: str) -> None:
    path = log
    now = time.time()
    records = [
        record("sg_old", started_at=now - 7200, status=200),
        record("sg_529", started_at=now - 60, status=529, outcome="error", deployment="west"),
        record("sg_f02", started_at=now - 30, status=200, anomalies={"F02": 2}),
        record("sg_new", started_at=now - 1, status=200, anomalies={"F10": 1}),
    ]
    write(path, *records)

    def ids(**filters: Any) -> list[str]:
        return [r["request_id"] for r in query(path, Filters(**filters))]

    assert ids() == ["sg_new", "sg_f02", "sg_529", "sg_old"]
    assert ids(limit=2) == ["sg_new", "sg_f02"]
    assert ids(since=now - 3600) == ["sg_new", "sg_f02", "sg_529"]
    assert ids(status=529) == ids(outcome="error") == ids(deployment="west") == ["sg_529"]
    assert ids(anomaly="F02") == ["sg_f02"]
    assert ids(anomaly="F02", status=529) == []


def test_filters_by_decision_and_policy(log: str) -> None:
    """Both together ask for one decision of both: a request where tool_judge allowed a call and
    another policy blocked one is not one where tool_judge blocked."""
    path = log
    now = time.time()
    allow, block = Decision("tool_judge", "allow", "Read"), Decision("tool_judge", "block", "Bash")
    write(
        path,
        record("sg_none", started_at=now - 4),
        record("sg_judged", started_at=now - 3, decisions=[allow, block]),
        record("sg_mixed", started_at=now - 2, decisions=[allow, Decision("tools", "block", "X")]),
        record("sg_masked", started_at=now - 1, decisions=[Decision("redact", "mask", "email")]),
    )

    def ids(**filters: Any) -> list[str]:
        return [r["request_id"] for r in query(path, Filters(**filters))]

    assert ids(decision="block") == ["sg_mixed", "sg_judged"]
    assert ids(policy="tool_judge") == ["sg_mixed", "sg_judged"]
    assert ids(policy="tool_judge", decision="block") == ["sg_judged"]
    assert ids(policy="redact", since=now - 1.5) == ["sg_masked"]
    assert ids(decision="refuse") == []


def test_a_batch_waiting_for_its_interval_is_written_by_close(log: str) -> None:
    path = log
    writer = open_store(path, flush_interval=60, batch_rows=1000)
    writer.observe([record(f"sg_{i}") for i in range(3)])
    started = time.monotonic()
    writer.close()
    assert time.monotonic() - started < 5  # close does not wait out the interval
    assert writer.written == 3 and writer.dropped == 0
    assert len(query(path, Filters())) == 3


def test_a_full_queue_drops_without_blocking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    store = RequestLogStore(path, batch_rows=1, flush_interval=0.01, queue_rows=2)
    # Another process holding the write lock: the writer waits on it while requests keep ending.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING, logger="sseguard.request_log"):
            started = time.monotonic()
            for i in range(10):
                store.observe([record(f"sg_{i}")])
            assert time.monotonic() - started < 0.5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.close()
    assert store.dropped >= 7 and store.written + store.dropped == 10
    assert len(query(path, Filters())) == store.written
    assert sum("falling behind" in r.message for r in caplog.records) == 1


def test_request_log_is_on_by_default_and_off_when_empty() -> None:
    deployment: dict[str, Any] = {
        "name": "d",
        "base_url": "http://127.0.0.1:9",
        "kind": "anthropic",
        "passthrough_key": True,
    }
    on = Config.model_validate({"deployments": [deployment]})
    assert on.observe.request_log == str(state_dir() / "sseguard-requests.sqlite3")
    for off in ("", None):
        cfg = Config.model_validate({"deployments": [deployment], "observe": {"request_log": off}})
        assert cfg.observe.request_log is None


def test_the_default_log_is_in_the_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not the working directory, which a gateway started from a project would fill forever."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("SSEGUARD_STATE_DIR", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    name = "sseguard-requests.sqlite3"
    assert Observe().request_log == str(tmp_path / "home/.local/state/sseguard" / name)
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # invalid for XDG: ignored
    assert state_dir() == tmp_path / "home/.local/state/sseguard"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert Observe().request_log == str(tmp_path / "xdg/sseguard" / name)
    monkeypatch.setenv("SSEGUARD_STATE_DIR", str(tmp_path / "own"))
    assert Observe().request_log == str(tmp_path / "own" / name)
    assert Observe(request_log="here.sqlite3").request_log == "here.sqlite3"  # as written


def test_retention_options_and_their_defaults() -> None:
    observe = Observe()
    assert (observe.request_log_max_age, observe.request_log_max_rows) == (14 * 86400, 1_000_000)
    for unbounded in (0, None):
        observe = Observe(request_log_max_age=unbounded, request_log_max_rows=unbounded)
        assert (observe.request_log_max_age, observe.request_log_max_rows) == (None, None)
    assert Observe(request_log_max_age=3600).request_log_max_age == 3600.0
    for bad in (-1, "7d", True):
        with pytest.raises(ValidationError):
            Observe(request_log_max_age=bad)
    for bad in (-1, 2.5, "1000"):
        with pytest.raises(ValidationError):
            Observe(request_log_max_rows=bad)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_log_file_its_side_files_and_its_new_directory_are_private(tmp_path: Path) -> None:
    """Created so, whatever the umask: a permissive one (0) would have made them world-readable."""
    state = tmp_path / "state" / "sseguard"
    path = state / "log.sqlite3"
    with umask(0):
        store = RequestLogStore(path)
        try:
            store.observe([record("sg_private")])
            side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
            assert all(p.exists() for p in side)  # WAL mode: both exist while it is open
            assert [mode(p) for p in (state, path, *side)] == [0o700, 0o600, 0o600, 0o600]
        finally:
            store.close()
    # A file the operator made is theirs: its permissions are left alone.
    shared = tmp_path / "shared.sqlite3"
    shared.touch(mode=0o640)
    shared.chmod(0o640)
    RequestLogStore(shared).close()
    assert mode(shared) == 0o640


def ids_in(target: str | Path) -> list[str]:
    return column(target, "SELECT request_id FROM requests ORDER BY rowid")


def faults_in(target: str | Path) -> list[str]:
    return column(target, "SELECT request_id FROM anomalies ORDER BY request_id")


def decided_in(target: str | Path) -> list[str]:
    return column(target, "SELECT request_id FROM decisions ORDER BY request_id")


def test_prune_deletes_by_age_and_by_rows_with_anomalies_and_decisions_in_bounded_steps(
    log: str,
) -> None:
    path = log
    now = time.time()
    ages = [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]  # days; written oldest first
    write(
        path,
        *(
            record(
                f"sg_{n}",
                started_at=now - days * 86400,
                anomalies={"F02": 1},
                decisions=[Decision("tools", "refuse")],
            )
            for n, days in enumerate(ages)
        ),
    )
    driver = store_pg if is_dsn(path) else store
    conn = driver.connect(path)
    prune = driver.prune
    try:
        # Older than 45 days: sg_0..sg_4, five rows, at most two per pass.
        args = {"max_age": 45 * 86400.0, "max_rows": None, "now": now, "chunk": 1, "budget": 2}
        assert prune(conn, **args) == (2, False)
        assert ids_in(path)[0] == "sg_2"
        assert prune(conn, **args) == (2, False)
        assert prune(conn, **args) == (1, True)
        assert prune(conn, **args) == (0, True)
        assert ids_in(path) == [f"sg_{n}" for n in range(5, 10)]
        # Beyond the newest three written.
        assert prune(conn, max_age=None, max_rows=3, now=now) == (2, True)
        assert ids_in(path) == ["sg_7", "sg_8", "sg_9"]
    finally:
        conn.close()
    # ON DELETE CASCADE (SQLite: foreign keys are on)
    assert faults_in(path) == decided_in(path) == ["sg_7", "sg_8", "sg_9"]


def test_the_writer_applies_retention_when_it_starts_and_as_it_runs_not_per_insert(
    log: str,
) -> None:
    path = log
    writer = open_store(path, max_rows=2, prune_interval=3600)
    for i in range(5):
        writer.observe([record(f"sg_{i}")])
    writer.close()
    assert len(ids_in(path)) == 5 and writer.pruned == 0  # its first pass found nothing
    writer = open_store(path, max_rows=2, prune_interval=3600)
    writer.close()
    assert ids_in(path) == ["sg_3", "sg_4"] and writer.pruned == 3  # the pass as it starts
    writer = open_store(path, max_rows=2, prune_interval=0)  # a pass after every batch
    writer.observe([record("sg_5"), record("sg_6")])
    writer.close()
    assert ids_in(path) == ["sg_5", "sg_6"]


def test_since_accepts_durations_and_times() -> None:
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("2h", now=10_000.0) == 2800.0
    assert parse_since("2026-11-21T10:00") == datetime(2026, 11, 21, 10, 0).timestamp()
    assert parse_since("2026-11-21T10:00:00+00:00") == 1795255200.0
    for bad in ("10", "+5m", "10 m", "yesterday"):
        with pytest.raises(ValueError, match=r"30s, 10m, 2h, 7d"):
            parse_since(bad)


def test_logs_command_explains_a_missing_file_and_a_bad_since(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    result = CliRunner().invoke(main, ["logs", "--db", str(missing)])
    assert result.exit_code == 1
    assert str(missing) in result.output and "[observe] request_log" in result.output
    write(tmp_path / "log.sqlite3")
    result = CliRunner().invoke(
        main, ["logs", "--db", str(tmp_path / "log.sqlite3"), "--since", "x"]
    )
    assert result.exit_code == 2 and "2026-11-21T10:00" in result.output


def test_logs_finds_a_fault_id_however_it_is_typed(tmp_path: Path) -> None:
    """F23b has a lower-case letter: upper-casing what was typed found nothing for it."""
    path = tmp_path / "log.sqlite3"
    write(path, record("sg_f23b", anomalies={"F23b": 1}), record("sg_f02", anomalies={"F02": 2}))
    for typed, found in (("F23b", "sg_f23b"), ("f23B", "sg_f23b"), ("f02", "sg_f02")):
        result = CliRunner().invoke(main, ["logs", "--db", str(path), "--json", "--anomaly", typed])
        assert result.exit_code == 0, result.output
        assert [orjson.loads(line)["request_id"] for line in result.output.splitlines()] == [found]


def test_table_shows_one_line_per_request() -> None:
    rec = record("sg_table", status=529, outcome="error", anomalies={"F18": 2})
    row = {**rec.as_dict(), "deployment": "east"}
    lines = table([row]).splitlines()
    assert lines[0].split()[:3] == ["time", "request", "id"]
    assert "sg_table" in lines[1] and "529" in lines[1] and "F18×2" in lines[1]
    assert "-" in lines[1].split()  # no TTFT
    assert lines[0].split()[-1] == "decisions" and lines[1].split()[-1] == "-"  # none made


def test_decisions_are_compact_in_order_with_repeats_counted() -> None:
    rec = record("sg_compact")
    rec.decisions = [
        Decision("tool_judge", "allow", "Read", "", 0.01, 0.2),
        Decision("tool_judge", "block", "Bash", "deletes files", 0.97, 1.5),
        Decision("tool_judge", "allow", "Read", "", 0.02, 0.2),
        Decision("tools", "refuse"),
    ]
    assert decisions(rec.as_dict()["decisions"]) == (
        "tool_judge:allow(Read)×2,tool_judge:block(Bash),tools:refuse"
    )


def test_logs_shows_decisions_filters_by_them_and_marks_judge_calls(log: str) -> None:
    path = log
    now = time.time()
    blocked = Decision("tool_judge", "block", "Bash", "deletes the home directory", 0.97, 1.5)
    write(
        path,
        record("sg_client", started_at=now - 3, decisions=[blocked]),
        record("sg_judge", started_at=now - 2, parent_id="sg_client"),
        record("sg_masked", started_at=now - 1, decisions=[Decision("redact", "mask", "email")]),
    )

    def logs_in_process(*args: str) -> str:
        result = CliRunner().invoke(main, ["logs", "--db", str(path), *args])
        assert result.exit_code == 0, result.output
        return result.output

    lines = logs_in_process().splitlines()
    assert lines[0].split()[-2:] == ["anomalies", "decisions"]
    masked, judge, client = lines[1:]
    assert "sg_judge (for sg_client)" in judge and judge.split()[-1] == "-"
    assert client.split()[-1] == "tool_judge:block(Bash)"
    assert masked.split()[-1] == "redact:mask(email)"
    assert "deletes" not in logs_in_process()  # the reason is for --json
    [row] = [
        orjson.loads(line) for line in logs_in_process("--json", "--decision", "BLOCK").splitlines()
    ]
    assert row["request_id"] == "sg_client" and row["decisions"] == [
        {
            "policy": "tool_judge",
            "decision": "block",
            "subject": "Bash",
            "reason": "deletes the home directory",
            "probability": 0.97,
            "seconds": 1.5,
        }
    ]
    [judge_row] = [
        orjson.loads(line)
        for line in logs_in_process("--json").splitlines()
        if '"sg_judge"' in line
    ]
    assert judge_row["parent_id"] == "sg_client"
    assert "sg_masked" in logs_in_process("--policy", "redact")
    assert "sg_client" not in logs_in_process("--policy", "redact")
    assert "sg_client" not in logs_in_process("--policy", "redact", "--decision", "block")


SCENARIOS = {
    "clean": "complete",
    "glued_text": "complete",  # repaired: F02
    "overloaded_529": "error",
    "close_in_text_once": "resumed",
}


def logs(db: Path, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "sseguard", "logs", "--db", str(db), "--json", *args],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return [orjson.loads(line) for line in out.stdout.splitlines()]


def test_gateway_writes_the_log_and_sseguard_logs_reads_it(tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    extra = f'\n[observe]\nrequest_log = "{db}"\n'
    with (
        simulator() as sim_url,
        running(
            "serve",
            "--config",
            str(gateway_config(tmp_path, sim_url, extra=extra)),
            banner=b"sseguard listening on",
        ) as gw,
    ):
        client = anthropic.Anthropic(base_url=gw.url, api_key="sk-log", max_retries=0, timeout=30)
        for name in SCENARIOS:
            try:
                with client.messages.stream(
                    model=f"claude-sonnet-4-5+{name}",
                    max_tokens=256,
                    messages=[{"role": "user", "content": f"log {name}"}],
                ) as stream:
                    stream.get_final_message()
            except anthropic.APIError:
                pass
    # The gateway has stopped: its lifespan shutdown flushed the queue.
    rows = logs(db)
    by_scenario = {r["client_model"].split("+")[1]: r for r in rows}
    assert set(by_scenario) == set(SCENARIOS) and len(rows) == len(SCENARIOS)
    assert [r["started_at"] for r in rows] == sorted((r["started_at"] for r in rows), reverse=True)
    for name, outcome in SCENARIOS.items():
        assert by_scenario[name]["outcome"] == outcome, (name, by_scenario[name])
        assert by_scenario[name]["deployment"] == "sim"
    assert by_scenario["glued_text"]["anomalies"].get("F02", 0) >= 1
    assert by_scenario["close_in_text_once"]["resumes"] == 1
    assert [a["fault"] for a in by_scenario["overloaded_529"]["attempts"]] == ["F18", "F18"]
    clean = by_scenario["clean"]
    assert clean["status"] == 200 and clean["ttft"] > 0 and clean["output_tokens"] > 0
    assert b"sk-log" not in db.read_bytes()

    assert [r["request_id"] for r in logs(db, "--anomaly", "f02")] == [
        by_scenario["glued_text"]["request_id"]
    ]
    [overloaded] = logs(db, "--status", "529")
    assert overloaded["request_id"] == by_scenario["overloaded_529"]["request_id"]
    assert logs(db, "--outcome", "resumed", "--since", "1h")[0]["resumes"] == 1
    table_out = subprocess.run(
        [sys.executable, "-m", "sseguard", "logs", "--db", str(db)],
        capture_output=True,
        check=True,
        timeout=30,
        text=True,
    ).stdout
    assert all(r["request_id"] in table_out for r in rows)


def test_serve_writes_the_log_in_the_state_directory_where_sseguard_logs_reads_it(
    tmp_path: Path,
) -> None:
    """Neither command is told where: both find the state directory from the environment."""
    state = tmp_path / "state"
    env = {"SSEGUARD_STATE_DIR": str(state)}
    db = state / "sseguard-requests.sqlite3"
    with (
        simulator() as sim_url,
        running(
            "serve", "--port", "0", "--upstream", sim_url, env=env, banner=b"listening on"
        ) as gw,
    ):
        client = anthropic.Anthropic(base_url=gw.url, api_key="sk-log", max_retries=0, timeout=30)
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert any(f"requests: {db}   (sseguard logs)".encode() in line for line in gw.output)
    assert (mode(state), mode(db)) == (0o700, 0o600)
    out = subprocess.run(
        [sys.executable, "-m", "sseguard", "logs", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        check=True,
        timeout=30,
    )
    [row] = [orjson.loads(line) for line in out.stdout.splitlines()]
    assert row["client_model"] == "claude-sonnet-4-5" and row["outcome"] == "complete"


def test_logs_says_where_it_looked_for_the_default_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSEGUARD_STATE_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["logs"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"no request log at {tmp_path / 'empty' / 'sseguard-requests.sqlite3'}" in output
    assert "$SSEGUARD_STATE_DIR if set, else $XDG_STATE_HOME/sseguard" in output
