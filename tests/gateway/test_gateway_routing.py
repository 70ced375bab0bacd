"""What the gateway sends upstream, and what it does with what comes back, through real processes.

A recording upstream (``upstream_recorder``) in this test process sees every request the gateway
makes: path, query, headers and body, so the request building (keys, auth styles, versions, F28
beta filtering, model renames, extra headers, hop-by-hop headers) is checked on the wire. The
simulator supplies faults for the fallback chain, the mid-stream modes and the total timeout.
Gateways are started here with their output captured, so that secrets can be looked for in it.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest

from processes import URL, simulator
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.sim import expected_answer
from sseguard.sse import SSEDecoder
from upstream_recorder import CANNED_TEXT, Recorded, RecordingUpstream, recording_upstream

TIME_BOUND = 30.0  # detects hangs only
START_TIMEOUT = 30.0  # only detects a gateway that never comes up
ROOT = Path(__file__).resolve().parents[2]

# Provider keys, each in its own environment variable; none may ever reach a client or a log.
KEYS = {
    "SGT_KEY_X": "sk-prov-x-6f1d2c9e0a4b47e3b8",
    "SGT_KEY_BEARER": "sk-prov-bearer-2b7e41c09d5f",
    "SGT_KEY_APIKEY": "sk-prov-apikey-93ac07e1f264",
    "SGT_KEY_CUSTOM": "sk-prov-custom-5d8b1f0e7a39",
}
KEY_X = KEYS["SGT_KEY_X"]
CLIENT_KEY = "sk-client-own-key-0c4f9a1e7b"
MODEL = "claude-routing-test"  # any name: the simulator and the recorder answer every model


# --- processes --------------------------------------------------------------------------------


class GatewayProcess:
    """``python -m sseguard serve ARGS`` with its merged stdout/stderr kept for inspection."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sseguard", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            cwd=tempfile.mkdtemp(prefix="sseguard-test-"),  # the default request log lands there
        )
        self.lines: list[bytes] = []
        self.url = ""
        self._await_banner()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _await_banner(self) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not self.url:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.stop()
                    raise RuntimeError(f"gateway did not start: {self.output()!r}")
                line = self.proc.stdout.readline()
                if not line:
                    self.stop()
                    raise RuntimeError(f"gateway exited: {self.output()!r}")
                self.lines.append(line)
                if b"sseguard listening on" in line:
                    m = URL.search(line)
                    assert m, line
                    self.url = m.group(1).decode()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.append(line)

    def output(self) -> str:
        return b"".join(self.lines).decode(errors="replace")

    def stop(self) -> str:
        """Stop (SIGINT, as a user would) and return everything the process printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_reader"):
            self._reader.join(5)
        return self.output()


@contextmanager
def gateway_process(*args: str, env: dict[str, str] | None = None) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(list(args), env or {})
    try:
        yield gw
    finally:
        gw.stop()
        assert gw.proc.stdout is not None
        gw.proc.stdout.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COMMON = """
[server]
host = "127.0.0.1"
port = 0

