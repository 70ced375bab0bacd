"""The request log in a SQLite file: its file permissions, connection, migrations and retention.

The schema, the statements and the migration list are ``log_sql``'s, shared with PostgreSQL
(``store_pg``); the queue and the writer thread are ``log_writer``'s. What is SQLite's own: a
file, ``BEGIN IMMEDIATE`` to take the write lock before a migration step reads the version, and
retrying "database is locked" when several worker processes write at once.

The file holds which models were asked what, when, and what it cost: it is created readable by its
owner only, in a directory only its owner can enter when the log creates that too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sseguard.observe import log_sql
from sseguard.observe.log_sql import Filters, NoRequestLog, RequestLogError, delete_due, insert
from sseguard.observe.log_writer import (
    PRUNE_CHUNK,
    PRUNE_PASS_ROWS,
    QueuedLog,
    WriterOptions,
    in_chunks,
)
from sseguard.observe.record import RequestRecord

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Filters", "NoRequestLog", "RequestLogError", "RequestLogStore", "query"]

LOGGER = logging.getLogger("sseguard.request_log")
T = TypeVar("T")

BUSY_TIMEOUT = 5.0  # seconds SQLite waits for another worker process's write to finish
LOCKED_RETRIES = 5
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


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
    return in_chunks(
        lambda limit: _retry_locked(partial(_delete_chunk, conn, max_age, max_rows, now, limit)),
        chunk=chunk,
        budget=budget,
    )


def _delete_chunk(
    conn: sqlite3.Connection, max_age: float | None, max_rows: int | None, now: float, limit: int
) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = delete_due(conn, max_age, max_rows, now, limit)
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
    conn.execute(log_sql.CREATE_SCHEMA_VERSION)
    row = conn.execute(log_sql.SELECT_VERSION).fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the steps this file lacks; returns the version. Safe with several processes at once."""
    # WAL lets the CLI read while workers write; the mode is stored in the file.
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    _retry_locked(lambda: schema_version(conn))
    for version, statements in enumerate(log_sql.steps("sqlite"), start=1):
        _retry_locked(partial(_apply, conn, version, statements))
    return schema_version(conn)


def _apply(conn: sqlite3.Connection, version: int, statements: Sequence[str]) -> None:
    # IMMEDIATE takes the write lock first, so two workers starting together cannot both apply it.
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute(log_sql.SELECT_VERSION).fetchone()[0] or 0
        if current < version:
            for statement in statements:
                conn.execute(statement)
            conn.execute(log_sql.INSERT_VERSION, (version, time.time()))
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


class RequestLogStore(QueuedLog):
    """The request log in a SQLite file (``log_writer.QueuedLog`` has the queue and the thread)."""

    def __init__(self, path: str | Path, **options: Unpack[WriterOptions]) -> None:
        self.path = Path(path)
        super().__init__(str(self.path), **options)
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
        self._start()

    def _disconnect(self) -> None:
        self._conn.close()

    def _prune_pass(self) -> tuple[int, bool]:
        try:
            return prune(self._conn, max_age=self.max_age, max_rows=self.max_rows, now=time.time())
        except sqlite3.Error as exc:
            # Like a failed batch: said, and tried again at the next pass.
            LOGGER.warning("request log %s: old records not deleted: %s", self.path, exc)
            return 0, True

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
            insert(self._conn, batch)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise


def query(path: str | Path, filters: Filters) -> list[dict[str, Any]]:
    """Matching records, newest first, as ``RequestRecord.as_dict()`` plus ``deployment``."""
    return _reading(path, lambda conn, name: log_sql.read(conn, filters, name))


def find(path: str | Path, request_id: str) -> dict[str, Any] | None:
    """One record by its id (``log_sql.find``)."""
    return _reading(path, lambda conn, name: log_sql.find(conn, request_id, name))


def deployment_summary(path: str | Path, since: float, until: float) -> list[dict[str, Any]]:
    """Per deployment over [since, until) (``log_sql.summary``)."""
    return _reading(path, lambda conn, name: log_sql.summary(conn, since, until, name))


def deployment_series(
    path: str | Path, deployment: str, since: float, until: float, buckets: int
) -> list[dict[str, Any]]:
    """One deployment over [since, until) in time slices (``log_sql.series``)."""
    return _reading(
        path, lambda conn, name: log_sql.series(conn, deployment, since, until, buckets, name)
    )


def _reading(path: str | Path, read: Callable[[sqlite3.Connection, str], T]) -> T:
    """``read`` in one read transaction (retention running meanwhile cannot part rows from
    their anomalies or decisions) on the file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise NoRequestLog(f"no request log at {path.resolve()}")
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise RequestLogError(f"{path}: {exc}") from None
    try:
        conn.execute("BEGIN")
        return read(conn, str(path))
    except sqlite3.DatabaseError as exc:
        raise RequestLogError(f"{path}: not a sseguard request log ({exc})") from None
    finally:
        conn.close()
