"""The screenshots in docs/dashboard/: each view of /dashboard in headless Chromium.

Run: ``.venv/bin/python bench/dashboard_screenshots.py``. A gateway with two deployments (both
played by the simulator, ``primary`` falling back to ``backup``) and captures on gets a request
log holding six hours of synthetic history (bench/dashboard_scale.py's, so the charts have a
shape), then real requests through it: clean ones and the faults of the catalogue the overview
should show (F02 glued events, a cut answer resumed, a 529 that falls back). Then
tests/clients/dashboard.mjs opens the overview, the primary deployment, the live view while a
glued-event request finishes, and that request's detail, and saves each to docs/dashboard/.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from dashboard_env import ROOT, drive, gateway
from dashboard_scale import fill

DEPLOYMENTS = ["primary", "backup"]
SCENARIOS = [
    "clean",
    "glued_text",
    "clean",
    "glued_tool_input",
    "close_in_text_once",
    "clean",
    "usage_null",
    "overloaded_529",
    "no_event_lines",
    "done_sentinel",
    "clean",
]


def ask(url: str, scenario: str) -> None:
    body = {
        "model": f"claude-sonnet-4-5+{scenario}",
        "max_tokens": 300,
        "stream": True,
        "messages": [{"role": "user", "content": f"dashboard screenshot {scenario}"}],
    }
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "screenshots"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
    except urllib.error.HTTPError as err:  # the 529 that every deployment answers
        err.read()


def main() -> None:
    out = ROOT / "docs" / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sseguard-dashboard-shots-") as tmp:
        work = Path(tmp)
        log = work / "requests.sqlite3"
        fill(log, 3000, span=6 * 3600, deployments=DEPLOYMENTS)
        with gateway(work, DEPLOYMENTS, log) as url:
            for scenario in SCENARIOS:
                ask(url, scenario)
            seen = drive(
                "screenshots", url, "primary", "claude-sonnet-4-5+glued_text", "60000", str(out)
            )
    for name in ("overview", "deployment", "live", "request"):
        print(out / f"{name}.png", file=sys.stderr)
    print(f"browser errors: {seen['pageErrors'] + seen['consoleErrors'] or 'none'}")


if __name__ == "__main__":
    main()
