"""The ``/playground`` page in headless Chromium (Debian's, driven by playwright-core) through a real
gateway and simulator: a user's view of the browser endpoint.

A clean scenario must show the whole answer and a ``done`` status; a stream that breaks after some
text, and an upstream that refuses before any, must show a readable error, not a silent stop or a
page stuck in "streaming".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_env import page_script

from processes import gateway, gateway_config, simulator
from sseguard.sim import expected_answer

PROMPT = "Tell me about streams."
MODEL = "claude-sonnet-4-5"
PAGE_TIMEOUT_MS = 60_000  # the page's own wait for done/error
HANG_BOUND = 120.0  # the browser process as a whole: detects hangs only


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator() as sim:
        config = gateway_config(tmp_path_factory.mktemp("playground"), sim)
        with gateway(config) as url:
            yield url


def shown(gateway_url: str, scenario: str, mode: str = "page") -> dict[str, Any]:
    return page_script(
        "playground.mjs",
        mode,
        gateway_url,
        f"{MODEL}+{scenario}",
        PROMPT,
        str(PAGE_TIMEOUT_MS),
        timeout=HANG_BOUND,
    )


def clean_text() -> str:
    message = expected_answer(
        {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": PROMPT}]}
    )
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def test_clean_answer_is_shown_whole(gateway_url: str) -> None:
    page = shown(gateway_url, "clean")
    assert page["state"] == "done"
    assert page["answer"] == clean_text()
    assert "end_turn" in page["status"]
    assert not page["errorVisible"]


def test_repaired_stream_is_shown_whole(gateway_url: str) -> None:
    page = shown(gateway_url, "glued_text@bytes")
    assert page["state"] == "done"
    assert page["answer"] == clean_text()


def test_break_after_text_shows_a_readable_error(gateway_url: str) -> None:
    page = shown(gateway_url, "error_after_content")
    assert page["state"] == "error"
    assert page["errorVisible"]
    assert "overloaded" in page["error"].lower()
    assert "{" not in page["error"]  # a sentence, not a raw JSON object
    assert clean_text().startswith(page["answer"])
    assert page["answer"] != clean_text()


def test_refusal_before_any_text_shows_the_status(gateway_url: str) -> None:
    page = shown(gateway_url, "overloaded_529")
    assert page["state"] == "error"
    assert "HTTP 529" in page["error"]
    assert page["answer"] == ""


def test_eventsource_gets_ids_text_tools_and_done(gateway_url: str) -> None:
    events = shown(gateway_url, "clean", mode="eventsource")["events"]
    assert [e["id"] for e in events] == [str(i) for i in range(1, len(events) + 1)]
    assert {e["type"] for e in events[:-1]} == {"delta"}
    assert "".join(e["data"]["text"] for e in events[:-1]) == clean_text()
    assert events[-1]["type"] == "done"
    assert events[-1]["data"]["stop_reason"] == "end_turn"
    assert events[-1]["data"]["usage"]["output_tokens"] > 0


def test_eventsource_gets_a_readable_error_event(gateway_url: str) -> None:
    events = shown(gateway_url, "close_in_text", mode="eventsource")["events"]
    assert events[-1]["type"] == "error"
    assert "mid-stream" in events[-1]["data"]["message"]
    assert all(e["type"] == "delta" for e in events[:-1])
