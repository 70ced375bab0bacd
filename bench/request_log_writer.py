"""How many rows a second the request log's writer sustains, SQLite and PostgreSQL, and what the
event loop pays per request for it (``observe``: the queue put, the same code for both stores).

Run: ``.venv/bin/python bench/request_log_writer.py [--rows 50000] [--dsn postgresql://…]``.
Without ``--dsn`` it starts a throwaway PostgreSQL server (tests/postgres.py) with its default
durability (fsync and synchronous commit on, unlike the tests' server). Records come in batches
of 50, as the gateway's hand-off delivers them under load; a quarter carry an anomaly and a
policy decision. A benchmark reports; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sseguard.observe.log_target import open_store
from sseguard.observe.record import Decision, RequestRecord

BATCH = 50


def records(n: int, tag: str) -> list[RequestRecord]:
    out = []
    for i in range(n):
        rec = RequestRecord(f"sg_{tag}_{i:08d}", "/v1/messages", route="*", client_model="m")
        rec.tried("east")
        rec.input_tokens, rec.output_tokens = 1200, 300
        if i % 4 == 0:
            rec.add_anomalies({"F02": 1})
            rec.decisions.append(Decision("tool_judge", "allow", "Read", "", 0.01, 0.2))
        rec.finish(200)
        out.append(rec)
    return out


def run(target: str, rows: int, tag: str) -> tuple[float, float, int]:
    """Rows a second from the first put to close's return, nanoseconds per record spent in
    ``observe``, and the rows dropped."""
    batches = [b for b in _chunks(records(rows, tag), BATCH)]
    store = open_store(target, queue_rows=rows + BATCH, max_age=None, max_rows=None)
    put_ns: list[float] = []
    started = time.perf_counter()
    for batch in batches:
        t = time.perf_counter_ns()
        store.observe(batch)
        put_ns.append((time.perf_counter_ns() - t) / len(batch))
    store.close()
    seconds = time.perf_counter() - started
    return store.written / seconds, statistics.median(put_ns), store.dropped


def _chunks(items: list[RequestRecord], size: int) -> list[list[RequestRecord]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dsn")
    args = parser.parse_args()
    cluster = None
    dsn = args.dsn
    if dsn is None:
        from postgres import Cluster, binaries

        found = binaries()
        if found is None:
            sys.exit("PostgreSQL is not installed; give --dsn")
        cluster = Cluster(found, settings=())
        cluster.start()
        dsn = cluster.database()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name, target in (("sqlite", f"{scratch}/log.sqlite3"), ("postgresql", dsn)):
                rate, put, dropped = run(target, args.rows, name)
                print(
                    f"{name:10} {args.rows} rows: {rate:,.0f} rows/s written;"
                    f" observe {put:,.0f} ns per record (median over batches of {BATCH});"
                    f" dropped {dropped}"
                )
    finally:
        if cluster is not None:
            cluster.remove()


if __name__ == "__main__":
    main()
