"""/dashboard in headless Chromium (Debian's, driven by playwright-core) over a real gateway and
simulator: an operator's view. The overview shows the traffic and, for the deployment that served
a glued-event stream, the repaired fault F02; the deployment's view charts it and explains F02;
the live view shows a request as it finishes; its detail opens with the catalogue's text and the
capture's replay. No uncaught error and no console error on the way.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_env import page_script

from processes import gateway, simulator

MODEL = "claude-sonnet-4-5"
PAGE_TIMEOUT_MS = 60_000
HANG_BOUND = 180.0
SCENARIOS = ("clean", "glued_text", "close_in_text_once", "overloaded_529", "clean")


def config(tmp: Path, upstream: str) -> Path:
    deployments = "".join(
        f'[[deployments]]\nname = "{name}"\nbase_url = "{upstream}"\n'
        'kind = "anthropic-compatible"\npassthrough_key = true\n'
        for name in ("primary", "backup")
    )
    path = tmp / "sseguard.toml"
    path.write_text(
        '[server]\nhost = "127.0.0.1"\nport = 0\n'
        "[timeouts]\nfirst_event = 4\nidle = 4\nprogress = 4\n"
        "[retry]\nmax_attempts = 2\nbackoff_base = 0.05\nbackoff_max = 0.2\n"
        f"{deployments}"
        '[[routes]]\nmatch = "*"\ndeployments = ["primary", "backup"]\ncapture = true\n'
        f'[observe]\nrequest_log = "{tmp / "log.sqlite3"}"\ncapture_dir = "{tmp / "captures"}"\n'
    )
    return path


def ask(url: str, scenario: str) -> None:
    body = {
        "model": f"{MODEL}+{scenario}",
        "max_tokens": 200,
        "stream": True,
        "messages": [{"role": "user", "content": f"dashboard {scenario}"}],
    }
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "sk-dashboard"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as err:
        err.read()


def logged(url: str) -> int:
    with urllib.request.urlopen(f"{url}/dashboard/api/requests?limit=200", timeout=10) as r:
        return len(json.loads(r.read())["requests"])


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    with simulator() as sim, gateway(config(tmp, sim)) as url:
        for scenario in SCENARIOS:
            ask(url, scenario)
        deadline = time.monotonic() + 30  # the log is written in batches, within a second
        while logged(url) < len(SCENARIOS) and time.monotonic() < deadline:
            time.sleep(0.2)
        yield page_script(
            "dashboard.mjs",
            "check",
            url,
            "primary",
            f"{MODEL}+glued_text",
            str(PAGE_TIMEOUT_MS),
            timeout=HANG_BOUND,
        )


def test_no_console_errors(seen: dict[str, Any]) -> None:
    assert seen["consoleErrors"] == []


def test_overview_shows_the_traffic_and_the_repaired_f02(seen: dict[str, Any]) -> None:
    rows = {row["deployment"]: row for row in seen["overview"]}
    assert rows["primary"]["requests"] == 4  # clean twice, glued_text, close_in_text_once
    assert "F02" in rows["primary"]["faults"]
    assert "F16" in rows["primary"]["faults"]  # the cut answer, resumed
    assert rows["backup"]["faults"] == ["F18"]  # the 529 fell back and failed there too
    assert seen["recent"] == len(SCENARIOS)


def test_deployment_view_charts_and_explains_its_faults(seen: dict[str, Any]) -> None:
    view = seen["deployment"]
    assert view["name"] == "primary"
    assert view["charts"] == 4
    f02 = next(f for f in view["faults"] if f["id"] == "F02")
    assert "Glued events" in f02["text"] and "Recovers the separate events" in f02["text"]


def test_live_view_shows_a_request_as_it_finishes(seen: dict[str, Any]) -> None:
    row = seen["liveRow"]
    assert row["first"]
    assert row["faults"] == ["F02"]
    assert "primary" in row["text"] and "complete" in row["text"]


def test_request_detail_opens_with_its_fault_explained_and_its_capture_replayed(
    seen: dict[str, Any],
) -> None:
    detail = seen["detail"]
    assert seen["requestId"] in detail["title"]
    assert detail["attempts"] == 1
    (f02,) = detail["anomalies"]
    assert f02["id"] == "F02" and "The empty line that separates two events" in f02["text"]
    assert detail["verdicts"] == ["complete after repairs (F02×1)"]
    assert detail["replayRows"] > 10
