"""Gateway keys, limits and budgets with the real server (issue 21): two ``sseguard serve``
replicas with one config, one ``redis-server``, the simulator as upstream.

Waiting is on observable conditions (a banner, a metric, an answer) with time bounds that only
detect hangs.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from processes import Running, running, simulator
from redis_server import RedisServer, redis_server

TIME_BOUND = 20.0  # detects hangs only
ADMIN = "admin-secret-for-tests"
KEYS = {
    "limited": "sg-test-limited",
    "narrow": "sg-test-narrow",
    "budgeted": "sg-test-budgeted",
    "streams": "sg-test-streams",
    "plain": "sg-test-plain",
}


def config(tmp: Path, sim: str, redis_url: str, mode: str, admin: bool = True) -> Path:
    admin_part = f"admin:\n  key: {ADMIN}\n" if admin else ""
    text = f"""
server: {{host: 127.0.0.1, port: 0}}
timeouts: {{connect: 2, first_event: 10, idle: 10, progress: 10, total: 60, ping_interval: 1}}
observe: {{request_log: ""}}
deployments:
  - name: sim
    kind: anthropic-compatible
    base_url: {sim}
    api_key: provider-key-never-shown
keys:
  - {{name: limited, key: {KEYS["limited"]}, rpm: 5}}
  - {{name: narrow, key: {KEYS["narrow"]}, models: ["claude-haiku-*"]}}
  - {{name: budgeted, key: {KEYS["budgeted"]}, budget_usd: 0.000001}}
  - {{name: streams, key: {KEYS["streams"]}, max_streams: 2}}
  - {{name: plain, key: {KEYS["plain"]}, rpm: 100000}}
prices:
  "*": {{input: 1.0, output: 1.0}}
{admin_part}state:
  redis_url: {redis_url}
  on_unavailable: {mode}
