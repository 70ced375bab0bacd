"""The request log: finished request records in SQLite, its schema and migrations, its retention,
and its queries.

Writes happen on a thread of their own; ``observe`` only enqueues and never blocks or raises into a
request. The same thread deletes what retention no longer keeps, a bounded amount at a time. The
schema uses plain SQL types and no SQLite-only features, so PostgreSQL can follow (retention by row
count reads SQLite's rowid: an identity column would stand in for it there).

The file holds which models were asked what, when, and what it cost: it is created readable by its
owner only, in a directory only its owner can enter when the log creates that too.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson

from sseguard.observe.record import RequestRecord

LOGGER = logging.getLogger("sseguard.request_log")
T = TypeVar("T")

BATCH_ROWS = 200
FLUSH_INTERVAL = 0.5  # seconds a row may wait for others before its batch is written
QUEUE_ROWS = 10_000  # beyond this the writer has fallen behind: records are dropped, not waited for
BUSY_TIMEOUT = 5.0  # seconds SQLite waits for another worker process's write to finish
LOCKED_RETRIES = 5
# Retention runs on the writer thread, never per insert: a pass every PRUNE_INTERVAL seconds (and
# one when the writer starts) deletes at most PRUNE_PASS_ROWS rows, PRUNE_CHUNK per transaction so
# that other workers' inserts wait for the write lock briefly. A pass that stops at its bound
# leaves a backlog (an old log, a new bound): the next one comes after PRUNE_BACKLOG_INTERVAL.
PRUNE_INTERVAL = 60.0
PRUNE_BACKLOG_INTERVAL = 1.0
PRUNE_CHUNK = 1000
PRUNE_PASS_ROWS = 10_000
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

# Each step runs once, in order, in its own transaction; version N is MIGRATIONS[N - 1].
# Append new steps, never edit applied ones.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
)

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


class RequestLogError(Exception):
    """The request log cannot be opened or read; the message says which file and why."""


class NoRequestLog(RequestLogError):
    """The file to read does not exist (the gateway has not written it, or it looked elsewhere)."""


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


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents if it does not exist, itself readable by its owner
    only: set after creating, so a permissive umask cannot widen it. An existing directory is the
    operator's and is left as it is."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True)
    except FileExistsError:  # another worker made it first
        return
    os.chmod(path, PRIVATE_DIR)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists (then it is left as
    the operator has it). SQLite gives the -wal and -shm files it creates beside a database the
    database's own permissions, so they are private too."""
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)  # the umask may have taken bits away, even the owner's
    finally:
        os.close(fd)


def prune(
    conn: sqlite3.Connection,
    *,
    max_age: float | None,
    max_rows: int | None,
    now: float,
    chunk: int = PRUNE_CHUNK,
    budget: int = PRUNE_PASS_ROWS,
) -> tuple[int, bool]:
    """Delete the requests retention no longer keeps: started more than ``max_age`` seconds before
    ``now``, and beyond the newest ``max_rows`` written. Their anomalies and decisions go with
    them (ON DELETE CASCADE; ``connect`` turns foreign keys on). At most ``budget`` rows,
    ``chunk`` per transaction; returns the rows deleted and whether nothing more is due."""
    deleted = 0
    while deleted < budget:
        want = min(chunk, budget - deleted)
        got = _retry_locked(partial(_delete_chunk, conn, max_age, max_rows, now, want))
        deleted += got
        if got < want:
            return deleted, True
    return deleted, False


def _delete_chunk(
    conn: sqlite3.Connection, max_age: float | None, max_rows: int | None, now: float, limit: int
) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = 0
        if max_age is not None:
            deleted += conn.execute(
                "DELETE FROM requests WHERE request_id IN (SELECT request_id FROM requests"
                " WHERE started_at < ? ORDER BY started_at LIMIT ?)",
                (now - max_age, limit),
            ).rowcount
        if max_rows is not None and deleted < limit:
            # Rowids grow with each insert: the newest max_rows rows written are those above
            # the last one minus max_rows, found through the rowid index, not by counting.
            newest = conn.execute("SELECT MAX(rowid) FROM requests").fetchone()[0] or 0
            deleted += conn.execute(
                "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests"
                " WHERE rowid <= ? ORDER BY rowid LIMIT ?)",
                (newest - max_rows, limit - deleted),
            ).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are begun and ended explicitly.

    Opened on one thread and written on the writer thread, never by two at once.
    """
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The last migration applied (0 for a new file, whose version table this creates)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the steps this file lacks; returns the version. Safe with several processes at once."""
    # WAL lets the CLI read while workers write; the mode is stored in the file.
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    _retry_locked(lambda: schema_version(conn))
    for version, statements in enumerate(MIGRATIONS, start=1):
        _retry_locked(partial(_apply, conn, version, statements))
    return schema_version(conn)


