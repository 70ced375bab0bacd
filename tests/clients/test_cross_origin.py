"""A front end on another origin than the gateway, in headless Chromium: the official
``@anthropic-ai/sdk`` bundled for the browser, ``EventSource``, and a no-cors POST, through a real
gateway in front of a recording upstream.

From an origin listed in ``server.cors_origins`` the SDK streams the whole answer and reads an
upstream's refusal as the typed error it is (not "Connection error"), and EventSource gets its
events. From any other origin nothing reaches the upstream, including the text/plain POST a page
may send without asking first: that is what keeps a page the user happens to open from spending
the operator's key.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser_env import page_script

from processes import gateway
from upstream_recorder import CANNED_TEXT, RecordingUpstream, recording_upstream

MODEL = "claude-sonnet-4-5"
REFUSED_MODEL = "claude-refused"  # routed to an upstream that answers 529
PAGE_TIMEOUT_MS = 20_000  # the page's own wait for EventSource's done/error
HANG_BOUND = 120.0  # the browser process as a whole: detects hangs only


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class World:
    rec: RecordingUpstream
    gateway: str
    page_dir: Path
    listed: str  # a page origin in cors_origins
    foreign: str  # one that is not


@contextmanager
def page_server(directory: Path) -> Iterator[str]:
    """Static files on 127.0.0.1 at a port of their own: a page origin that is not the gateway's."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def config_text(rec: RecordingUpstream, listed: str) -> str:
    return f"""
[server]
host = "127.0.0.1"
port = 0
cors_origins = ["{listed}"]

[retry]
max_attempts = 1

[observe]
request_log = ""

[[deployments]]
name = "ok"
kind = "anthropic-compatible"
base_url = "{rec.base("ok", "web")}"
passthrough_key = true

[[deployments]]
name = "overloaded"
kind = "anthropic-compatible"
base_url = "{rec.base("529", "web")}"
passthrough_key = true

[[routes]]
match = "{REFUSED_MODEL}"
deployments = ["overloaded"]

[[routes]]
match = "*"
deployments = ["ok"]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("cross-origin")
    page_dir = tmp / "page"
    page_dir.mkdir()
    with (
        recording_upstream() as rec,
        page_server(page_dir) as listed,
        page_server(page_dir) as foreign,
    ):
        config = tmp / "sseguard.toml"
        config.write_text(config_text(rec, listed))
        with gateway(config) as url:
            yield World(rec, url, page_dir, listed, foreign)


def seen_from(world: World, page: str, tag: str) -> dict[str, Any]:
    return page_script(
        "cross_origin.mjs",
        str(world.page_dir),
        page,
        world.gateway,
        MODEL,
        REFUSED_MODEL,
        tag,
        str(PAGE_TIMEOUT_MS),
        timeout=HANG_BOUND,
    )


def asked(world: World, tag: str) -> int:
    return len(world.rec.of("web", tag))


def test_a_listed_origin_uses_the_gateway_like_an_api(world: World) -> None:
    tag = f"listed-{uuid.uuid4().hex[:8]}"
    seen = seen_from(world, world.listed, tag)
    assert seen["sdk"] == {"text": CANNED_TEXT, "stop_reason": "end_turn"}
    # The refusal is readable: the SDK raises its typed error with the real status.
    assert seen["refused"]["status"] == 529, seen["refused"]
    assert seen["refused"]["type"] == "overloaded_error"
    events = seen["eventsource"]["events"]
    assert "error" not in seen["eventsource"], seen["eventsource"]
    assert "".join(e["data"]["text"] for e in events if e["type"] == "delta") == CANNED_TEXT
    assert events[-1]["type"] == "done"
    assert seen["noCors"] == {"type": "opaque"}
    for part in ("sdk", "refused", "eventsource", "no-cors"):
        assert asked(world, f"{tag}-{part}") == 1, part


def test_another_origin_reaches_no_upstream(world: World) -> None:
    tag = f"foreign-{uuid.uuid4().hex[:8]}"
    seen = seen_from(world, world.foreign, tag)
    assert seen["sdk"]["status"] is None, seen["sdk"]  # no answer the page may read
    assert seen["eventsource"]["events"] == []
    assert seen["eventsource"]["error"] == "EventSource failed"
    assert seen["noCors"] == {"type": "opaque"}  # the browser sent it; the gateway refused it
    for part in ("sdk", "refused", "eventsource", "no-cors"):
        assert asked(world, f"{tag}-{part}") == 0, part
