"""The dashboard in process, through the gateway's ASGI app: who may see it, its JSON API over a
request log, the live feed's bounds, the catalogue table against docs/faults.md, and that its own
requests are no traffic of the gateway's."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from sseguard.config import Config
from sseguard.config.teams import key_digest
from sseguard.dashboard import catalogue
from sseguard.dashboard.live import QUEUE_EVENTS, Live
from sseguard.dashboard.routes import STATIC, asset
from sseguard.gateway.app import Gateway
from sseguard.observe.log_target import open_store
from sseguard.observe.record import Attempt, Decision, RequestRecord
from sseguard.observe.store import RequestLogStore

ROOT = Path(__file__).resolve().parent.parent
NOW_RANGE = "range=1h"


def make_config(tmp: Path, server: dict[str, Any] | None = None, **dashboard: Any) -> Config:
    return Config.model_validate(
        {
            "server": server or {},
            "deployments": [
                {
                    "name": "sim",
                    "kind": "anthropic-compatible",
                    "base_url": "http://127.0.0.1:9",
                    "passthrough_key": True,
                }
            ],
            "observe": {
                "request_log": str(tmp / "log.sqlite3"),
                "capture_dir": str(tmp / "captures"),
            },
            "dashboard": dashboard,
        }
    )


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        self.body = b"".join(m.get("body", b"") for m in messages[1:])

    def json(self) -> Any:
        return orjson.loads(self.body)


def call(
    app: Gateway,
    path: str,
    query: str = "",
    *,
    method: str = "GET",
    client: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
) -> Answer:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [
            (k.encode(), v.encode())
            for k, v in {"host": "127.0.0.1:8080", **(headers or {})}.items()
        ],
        "client": (client, 50000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return Answer(sent)


def record(n: int, **fields: Any) -> RequestRecord:
    rec = RequestRecord(f"sg_{n:020x}", "/v1/messages", route="*", client_model="claude+x")
    rec.tried("sim")
    rec.status = 200
    rec.ttft = 0.1 * n
    for name, value in fields.items():
        setattr(rec, name, value)
    return rec


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Gateway]:
    store = RequestLogStore(tmp_path / "log.sqlite3")
    glued = record(1, anomalies={"F02": 2})
    glued.attempts = [Attempt("sim", 200, None, "", 0.5)]
    failed = record(2, outcome="error", status=529, anomalies={"F18": 2})
    failed.attempts = [Attempt("sim", 529, "F18", "overloaded", 0.1)] * 2
    judged = record(3, decisions=[Decision("tool_judge", "block", "Bash", "rm -rf", 0.9, 0.2)])
    judge = record(4, parent_id=judged.request_id)
    scrape = RequestRecord("sg_" + "9" * 20, "/metrics")
    store.observe([glued, failed, judged, judge, scrape, *(record(n) for n in range(10, 70))])
    store.close()
    yield Gateway(make_config(tmp_path))


def test_the_page_and_its_assets_come_from_the_package(app: Gateway) -> None:
    page = call(app, "/dashboard")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert b"/dashboard/static/uPlot.iife.min.js" in page.body
    for name in STATIC:
        answer = call(app, f"/dashboard/static/{name}")
        assert answer.status == 200 and answer.body == asset(name)
    assert b"uPlot 1.6.32" in asset("uPlot.iife.min.js")[:200]  # version and licence header
    assert call(app, "/dashboard/static/../routes.py").status == 404
    assert b"https://" not in page.body + asset("app.js")  # nothing fetched from elsewhere


def test_deployments_summarise_the_range(app: Gateway) -> None:
    data = call(app, "/dashboard/api/deployments", NOW_RANGE).json()
    (sim,) = data["deployments"]
    assert sim["requests"] == 64  # the /metrics scrape reached no deployment
    assert sim["errors"] == 1
    assert sim["anomalies"]["F02"] == {"count": 2, "requests": 1}
    assert data["faults"]["F02"] == "Glued events"


def test_requests_page_by_cursor_and_leave_scrapes_out(app: Gateway) -> None:
    seen: list[str] = []
    query = f"{NOW_RANGE}&limit=25"
    while True:
        page = call(app, "/dashboard/api/requests", query).json()
        seen += [r["request_id"] for r in page["requests"]]
        if page["next"] is None:
            break
        query = f"{NOW_RANGE}&limit=25&cursor={page['next']}"
    assert len(seen) == len(set(seen)) == 64
    assert "sg_" + "9" * 20 not in seen
    every = call(app, "/dashboard/api/requests", f"{NOW_RANGE}&all=1&limit=200").json()
    assert len(every["requests"]) == 65
    capped = call(app, "/dashboard/api/requests", f"{NOW_RANGE}&limit=100000").json()
    assert len(capped["requests"]) == 64  # at most PAGE_MAX a page, here all of them
    f02 = call(app, "/dashboard/api/requests", f"{NOW_RANGE}&anomaly=F02").json()
    assert [r["anomalies"] for r in f02["requests"]] == [{"F02": 2}]


def test_one_request_with_its_faults_explained_its_decisions_and_its_judge_calls(
    app: Gateway,
) -> None:
    failed = call(app, f"/dashboard/api/requests/sg_{2:020x}").json()
    assert failed["record"]["outcome"] == "error"
    assert [a["fault"] for a in failed["record"]["attempts"]] == ["F18", "F18"]
    assert failed["faults"]["F18"]["name"].startswith("529 overloaded")
    assert "Retries" in failed["faults"]["F18"]["does"]
    assert failed["capture"] is False
    judged = call(app, f"/dashboard/api/requests/sg_{3:020x}").json()
    assert judged["record"]["decisions"][0]["decision"] == "block"
    assert [c["request_id"] for c in judged["calls"]] == [f"sg_{4:020x}"]
    assert call(app, "/dashboard/api/requests/sg_nothing").status == 404


def test_series_are_bounded_and_bad_parameters_say_which(app: Gateway) -> None:
    data = call(app, "/dashboard/api/series", f"{NOW_RANGE}&deployment=sim&buckets=99999").json()
    assert 0 < len(data["points"]) <= 240
    assert sum(p["requests"] for p in data["points"]) == 64
    for query, word in (
        ("range=3y", "range"),
        ("range=1h", "deployment"),
        ("since=abc&deployment=sim", "since"),
        ("since=10&until=5&deployment=sim", "until"),
    ):
        answer = call(app, "/dashboard/api/series", query)
        assert answer.status == 400 and word in answer.json()["error"]["message"]
    bad = base64.urlsafe_b64encode(b"[1]").decode()
    assert call(app, "/dashboard/api/requests", f"cursor={bad}").status == 400


def test_dashboard_requests_are_not_the_gateways_traffic(app: Gateway) -> None:
    seen: list[RequestRecord] = []
    app.observers = (*app.observers, seen.append)
    call(app, "/dashboard/api/deployments", NOW_RANGE)
    call(app, "/dashboard")
    assert seen == []
    assert b"sseguard_requests_total{" not in app.metrics.exposition()


def test_only_loopback_clients_without_a_token(app: Gateway) -> None:
    assert call(app, "/dashboard", client="127.0.0.1").status == 200
    assert call(app, "/dashboard", client="::1").status == 200
    refused = call(app, "/dashboard/api/deployments", client="192.0.2.7")
    assert refused.status == 403 and "token_env" in refused.json()["error"]["message"]


def test_no_page_of_another_origin_even_a_listed_one(tmp_path: Path) -> None:
    app = Gateway(make_config(tmp_path, server={"cors_origins": ["http://ui.test"]}))
    headers = {"origin": "http://ui.test"}
    assert call(app, "/dashboard/api/faults", headers=headers).status == 403
    own = {"origin": "http://127.0.0.1:8080"}
    assert call(app, "/dashboard/api/faults", headers=own).status == 200
    rebinding = {"host": "evil.example"}
    assert call(app, "/dashboard", headers=rebinding).status == 403
    assert call(app, "/dashboard", method="POST").status == 405


def test_a_token_is_asked_of_everyone_and_sign_in_makes_it_a_cookie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASH_TOKEN", "s3cret-token")
    app = Gateway(make_config(tmp_path, token_env="DASH_TOKEN"))
    assert call(app, "/dashboard/api/faults").status == 401  # loopback too
    bearer = {"authorization": "Bearer s3cret-token"}
    assert call(app, "/dashboard/api/faults", client="192.0.2.7", headers=bearer).status == 200
    wrong = {"authorization": "Bearer nope"}
    assert call(app, "/dashboard/api/faults", headers=wrong).status == 401
    assert call(app, "/dashboard", "token=nope").status == 401
    signed = call(app, "/dashboard", "token=s3cret-token")
    assert signed.status == 303 and signed.headers["location"] == "/dashboard"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    jar = {"cookie": cookie.split(";")[0]}
    assert call(app, "/dashboard/api/faults", client="192.0.2.7", headers=jar).status == 200
    assert "s3cret" not in repr(app.config) and "s3cret" not in str(app.config.redacted())


def test_turned_off_it_is_not_there(tmp_path: Path) -> None:
    app = Gateway(make_config(tmp_path, enabled=False))
    assert call(app, "/dashboard").status == 404


def test_a_token_env_that_is_not_set_stops_the_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="token_env: environment variable NOT_SET_X"):
        make_config(tmp_path, token_env="NOT_SET_X")
    with pytest.raises(ValueError, match="give token_env"):
        make_config(tmp_path, token="literal")


def test_live_publishes_only_to_open_views_and_drops_the_slow() -> None:
    async def run() -> None:
        live = Live(queue_events=QUEUE_EVENTS)
        live.publish(record(1))  # no subscriber: nothing encoded
        assert live.published == 0

        from sseguard.dashboard.live import Subscriber

        fast, slow = Subscriber(), Subscriber()
        live.subscribers |= {fast, slow}
        for n in range(QUEUE_EVENTS + 1):
            live.publish(record(n))
            fast.pending.clear()  # the fast one keeps up
        assert slow.dropped and slow not in live.subscribers and live.dropped == 1
        assert fast in live.subscribers and not fast.dropped
        live.publish(RequestRecord("sg_x", "/metrics"))  # no route: no model call
        assert not fast.pending

    asyncio.run(run())


def test_live_stream_sends_each_finished_request() -> None:
    async def run() -> list[bytes]:
        live = Live()
        chunks: list[bytes] = []
        left = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        stream = asyncio.ensure_future(live.stream({}, receive, send))
        while not live.subscribers:
            await asyncio.sleep(0.01)
        live.publish(record(7, anomalies={"F02": 1}))
        while not any(b"event: request" in c for c in chunks):
            await asyncio.sleep(0.01)
        left.set()
        await asyncio.wait_for(stream, 5)
        assert not live.subscribers
        return chunks

    body = b"".join(asyncio.run(run()))
    assert body.startswith(b"retry: ")
    event = next(line for line in body.split(b"\n") if line.startswith(b'data: {"request_id'))
    summary = orjson.loads(event[len(b"data: ") :])
    assert summary["anomalies"] == {"F02": 1} and summary["deployment"] == "sim"


def test_the_packaged_catalogue_is_docs_faults_md() -> None:
    """One source of truth: regenerate with python -m sseguard.dashboard.catalogue."""
    table = catalogue.parse((ROOT / "docs" / "faults.md").read_text(encoding="utf-8"))
    assert catalogue.faults() == table
    packaged = ROOT / "src" / "sseguard" / "dashboard" / "faults.json"
    assert packaged.read_text(encoding="utf-8") == catalogue.render(table)
    assert table["F02"]["name"] == "Glued events" and "F23b" in table


def test_a_postgresql_request_log_serves_the_same_answers(tmp_path: Path, pg_dsn: str) -> None:
    """observe.request_log as a DSN: the dashboard reads through the same queries."""
    store = open_store(pg_dsn)
    store.observe([record(1, anomalies={"F02": 2}), record(2, outcome="error", status=529)])
    store.close()
    config = make_config(tmp_path)
    config = config.model_copy(
        update={"observe": config.observe.model_copy(update={"request_log": pg_dsn})}
    )
    app = Gateway(config)
    (sim,) = call(app, "/dashboard/api/deployments", NOW_RANGE).json()["deployments"]
    assert (sim["requests"], sim["errors"]) == (2, 1)
    assert sim["anomalies"]["F02"] == {"count": 2, "requests": 1}
    page = call(app, "/dashboard/api/requests", f"{NOW_RANGE}&limit=1").json()
    assert len(page["requests"]) == 1 and page["next"]
    series = call(app, "/dashboard/api/series", f"{NOW_RANGE}&deployment=sim").json()
    assert sum(p["requests"] for p in series["points"]) == 2
    detail = call(app, f"/dashboard/api/requests/sg_{1:020x}").json()
    assert detail["faults"]["F02"]["name"] == "Glued events"


def test_behind_the_admin_key_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``admin:`` configured the dashboard asks everyone for the admin key (or its own
    token), as the admin API does; a gateway key for models is no admin key."""
    monkeypatch.setenv("SIM_KEY", "sk-upstream")
    config = Config.model_validate(
        {
            "deployments": [
                {
                    "name": "sim",
                    "kind": "anthropic-compatible",
                    "base_url": "http://127.0.0.1:9",
                    "api_key_env": "SIM_KEY",
                }
            ],
            "observe": {"request_log": str(tmp_path / "log.sqlite3")},
            "admin": {"key_sha256": key_digest("sg-admin-secret")},
            "keys": [{"name": "team", "key_sha256": key_digest("sg-team-key")}],
        }
    )
    app = Gateway(config)
    assert call(app, "/dashboard/api/faults").status == 401  # loopback too
    admin = {"x-api-key": "sg-admin-secret"}
    assert call(app, "/dashboard/api/faults", client="192.0.2.7", headers=admin).status == 200
    bearer = {"authorization": "Bearer sg-admin-secret"}
    assert call(app, "/dashboard/api/faults", headers=bearer).status == 200
    team = {"x-api-key": "sg-team-key"}
    assert call(app, "/dashboard/api/faults", headers=team).status == 401
    signed = call(app, "/dashboard", "token=sg-admin-secret")
    assert signed.status == 303
    jar = {"cookie": signed.headers["set-cookie"].split(";")[0]}
    assert call(app, "/dashboard", client="192.0.2.7", headers=jar).status == 200
