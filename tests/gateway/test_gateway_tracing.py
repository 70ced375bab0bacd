"""OpenTelemetry traces (issue 21) from a real ``sseguard serve`` to a loopback OTLP/HTTP receiver:
a server span per request, a GenAI client span per upstream attempt, a span per resume and per
judge call, all in one trace, which continues the client's own when it sends ``traceparent``."""

from __future__ import annotations

import gzip
import http.server
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processes import Running, running, simulator
from sseguard.observe import tracing

WAIT = 30.0  # seconds for spans to arrive: detects a hang only
BASH = {
    "name": "Bash",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}


class Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace endpoint: every span it is sent, as plain dicts."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        with self.changed:
            assert self.changed.wait_for(lambda: done(self.spans), timeout=WAIT), self.spans
            return list(self.spans)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = [
            {
                "name": span.name,
                "kind": span.kind,
                "trace": span.trace_id.hex(),
                "id": span.span_id.hex(),
                "parent": span.parent_span_id.hex(),
                "attributes": {a.key: _value(a.value) for a in span.attributes},
                "service": {a.key: _value(a.value) for a in resource.resource.attributes}.get(
                    "service.name"
                ),
            }
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        with self.server.changed:
            self.server.spans += spans
            self.server.changed.notify_all()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Receiver]]:
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    tmp: Path = tmp_path_factory.mktemp("tracing")
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}/v1/traces",
        "OTEL_SERVICE_NAME": "sseguard-test",
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # ms: spans leave at once, the test waits less
    }
    try:
        with simulator() as sim:
            path = tmp / "sseguard.toml"
            path.write_text(
                f"""
[server]
host = "127.0.0.1"
port = 0

[[deployments]]
name = "sim"
base_url = "{sim}"
kind = "anthropic-compatible"
passthrough_key = true

[[routes]]
match = "guarded-*"
deployments = ["sim"]
policies = [{{use = "tool_judge", judge = "sim", model = "judge"}}]

[[routes]]
match = "*"
deployments = ["sim"]

[observe]
request_log = ""
"""
            )
            args = ("serve", "--config", str(path))
            with running(*args, env=env, banner=b"sseguard listening on") as gw:
                yield gw, receiver
    finally:
        receiver.shutdown()


def by_request(spans: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    """The spans of one request's trace."""
    root = next(
        (
            s
            for s in spans
            if s["attributes"].get("sseguard.request_id") == request_id and s["kind"] == 2
        ),  # SERVER
        None,
    )
    return [s for s in spans if root is not None and s["trace"] == root["trace"]]


def children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in spans if s["parent"] == parent["id"]]


def stream(url: str, model: str, **extra: Any) -> str:
    client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
    with client.messages.stream(
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": f"trace {model}"}],
        **extra,
    ) as s:
        s.get_final_message()
        return str(s.response.headers["x-sseguard-request-id"])


def test_a_request_and_its_attempt_follow_the_genai_conventions(
    traced: tuple[Running, Receiver],
) -> None:
    gateway, receiver = traced
    request_id = stream(gateway.url, "claude-sonnet-4-5")
    spans = receiver.wait_for(lambda got: len(by_request(got, request_id)) >= 2)
    mine = by_request(spans, request_id)
    (root,) = [s for s in mine if s["kind"] == 2]
    assert root["name"] == "POST /v1/messages" and root["service"] == "sseguard-test"
    assert root["attributes"]["sseguard.outcome"] == "complete"
    assert root["attributes"]["http.response.status_code"] == 200
    (call,) = children(mine, root)
    assert call["name"] == "chat claude-sonnet-4-5" and call["kind"] == 3  # CLIENT
    attrs = call["attributes"]
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert attrs["gen_ai.usage.output_tokens"] > 0 and attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["server.address"] == "127.0.0.1"


def test_a_resume_is_a_span_with_its_own_attempt(traced: tuple[Running, Receiver]) -> None:
    gateway, receiver = traced
    request_id = stream(gateway.url, "claude-sonnet-4-5+close_in_text_once")
    spans = receiver.wait_for(lambda got: len(by_request(got, request_id)) >= 4)
    mine = by_request(spans, request_id)
    (root,) = [s for s in mine if s["kind"] == 2]
    assert root["attributes"]["sseguard.resumes"] == 1
    first, resume = sorted(children(mine, root), key=lambda s: s["name"])
    assert (
        first["name"].startswith("chat ") and first["attributes"]["sseguard.continuation"] is False
    )
    assert resume["name"] == "sseguard.resume"
    (again,) = children(mine, resume)
    assert again["attributes"]["sseguard.continuation"] is True


def test_a_judge_call_is_a_child_of_the_attempt_whose_call_it_judged(
    traced: tuple[Running, Receiver],
) -> None:
    """The attempt waits while its tool call is judged: the judge's span sits inside it."""
    gateway, receiver = traced
    request_id = _judged(gateway.url)
    spans = receiver.wait_for(lambda got: len(by_request(got, request_id)) >= 4)
    mine = by_request(spans, request_id)
    (root,) = [s for s in mine if s["kind"] == 2]
    assert root["attributes"]["sseguard.policy_decisions"] == ["tool_judge:block"]
    (attempt,) = children(mine, root)
    assert attempt["name"] == "chat guarded-claude+agent"
    (judge,) = children(mine, attempt)
    assert judge["name"] == "sseguard.policy.tool_judge"
    (call,) = children(mine, judge)
    assert call["name"] == "chat judge" and call["attributes"]["gen_ai.usage.output_tokens"] > 0


def _judged(url: str) -> str:
    client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
    with client.messages.stream(
        model="guarded-claude+agent",
        max_tokens=256,
        tools=[BASH],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Please run `rm -rf /data`"}],
    ) as s:
        s.get_final_message()
        return str(s.response.headers["x-sseguard-request-id"])


def test_the_clients_trace_is_continued(traced: tuple[Running, Receiver]) -> None:
    gateway, receiver = traced
    trace_id = os.urandom(16).hex()
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = urllib.request.Request(
        f"{gateway.url}/v1/messages",
        data=orjson.dumps(body),
        headers={
            "content-type": "application/json",
            "x-api-key": "t",
            "traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01",
        },
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        request_id = response.headers["x-sseguard-request-id"]
    spans = receiver.wait_for(lambda got: bool(by_request(got, request_id)))
    assert {s["trace"] for s in by_request(spans, request_id)} == {trace_id}


def test_tracing_is_off_unless_asked_and_refuses_what_it_cannot_export() -> None:
    assert tracing.configure({}) is None
    assert tracing.configure({"OTEL_TRACES_EXPORTER": "none"}) is None
    assert tracing.configure({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) is None
    with pytest.raises(tracing.TracingConfigError, match="http/protobuf only"):
        tracing.configure({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(tracing.TracingConfigError, match="otlp or console"):
        tracing.configure({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.enabled()
