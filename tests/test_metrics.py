"""The inter-event histogram in both of prometheus_client's modes: one process merges whole
streams' tallies, several workers (multiprocess mode) observe each gap; both expose the same
histogram. Then the policies' metrics, fed from a finished record's decisions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sseguard.observe.metrics import Metrics
from sseguard.observe.record import Decision, RequestRecord

GAPS = (0.0005, 0.003, 0.003, 0.2, 45.0)


def histogram(text: str) -> dict[str, float]:
    """The inter-event histogram's samples: ``le`` bound → cumulative count, plus count and sum."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "sseguard_inter_event_seconds":
            continue
        for sample in family.samples:
            key = sample.labels.get("le", sample.name.rsplit("_", 1)[-1])
            out[key] = sample.value
    return out


def expected() -> dict[str, float]:
    return {"0.001": 1, "0.005": 3, "0.25": 4, "30.0": 4, "+Inf": 5, "count": 5}


def feed(metrics: Metrics) -> None:
    for split in (GAPS[:2], GAPS[2:]):  # two streams
        tally = metrics.tally()
        for gap in split:
            tally.add(gap)
        metrics.add_gaps(tally)
    metrics.add_gaps(metrics.tally())  # a stream with no gap adds nothing


def test_one_process_merges_tallies() -> None:
    metrics = Metrics()
    feed(metrics)
    got = histogram(metrics.exposition().decode())
    assert {k: got[k] for k in expected()} == expected()
    assert got["sum"] == pytest.approx(sum(GAPS))


def test_multiprocess_mode_observes_each_gap(tmp_path: Path) -> None:
    """prometheus_client picks its mode at import: a fresh interpreter with the variable set."""
    script = (
        "from tests.test_metrics import feed; from sseguard.observe.metrics import Metrics;"
        "m = Metrics(); feed(m); print(m.exposition().decode())"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = histogram(done.stdout)
    assert {k: got[k] for k in expected()} == expected()
    assert got["sum"] == pytest.approx(sum(GAPS))
    assert list(tmp_path.glob("histogram_*.db")), "the gaps were not written for other workers"


def samples(text: str, family_name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One family's samples: (sample name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_decisions_are_counted_by_policy_and_decision_and_judge_times_observed() -> None:
    """Labelled by policy and decision only: the tool, the subject and the reason stay out."""
    metrics = Metrics()
    rec = RequestRecord("sg_policy", "/v1/messages", route="*")
    rec.decisions = [
        Decision("tool_judge", "block", "Bash", "deletes files", 0.97, 1.5),
        Decision("tool_judge", "allow", "Read", "", 0.02, 0.3),
        Decision("tool_judge", "allow", "Grep", "", 0.01, 0.2),
        Decision("redact", "mask", "email"),  # no judge: no time
    ]
    metrics.observe(rec)
    metrics.observe(RequestRecord("sg_plain", "/v1/messages"))  # no policy: nothing added
    text = metrics.exposition().decode()
    counted = "sseguard_policy_decisions_total"
    assert samples(text, "sseguard_policy_decisions") == {
        (counted, (("decision", "allow"), ("policy", "tool_judge"))): 2.0,
        (counted, (("decision", "block"), ("policy", "tool_judge"))): 1.0,
        (counted, (("decision", "mask"), ("policy", "redact"))): 1.0,
    }
    judged = samples(text, "sseguard_policy_judge_seconds")
    policy = ("policy", "tool_judge")
    assert judged[("sseguard_policy_judge_seconds_count", (policy,))] == 3
    assert judged[("sseguard_policy_judge_seconds_sum", (policy,))] == pytest.approx(2.0)
    bucket = "sseguard_policy_judge_seconds_bucket"
    assert judged[(bucket, (("le", "0.25"), policy))] == 1
    assert judged[(bucket, (("le", "0.5"), policy))] == 2
    assert judged[(bucket, (("le", "2.0"), policy))] == 3
    assert {dict(labels)["policy"] for _, labels in judged} == {"tool_judge"}
    assert "Bash" not in text and "deletes" not in text