def _apply(conn: sqlite3.Connection, version: int, statements: Sequence[str]) -> None:
    # IMMEDIATE takes the write lock first, so two workers starting together cannot both apply it.
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        if current < version:
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, time.time()),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _retry_locked(step: Callable[[], T]) -> T:
    """Run ``step``; on "database is locked" (the busy timeout ran out) wait and run it again."""
    attempt = 0
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            attempt += 1
            if "locked" not in str(exc) or attempt == LOCKED_RETRIES:
                raise
            time.sleep(0.05 * 2**attempt)


def _row(rec: dict[str, Any]) -> tuple[Any, ...]:
    deployments = rec["deployments"]
    values = [rec[name] for name in SCALARS]
    values.append(deployments[-1] if deployments else None)
    values.extend(orjson.dumps(rec[name]).decode() for name in JSON_COLUMNS)
    return tuple(values)


_STOP = None  # the queue's end marker


class RequestLogStore:
    """``observe`` is the gateway observer; a writer thread batches rows; ``close`` flushes."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_age: float | None = None,
        max_rows: int | None = None,
        prune_interval: float = PRUNE_INTERVAL,
        batch_rows: int = BATCH_ROWS,
        flush_interval: float = FLUSH_INTERVAL,
        queue_rows: int = QUEUE_ROWS,
    ) -> None:
        self.path = Path(path)
        self.batch_rows = batch_rows
        self.flush_interval = flush_interval
        # Retention (observe.request_log_max_age, _max_rows); None is no bound.
        self.max_age = max_age
        self.max_rows = max_rows
        self.prune_interval = prune_interval
        self._next_prune = time.monotonic()  # the writer's first pass is when it starts
        # One counter per thread, so neither needs a lock: the loop's drops, the writer's results.
        self.rejected = 0  # queue full or store closed
        self.failed = 0  # in a batch the database refused
        self.written = 0
        self.pruned = 0
        try:
            create_private_file(self.path)
            self._conn = connect(self.path)
        except OSError as exc:
            raise RequestLogError(f"{self.path}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise RequestLogError(f"{self.path}: {exc}") from None
        try:
            migrate(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise RequestLogError(f"{self.path}: {exc}") from None
        # Batches from the loop (``observe.handoff``). A SimpleQueue: queue.Queue's Python-level
        # condition variable cost more per put than the record itself. Its bound in rows is kept
        # by two counters, each written by one thread: rows enqueued (loop), rows taken (writer).
        self._queue: queue.SimpleQueue[list[RequestRecord] | None] = queue.SimpleQueue()
        self.queue_rows = queue_rows
        self._enqueued = 0
        self._taken = 0
        self._closed = False
        # A daemon: a worker killed without its lifespan shutdown must still be able to exit.
        self._writer = threading.Thread(target=self._run, name="sseguard-request-log", daemon=True)
        self._writer.start()

    @property
    def dropped(self) -> int:
        """Records that will never be written."""
        return self.rejected + self.failed

    def observe(self, batch: list[RequestRecord]) -> None:
        """Called on the event loop with finished requests (``observe.handoff``): enqueue, never
        wait. Past ``queue_rows`` waiting rows the writer has fallen behind: the rest is dropped."""
        if self._closed:
            self.rejected += len(batch)
            return
        room = self.queue_rows - (self._enqueued - self._taken)
        if room < len(batch):
            dropped = len(batch) - max(room, 0)
            if self.rejected == 0:
                LOGGER.warning(
                    "request log %s is falling behind: records are being dropped", self.path
                )
            self.rejected += dropped
            batch = batch[: max(room, 0)]
            if not batch:
                return
        self._enqueued += len(batch)
        self._queue.put(batch)  # finished records, no longer written to: rows made off the loop

    def close(self) -> None:
        """Write what is queued, stop the writer and close the file. Blocks: call off the loop."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join()
        self._conn.close()

    def _run(self) -> None:
        retains = self.max_age is not None or self.max_rows is not None
        stop = False
        while not stop:  # until the end marker, after writing what came before it
            # Idle, the writer still wakes for retention: an unused log is trimmed too.
            wait = max(0.0, self._next_prune - time.monotonic()) if retains else None
            try:
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                first = []
            records: list[RequestRecord] = []
            stop = first is _STOP
            if first is not _STOP:
                records += first
            deadline = time.monotonic() + self.flush_interval
            while records and not stop and len(records) < self.batch_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                else:
                    records += more
            self._taken += len(records)
            if records:
                self._write(records)
            if retains and time.monotonic() >= self._next_prune:
                self._prune()

    def _prune(self) -> None:
        try:
            deleted, done = prune(
                self._conn, max_age=self.max_age, max_rows=self.max_rows, now=time.time()
            )
        except sqlite3.Error as exc:
            # Like a failed batch: said, and tried again at the next pass.
            LOGGER.warning("request log %s: old records not deleted: %s", self.path, exc)
            done = True
        else:
            self.pruned += deleted
        interval = self.prune_interval if done else min(self.prune_interval, PRUNE_BACKLOG_INTERVAL)
        self._next_prune = time.monotonic() + interval

    def _write(self, batch: list[RequestRecord]) -> None:
        try:
            _retry_locked(partial(self._insert, batch))
            self.written += len(batch)
        except sqlite3.Error as exc:
            # The writer must outlive a bad moment (disk full, a lock held too long): it drops
            # this batch, says so, and carries on with the next.
            self.failed += len(batch)
            LOGGER.warning("request log %s: %d records not written: %s", self.path, len(batch), exc)

    def _insert(self, batch: list[RequestRecord]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(INSERT_REQUEST, [_row(rec.as_dict()) for rec in batch])
            self._conn.executemany(
                INSERT_ANOMALY,
                [
                    (rec.request_id, fault, count)
                    for rec in batch
                    for fault, count in rec.anomalies.items()
                ],
            )
            self._conn.executemany(
                INSERT_DECISION,
                [
                    (
                        rec.request_id,
                        seq,
                        d.policy,
                        d.decision,
                        d.subject,
                        d.reason,
                        d.probability,
                        d.seconds,
                    )
                    for rec in batch
                    for seq, d in enumerate(rec.decisions)
                ],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise


def query(path: str | Path, filters: Filters) -> list[dict[str, Any]]:
    """Matching records, newest first, as ``RequestRecord.as_dict()`` plus ``deployment``."""
    path = Path(path)
    if not path.is_file():
        raise NoRequestLog(f"no request log at {path.resolve()}")
    conditions = (
        ("started_at >= ?", filters.since),
        ("status = ?", filters.status),
        ("deployment = ?", filters.deployment),
        ("outcome = ?", filters.outcome),
        ("request_id IN (SELECT request_id FROM anomalies WHERE fault = ?)", filters.anomaly),
    )
    where = [clause for clause, value in conditions if value is not None]
    args: list[Any] = [value for _, value in conditions if value is not None]
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
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise RequestLogError(f"{path}: {exc}") from None
    try:
        # One read transaction: retention running meanwhile cannot part rows from their decisions.
        conn.execute("BEGIN")
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        if version < len(MIGRATIONS):
            # The columns asked for are not there yet: say why rather than "no such column".
            raise RequestLogError(
                f"{path}: written by an older sseguard (schema version {version}, this one reads"
                f" {len(MIGRATIONS)}); `sseguard serve` upgrades it when it next opens it"
            )
        records = [_record(row) for row in conn.execute(sql, args).fetchall()]
        decisions = _decisions(conn, [rec["request_id"] for rec in records])
    except sqlite3.DatabaseError as exc:
        raise RequestLogError(f"{path}: not a sseguard request log ({exc})") from None
    finally:
        conn.close()
    for rec in records:
        rec["decisions"] = decisions.get(rec["request_id"], [])
    return records


def _record(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(COLUMNS, row, strict=True))
    for name in BOOLEANS:
        out[name] = bool(out[name])
    for name in JSON_COLUMNS:
        out[name] = orjson.loads(out[name])
    return out


def _decisions(conn: sqlite3.Connection, request_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The decisions of these requests, each request's in order, as ``Decision`` fields."""
    out: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(request_ids), DECISION_LOOKUP_IDS):
        ids = request_ids[start : start + DECISION_LOOKUP_IDS]
        sql = SELECT_DECISIONS.format(", ".join("?" * len(ids)))
        for request_id, *values in conn.execute(sql, ids):
            out.setdefault(request_id, []).append(dict(zip(DECISION_FIELDS, values, strict=True)))
    return out
