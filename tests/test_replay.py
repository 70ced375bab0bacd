"""``sseguard replay`` on the real captures and on broken streams, run as the real CLI process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from streams import clean_text_stream, message_start, text, text_start, wire


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sseguard", "replay", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replay_apim_capture_names_the_done_sentinel(fixtures_dir: Path) -> None:
    res = run(str(fixtures_dir / "apim-passthrough-done-sentinel.sse"))
    assert res.returncode == 0, res.stderr
    assert "F01: data: [DONE] dropped" in res.stdout
    assert "verdict:   complete after repairs (F01×1)" in res.stdout


def test_replay_as_client_prints_the_answer(fixtures_dir: Path) -> None:
    res = run("--as-client", "anthropic", str(fixtures_dir / "foundry-direct.sse"))
    assert res.returncode == 0
    assert res.stdout.splitlines() == [
        "Hello! 👋 How can I help you today?",
        "[stop_reason: end_turn]",
    ]


def test_replay_json_and_curl_headers(tmp_path: Path) -> None:
    capture = tmp_path / "curl.txt"
    capture.write_bytes(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n" + clean_text_stream("a", "b")
    )
    res = run("--json", str(capture))
    assert res.returncode == 0
    report = json.loads(res.stdout)
    assert report["complete"] is True and report["anomalies"] == {}
    assert len(report["steps"]) == 8  # seven events and the end of the stream


def test_replay_cut_stream_is_reported_broken_with_a_truthful_ending() -> None:
    res = run("-", stdin=wire(message_start(), text_start(0), text(0, "half an ans")))
    assert res.returncode == 1
    assert "broken: F16" in res.stdout
    assert "end      error" in res.stdout
    res = run(
        "--as-client", "openai", "-", stdin=wire(message_start(), text_start(0), text(0, "half"))
    )
    assert "half" in res.stdout and "[error api_error:" in res.stdout
