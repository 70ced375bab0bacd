"""Issue 21's "done when", all parts at once: two ``sseguard serve`` replicas with one config —
gateway keys, limits shared through a real ``redis-server``, the request log in a real
PostgreSQL — in front of the simulator. Ten requests with one key limited to 5 a minute, spread
over both replicas, give exactly five answers and five 429s; an unknown key gets 401; and
``sseguard logs --db DSN --json`` shows every request of both replicas, those served while
Redis was away included."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import orjson
import pytest

from postgres import Cluster
from processes import Running, running, simulator
from redis_server import RedisServer, redis_server

TIME_BOUND = 30.0  # detects hangs only
KEY = "sg-test-five-a-minute"
FREE = "sg-test-no-limit"


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_cluster: Cluster
) -> Iterator[tuple[Running, Running, str, RedisServer]]:
    tmp = tmp_path_factory.mktemp("done")
    pg_dsn = postgres_cluster.database()
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server())
        sim = stack.enter_context(simulator())
        path = tmp / "sseguard.yaml"
        path.write_text(
            f"""
server: {{host: 127.0.0.1, port: 0}}
observe: {{request_log: "{pg_dsn}"}}
deployments:
  - {{name: sim, kind: anthropic-compatible, base_url: "{sim}", api_key: provider-key}}
keys:
  - {{name: five, key: {KEY}, rpm: 5}}
  - {{name: free, key: {FREE}}}
state: {{redis_url: "{redis.url}"}}
"""
        )
        args = ("serve", "--config", str(path))
        a = stack.enter_context(running(*args, banner=b"sseguard listening on"))
        b = stack.enter_context(running(*args, banner=b"sseguard listening on"))
        yield a, b, pg_dsn, redis


def ask(url: str, key: str, n: int) -> int:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": f"n {n}"}],
    }
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=orjson.dumps(body),
        headers={"content-type": "application/json", "x-api-key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIME_BOUND) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as err:
        err.read()
        return err.code


def test_limits_hold_across_replicas_and_the_log_has_every_request(
    replicas: tuple[Running, Running, str, RedisServer],
) -> None:
    a, b, dsn, redis = replicas
    statuses = Counter(ask((a, b)[n % 2].url, KEY, n) for n in range(10))
    assert statuses == {200: 5, 429: 5}
    assert ask(a.url, "sg-not-a-key", 10) == 401
    # Redis goes away: the replicas fail open (the default) and keep serving, and logging.
    redis.stop()
    assert [ask(url, FREE, 11 + n) for n, url in enumerate((a.url, b.url))] == [200, 200]
    redis.start()
    # The replicas write their logs as they go; SIGTERM flushes what is left (tested apart).
    a.proc.terminate()
    b.proc.terminate()
    a.proc.wait(timeout=TIME_BOUND)
    b.proc.wait(timeout=TIME_BOUND)
    done = subprocess.run(
        [sys.executable, "-m", "sseguard", "logs", "--db", dsn, "--json", "--limit", "100"],
        capture_output=True,
        text=True,
        timeout=TIME_BOUND,
        check=True,
    )
    rows = [orjson.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert Counter(r["status"] for r in rows) == {200: 7, 429: 5, 401: 1}
    assert Counter(r["key_name"] for r in rows if r["status"] != 401) == {"five": 10, "free": 2}
