"""The request log in PostgreSQL: its connection, migrations under an advisory lock, retention, and
a writer that outlasts the database going away.

The schema, statements and migration list are ``log_sql``'s (the same as SQLite's); the queue and
the writer thread are ``log_writer``'s. What is PostgreSQL's own:

- Several gateways (replicas, each with its workers) write into one database. Each migration step
  takes a transaction-level advisory lock before it reads the version, so two starting at once
  apply it once; a retention pass takes another one with ``try``, so only one gateway deletes at
  a time while the others carry on inserting.
- A database that cannot be reached at startup stops the gateway with the cause, as a SQLite file
  that cannot be opened does: the operator (or a supervisor restarting it) sees why at once,
  rather than a gateway that runs and loses its log.
- Once running, a batch that cannot be written because the connection failed (server restarted,
  network gone: psycopg's ``OperationalError``) is held and retried, reconnecting with backoff.
  Meanwhile the queue keeps filling up to its bound (``queue_rows``, the held batch included), so
  memory stays bounded; past it records are dropped and counted, and a log line says how many
  when the database is back. Inserts are idempotent, so a batch whose commit was ambiguous may
  be written again. At shutdown the writer keeps trying for ``close_grace`` seconds, then drops
  what is left and says so: a gateway never hangs on its log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sseguard.observe import log_sql
from sseguard.observe.log_sql import Filters, NoRequestLog, RequestLogError, Rows
from sseguard.observe.log_target import without_password
from sseguard.observe.log_writer import (
    LOGGER,
    PRUNE_CHUNK,
    PRUNE_PASS_ROWS,
    QueuedLog,
    WriterOptions,
    in_chunks,
)
from sseguard.observe.record import RequestRecord

if TYPE_CHECKING:
    from typing_extensions import Unpack

# Defaults for what the DSN leaves unset: a down server is found out in seconds, not minutes,
# and the connections are named in pg_stat_activity.
CONNECT_DEFAULTS = {
    "connect_timeout": "5",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",  # ms a write may go unacknowledged before the connection fails
    "application_name": "sseguard",
}
T = TypeVar("T")
# Advisory lock keys ("sseguard" in ASCII, then a step number): arbitrary, held only by sseguard.
MIGRATION_LOCK = 0x7373_6775_6172_6401
RETENTION_LOCK = 0x7373_6775_6172_6402
RETRY_FIRST = 0.25  # seconds before the first retry of a batch the database was not there for
RETRY_MAX = 5.0  # the backoff's ceiling: a database that is back is found within this
CLOSE_GRACE = 10.0  # seconds shutdown waits for an unreachable database before dropping rows


class Native:
    """``log_sql``'s statements on a psycopg cursor: ``?`` placeholders become ``%s``."""

    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Rows:
        return self._cur.execute(_native(sql), params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> object:
        self._cur.executemany(_native(sql), params)  # pipelined: one round trip per batch
        return None


@lru_cache(maxsize=1024)
def _native(sql: str) -> str:
    # log_sql's statements hold no literal '?' or '%': a plain replacement is exact.
    assert "%" not in sql, sql
    return sql.replace("?", "%s")


def connect(dsn: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection with ``CONNECT_DEFAULTS`` where the DSN says nothing; autocommit, so that
    transactions are the explicit ``conn.transaction()`` blocks."""
    given = conninfo_to_dict(dsn)
    extra = {k: v for k, v in CONNECT_DEFAULTS.items() if k not in given}
    return psycopg.connect(make_conninfo(dsn, **extra), autocommit=autocommit)


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply the steps this database lacks; returns the version. Safe with several gateways
    starting at once: each step reads the version under ``MIGRATION_LOCK``, which the step's
    transaction holds until it commits (DDL is transactional in PostgreSQL)."""
    db = Native(conn.cursor())
    version = 0
    for version, statements in enumerate(log_sql.steps("postgresql"), start=1):
        with conn.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            # Under the lock too: two CREATE TABLE IF NOT EXISTS at once can both try to create.
            db.execute(log_sql.CREATE_SCHEMA_VERSION)
            current = db.execute(log_sql.SELECT_VERSION).fetchone()[0] or 0
            if current < version:
                for statement in statements:
                    db.execute(statement)
                db.execute(log_sql.INSERT_VERSION, (version, time.time()))
    return version


def prune(
    conn: psycopg.Connection[Any],
    *,
    max_age: float | None,
    max_rows: int | None,
    now: float,
    chunk: int = PRUNE_CHUNK,
    budget: int = PRUNE_PASS_ROWS,
) -> tuple[int, bool]:
    """Delete what retention no longer keeps (``log_sql.delete_due``), ``chunk`` rows per
    transaction, at most ``budget``; returns the rows deleted and whether nothing more is due.
    A pass that finds another gateway deleting ends there: that one does the work."""
    return in_chunks(
        partial(_delete_chunk, conn, max_age, max_rows, now), chunk=chunk, budget=budget
    )


def _delete_chunk(
    conn: psycopg.Connection[Any],
    max_age: float | None,
    max_rows: int | None,
    now: float,
    limit: int,
) -> int:
    db = Native(conn.cursor())
    with conn.transaction():
        if not db.execute("SELECT pg_try_advisory_xact_lock(?)", (RETENTION_LOCK,)).fetchone()[0]:
            return 0
        return log_sql.delete_due(db, max_age, max_rows, now, limit)


def _message(exc: BaseException, dsn: str) -> str:
    """The driver's message on one line, with the password taken out should it quote it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    password = conninfo_to_dict(dsn).get("password")
    return text.replace(str(password), "***") if password else text


class PostgresRequestLog(QueuedLog):
    """The request log in a PostgreSQL database (``log_writer.QueuedLog`` has the queue and the
    thread). Opening it connects and migrates, or raises ``RequestLogError`` with the cause."""

    def __init__(
        self,
        dsn: str,
        *,
        retry_max: float = RETRY_MAX,
        close_grace: float = CLOSE_GRACE,
        **options: Unpack[WriterOptions],
    ) -> None:
        super().__init__(without_password(dsn), **options)
        self._dsn = dsn
        self.retry_max = retry_max
        self.close_grace = close_grace
        self._conn: psycopg.Connection[Any] | None = None
        try:
            self._conn = self._open()
        except psycopg.Error as exc:
            raise RequestLogError(f"{self.name}: {_message(exc, dsn)}") from None
        self._down_since: float | None = None  # monotonic time the connection was lost
        self._rejected_then = 0  # the loop's drop count then, to say how many the outage cost
        self._give_up_at: float | None = None  # set by close: the end of its grace
        self._wake = threading.Event()  # set by close: a writer in backoff retries at once
        self._start()

    def _open(self) -> psycopg.Connection[Any]:
        conn = connect(self._dsn)
        try:
            migrate(conn)  # again after a reconnect: a database restored empty is made anew
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Write what is queued, trying an unreachable database for ``close_grace`` seconds."""
        if self._give_up_at is None:
            self._give_up_at = time.monotonic() + self.close_grace
            self._wake.set()
        super().close()

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, batch: list[RequestRecord]) -> None:
        delay = RETRY_FIRST
        while True:
            if self._conn is None and self._past_grace():
                self.failed += len(batch)
                LOGGER.warning(
                    "request log %s: %d records not written: the database is unreachable at"
                    " shutdown",
                    self.name,
                    len(batch),
                )
                return
            try:
                if self._conn is None:
                    self._conn = self._open()
                with self._conn.transaction():
                    log_sql.insert(Native(self._conn.cursor()), batch)
            except psycopg.OperationalError as exc:
                self._lost(exc)
                self._backoff(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            except psycopg.Error as exc:
                # Refused by the database itself (not a connection problem): retrying would be
                # refused again. Dropped and said, as the SQLite writer does.
                self.failed += len(batch)
                LOGGER.warning(
                    "request log %s: %d records not written: %s",
                    self.name,
                    len(batch),
                    _message(exc, self._dsn),
                )
                return
            self.written += len(batch)
            if self._down_since is not None:
                self._back()
            return

    def _prune_pass(self) -> tuple[int, bool]:
        if self._conn is None:
            return 0, True  # unreachable: the next pass, after a batch brought it back
        try:
            return prune(self._conn, max_age=self.max_age, max_rows=self.max_rows, now=time.time())
        except psycopg.OperationalError as exc:
            self._lost(exc)
        except psycopg.Error as exc:
            LOGGER.warning(
                "request log %s: old records not deleted: %s", self.name, _message(exc, self._dsn)
            )
        return 0, True

    def _past_grace(self) -> bool:
        return self._give_up_at is not None and time.monotonic() >= self._give_up_at

    def health(self) -> str | None:
        down = self._down_since
        if down is None:
            return None
        return f"the database has been unreachable for {time.monotonic() - down:.0f} s"

    def _backoff(self, delay: float) -> None:
        if self._give_up_at is not None:
            delay = min(delay, max(0.0, self._give_up_at - time.monotonic()))
        if self._wake.wait(delay):
            self._wake.clear()  # once: later retries back off again

    def _lost(self, exc: BaseException) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._rejected_then = self.rejected
            LOGGER.warning(
                "request log %s: the database cannot be reached (%s); holding up to %d records"
                " and retrying",
                self.name,
                _message(exc, self._dsn),
                self.queue_rows,
            )

    def _back(self) -> None:
        assert self._down_since is not None
        LOGGER.warning(
            "request log %s: the database is back after %.1f s; %d records dropped meanwhile",
            self.name,
            time.monotonic() - self._down_since,
            self.rejected - self._rejected_then,
        )
        self._down_since = None


def query(dsn: str, filters: Filters) -> list[dict[str, Any]]:
    """``log_sql.read`` in one read-only, repeatable-read transaction."""
    return _reading(dsn, lambda db, name: log_sql.read(db, filters, name))


def find(dsn: str, request_id: str) -> dict[str, Any] | None:
    return _reading(dsn, lambda db, name: log_sql.find(db, request_id, name))


def deployment_summary(dsn: str, since: float, until: float) -> list[dict[str, Any]]:
    return _reading(dsn, lambda db, name: log_sql.summary(db, since, until, name))


def deployment_series(
    dsn: str, deployment: str, since: float, until: float, buckets: int
) -> list[dict[str, Any]]:
    return _reading(
        dsn, lambda db, name: log_sql.series(db, deployment, since, until, buckets, name)
    )


def _reading(dsn: str, read: Callable[[Native, str], T]) -> T:
    """``read`` in one read-only, repeatable-read transaction: retention running meanwhile
    cannot part rows from their anomalies or decisions."""
    name = without_password(dsn)
    try:
        conn = connect(dsn, autocommit=False)
    except psycopg.Error as exc:
        raise RequestLogError(f"{name}: {_message(exc, dsn)}") from None
    try:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        return read(Native(conn.cursor()), name)
    except psycopg.errors.UndefinedTable:
        raise NoRequestLog(
            f"no request log in {name} (no schema_version table): `sseguard serve` creates it"
            " there when its observe.request_log is this DSN"
        ) from None
    except psycopg.Error as exc:
        raise RequestLogError(f"{name}: {_message(exc, dsn)}") from None
    finally:
        conn.close()
