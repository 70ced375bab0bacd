"""``sseguard probe`` run as the real CLI process against a real simulator process: each framing and
protocol fault of the catalogue is named by its fault ID, a clean stream is conformant, and whether
the model takes a prefill (F37) is reported apart, as information.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from processes import simulator
from sseguard.probe.prefill import ErrorAnswer, judge_answer, judge_error, opening
from sseguard.sim.models import PREFILL_REFUSAL

KEY = "sk-ant-probe-test-0123456789-secret"
HEADER_SECRET = "tenant-token-9876543210"

# Scenario -> the fault ID the probe must report for it.
EXPECTED = {
    "done_sentinel": "F01",
    "glued_text": "F02",
    "glued_tool_input": "F02",
    "no_event_lines": "F03",
    "data_no_space": "F04",
    "crlf": "F05",
    "crlf_split": "F05",
    "cr_only": "F05",
    "mixed_line_ends": "F05",
    "comments_and_retry": "F08",
    "unknown_events": "F10",
    "bom": "F35",
    "duplicate_message_start": "F11",
    "spliced_generation": "F11",
    "endless_message_start": "F11",
    "index_gap": "F12",
    "index_reuse": "F12",
    "delta_unknown_index": "F12",
    "text_start_missing": "F12",
    "delta_type_mismatch": "F13",
    "tool_start_no_input": "F14",
    "usage_null": "F15",
    "usage_missing": "F15",
    "usage_zero": "F15",
    "eof_after_text_delta": "F16",
    "eof_in_tool_call": "F16",
    "events_after_stop": "F23b",
    "error_before_content": "F17",
    "error_after_content": "F17",
    "error_untyped": "F17",
    "error_text_after_content": "F17",
    "overloaded_529": "F18",
    "server_error_500": "F18",
    "rate_limited_429": "F19",
    "close_in_text": "F20",
    "close_in_tool_call": "F20",
    "stall_mid_stream": "F21",
    "stall_with_keepalives": "F21",
    "stall_before_first_byte": "F21",
    "gzip_sse": "F24",
    "stale_content_encoding": "F24",
    "error_json_in_stream": "F17",
    "message_json_in_stream": "F25",
    "stream_mode_flipped": "F25",
    "stream_typed_as_json": "F26",
    "html_200": "F26",
    "html_502": "F26",
    "count_tokens_missing": "F29",
    "thinking_signature_late": "F27",
}
# Only the stall scenarios wait for --timeout; one second keeps them short.
TIMEOUT = {"stall_mid_stream": "1", "stall_before_first_byte": "1", "stall_with_keepalives": "2"}


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sseguard", "probe", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def report(res: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert res.stdout, res.stderr
    parsed: dict[str, Any] = json.loads(res.stdout)
    return parsed


def ids(res: subprocess.CompletedProcess[str]) -> set[str]:
    return {a["id"] for a in report(res)["anomalies"]}


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator() as url:
        yield url


@pytest.fixture(scope="module")
def runs(sim: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every probe of this file at once, bounded, so the module takes seconds rather than minutes."""
    jobs: dict[str, list[str]] = {
        name: [f"{sim}/s/{name}", "--json", "--key", KEY, "--timeout", TIMEOUT.get(name, "10")]
        for name in EXPECTED
    }
    jobs["clean"] = [f"{sim}/s/clean", "--json", "--key", KEY]
    jobs["clean_text"] = [f"{sim}/s/clean", "--key", KEY, "--header", f"x-tenant: {HEADER_SECRET}"]
    jobs["clean_tool"] = [f"{sim}/s/clean", "--json", "--tool", "--auth", "bearer", "--key", KEY]
    jobs["crlf_text"] = [f"{sim}/s/crlf", "--key", KEY]
    jobs["html_text"] = [f"{sim}/s/html_200", "--key", KEY, "--auth", "api-key"]
    # The simulator's models take a prefill as models do today (sim/models.py).
    for model in ("claude-sonnet-4-5", "claude-sonnet-4-6", "vllm-test"):
        jobs[model] = [f"{sim}/s/clean", "--json", "--key", KEY, "--model", model]
    jobs["refuses_text"] = [f"{sim}/s/clean", "--key", KEY, "--model", "claude-sonnet-4-6"]
    jobs["no_prefill"] = [f"{sim}/s/clean", "--json", "--key", KEY, "--no-prefill"]
    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = {name: pool.submit(probe, *args) for name, args in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def test_clean_stream_is_conformant(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    res = runs["clean"]
    assert res.returncode == 0, res.stdout + res.stderr
    r = report(res)
    assert r["conformant"] is True
    assert r["anomalies"] == []
    stream = r["streaming"]["stream"]
    assert r["streaming"]["status"] == 200
    assert stream["ended_properly"] is True
    assert stream["events"]["message_start"] == 1
    assert stream["events"]["content_block_delta"] > 1
    assert stream["ttft_s"] is not None and stream["first_event_s"] <= stream["ttft_s"]
    assert stream["repaired_output_violations"] == []
    assert r["non_streaming"]["stop_reason"] == "end_turn"
    assert r["count_tokens"]["input_tokens"] > 0


def test_clean_text_report_has_every_section(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    res = runs["clean_text"]
    assert res.returncode == 0, res.stdout + res.stderr
    for section in ("request", "timing", "events", "anomalies", "verdict"):
        assert any(line.startswith(section) for line in res.stdout.splitlines()), section
    assert "conformant: no anomalies" in res.stdout
    assert "x-tenant" in res.stdout


def test_tool_offered_with_bearer_auth(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    res = runs["clean_tool"]
    assert res.returncode == 0, res.stdout + res.stderr
    r = report(res)
    assert r["tool_offered"] is True and r["auth"] == "bearer"
    assert "tool_use" in r["non_streaming"]["content"]


@pytest.mark.parametrize(("scenario", "fault"), sorted(EXPECTED.items()))
def test_fault_is_named_by_its_id(
    runs: dict[str, subprocess.CompletedProcess[str]], scenario: str, fault: str
) -> None:
    res = runs[scenario]
    assert res.returncode == 1, res.stdout + res.stderr
    assert fault in ids(res), report(res)["anomalies"]
    assert report(res)["conformant"] is False


def test_offending_bytes_are_shown_escaped(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    res = runs["crlf_text"]
    assert res.returncode == 1
    assert "F05" in res.stdout
    assert "event: message_start\\r\\ndata:" in res.stdout
    assert "verdict     faults found: F05" in res.stdout
    done = next(a for a in report(runs["done_sentinel"])["anomalies"] if a["id"] == "F01")
    assert "[DONE]" in done["bytes"]


def test_transport_faults_say_what_happened(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    stall = report(runs["stall_mid_stream"])
    assert stall["streaming"]["outcome"] == "stalled"
    assert stall["streaming"]["stream"]["ended_properly"] is False
    retry = next(a for a in report(runs["rate_limited_429"])["anomalies"] if a["id"] == "F19")
    assert "retry-after: 1" in retry["details"][0]
    close = report(runs["close_in_text"])
    assert close["streaming"]["outcome"] == "connection closed mid-body"
    assert "F16" not in ids(runs["close_in_text"])  # the close is the cause, not a missing stop


def test_a_body_is_read_as_what_it_is_not_as_labelled(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    # F24: a gzip label on plain SSE is a stale header, not a broken connection; the stream
    # itself is whole.
    stale = report(runs["stale_content_encoding"])
    assert stale["streaming"]["outcome"] == "body complete"
    assert stale["streaming"]["stream"]["ended_properly"] is True
    assert ids(runs["stale_content_encoding"]) == {"F24"}
    assert "not gzip" in stale["anomalies"][0]["details"][0]
    # F17/F25 under an SSE label: what the JSON is, not "no event".
    for name, fault in (("error_json_in_stream", "F17"), ("message_json_in_stream", "F25")):
        assert ids(runs[name]) == {fault, "F26"}, report(runs[name])["anomalies"]


def test_key_is_never_printed(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    for name, res in runs.items():
        assert KEY not in res.stdout + res.stderr, name
        assert HEADER_SECRET not in res.stdout + res.stderr, name


def test_closed_port_cannot_run() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = probe(f"http://127.0.0.1:{port}", "--key", KEY)
    assert res.returncode == 2
    assert res.stdout == ""
    assert "could not run: cannot connect to 127.0.0.1" in res.stderr
    assert "connection refused" in res.stderr
    assert KEY not in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com"], "bad URL"),
        (["http://127.0.0.1:1/v1/messages"], "without /v1/messages"),
        (["http://127.0.0.1:1", "--header", "no colon"], "Invalid value for --header"),
        (["http://127.0.0.1:1", "--auth", "basic"], "Invalid value for '--auth'"),
    ],
)
def test_bad_arguments_cannot_run(args: list[str], message: str) -> None:
    res = probe(*args)
    assert res.returncode == 2
    assert message in res.stderr


@pytest.mark.parametrize(
    ("model", "result", "summary"),
    [
        ("claude-sonnet-4-5", "accepts", "accepts prefill"),
        ("claude-sonnet-4-6", "refuses", "refuses prefill (F37)"),
        ("vllm-test", "ignores", "ignores prefill (F37)"),
    ],
)
def test_whether_the_model_takes_a_prefill_is_reported(
    runs: dict[str, subprocess.CompletedProcess[str]], model: str, result: str, summary: str
) -> None:
    res = runs[model]
    r = report(res)
    assert r["model"] == model
    prefill = r["prefill"]
    assert (prefill["result"], prefill["summary"]) == (result, summary), prefill
    # The opening words of the model's own answer to the question alone.
    assert prefill["prefill"] == "Voilà: the simulator's"
    if result == "accepts":
        assert prefill["fault"] is None and prefill["advice"] is None
        assert prefill["detail"].startswith('continued with " canonical answer.')
    else:
        assert prefill["fault"] == "F37"
        assert prefill["advice"] == "continuation: auto handles it (instruct)"
    if result == "refuses":
        assert prefill["detail"] == f"HTTP 400 invalid_request_error: {PREFILL_REFUSAL}"
    # A capability, not a fault of the stream: the endpoint stays conformant.
    assert res.returncode == 0, res.stdout + res.stderr
    assert r["conformant"] is True and r["anomalies"] == []


def test_a_refused_prefill_in_the_text_report(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    res = runs["refuses_text"]
    assert res.returncode == 0, res.stdout + res.stderr
    section = res.stdout.split("\nprefill ", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = dict(line.split(None, 1) for line in section[1:])
    assert rows["result"] == "refuses prefill (F37)"
    assert rows["prefill"] == '"Voilà: the simulator\'s"'
    assert rows["detail"] == f"HTTP 400 invalid_request_error: {PREFILL_REFUSAL}"
    assert rows["advice"] == "continuation: auto handles it (instruct)"
    assert "exit status" in rows["note"]
    assert "verdict     conformant: no anomalies" in res.stdout


def test_a_broken_endpoint_leaves_the_prefill_untold_and_its_faults_counted_once(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    limited = report(runs["rate_limited_429"])["prefill"]
    assert limited["result"] == "unknown"
    assert limited["summary"].startswith("could not tell: the question alone: HTTP 429 rate_limit")
    closed = report(runs["close_in_text"])
    assert closed["prefill"]["summary"].startswith("could not tell: the question alone: F20")
    assert closed["prefill"]["fault"] is None and closed["prefill"]["advice"] is None
    f20 = next(a for a in closed["anomalies"] if a["id"] == "F20")
    assert f20["count"] == 1  # the main streaming request's, not the check's as well


def test_no_prefill_skips_the_check(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    res = runs["no_prefill"]
    assert res.returncode == 0, res.stdout + res.stderr
    assert report(res)["prefill"] is None


@pytest.mark.parametrize(
    ("answer", "prefill"),
    [
        ("1, 2, 3, 4, 5, 6, 7, 8, 9, 10", "1, 2, 3,"),
        ("Sure! Here it is: 1, 2, 3", "Sure! Here it"),
        ("\n1,\n2, 3", "1,\n2,"),  # ends at a word's end, never in whitespace
        ("1, 2", "1,"),  # at least one word is left to continue with
        ("1,2,3,4,5,6,7,8,9,10", ""),
        ("", ""),
    ],
)
def test_the_prefill_is_the_opening_of_the_first_answer(answer: str, prefill: str) -> None:
    assert opening(answer) == prefill


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        (" 4, 5, 6, 7, 8, 9, 10", "accepts"),
        ("4, 5, 6, 7, 8, 9, 10", "accepts"),
        ("1, 2, 3, 4, 5, 6, 7, 8, 9, 10", "ignores"),
        ("\n1, 2, 3, 4, 5", "ignores"),
        ("  \n", "unknown"),
    ],
)
def test_an_answer_that_starts_over_ignored_the_prefill(answer: str, result: str) -> None:
    assert judge_answer("1, 2, 3,", answer).result == result


@pytest.mark.parametrize(
    ("error", "result"),
    [
        (ErrorAnswer(400, "invalid_request_error", PREFILL_REFUSAL), "refuses"),
        (
            ErrorAnswer(400, "invalid_request_error", "Last message must not be from assistant"),
            "refuses",
        ),
        (ErrorAnswer(400, "invalid_request_error", "max_tokens: too large"), "unknown"),
        (ErrorAnswer(529, "overloaded_error", "Overloaded"), "unknown"),
    ],
)
def test_a_refusal_is_read_by_the_gateways_own_rule(error: ErrorAnswer, result: str) -> None:
    check = judge_error("1, 2, 3,", error)
    assert check.result == result
    assert (check.fault == "F37") is (result == "refuses")
    assert str(error) in check.detail
