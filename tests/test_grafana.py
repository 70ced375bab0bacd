"""deploy/grafana/sseguard.json: well-formed, laid out, and asking only for metrics the gateway
exposes (names read from a live exposition, so a renamed metric fails here, not on a wall)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from sseguard.observe.metrics import Metrics
from sseguard.observe.record import Attempt, Decision, RequestRecord

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "sseguard.json"
METRIC = re.compile(r"\bsseguard_[a-z_]+\b")


def exposed() -> set[str]:
    """Every sample name /metrics shows once each metric has seen a request."""
    metrics = Metrics()
    rec = RequestRecord("sg_1", "/v1/messages", route="*", client_model="m")
    rec.tried("east")
    rec.tried("west")
    rec.attempts = [Attempt("east", 529, "F18", "", 0.1), Attempt("west", 200, None, "", 1.0)]
    rec.status, rec.ttft, rec.midstream, rec.outcome = 200, 0.2, "resumed", "resumed"
    rec.input_tokens, rec.output_tokens, rec.anomalies = 3, 5, {"F02": 1}
    rec.decisions = [Decision("tool_judge", "allow", "Bash", "", 0.1, 0.3)]
    rec.finish(200)
    metrics.observe(rec)
    tally = metrics.tally()
    tally.add(0.01)
    metrics.add_gaps(tally)
    metrics.key_rejections.labels("team-a", "rpm").inc()  # the gate counts these itself
    metrics.state_unavailable.labels("open").inc()
    text = metrics.exposition().decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_it_is_a_grafana_dashboard_with_laid_out_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "sseguard" and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "deployment", "route"} <= variables
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])


def test_every_query_names_only_metrics_the_gateway_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    names = exposed()
    asked = {
        name
        for panel in panels(dashboard)
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    asked |= {n for v in dashboard["templating"]["list"] for n in METRIC.findall(str(v))}
    assert asked - names == set()
    # Every family of metrics.py is on the wall: requests, ttft, duration, gaps, faults, retries,
    # fallbacks, mid-stream outcomes, active streams, policy decisions and judge time, tokens,
    # key rejections and the shared state's outages.
    families = {re.sub(r"_(bucket|sum|count|total|created)$", "", n) for n in names}
    shown = {re.sub(r"_(bucket|sum|count|total)$", "", n) for n in asked}
    assert families - shown == set()