"""
    path = tmp / f"sseguard-{mode}-{admin}.yaml"
    path.write_text(text)
    return path


@dataclass
class World:
    a: Running
    b: Running
    closed: Running  # a third replica that fails closed and has no admin API
    redis: RedisServer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("teams")
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server())
        sim = stack.enter_context(simulator())
        open_cfg = str(config(tmp, sim, redis.url, "open"))
        closed_cfg = str(config(tmp, sim, redis.url, "closed", admin=False))
        banner = b"sseguard listening on"
        a = stack.enter_context(
            running("serve", "--config", open_cfg, "--port", "0", banner=banner)
        )
        b = stack.enter_context(
            running("serve", "--config", open_cfg, "--port", "0", banner=banner)
        )
        closed = stack.enter_context(
            running("serve", "--config", closed_cfg, "--port", "0", banner=banner)
        )
        yield World(a, b, closed, redis)


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return orjson.loads(self.text)


def request(
    method: str, url: str, path: str, headers: dict[str, str] | None = None, body: Any = None
) -> Answer:
    """One request on its own connection (stdlib: the test depends on no HTTP client's quirks)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIME_BOUND)
    try:
        data = None if body is None else orjson.dumps(body)
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        conn.close()


def ask(
    url: str,
    key: str | None,
    model: str = "claude-sonnet-4-5",
    path: str = "/v1/messages",
    stream: bool = False,
) -> Answer:
    headers = {"content-type": "application/json"}
    if key is not None:
        if path == "/v1/chat/completions":
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 16,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return request("POST", url, path, headers, body)


def until(check: Callable[[], Any], what: str) -> Any:
    """Ask ``check`` until it answers something true; the bound detects a hang."""
    deadline = time.monotonic() + TIME_BOUND
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
    raise AssertionError(f"not within {TIME_BOUND} s: {what}")


def metric(url: str, name: str) -> float:
    text = request("GET", url, "/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def admin(method: str, url: str, path: str = "", body: Any = None) -> Answer:
    return request(method, url, f"/admin/keys{path}", {"x-api-key": ADMIN}, body)


def test_rpm_is_exact_across_two_replicas(world: World) -> None:
    answers = [ask((world.a, world.b)[i % 2].url, KEYS["limited"]) for i in range(10)]
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 5, statuses
    for r in answers:
        if r.status_code == 429:
            assert 1 <= int(r.headers["retry-after"]) <= 60
            error = r.json()["error"]
            assert error["type"] == "rate_limit_error"
            assert "limited" in error["message"] and "5 requests per minute" in error["message"]
    rejected = metric(world.a.url, 'sseguard_key_rejections_total{key="limited",reason="rpm"}')
    rejected += metric(world.b.url, 'sseguard_key_rejections_total{key="limited",reason="rpm"}')
    assert rejected == 5


def test_a_missing_or_unknown_key_is_401_in_the_clients_format(world: World) -> None:
    for key in (None, "sk-ant-a-provider-key", "sg-not-a-key"):
        r = ask(world.a.url, key)
        assert r.status_code == 401
        assert r.json()["type"] == "error"
        assert r.json()["error"]["type"] == "authentication_error"
        assert r.headers["x-should-retry"] == "false"
        assert key is None or key not in r.text
        o = ask(world.b.url, key, path="/v1/chat/completions")
        assert o.status_code == 401
        assert o.json()["error"]["type"] == "authentication_error"
    for path in ("/v1/models",):
        assert request("GET", world.a.url, path).status_code == 401
    assert ask(world.a.url, KEYS["plain"]).status_code == 200


def test_a_model_the_key_may_not_use_is_403(world: World) -> None:
    r = ask(world.a.url, KEYS["narrow"], model="claude-sonnet-4-5")
    assert r.status_code == 403
    assert r.json()["error"]["type"] == "permission_error"
    assert "narrow" in r.json()["error"]["message"]
    o = ask(world.a.url, KEYS["narrow"], model="claude-sonnet-4-5", path="/v1/chat/completions")
    assert o.status_code == 403 and o.json()["error"]["type"] == "permission_error"
    assert ask(world.b.url, KEYS["narrow"], model="claude-haiku-4-5").status_code == 200


def test_a_spent_budget_stops_the_key_and_says_not_to_retry(world: World) -> None:
    first = ask(world.a.url, KEYS["budgeted"])
    assert first.status_code == 200
    second = ask(world.b.url, KEYS["budgeted"])
    assert second.status_code == 402
    assert second.headers["x-should-retry"] == "false"
    assert second.json()["error"]["type"] == "billing_error"
    assert "budget" in second.json()["error"]["message"]
    o = ask(world.a.url, KEYS["budgeted"], path="/v1/chat/completions")
    assert o.status_code == 402 and o.json()["error"]["type"] == "insufficient_quota"
    listed = {k["name"]: k for k in admin("GET", world.a.url).json()["keys"]}
    assert listed["budgeted"]["spent_usd"] >= 0.000001


def test_max_streams_holds_across_replicas(world: World) -> None:
    slow = "claude-sonnet-4-5+delay_30"
    conns: list[socket.socket] = []
    for url in (world.a.url, world.b.url):
        # Held open by hand: the answer is 30 s late, the test needs the request in flight only.
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname or "", parts.port or 80), TIME_BOUND)
        body = orjson.dumps(
            {
                "model": slow,
                "max_tokens": 16,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
        head = (
            f"POST /v1/messages HTTP/1.1\r\nhost: {parts.netloc}\r\n"
            f"content-type: application/json\r\nx-api-key: {KEYS['streams']}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        conns.append(sock)
    until(
        lambda: (
            metric(world.a.url, "sseguard_active_streams") == 1
            and metric(world.b.url, "sseguard_active_streams") == 1
        ),
        "both streams admitted",
    )
    third = ask(world.a.url, KEYS["streams"], model=slow, stream=True)
    assert third.status_code == 429
    assert "2 requests at once" in third.json()["error"]["message"]
    assert int(third.headers["retry-after"]) >= 1
    for sock in conns:
        sock.close()  # the client leaves: each request ends, and its finally frees its slot
    until(
        lambda: ask(world.b.url, KEYS["streams"]).status_code == 200, "a slot freed after the end"
    )


def test_keys_created_on_one_replica_work_on_the_other_at_once_and_revoke(world: World) -> None:
    created = admin("POST", world.a.url, body={"name": "runtime-team", "rpm": 100})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("sg-")
    assert ask(world.b.url, key).status_code == 200
    assert admin("POST", world.b.url, body={"name": "runtime-team"}).status_code == 409
    listed = {k["name"]: k for k in admin("GET", world.b.url).json()["keys"]}
    assert listed["runtime-team"]["source"] == "runtime"
    assert listed["limited"]["source"] == "config"
    assert key not in admin("GET", world.b.url).text
    assert admin("DELETE", world.b.url, "/runtime-team").status_code == 200
    assert ask(world.a.url, key).status_code == 401
    assert admin("DELETE", world.b.url, "/limited").status_code == 409
    assert admin("DELETE", world.b.url, "/nobody").status_code == 404
    no_admin = request("GET", world.a.url, "/admin/keys", {"x-api-key": KEYS["plain"]})
    assert no_admin.status_code == 401
    assert request("GET", world.closed.url, "/admin/keys").status_code == 404


def test_the_key_name_is_logged_and_no_key_is(world: World) -> None:
    assert ask(world.a.url, KEYS["plain"]).status_code == 200
    lines = world.a.output.wait_until(
        lambda lines: any(b'"key_name":"plain"' in line for line in lines), TIME_BOUND
    )
    text = b"\n".join(lines)
    for key in (*KEYS.values(), ADMIN, "provider-key-never-shown"):
        assert key.encode() not in text


def test_redis_down_fails_open_or_closed_as_configured_and_recovers(world: World) -> None:
    world.redis.stop()
    try:
        r = ask(world.a.url, KEYS["plain"])
        assert r.status_code == 200
        assert metric(world.a.url, 'sseguard_state_unavailable_total{on_unavailable="open"}') >= 1
        c = ask(world.closed.url, KEYS["plain"])
        assert c.status_code == 503
        assert "Redis" in c.json()["error"]["message"]
        assert admin("GET", world.a.url).status_code == 503
        # Readiness: the replica that fails closed leaves rotation; the open one stays in and
        # names what it is missing.
        closed_ready = request("GET", world.closed.url, "/readyz")
        assert closed_ready.status_code == 503
        assert closed_ready.json()["checks"]["redis"].startswith("Redis")
        open_ready = request("GET", world.a.url, "/readyz")
        assert open_ready.status_code == 200 and open_ready.json()["checks"]["redis"] != "ok"
    finally:
        world.redis.start()
    until(lambda: ask(world.closed.url, KEYS["plain"]).status_code == 200, "closed recovers")
    ready = until(
        lambda: (r := request("GET", world.closed.url, "/readyz")).status_code == 200 and r,
        "closed is ready again",
    )
    assert ready.json() == {"status": "ready", "checks": {"redis": "ok"}}
    # Limits are kept again: the open replicas count into Redis once more.
    created = until(
        lambda: (
            (r := admin("POST", world.a.url, body={"name": "after", "rpm": 1})).status_code == 201
            and r
        ),
        "the admin API answers again",
    )
    key = created.json()["key"]
    assert ask(world.b.url, key).status_code == 200
    assert ask(world.a.url, key).status_code == 429
