"""OpenTelemetry traces: a span per request, a child per upstream attempt, resume and policy call.

Off unless the standard ``OTEL_*`` variables ask for traces (docs/configuration.md, "Traces"):
with nothing set, no provider is installed and every helper here is one flag test, so a gateway
that does not trace pays nothing. Spans are per request and per attempt, never per event. Attempt
spans follow the GenAI semantic conventions (``chat {model}``, kind CLIENT, ``gen_ai.*``
attributes), so tracing backends that understand model calls show them as such; the request span
is the HTTP server span around them, and continues the client's trace when it sends a W3C
``traceparent``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from sseguard import __version__
from sseguard.observe.record import RequestRecord

_tracer = trace.get_tracer("sseguard", __version__)
_enabled = False
# The provider names of the GenAI conventions, by deployment kind.
PROVIDERS = {
    "anthropic": "anthropic",
    "azure-foundry": "azure.ai.inference",
    "anthropic-compatible": "anthropic",
    "openai-compatible": "openai",
}


class TracingConfigError(ValueError):
    """The ``OTEL_*`` variables ask for something sseguard cannot export to."""


def configure(environ: Mapping[str, str] = os.environ) -> Callable[[], None] | None:
    """Install a tracer provider when the environment asks for traces; its shutdown (which
    flushes what is buffered), or None when tracing stays off.

    On when ``OTEL_TRACES_EXPORTER`` names ``otlp`` or ``console``, or when an OTLP endpoint is
    set (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``);
    ``OTEL_SDK_DISABLED=true`` or an exporter of ``none`` keeps it off. Everything else (service
    name, resource attributes, headers, sampler, batching) is the SDK's own reading of the
    standard variables.
    """
    global _enabled
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not names:
        if not endpoint:
            return None
        names = ["otlp"]
    if names == ["none"]:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
            )
            if protocol != "http/protobuf":
                raise TracingConfigError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: sseguard exports OTLP over "
                    "http/protobuf only (collectors take it on port 4318)"
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        else:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER={name}: sseguard exports to otlp or console"
            )
    ours = {"service.version": __version__}
    named = "service.name=" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if not environ.get("OTEL_SERVICE_NAME") and not named:
        ours["service.name"] = "sseguard"  # the SDK's default would be "unknown_service"
    resource = Resource.create(ours)
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _enabled = True
    return provider.shutdown


def enabled() -> bool:
    return _enabled


class RequestSpan:
    """The server span of one client request, current in its task while the request runs."""

    __slots__ = ("_span", "_token")

    def __init__(self, method: str, path: str, headers: Mapping[str, str]) -> None:
        parent = propagate.extract(headers)
        self._span = _tracer.start_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        self._token = context.attach(trace.set_span_in_context(self._span, parent))

    def end(self, rec: RequestRecord) -> None:
        """What the request came to, from its record; then the span ends."""
        span = self._span
        span.set_attributes(
            {
                "http.response.status_code": rec.status,
                "sseguard.request_id": rec.request_id,
                "sseguard.route": rec.route,
                "sseguard.outcome": rec.outcome,
                "sseguard.resumes": rec.resumes,
                "sseguard.deployments": rec.deployments,
                "gen_ai.request.model": rec.client_model,
                "gen_ai.usage.input_tokens": rec.input_tokens,
                "gen_ai.usage.output_tokens": rec.output_tokens,
            }
        )
        if rec.anomalies:
            span.set_attribute("sseguard.anomalies", sorted(rec.anomalies))
        if rec.decisions:
            made = [f"{d.policy}:{d.decision}" for d in rec.decisions]
            span.set_attribute("sseguard.policy_decisions", made)
        if rec.status >= 500 or rec.outcome == "error":
            span.set_status(Status(StatusCode.ERROR, rec.outcome))
        context.detach(self._token)
        span.end()


def request_span(method: str, path: str, headers: Mapping[str, str]) -> RequestSpan | None:
    return RequestSpan(method, path, headers) if _enabled else None


@contextlib.contextmanager
def attempt_span(
    deployment: str, kind: str, base_url: str, body: Mapping[str, Any], continuing: bool
) -> Iterator[Span | None]:
    """One upstream call (GenAI inference span); None when tracing is off."""
    if not _enabled:
        yield None
        return
    model = str(body.get("model", ""))
    url = urlsplit(base_url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDERS.get(kind, kind),
        "gen_ai.request.model": model,
        "server.address": url.hostname or "",
        "sseguard.deployment": deployment,
        "sseguard.continuation": continuing,
    }
    if url.port:
        attributes["server.port"] = url.port
    if isinstance(body.get("max_tokens"), int):
        attributes["gen_ai.request.max_tokens"] = body["max_tokens"]
    with _tracer.start_as_current_span(
        f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span


def attempt_done(
    span: Span,
    status: int | None,
    fault: str | None,
    detail: str,
    usage: Mapping[str, Any],
    stop_reason: str | None,
    response_model: str | None,
) -> None:
    """An attempt's result on its span: usage as the upstream reported it, or why it failed."""
    attributes: dict[str, Any] = {}
    if status is not None:
        attributes["http.response.status_code"] = status
    for key, name in (
        ("input_tokens", "gen_ai.usage.input_tokens"),
        ("output_tokens", "gen_ai.usage.output_tokens"),
        ("cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
        ("cache_creation_input_tokens", "gen_ai.usage.cache_creation.input_tokens"),
    ):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            attributes[name] = value
    if stop_reason:
        attributes["gen_ai.response.finish_reasons"] = [stop_reason]
    if response_model:
        attributes["gen_ai.response.model"] = response_model
    span.set_attributes(attributes)
    if fault is not None:
        span.set_attribute("error.type", fault or "error")
        span.set_status(Status(StatusCode.ERROR, detail[:200]))


@contextlib.contextmanager
def step_span(name: str, **attributes: Any) -> Iterator[None]:
    """An internal step with its own children: a resume, a policy's call to a judge."""
    if not _enabled:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield
