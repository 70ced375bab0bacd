"""Which store ``observe.request_log`` (and ``sseguard logs --db``) names: a ``postgresql://`` or
``postgres://`` DSN is a PostgreSQL database, anything else a SQLite file.

Kept free of the PostgreSQL driver, which is an optional dependency (``sseguard[postgres]``) and
imported only when a DSN is used, and of the DSN's password, which no message or banner shows.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sseguard.observe.log_sql import Filters, RequestLogError
from sseguard.observe.log_writer import QueuedLog

SCHEMES = ("postgresql://", "postgres://")


def is_dsn(target: str | Path) -> bool:
    return isinstance(target, str) and target.lower().startswith(SCHEMES)


def without_password(dsn: str) -> str:
    """The DSN as it may be shown: its password, in the user part or as a parameter, left out.
    A DSN that does not parse is shown as its scheme alone."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return dsn.split("://", 1)[0] + "://…"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}@{hosts}" if at else hosts
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"], safe="/:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe(target: str) -> str:
    """The log for a banner or a message: an absolute path, or the DSN without its password."""
    return without_password(target) if is_dsn(target) else os.path.abspath(target)


def open_store(target: str | Path, **options: Any) -> QueuedLog:
    """The request log's writer for ``target``, created or upgraded (migrations) and ready;
    ``options`` are the stores' own (retention, batching). Raises ``RequestLogError``."""
    if not isinstance(target, str) or not is_dsn(target):
        from sseguard.observe.store import RequestLogStore

        return RequestLogStore(target, **options)
    try:
        from sseguard.observe.store_pg import PostgresRequestLog
    except ImportError as exc:
        raise _driver_missing(exc) from None
    return PostgresRequestLog(target, **options)


def query(target: str | Path, filters: Filters) -> list[dict[str, Any]]:
    """Matching records of the log at ``target``, newest first (``log_sql.read``)."""
    if not isinstance(target, str) or not is_dsn(target):
        from sseguard.observe.store import query as query_file

        return query_file(target, filters)
    try:
        from sseguard.observe.store_pg import query as query_database
    except ImportError as exc:
        raise _driver_missing(exc) from None
    return query_database(target, filters)


def find(target: str | Path, request_id: str) -> dict[str, Any] | None:
    """One record of the log at ``target`` by its id (``log_sql.find``)."""
    return _reader(target).find(target, request_id)  # type: ignore[no-any-return]


def deployment_summary(target: str | Path, since: float, until: float) -> list[dict[str, Any]]:
    """Per deployment over [since, until) in the log at ``target`` (``log_sql.summary``)."""
    return _reader(target).deployment_summary(target, since, until)  # type: ignore[no-any-return]


def deployment_series(
    target: str | Path, deployment: str, since: float, until: float, buckets: int
) -> list[dict[str, Any]]:
    """One deployment in time slices, from the log at ``target`` (``log_sql.series``)."""
    reader = _reader(target)
    return reader.deployment_series(target, deployment, since, until, buckets)  # type: ignore[no-any-return]


def _reader(target: str | Path) -> ModuleType:
    """The store module that reads ``target``: ``store`` for a file, ``store_pg`` for a DSN."""
    if not isinstance(target, str) or not is_dsn(target):
        from sseguard.observe import store

        return store
    try:
        from sseguard.observe import store_pg
    except ImportError as exc:
        raise _driver_missing(exc) from None
    return store_pg


def _driver_missing(exc: ImportError) -> RequestLogError:
    return RequestLogError(
        f"a PostgreSQL request log needs the psycopg driver ({exc}):"
        " pip install 'sseguard[postgres]'"
    )