[retry]
max_attempts = 2
backoff_base = 0.05
backoff_max = 0.2
retry_after_cap = 2
"""


def main_config(rec: RecordingUpstream, sim: str) -> str:
    """One gateway for most tests: a route per client model prefix, each over its own deployment."""
    deployments: list[tuple[str, str, str]] = [
        # name, base URL, extra TOML lines
        ("pass", rec.base("ok", "pass"), "passthrough_key = true"),
        (
            "xkey",
            rec.base("ok", "xkey"),
            'api_key_env = "SGT_KEY_X"\nmodel = "renamed-upstream-model"\n'
            'headers = { "X-Extra-One" = "one", "x-extra-two" = "two", "user-agent" = "gw-ua" }\n'
            'anthropic_beta = { allow = ["keep-*", "also-*"], deny = ["keep-not-*"] }',
        ),
        (
            "bearer",
            rec.base("ok", "bearer"),
            'auth = "bearer"\napi_key_env = "SGT_KEY_BEARER"\nanthropic_version = "2024-10-22"',
        ),
        ("apikey", rec.base("ok", "apikey"), 'auth = "api-key"\napi_key = "${SGT_KEY_APIKEY}"'),
        (
            "custom",
            rec.base("ok", "custom"),
            'auth = { header = "Ocp-Apim-Subscription-Key", prefix = "Sub " }\n'
            'api_key_env = "SGT_KEY_CUSTOM"',
        ),
        (
            "nobeta",
            rec.base("ok", "nobeta"),
            "passthrough_key = true\nanthropic_beta = { allow = [] }",
        ),
        (
            "globmap",
            rec.base("ok", "globmap"),
            'api_key_env = "SGT_KEY_X"\n'
            'model = { "claude-opus-*" = "big-v2", "claude-*" = "fast-v2" }',
        ),
        ("echo401", rec.base("401echo", "echo"), 'api_key_env = "SGT_KEY_X"'),
        ("rec529a", rec.base("529", "ca"), 'api_key_env = "SGT_KEY_X"'),
        ("rec529b", rec.base("529", "cb"), 'api_key_env = "SGT_KEY_X"'),
        ("rec529c", rec.base("529", "cc"), 'api_key_env = "SGT_KEY_X"'),
        ("recok", rec.base("ok", "cok"), 'api_key_env = "SGT_KEY_X"'),
        ("sim529", f"{sim}/s/overloaded_529", "passthrough_key = true"),
        ("simhtml", f"{sim}/s/html_502", "passthrough_key = true"),
        ("closed", f"http://127.0.0.1:{closed_port()}", 'api_key_env = "SGT_KEY_X"'),
        ("sim429", f"{sim}/s/rate_limited_429", "passthrough_key = true"),
        ("simclean", sim, "passthrough_key = true"),
        ("dropok", rec.base("ok", "dropok"), "passthrough_key = true"),
        ("rec302", rec.base("302", "r302"), "passthrough_key = true"),
        ("rec204", rec.base("204", "r204"), "passthrough_key = true"),
        ("ctx400", rec.base("400ctx", "ctx"), "passthrough_key = true"),
        ("maxtok", rec.base("maxtok_tool", "mt"), "passthrough_key = true"),
        ("cutbare", rec.base("cutbare", "cb"), "passthrough_key = true"),
        (
            "pingonly",
            rec.base("pingonly", "po"),
            "passthrough_key = true\ntimeouts = { first_token = 1 }",
        ),
    ]
    routes: list[tuple[str, list[str], str]] = [
        ("pass-*", ["pass"], ""),
        ("xkey-*", ["xkey"], ""),
        ("bearer-*", ["bearer"], ""),
        ("apikey-*", ["apikey"], ""),
        ("custom-*", ["custom"], ""),
        ("nobeta-*", ["nobeta"], ""),
        ("gm-*", ["globmap"], ""),
        ("claude-*", ["globmap"], ""),
        ("echo-*", ["echo401"], ""),
        ("count-*", ["rec529a", "rec529b"], ""),
        ("countok-*", ["rec529c", "recok"], ""),
        ("fb529-*", ["sim529", "simclean"], ""),
        ("fbhtml-*", ["simhtml", "simclean"], ""),
        ("fbclosed-*", ["closed", "simclean"], ""),
        ("fbboth-*", ["sim529", "sim429"], ""),
        ("fin-*", ["simclean"], 'midstream = "finalize"\nfinalize_stop_reason = "max_tokens"'),
        ("err-*", ["simclean"], 'midstream = "error"'),
        ("res-*", ["simclean"], ""),
        ("nores-*", ["simclean"], "max_resumes = 0"),
        ("dropping-*", ["dropok"], 'drop_events = ["ping"]'),
        ("dropvx-*", ["simclean"], 'drop_events = ["vertex_event"]'),
        ("fb302-*", ["rec302", "simclean"], ""),
        ("fb204-*", ["rec204", "simclean"], ""),
        ("only302-*", ["rec302"], ""),
        ("only204-*", ["rec204"], ""),
        ("ctxfb-*", ["ctx400", "recok"], 'context_overflow = "fall_back"'),
        ("maxtok-*", ["maxtok"], ""),
        ("cutbare-*", ["cutbare"], ""),
        ("ctxno-*", ["ctx400", "recok"], ""),
        ("slowtoken-*", ["pingonly", "recok"], ""),
    ]
    text = COMMON + (
        "\n[timeouts]\nconnect = 2\nfirst_event = 4\nidle = 4\ntotal = 60\nping_interval = 5\n"
    )
    for name, url, extra in deployments:
        text += (
            f'\n[[deployments]]\nname = "{name}"\nkind = "anthropic-compatible"\n'
            f'base_url = "{url}"\n{extra}\n'
        )
    for match, chain, extra in routes:
        text += f'\n[[routes]]\nmatch = "{match}"\ndeployments = {orjson.dumps(chain).decode()}\n{extra}\n'
    return text


@dataclass
class World:
    rec: RecordingUpstream
    sim: str
    gw: GatewayProcess


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("routing")
    with recording_upstream() as rec, simulator() as sim:
        config = tmp / "routing.toml"
        config.write_text(main_config(rec, sim))
        with gateway_process("--config", str(config), env=KEYS) as gw:
            yield World(rec, sim, gw)


# --- clients ----------------------------------------------------------------------------------


def tag() -> str:
    return uuid.uuid4().hex[:12]


def body(model: str, text: str, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased; repeated names joined with ", "
    raw_headers: list[tuple[str, str]]
    raw: bytes

    def json(self) -> Any:
        return orjson.loads(self.raw)

    def events(self) -> list[Event]:
        dec = SSEDecoder()
        return [
            Event(e.event or "", e.data, orjson.loads(e.data))
            for e in dec.feed(self.raw) + dec.close()
        ]


async def _post(
    url: str, data: bytes, headers: list[tuple[str, str]], seconds: float
) -> tuple[Reply, float]:
    started = time.monotonic()
    out = bytearray()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
        session.post(url, data=data, headers=headers) as resp,
    ):
        async for chunk in resp.content.iter_any():
            out += chunk
        raw_headers = [(k.lower(), v) for k, v in resp.headers.items()]
        joined: dict[str, str] = {}
        for k, v in raw_headers:
            joined[k] = f"{joined[k]}, {v}" if k in joined else v
        return Reply(resp.status, joined, raw_headers, bytes(out)), time.monotonic() - started


def post(
    url: str,
    payload: dict[str, Any] | bytes,
    headers: list[tuple[str, str]] | dict[str, str] | None = None,
    path: str = "/v1/messages",
    key: str | None = CLIENT_KEY,
    seconds: float = TIME_BOUND,
) -> Reply:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    hdrs.append(("content-type", "application/json"))
    if key is not None:
        hdrs.append(("x-api-key", key))
    reply, _ = asyncio.run(_post(url + path, data, hdrs, seconds))
    return reply


def sdk(url: str, key: str = CLIENT_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=TIME_BOUND)


def sdk_answer(url: str, model: str, text: str, stream: bool) -> Any:
    client = sdk(url)
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
    }
    if stream:
        with client.messages.stream(**kwargs) as s:
            for _ in s:
                pass
            return s.get_final_message()
    return client.messages.create(**kwargs)


def text_of(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def streamed_text(events: list[Event]) -> str:
    return "".join(
        e.payload["delta"].get("text", "")
        for e in events
        if e.type == "content_block_delta" and e.payload["delta"].get("type") == "text_delta"
    )


def sim_text(text: str) -> str:
    """The text the clean simulator answers ``text`` with."""
    want = expected_answer(body(MODEL, text, stream=True))
    return "".join(b["text"] for b in want["content"] if b["type"] == "text")


def only(records: list[Recorded]) -> Recorded:
    assert len(records) == 1, records
    return records[0]


AUTH_HEADERS = ("x-api-key", "authorization", "api-key", "ocp-apim-subscription-key")


# --- 1. what goes upstream ----------------------------------------------------------------


@pytest.mark.parametrize("query", ["beta=true", "beta=true&x=a%20b&x=2"])
def test_query_string_and_path_preserved(world: World, query: str) -> None:
    t = tag()
    reply = post(world.gw.url, body("pass-m", t), path=f"/v1/messages?{query}")
    assert reply.status == 200, reply.raw
    got = only(world.rec.of("pass", t))
    assert (got.method, got.path, got.query) == ("POST", "/v1/messages", query)


def test_passthrough_sends_the_clients_own_key(world: World) -> None:
    t = tag()
    assert post(world.gw.url, body("pass-m", t + "a")).status == 200
    got = only(world.rec.of("pass", t + "a"))
    assert got.header_all("x-api-key") == [CLIENT_KEY]
    # A bearer token from the client goes on in the deployment's style (x-api-key).
    reply = post(
        world.gw.url,
        body("pass-m", t + "b"),
        headers={"authorization": f"Bearer {CLIENT_KEY}"},
        key=None,
    )
    assert reply.status == 200
    got = only(world.rec.of("pass", t + "b"))
    assert got.header_all("x-api-key") == [CLIENT_KEY]
    assert got.header("authorization") is None
    # No key from the client: no auth header at all upstream.
    assert post(world.gw.url, body("pass-m", t + "c"), key=None).status == 200
    got = only(world.rec.of("pass", t + "c"))
    assert not [h for h in AUTH_HEADERS if got.header(h) is not None], got.headers


@pytest.mark.parametrize(
    "model, label, header, value",
    [
        ("xkey-m", "xkey", "x-api-key", KEYS["SGT_KEY_X"]),
        ("bearer-m", "bearer", "authorization", f"Bearer {KEYS['SGT_KEY_BEARER']}"),
        ("apikey-m", "apikey", "api-key", KEYS["SGT_KEY_APIKEY"]),
        ("custom-m", "custom", "ocp-apim-subscription-key", f"Sub {KEYS['SGT_KEY_CUSTOM']}"),
    ],
)
def test_configured_key_replaces_the_clients(
    world: World, model: str, label: str, header: str, value: str
) -> None:
    t = tag()
    reply = post(
        world.gw.url,
        body(model, t),
        headers={"authorization": f"Bearer {CLIENT_KEY}", "api-key": CLIENT_KEY},
    )
    assert reply.status == 200, reply.raw
    got = only(world.rec.of(label, t))
    assert got.header_all(header) == [value]
    assert not [h for h in AUTH_HEADERS if h != header and got.header(h) is not None], got.headers
    assert not [(k, v) for k, v in got.headers if CLIENT_KEY in v]
    assert CLIENT_KEY.encode() not in got.raw_body


def test_hop_by_hop_and_client_framing_headers_are_not_copied(world: World) -> None:
    t = tag()
    # Padded JSON: the client's content-length cannot be the length of what goes upstream.
    data = b"  " + orjson.dumps(body("pass-m", t), option=orjson.OPT_INDENT_2) + b"\n\n   "
    reply = post(
        world.gw.url,
        data,
        headers={
            "connection": "keep-alive, x-hop-private",
            "x-hop-private": "must-not-travel",
            "keep-alive": "timeout=5",
            "te": "trailers",
            "proxy-authorization": "Basic c2VjcmV0",
            "upgrade": "websocket",
        },
    )
    assert reply.status == 200, reply.raw
    got = only(world.rec.of("pass", t))
    upstream_host = world.rec.url.removeprefix("http://")
    assert got.header_all("host") == [upstream_host]
    assert len(got.header_all("content-length")) <= 1
    if got.header("content-length") is not None:
        assert int(got.header("content-length") or "") == len(got.raw_body) != len(data)
    for name in ("x-hop-private", "keep-alive", "te", "proxy-authorization", "upgrade"):
        assert got.header(name) is None, (name, got.headers)
    assert "x-hop-private" not in (got.header("connection") or "")
    assert orjson.loads(got.raw_body)["messages"] == body("pass-m", t)["messages"]


def test_anthropic_version_default_configured_and_kept(world: World) -> None:
    t = tag()
    post(world.gw.url, body("pass-m", t + "a"))
    assert only(world.rec.of("pass", t + "a")).header_all("anthropic-version") == ["2023-06-01"]
    post(world.gw.url, body("bearer-m", t + "b"))  # the deployment's own default
    assert only(world.rec.of("bearer", t + "b")).header_all("anthropic-version") == ["2024-10-22"]
    post(world.gw.url, body("bearer-m", t + "c"), headers={"anthropic-version": "2023-01-01"})
    assert only(world.rec.of("bearer", t + "c")).header_all("anthropic-version") == ["2023-01-01"]


@pytest.mark.parametrize(
    "model, label, sent, arrives",
    [
        ("xkey-m", "xkey", "keep-a, drop-b,also-c , keep-not-d,,keep-e", "keep-a,also-c,keep-e"),
        ("xkey-m", "xkey", "drop-b, keep-not-x", None),  # nothing left: no header
        ("xkey-m", "xkey", None, None),
        ("nobeta-m", "nobeta", "keep-a,anything-2025-01-01", None),  # allow = []
        ("pass-m", "pass", "a-2025-01-01, b-2025-02-02", "a-2025-01-01,b-2025-02-02"),
    ],
)
def test_anthropic_beta_allow_and_deny(
    world: World, model: str, label: str, sent: str | None, arrives: str | None
) -> None:
    t = tag()
    headers = {"anthropic-beta": sent} if sent is not None else {}
    assert post(world.gw.url, body(model, t), headers=headers).status == 200
    got = only(world.rec.of(label, t))
    values = got.header_all("anthropic-beta")
    assert values == ([] if arrives is None else [arrives])


def test_anthropic_beta_on_repeated_header_lines(world: World) -> None:
    t = tag()
    headers = [("anthropic-beta", "keep-a"), ("anthropic-beta", "also-b, drop-c")]
    assert post(world.gw.url, body("xkey-m", t), headers=headers).status == 200
    got = only(world.rec.of("xkey", t))
    assert ",".join(got.header_all("anthropic-beta")) == "keep-a,also-b"


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_model_renamed_upstream_and_client_still_answered(world: World, stream: bool) -> None:
    t = tag()
    message = sdk_answer(world.gw.url, "xkey-client-model", t, stream)
    assert text_of(message) == CANNED_TEXT
    assert message.stop_reason == "end_turn"
    got = only(world.rec.of("xkey", t))
    sent = got.body
    assert sent["model"] == "renamed-upstream-model"
    assert sent["stream"] is True  # streamed upstream even for a stream: false client
    assert sent["messages"] == [{"role": "user", "content": t}]


def test_drop_events_from_the_configuration(world: World) -> None:
    # F10: a route's drop_events reaches the repairer; ping is the one known event it may name.
    def types(model: str) -> list[str]:
        reply = post(world.gw.url, body(model, tag()))
        assert reply.status == 200
        events = reply.events()
        assert events[-1].type == "message_stop"
        return [e.type for e in events]

    assert "ping" in types("pass-kept")  # the canned upstream stream has one
    assert "ping" not in types("dropping-gone")
    assert "vertex_event" in types("res-kept+unknown_events")
    assert "vertex_event" not in types("dropvx-gone+unknown_events")


@pytest.mark.parametrize(
    "client_model, upstream_model",
    [
        ("claude-opus-4-1", "big-v2"),  # first matching glob wins
        ("claude-haiku-4-5", "fast-v2"),
        ("gm-unmatched", "gm-unmatched"),  # no glob matches: unchanged
    ],
)
def test_model_glob_mapping(world: World, client_model: str, upstream_model: str) -> None:
    t = tag()
    assert text_of(sdk_answer(world.gw.url, client_model, t, stream=True)) == CANNED_TEXT
    assert only(world.rec.of("globmap", t)).body["model"] == upstream_model


def test_extra_headers_arrive_and_override_the_clients(world: World) -> None:
    t = tag()
    post(world.gw.url, body("xkey-m", t), headers={"user-agent": "client-ua/1.0"})
    got = only(world.rec.of("xkey", t))
    assert got.header_all("x-extra-one") == ["one"]
    assert got.header_all("x-extra-two") == ["two"]
    assert got.header_all("user-agent") == ["gw-ua"]


def test_stream_false_client_gets_json_from_a_streamed_upstream(world: World) -> None:
    t = tag()
    reply = post(world.gw.url, body("pass-m", t, stream=False))
    assert reply.status == 200, reply.raw
    assert reply.headers["content-type"].startswith("application/json")
    message = reply.json()
    assert message["type"] == "message" and message["stop_reason"] == "end_turn"
    assert [b["text"] for b in message["content"]] == [CANNED_TEXT]
    assert only(world.rec.of("pass", t)).body["stream"] is True


# --- 2. secrets -------------------------------------------------------------------------------


def assert_no_key(where: str, text: str | bytes) -> None:
    s = text.decode(errors="replace") if isinstance(text, bytes) else text
    for name, key in KEYS.items():
        assert key not in s, f"{name}'s value appears in {where}"
        assert key[-12:] not in s, f"a piece of {name}'s value appears in {where}"


def test_provider_key_never_reaches_the_client(world: World) -> None:
    t = tag()
    replies = {
        "stream": post(world.gw.url, body("xkey-m", t + "s")),
        "json": post(world.gw.url, body("xkey-m", t + "j", stream=False)),
        "upstream 529": post(world.gw.url, body("count-m", t + "529")),
        "unreachable then fallback": post(world.gw.url, body("fbclosed-m", t + "c")),
        "malformed": post(world.gw.url, b"{not json"),
        "no route": post(world.gw.url, body("nothing-routes-this", t)),
    }
    assert replies["stream"].status == 200 and replies["json"].status == 200
    assert replies["upstream 529"].status == 529
    assert replies["no route"].status == 404
    for what, reply in replies.items():
        assert_no_key(f"the {what} response headers", repr(reply.raw_headers))
        assert_no_key(f"the {what} response body", reply.raw)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_provider_key_not_leaked_by_an_upstream_echoing_it(world: World, stream: bool) -> None:
    reply = post(world.gw.url, body("echo-m", tag(), stream=stream))
    assert reply.status == 401
    assert reply.json()["error"]["type"] == "authentication_error"
    assert_no_key("the response headers", repr(reply.raw_headers))
    assert_no_key("the 401 response body", reply.raw)


# --- 3. fallback chain --------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("first", ["fb529", "fbhtml", "fbclosed", "fb302", "fb204"])
def test_fallback_to_the_next_deployment(world: World, first: str, stream: bool) -> None:
    t = f"fallback {first} {stream} {tag()}"
    message = sdk_answer(world.gw.url, f"{first}-m", t, stream)
    assert text_of(message) == sim_text(t)
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize("answer", ["302", "204"])
def test_an_upstream_answer_that_is_no_error_and_no_answer_is_a_bad_gateway(
    world: World, answer: str
) -> None:
    # Passed on, a redirect (not followed) or an empty 2xx would read as a redirect to nowhere
    # or a success without a message; the client gets 502 with what came, in Anthropic's shape.
    reply = post(world.gw.url, body(f"only{answer}-m", tag()))
    assert reply.status == 502, reply.raw
    error = reply.json()["error"]
    assert error["type"] == "api_error" and f"HTTP {answer}" in error["message"]
    with pytest.raises(anthropic.InternalServerError):
        sdk_answer(world.gw.url, f"only{answer}-m", tag(), stream=True)


def test_all_deployments_failing_gives_the_last_status_and_body(world: World) -> None:
    # 529 (twice) from the first deployment, then 429 with retry-after: 1 (twice) from the second.
    reply = post(world.gw.url, body("fbboth-m", tag()))
    assert reply.status == 429, reply.raw
    assert reply.headers["retry-after"] == "1"
    error = reply.json()
    assert error["type"] == "error" and error["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.RateLimitError):
        sdk_answer(world.gw.url, "fbboth-m", tag(), stream=True)


def test_attempts_per_deployment_are_retry_max_attempts(world: World) -> None:
    t = tag()
    reply = post(world.gw.url, body("count-m", t))
    assert reply.status == 529
    assert reply.json()["error"]["type"] == "overloaded_error"
    assert (len(world.rec.of("ca", t)), len(world.rec.of("cb", t))) == (2, 2)

    t = tag()
    message = sdk_answer(world.gw.url, "countok-m", t, stream=True)
    assert text_of(message) == CANNED_TEXT
    assert (len(world.rec.of("cc", t)), len(world.rec.of("cok", t))) == (2, 1)


def test_a_context_overflow_falls_back_only_when_the_route_says_so(world: World) -> None:
    t = tag()
    message = sdk_answer(world.gw.url, "ctxfb-m", t, stream=True)
    assert text_of(message) == CANNED_TEXT  # the next (larger-context) deployment answered
    assert (len(world.rec.of("ctx", t)), len(world.rec.of("cok", t))) == (1, 1)
    reply = post(world.gw.url, body("ctxno-m", tag()))  # the default: the client's 400
    assert reply.status == 400 and "prompt is too long" in reply.json()["error"]["message"]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_max_tokens_inside_a_tool_call_arrives_as_the_upstream_sent_it(
    world: World, stream: bool
) -> None:
    """F14: the upstream ran out of tokens inside a held tool call. The SDK gets the message as
    it would straight from the upstream (stop_reason max_tokens, the partial input), one call."""
    t = tag()
    message = sdk_answer(world.gw.url, "maxtok-m", t, stream)
    assert message.stop_reason == "max_tokens"
    assert [b.type for b in message.content] == ["tool_use"]
    # The SDK reads the cut JSON as {} straight from the upstream too (checked by hand).
    assert message.content[0].input == {}
    assert len(world.rec.of("mt", t)) == 1


def test_a_resume_that_breaks_where_the_last_did_is_not_tried_again(world: World) -> None:
    """The upstream sends the same word and breaks, every time: the first resume adds nothing
    (the continuation restarts, and breaks before it passes the delivered text), so a second
    one would only cost another wait. Three calls: the answer, the resume and its one retry
    (it produced nothing, retry.max_attempts = 2); a second resume would make it five."""
    t = tag()
    reply = post(world.gw.url, body("cutbare-m", t))
    assert reply.status == 200
    events = reply.events()
    assert events[-1].type == "error"
    message = events[-1].payload["error"]["message"]
    assert "not resumed: the resume broke the same way before adding anything" in message
    assert len(world.rec.of("cb", t)) == 3


def test_a_first_token_deadline_moves_to_the_next_deployment(world: World) -> None:
    """The primary sends message_start and then only pings: with first_token = 1 s it is left
    for the fallback before the client saw anything of it."""
    t = tag()
    message = sdk_answer(world.gw.url, "slowtoken-m", t, stream=True)
    assert text_of(message) == CANNED_TEXT
    assert (len(world.rec.of("po", t)), len(world.rec.of("cok", t))) == (1, 1)


def test_passed_on_headers_come_from_the_answering_deployment(world: World) -> None:
    t = tag()
    reply = post(world.gw.url, body("countok-m", t))
    assert reply.status == 200
    assert reply.headers["request-id"].startswith("req_cok_"), reply.headers


# --- 4. mid-stream modes ------------------------------------------------------------------


def block_indices_contiguous(events: list[Event]) -> bool:
    starts = [e.payload["index"] for e in events if e.type == "content_block_start"]
    return starts == list(range(len(starts)))


def test_finalize_ends_with_the_configured_stop_reason(world: World) -> None:
    t = f"finalize {tag()}"
    reply = post(world.gw.url, body("fin-m+eof_after_text_delta", t))
    assert reply.status == 200
    events = reply.events()
    kinds = [e.type for e in events if e.type != "ping"]
    assert not violations(events), violations(events)
    assert "error" not in kinds
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("message_start") == 1
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.payload["delta"]["stop_reason"] == "max_tokens"
    partial = streamed_text(events)
    assert partial and sim_text(t).startswith(partial) and partial != sim_text(t)

    t = f"finalize sdk {tag()}"
    message = sdk_answer(world.gw.url, "fin-m+eof_after_text_delta", t, stream=True)
    assert message.stop_reason == "max_tokens"
    assert text_of(message) and sim_text(t).startswith(text_of(message))
    assert text_of(message) != sim_text(t)


def test_error_mode_does_not_resume_a_transient_break(world: World) -> None:
    t = f"error mode {tag()}"
    reply = post(world.gw.url, body("err-m+close_in_text_once", t))
    assert reply.status == 200
    events = reply.events()
    assert not violations(events), violations(events)
    assert [e.type for e in events].count("message_start") == 1
    assert events[-1].type == "error", [e.type for e in events]
    assert events[-1].payload["error"]["type"]
    assert "message_stop" not in [e.type for e in events]
    assert streamed_text(events) != sim_text(t)


def test_resume_mode_splices_one_complete_stream(world: World) -> None:
    t = f"resume mode {tag()}"
    reply = post(world.gw.url, body("res-m+close_in_text_once", t))
    assert reply.status == 200
    events = reply.events()
    kinds = [e.type for e in events]
    assert not violations(events), violations(events)
    assert kinds.count("message_start") == 1
    assert block_indices_contiguous(events)
    assert "error" not in kinds and kinds[-1] == "message_stop"
    assert streamed_text(events) == sim_text(t)


def test_max_resumes_zero_turns_resume_off(world: World) -> None:
    t = f"no resume {tag()}"
    reply = post(world.gw.url, body("nores-m+close_in_text_once", t))
    assert reply.status == 200
    events = reply.events()
    assert not violations(events), violations(events)
    assert events[-1].type == "error", [e.type for e in events]
    assert streamed_text(events) != sim_text(t)


# --- 5. --upstream shorthand --------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_upstream_shorthand_works_with_the_sdk(world: World, stream: bool) -> None:
    with gateway_process("--port", "0", "--upstream", world.sim) as gw:
        assert "client keys passed through" in gw.output()
        t = f"shorthand {stream} {tag()}"
        message = sdk_answer(gw.url, MODEL, t, stream)
        assert text_of(message) == sim_text(t)
        assert message.stop_reason == "end_turn"


def test_upstream_key_replaces_the_clients(world: World) -> None:
    key = "sk-cli-upstream-key-8e2a55d1"
    with gateway_process(
        "--port", "0", "--upstream", world.rec.base("ok", "cli"), "--upstream-key", key
    ) as gw:
        t = tag()
        message = sdk_answer(gw.url, MODEL, t, stream=True)
        assert text_of(message) == CANNED_TEXT
        reply = post(
            gw.url, body("m", t + "raw"), headers={"authorization": f"Bearer {CLIENT_KEY}"}
        )
        assert reply.status == 200
        assert key not in repr(reply.raw_headers) and key.encode() not in reply.raw
        output = gw.stop()
    for got in world.rec.of("cli", t):
        assert got.header_all("x-api-key") == [key]
        assert got.header("authorization") is None
        assert not [(k, v) for k, v in got.headers if CLIENT_KEY in v]
    assert len(world.rec.of("cli", t)) == 2
    assert key not in output


# --- 6. several workers -------------------------------------------------------------------


def worker_pids(parent: int) -> list[int]:
    """Children of ``parent`` that are multiprocessing workers (not its resource tracker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_two_workers_serve_concurrent_streams(world: World, tmp_path: Path) -> None:
    config = tmp_path / "workers.toml"
    config.write_text(
        COMMON
        + "\n[timeouts]\nconnect = 2\nfirst_event = 10\nidle = 10\ntotal = 60\n"
        + f'\n[[deployments]]\nname = "sim"\nkind = "anthropic-compatible"\nbase_url = "{world.sim}"\n'
        "passthrough_key = true\n"
    )
    with gateway_process("--config", str(config), "--workers", "2") as gw:
        texts = [f"worker request {i} {tag()}" for i in range(20)]
        with ThreadPoolExecutor(max_workers=20) as pool:
            messages = list(pool.map(lambda t: sdk_answer(gw.url, MODEL, t, True), texts))
        assert [text_of(m) for m in messages] == [sim_text(t) for t in texts]
        assert all(m.stop_reason == "end_turn" for m in messages)
        if sys.platform.startswith("linux"):
            # uvicorn's supervisor (the process started) runs two worker processes.
            assert len(worker_pids(gw.proc.pid)) == 2, worker_pids(gw.proc.pid)


# --- 7. total timeout ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def endless_replies(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, bool], tuple[Reply, float]]]:
    """``endless_text`` through a gateway with ``total = 3``, per route mode and stream flag,
    all at once (each takes the whole 3 s)."""
    config = tmp_path_factory.mktemp("total") / "total.toml"
    config.write_text(
        COMMON
        + "\n[timeouts]\nconnect = 1\nfirst_event = 2\nidle = 2\ntotal = 3\nping_interval = 1\n"
        + f'\n[[deployments]]\nname = "sim"\nkind = "anthropic-compatible"\nbase_url = "{world.sim}"\n'
        "passthrough_key = true\n"
        '\n[[routes]]\nmatch = "err-*"\ndeployments = ["sim"]\nmidstream = "error"\n'
        '\n[[routes]]\nmatch = "*"\ndeployments = ["sim"]\n'
    )
    jobs = [(prefix, stream) for prefix in ("err-m", "resume-m") for stream in (True, False)]

    def one(gw_url: str, prefix: str, stream: bool) -> tuple[Reply, float]:
        started = time.monotonic()
        payload = body(f"{prefix}+endless_text", f"endless {prefix} {stream} {tag()}", stream)
        reply = post(gw_url, payload, seconds=20)
        return reply, time.monotonic() - started

    with gateway_process("--config", str(config)) as gw, ThreadPoolExecutor(len(jobs)) as pool:
        futures = {job: pool.submit(one, gw.url, *job) for job in jobs}
        yield {job: f.result(timeout=TIME_BOUND) for job, f in futures.items()}


@pytest.mark.parametrize("prefix", ["err-m", "resume-m"], ids=["error", "resume"])
def test_total_timeout_ends_an_endless_stream(
    endless_replies: dict[tuple[str, bool], tuple[Reply, float]], prefix: str
) -> None:
    reply, took = endless_replies[(prefix, True)]
    assert 2.5 < took < 8, took
    assert reply.status == 200, reply.raw
    events = reply.events()
    assert not violations(events), violations(events)
    assert streamed_text(events)
    assert events[-1].type == "error", [e.type for e in events][-5:]
    assert events[-1].payload["error"]["type"] == "timeout_error", events[-1].data
    assert "total time" in events[-1].payload["error"]["message"]


@pytest.mark.parametrize("prefix", ["err-m", "resume-m"], ids=["error", "resume"])
def test_total_timeout_for_a_json_client(
    endless_replies: dict[tuple[str, bool], tuple[Reply, float]], prefix: str
) -> None:
    reply, took = endless_replies[(prefix, False)]
    assert 2.5 < took < 8, took
    assert reply.status == 504, (reply.status, reply.raw[:300])
    error = reply.json()
    assert error["type"] == "error" and error["error"]["type"] == "timeout_error"
    assert "total time" in error["error"]["message"]


# --- the gateway's own output -----------------------------------------------------------


def test_gateway_output_never_shows_a_key(world: World, tmp_path: Path) -> None:
    """A gateway of the module's configuration through successes, upstream errors (one echoing the
    key), fallbacks, a resume and client errors; then stopped, and all it printed is read."""
    config = tmp_path / "routing.toml"
    config.write_text(main_config(world.rec, world.sim))
    with gateway_process("--config", str(config), env=KEYS) as gw:
        models = ["xkey-m", "bearer-m", "apikey-m", "custom-m", "gm-m", "echo-m", "count-m"]
        models += ["fbclosed-m", "fbhtml-m", "res-m+close_in_text_once", "nothing-routes-this"]
        for model in models:
            for stream in (True, False):
                post(gw.url, body(model, f"output {model} {stream} {tag()}", stream))
        post(gw.url, b"{not json")
        output = gw.stop()
    assert "sseguard listening on" in output
    assert_no_key("the gateway's stdout/stderr", output)
    assert_no_key("the module gateway's stdout/stderr so far", world.gw.output())
