"""Requests from web pages, at the HTTP level, through a real gateway in front of a recording
upstream: pages on a listed origin get CORS answers; pages on any other origin are refused before
any upstream is asked, in the format of the endpoint they called; clients without ``Origin`` (every
SDK, Claude Code, curl) see no difference. tests/clients/test_cross_origin.py does the same from a
real browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from gateway.test_gateway_edges import request as exchange
from processes import gateway, gateway_config
from upstream_recorder import CANNED_TEXT, RecordingUpstream, recording_upstream

LISTED = "http://127.0.0.1:5173"
FOREIGN = "https://pages.example"


@dataclass
class World:
    rec: RecordingUpstream
    url: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("origins")
    with recording_upstream() as rec:
        # Written unlike browsers serialize it (case, default port absent): the config normalizes.
        config = gateway_config(
            tmp,
            rec.base("ok", "web"),
            server='cors_origins = ["HTTP://127.0.0.1:5173"]\nallowed_hosts = ["Gateway.Test"]',
        )
        with gateway(config) as url:
            yield World(rec, url)


def messages_body(text: str) -> bytes:
    """A streamed request that every answering endpoint (Messages, OpenAI, browser) accepts."""
    return orjson.dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": text}],
        }
    )


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]  # lower-cased names
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return orjson.loads(self.content)


def request(method: str, url: str, data: bytes | None = None, **headers: str) -> Reply:
    """One exchange, whatever its status (test_gateway_edges' helper); "_" in a name is "-"."""
    status, got, raw = exchange(
        method, url, data, {k.replace("_", "-"): v for k, v in headers.items()}
    )
    return Reply(status, got, raw)


def post(url: str, data: bytes, **headers: str) -> Reply:
    return request("POST", url, data, **headers)


def asked_upstream(world: World, text: str) -> int:
    return len(world.rec.of("web", text))


def test_a_listed_origin_gets_the_stream_with_cors_headers(world: World) -> None:
    resp = post(
        f"{world.url}/v1/messages",
        messages_body("listed-stream"),
        origin=LISTED,
        content_type="application/json",
        x_api_key="k",
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == LISTED
    assert resp.headers["access-control-expose-headers"] == "*"
    assert "origin" in resp.headers["vary"].lower()
    assert resp.text.count("event: message_stop") == 1
    assert CANNED_TEXT[:5] in resp.text
    assert asked_upstream(world, "listed-stream") == 1


def test_a_listed_origin_sees_errors_too(world: World) -> None:
    """A page must be able to read why it failed: a 404 for an unknown path carries CORS."""
    resp = post(f"{world.url}/v1/nothing", b"{}", origin=LISTED)
    assert resp.status_code == 404
    assert resp.headers["access-control-allow-origin"] == LISTED


def test_preflight_of_a_listed_origin_allows_what_the_page_asks(world: World) -> None:
    asked = "content-type,x-api-key,anthropic-version,anthropic-dangerous-direct-browser-access"
    resp = request(
        "OPTIONS",
        f"{world.url}/v1/messages",
        origin=LISTED,
        access_control_request_method="POST",
        access_control_request_headers=asked,
        access_control_request_private_network="true",
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == LISTED
    assert resp.headers["access-control-allow-headers"] == asked
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert resp.headers["access-control-allow-private-network"] == "true"
    assert "access-control-allow-credentials" not in resp.headers
    assert resp.content == b""


def error_of(path: str, reply: Reply) -> dict[str, Any]:
    """The error object in the format of the endpoint called: the browser endpoint's is an SSE
    ``error`` event, Anthropic's and OpenAI's a JSON body with ``error``."""
    if path == "/v1/chat/sse":
        assert reply.text.startswith("event: error\n")
        data = reply.text.partition("data: ")[2].partition("\n")[0]
        error: dict[str, Any] = orjson.loads(data)
        return error
    error = reply.json()["error"]
    return error


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/chat/sse"])
def test_a_foreign_origin_is_refused_before_any_upstream(world: World, path: str) -> None:
    """A text/plain POST is what a page can send without a preflight: it must not run."""
    text = f"foreign-{path}"
    resp = post(
        f"{world.url}{path}", messages_body(text), origin=FOREIGN, content_type="text/plain"
    )
    assert resp.status_code == 403
    assert "access-control-allow-origin" not in resp.headers
    error = error_of(path, resp)
    assert error["type"] == "permission_error"
    assert FOREIGN in error["message"]
    assert "cors_origins" in error["message"]
    assert asked_upstream(world, text) == 0


def test_a_foreign_eventsource_get_is_refused(world: World) -> None:
    query = urlencode({"model": "claude-sonnet-4-5", "prompt": "foreign-get"})
    resp = request("GET", f"{world.url}/v1/chat/sse?{query}", origin=FOREIGN)
    assert resp.status_code == 403
    assert asked_upstream(world, "foreign-get") == 0


def test_a_foreign_preflight_is_refused(world: World) -> None:
    resp = request(
        "OPTIONS", f"{world.url}/v1/messages", origin=FOREIGN, access_control_request_method="POST"
    )
    assert resp.status_code == 403
    assert "access-control-allow-origin" not in resp.headers


def test_the_gateways_own_pages_and_clients_without_origin_pass(world: World) -> None:
    host = world.url.removeprefix("http://")
    for text, headers in [
        ("own-origin", {"origin": world.url}),
        ("own-origin-behind-tls", {"origin": f"https://{host}"}),
        ("no-origin", {}),
    ]:
        resp = post(f"{world.url}/v1/messages", messages_body(text), **headers)
        assert resp.status_code == 200, text
        assert "access-control-allow-origin" not in resp.headers
        assert resp.text.count("event: message_stop") == 1
        assert asked_upstream(world, text) == 1


def test_dns_rebinding_is_refused_before_any_upstream(world: World) -> None:
    """An attacker's name resolved to the gateway: to the browser its page is the gateway's own
    origin, so only the Host header tells. Nothing reaches the upstream."""
    port = world.url.rsplit(":", 1)[1]
    evil = f"rebound.example:{port}"
    resp = post(
        f"{world.url}/v1/messages",
        messages_body("rebound-post"),
        host=evil,
        origin=f"http://{evil}",
        content_type="text/plain",
    )
    assert resp.status_code == 403
    error = resp.json()["error"]
    assert error["type"] == "permission_error" and "allowed_hosts" in error["message"]
    query = urlencode({"model": "claude-sonnet-4-5", "prompt": "rebound-get"})
    resp = request("GET", f"{world.url}/v1/chat/sse?{query}", host=evil)  # EventSource
    assert resp.status_code == 403
    assert asked_upstream(world, "rebound-post") + asked_upstream(world, "rebound-get") == 0


@pytest.mark.parametrize(
    "name",
    [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.0.0.2",
        "127.255.255.254",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",  # ::1 spelled out is the same address
        "gateway.test",
    ],
)
@pytest.mark.parametrize("port", ["own", "8080", "none"])
def test_the_gateways_own_names_and_the_listed_ones_are_answered(
    world: World, name: str, port: str
) -> None:
    """Any port or none: the port says nothing about which machine the browser asked for."""
    own = world.url.rsplit(":", 1)[1]
    host = {"own": f"{name}:{own}", "8080": f"{name}:8080", "none": name}[port]
    text = f"host <{port} {name}>"
    resp = post(f"{world.url}/v1/messages", messages_body(text), host=host)
    assert resp.status_code == 200, resp.content[:200]
    assert asked_upstream(world, text) == 1


@pytest.mark.parametrize(
    "name",
    [
        # Names an attacker can own and point at 127.0.0.1: loopback was once judged by the
        # prefix "127.", and these got 200.
        "127.evil.example",
        "127.0.0.1.evil.example",
        "127.0.0.1.",
        # inet_aton's shorthand and octal: ipaddress reads them as no address, so they are
        # names, and refused. Browsers never send them (their URL parser writes 127.0.0.1).
        "127.1",
        "0177.0.0.1",
        "127.0.0.01",
        # Only localhost itself, not the names under it (be conservative).
        "sub.localhost",
        "localhost.evil.example",
        # Not how a browser writes its loopback; refusing costs nothing.
        "[::ffff:127.0.0.1]",
        "[::1]evil.example",
        "[::1",
    ],
)
@pytest.mark.parametrize("port", ["own", "none"])
def test_names_that_only_look_like_loopback_are_refused(world: World, name: str, port: str) -> None:
    own = world.url.rsplit(":", 1)[1]
    host = f"{name}:{own}" if port == "own" else name
    text = f"look-alike <{port} {name}>"
    resp = post(
        f"{world.url}/v1/messages",
        messages_body(text),
        host=host,
        origin=f"http://{host}",
        content_type="text/plain",
    )
    assert resp.status_code == 403, resp.content[:200]
    error = resp.json()["error"]
    assert error["type"] == "permission_error" and "allowed_hosts" in error["message"]
    assert asked_upstream(world, text) == 0
