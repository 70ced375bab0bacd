"""What the gateway tells its operator: /metrics and the JSON request log, after real requests
through a real gateway process for clean, repaired, resumed and failed scenarios."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from processes import Running, gateway_config, running, simulator

SCENARIOS = {
    "clean": "complete",
    "glued_text": "complete",  # repaired: F02
    "close_in_text_once": "resumed",
    "overloaded_529": "error",
    "close_in_text": "error",  # committed, resumed twice, then ended with an error event
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("observe")
    with (
        simulator() as sim_url,
        running(
            "serve", "--config", str(gateway_config(tmp, sim_url)), banner=b"sseguard listening on"
        ) as gw,
    ):
        client = anthropic.Anthropic(
            base_url=gw.url, api_key="sk-observe", max_retries=0, timeout=30
        )
        for name in SCENARIOS:
            try:
                with client.messages.stream(
                    model=f"claude-sonnet-4-5+{name}",
                    max_tokens=256,
                    messages=[{"role": "user", "content": f"observe {name}"}],
                ) as stream:
                    stream.get_final_message()
            except anthropic.APIError:
                pass
        yield gw


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(
    data: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return sum(
        v
        for (n, lab), v in data.items()
        if n == name and all((k, w) in lab for k, w in labels.items())
    )


def test_metrics_count_outcomes_faults_and_retries(served: Running) -> None:
    data = samples(served.url)
    assert total(data, "sseguard_requests_total", outcome="complete") == 2
    assert total(data, "sseguard_requests_total", outcome="resumed") == 1
    assert total(data, "sseguard_requests_total", outcome="error") == 2
    assert total(data, "sseguard_requests_total", status="529") == 1
    assert total(data, "sseguard_anomalies_total", fault="F02") >= 1
    assert total(data, "sseguard_anomalies_total", fault="F18") == 2  # two attempts at 529
    assert total(data, "sseguard_retries_total") >= 1
    assert total(data, "sseguard_midstream_failures_total", outcome="resumed") == 1
    assert total(data, "sseguard_midstream_failures_total", outcome="error") == 1
    assert total(data, "sseguard_ttft_seconds_count") >= 4
    assert total(data, "sseguard_tokens_total", direction="output") > 0
    assert total(data, "sseguard_inter_event_seconds_count") >= 4  # one per write, not per event
    assert total(data, "sseguard_active_streams") == 0
    # Bounded labels: no request ids, no raw client model strings.
    labels = {v for (_, lab) in data for k, v in lab if k != "le"}  # le="+Inf" is a bucket bound
    assert not any(v.startswith("sg_") or "+" in v for v in labels)


def test_one_json_log_line_per_request_without_secrets(served: Running) -> None:
    def logged(lines: list[bytes]) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in lines if line.startswith(b"{")]

    # Log lines leave the gateway in batches: wait (bounded) until every scenario's is out.
    printed = served.output.wait_until(
        lambda lines: sum("+" in rec["client_model"] for rec in logged(lines)) >= len(SCENARIOS),
        timeout=10,
    )
    lines = logged(printed)
    by_model = {
        rec["client_model"].split("+")[1]: rec for rec in lines if "+" in rec["client_model"]
    }
    assert set(by_model) == set(SCENARIOS)
    for name, outcome in SCENARIOS.items():
        assert by_model[name]["outcome"] == outcome, (name, by_model[name])
    assert by_model["glued_text"]["anomalies"].get("F02", 0) >= 1
    assert by_model["close_in_text_once"]["resumes"] == 1
    assert by_model["overloaded_529"]["status"] == 529
    assert [a["fault"] for a in by_model["overloaded_529"]["attempts"]] == ["F18", "F18"]
    clean = by_model["clean"]
    assert clean["status"] == 200 and clean["ttft"] > 0 and clean["output_tokens"] > 0
    assert clean["stop_reason"] == "end_turn" and clean["bytes_out"] > 0 and clean["bytes_in"] > 0
    assert all(b"sk-observe" not in line for line in served.output)


def test_metrics_path_is_get_only(served: Running) -> None:
    req = urllib.request.Request(f"{served.url}/metrics", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 405
