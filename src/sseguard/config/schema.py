"""The configuration schema: deployments, routes, timeouts, retry, limits, server; validated once.

Pure apart from reading environment variables named by the configuration, and, for the request
log's default place, SSEGUARD_STATE_DIR, XDG_STATE_HOME and HOME. The client never chooses
an upstream URL: every URL comes from here. Secrets are ``SecretStr`` and stay out of repr and dumps.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from functools import cached_property
from typing import Annotated, Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sseguard.config.env import env_var, interpolate
from sseguard.config.errors import from_validation
from sseguard.config.policy_specs import PolicySpec, ToolJudgeSpec, judges_tools
from sseguard.config.rules import (
    MASK,
    RESERVED_HEADERS,
    default_request_log,
    header_name,
    header_value,
    host_name,
    origin,
    shown,
)
from sseguard.config.teams import Admin, KeySpec, Prices, State
from sseguard.config.types import Bytes, Flag, Glob, Model, Name, Seconds
from sseguard.protocol.events import KNOWN_EVENTS, PING

Kind = Literal[
    "anthropic", "azure-foundry", "anthropic-compatible", "openai-compatible", "bedrock", "vertex"
]
# In the schema so configs written for them fail with a clear message instead of a typo error.
UNSUPPORTED_KINDS = frozenset({"bedrock", "vertex"})
ANTHROPIC_STYLE_KINDS = frozenset({"anthropic", "azure-foundry", "anthropic-compatible"})


_CORE_EVENTS = KNOWN_EVENTS - {PING}  # the Messages events drop_events may not name (F10)
ROUTE_CACHE_SIZE = 4096
_M = TypeVar("_M", bound=BaseModel)


class HeaderAuth(Model):
    """The header that carries the key upstream: ``{header}: {prefix}{key}``."""

    header: str
    prefix: str = ""

    @field_validator("header")
    @classmethod
    def _name(cls, value: str) -> str:
        return header_name(value)


AUTH_STYLES = {
    "x-api-key": HeaderAuth(header="x-api-key"),
    "bearer": HeaderAuth(header="authorization", prefix="Bearer "),
    "api-key": HeaderAuth(header="api-key"),
}
# Azure AI Foundry's Anthropic endpoint authenticates with x-api-key (and accepts api-key);
# compatible providers follow Anthropic; OpenAI-style servers expect a bearer token.
DEFAULT_AUTH: dict[str, str] = {
    "anthropic": "x-api-key",
    "azure-foundry": "x-api-key",
    "anthropic-compatible": "x-api-key",
    "openai-compatible": "bearer",
}


class BetaFilter(Model):
    """F28: which ``anthropic-beta`` values travel upstream. Entries are globs."""

    allow: tuple[Glob, ...] | None = None  # None: everything not denied
    deny: tuple[Glob, ...] = ()

    def keeps(self, value: str) -> bool:
        if self.allow is not None and not any(fnmatch.fnmatchcase(value, p) for p in self.allow):
            return False
        return not any(fnmatch.fnmatchcase(value, p) for p in self.deny)


class DeploymentTimeouts(Model):
    """Per-deployment overrides of the upstream-facing timeouts (F21)."""

    connect: Seconds | None = None
    first_event: Seconds | None = None
    idle: Seconds | None = None
    progress: Seconds | None = None
    # Off unless set: no content (a text, thinking or tool delta) this long after the request was
    # sent is a stall before commit, and the next deployment is tried (a slow first token).
    first_token: Seconds | None = None


class Deployment(Model):
    """One upstream endpoint and how to talk to it."""

    name: Name
    kind: Kind  # before base_url, whose check depends on it
    base_url: str
    auth: HeaderAuth = AUTH_STYLES["x-api-key"]
    api_key_env: str | None = None
    api_key: SecretStr | None = None
    passthrough_key: Flag = False
    model: dict[Glob, Glob] | None = None
    anthropic_beta: BetaFilter = BetaFilter()
    # Templates as written, SecretStr because a literal value may be a credential.
    extra_headers: dict[str, SecretStr] = Field(default_factory=dict, alias="headers")
    anthropic_version: str = Field(default="2023-06-01", min_length=1)
    count_tokens: Literal["proxy", "estimate"] = "proxy"
    timeouts: DeploymentTimeouts = DeploymentTimeouts()
    # How a cut answer is continued here (F37): prefill until refused or ignored, then instruct.
    continuation: Literal["auto", "prefill", "instruct", "off"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _defaults_and_key(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kind = data.get("kind")
        if isinstance(kind, str) and kind in DEFAULT_AUTH:
            data.setdefault("auth", DEFAULT_AUTH[kind])
            # OpenAI-style servers have no count_tokens endpoint (F29).
            data.setdefault("count_tokens", "estimate" if kind == "openai-compatible" else "proxy")
        sources = [k for k in ("api_key_env", "api_key") if data.get(k) is not None]
        if data.get("passthrough_key") not in (None, False):
            sources.append("passthrough_key")
        if len(sources) > 1:
            raise ValueError(f"give one of api_key_env, api_key, passthrough_key, not {sources}")
        if not sources:
            raise ValueError(
                "no key: set api_key_env: NAME, api_key: ${NAME}, or passthrough_key: true"
            )
        env_name = data.get("api_key_env")
        if isinstance(env_name, str):
            try:
                data["api_key"] = SecretStr(env_var(env_name))
            except ValueError as exc:
                raise ValueError(f"api_key_env: {exc}") from None
        return data

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_style(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in AUTH_STYLES:
                raise ValueError(
                    "must be x-api-key, bearer, api-key, or {header: NAME} for a custom header"
                )
            return AUTH_STYLES[value]
        return value

    @field_validator("kind")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value in UNSUPPORTED_KINDS:
            raise ValueError(f"kind {value!r} is not supported yet")
        return value

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        url = interpolate(value).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("credentials in the URL are not allowed (they end up in logs)")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment (the client's query is appended)")
        if info.data.get("kind") in ANTHROPIC_STYLE_KINDS:
            for suffix in ("/v1", "/v1/messages"):
                if parts.path.endswith(suffix):
                    raise ValueError(
                        f"the client's path (/v1/messages) is appended to it: drop the {suffix}"
                    )
        elif parts.path.endswith("/chat/completions"):
            raise ValueError(
                "give the base URL an OpenAI SDK takes (e.g. http://127.0.0.1:8000/v1): "
                "/chat/completions is appended to it"
            )
        return url

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key(cls, value: Any) -> Any:
        return interpolate(value) if isinstance(value, str) else value

    @field_validator("model", mode="before")
    @classmethod
    def _model_map(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"*": value}
        if value is not None and not isinstance(value, dict):
            raise ValueError("must be a model name, or a mapping from client-model glob to model")
        return value

    @field_validator("extra_headers")
    @classmethod
    def _extra_headers(
        cls, value: dict[str, SecretStr], info: ValidationInfo
    ) -> dict[str, SecretStr]:
        names = [header_name(n) for n in value]
        reserved = sorted(n for n in names if n in RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"{', '.join(reserved)}: set by the gateway, not by configuration")
        if len(set(names)) != len(names):
            raise ValueError("a header is given twice (header names are case-insensitive)")
        auth = info.data.get("auth")
        if isinstance(auth, HeaderAuth) and auth.header in names:
            raise ValueError(f"{auth.header}: the auth header is built from the key, not set here")
        for name, template in value.items():
            try:
                header_value(interpolate(template.get_secret_value()))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _openai_counts_locally(self) -> Self:
        if self.kind == "openai-compatible" and self.count_tokens == "proxy":
            raise ValueError(
                "count_tokens: OpenAI-compatible servers have no count_tokens endpoint; use estimate"
            )
        return self

    # Cached properties rather than pydantic private attributes, whose every read costs ~6 µs
    # (pydantic 2.14's __getattr__): these are read on every request.
    @cached_property
    def _headers(self) -> dict[str, str]:
        # Checked by _extra_headers; resolved apart because a frozen field keeps the templates,
        # which redacted() shows instead of the values.
        return {n.lower(): interpolate(t.get_secret_value()) for n, t in self.extra_headers.items()}

    @property
    def headers(self) -> dict[str, str]:
        """Extra headers to send, ``${ENV}`` resolved, names lower-cased."""
        return dict(self._headers)

    def upstream_model(self, client_model: str) -> str:
        """The model name to send upstream: the first matching rename, else the client's name."""
        for pattern, upstream in (self.model or {}).items():
            if fnmatch.fnmatchcase(client_model, pattern):
                return upstream
        return client_model

    def auth_headers(self, client_key: str | None) -> dict[str, str]:
        """The credential header to add upstream; nothing for passthrough without a client key."""
        key = client_key if self.passthrough_key else None
        if self.api_key is not None:
            key = self.api_key.get_secret_value()
        if not key:
            return {}
        return {self.auth.header: self.auth.prefix + key}

    def filter_beta(self, value: str | None) -> str | None:
        """F28: the client's comma-separated ``anthropic-beta`` with disallowed values removed."""
        if value is None:
            return None
        kept = [
            v for v in (p.strip() for p in value.split(",")) if v and self.anthropic_beta.keeps(v)
        ]
        return ",".join(kept) or None

    def redacted(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", by_alias=True)
        out["headers"] = {n: shown(n, t.get_secret_value()) for n, t in self.extra_headers.items()}
        return out

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        """Every credential this deployment sends, for scrubbing what comes back from upstream."""
        found = [self.api_key.get_secret_value()] if self.api_key is not None else []
        for name, template in self.extra_headers.items():
            if shown(name, template.get_secret_value()) == MASK:
                found.append(self._headers[name.lower()])
        return tuple(s for s in found if s)


class Route(Model):
    """Client model glob → ordered fallback chain, and what to do when a committed stream breaks."""

    match: Glob = "*"
    deployments: tuple[Name, ...] = Field(min_length=1)
    midstream: Literal["resume", "error", "finalize"] = "resume"
    max_resumes: Annotated[int, Field(strict=True, ge=0)] = 2
    # Only used in finalize mode, the one place an ending is invented (mid-stream rule 5).
    finalize_stop_reason: Literal["end_turn", "max_tokens", "stop_sequence"] = "end_turn"
    atomic_tools: Flag = True
    # "fall_back": a 400 that says the prompt exceeds the model's context goes to the next
    # deployment (list a larger-context one after it) instead of back to the client.
    context_overflow: Literal["answer", "fall_back"] = "answer"
    # "hold": each thinking block is sent whole once signed, so a cut inside it is retried or
    # resumed; "stream": live, and a cut inside a thinking block ends in an error.
    thinking: Literal["hold", "stream"] = "hold"
    drop_events: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    # Keep each request's raw bytes (both directions, credentials removed) under observe.capture_dir.
    capture: Flag = False
    # Applied in order to the request, to each repaired event and at the end (docs/policies.md).
    policies: tuple[PolicySpec, ...] = ()

    @field_validator("drop_events")
    @classmethod
    def _unknown_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        core = sorted(set(value) & _CORE_EVENTS)
        if core:
            raise ValueError(f"{', '.join(core)} cannot be dropped: only unknown event types (F10)")
        return value

    @model_validator(mode="after")
    def _tools_held_whole(self) -> Self:
        if not self.atomic_tools and any(judges_tools(p) for p in self.policies):
            used = ", ".join(sorted({p.use for p in self.policies if judges_tools(p)}))
            raise ValueError(
                f"policies: {used} decides on whole tool calls: set atomic_tools: true"
            )
        return self

    def matches(self, model: str) -> bool:
        return fnmatch.fnmatchcase(model, self.match)


DEFAULT_PROGRESS = 120.0  # seconds without content: see Timeouts.progress


def _unset_follows(data: Any, name: str, source: str, clashes: Callable[[float], bool]) -> Any:
    """Raw config where ``name`` is unset takes ``source``'s value when ``name``'s default would
    clash with it: an option set alone never fails on a default the user did not choose."""
    if isinstance(data, dict) and name not in data and source in data:
        value = data[source]
        if isinstance(value, int | float) and not isinstance(value, bool) and clashes(value):
            return {**data, name: value}
    return data


class Timeouts(Model):
    """F21/F22. ``first_event`` is long because a long prompt takes time to its first event."""

    connect: Seconds = 10.0
    # A silent deployment costs this once before the next is tried (no second wait on it): so a
    # fallback answers within about 30 s. Providers send their first event well before the answer
    # (message_start, then pings); raise it per deployment for one that does not.
    first_event: Seconds = 30.0
    idle: Seconds = 30.0
    # Time without content once the stream started (F38): pings and keep-alive comments keep a
    # stream idle-alive but are no progress. Long enough for a server tool to run (see
    # docs/configuration.md), short of the total.
    progress: Seconds = DEFAULT_PROGRESS
    first_token: Seconds | None = None  # per deployment (DeploymentTimeouts): off by default
    total: Seconds = 600.0
    ping_interval: Seconds = 10.0
    # Before anything was sent, the wait before a ping commits a 200 (and so gives up answering a
    # failure with its real status): past one silent deployment (first_event) and the fallback's
    # first event, short of the 60 s at which common proxies drop a silent connection. Clients
    # wait far longer (the SDKs 10 minutes).
    commit_ping: Seconds = 40.0

    @model_validator(mode="before")
    @classmethod
    def _progress_default(cls, data: Any) -> Any:
        """An unset progress limit is at most the total one: a short ``total`` alone is valid."""
        return _unset_follows(data, "progress", "total", lambda total: total < DEFAULT_PROGRESS)

    @model_validator(mode="after")
    def _within_total(self) -> Self:
        for name in ("connect", "first_event", "idle", "progress"):
            if getattr(self, name) > self.total:
                raise ValueError(f"{name} is longer than total")
        return self


DEFAULT_MAX_COOLDOWN = 300.0  # seconds: see Breaker.max_cooldown


class Retry(Model):
    """Before commit: attempts per deployment, exponential backoff with jitter, F19's cap."""

    max_attempts: Annotated[int, Field(strict=True, ge=1)] = 2
    backoff_base: Seconds = 0.5
    backoff_max: Seconds = 8.0
    jitter: Flag = True
    retry_after_cap: Seconds = 30.0


class Breaker(Model):
    """Per-deployment circuit breaker (resilience/breaker.py): after ``failure_threshold`` failed
    requests in a row a deployment is skipped for ``cooldown`` seconds, so requests stop paying
    its timeouts and retries before reaching a healthy fallback (F18, F21). Each failed probe
    doubles the cooldown, up to ``max_cooldown``."""

    enabled: Flag = True
    failure_threshold: Annotated[int, Field(strict=True, ge=1)] = 5
    cooldown: Seconds = 30.0
    max_cooldown: Seconds = DEFAULT_MAX_COOLDOWN

    @model_validator(mode="before")
    @classmethod
    def _max_cooldown_default(cls, data: Any) -> Any:
        """An unset ``max_cooldown`` is at least the cooldown: a long ``cooldown`` alone is valid."""
        return _unset_follows(
            data, "max_cooldown", "cooldown", lambda cooldown: cooldown > DEFAULT_MAX_COOLDOWN
        )

    @model_validator(mode="after")
    def _cap_above_cooldown(self) -> Self:
        if self.max_cooldown < self.cooldown:
            raise ValueError("max_cooldown is shorter than cooldown (set it equal to not grow)")
        return self


class Limits(Model):
    max_request_bytes: Bytes = 32 * 1024 * 1024
    max_event_bytes: Bytes = 32 * 1024 * 1024


class Server(Model):
    host: str = Field(default="127.0.0.1", min_length=1)
    port: Annotated[int, Field(strict=True, ge=0, le=65535)] = 8080  # 0: any free port
    workers: Annotated[int, Field(strict=True, ge=1)] = 1
    shutdown_grace: Annotated[float, Field(strict=True, ge=0)] = 30.0
    # After SIGTERM and before the grace: /readyz answers 503 while everything is still served, so
    # load balancers that poll it stop sending before the listener closes (gateway/serve.py).
    drain_delay: Annotated[float, Field(strict=True, ge=0)] = 0.0
    # Web pages on other origins that may call the gateway from a browser (CORS); "*" for any.
    # Every other page's request is refused (gateway/origins.py says why).
    cors_origins: tuple[str, ...] = ()
    # Host names the gateway answers besides its own address (and localhost when it listens on
    # loopback); "*" for any. Against DNS rebinding (gateway/origins.py).
    allowed_hosts: tuple[str, ...] = ()
    # sseguard does not authenticate clients: listening where other machines reach it while a
    # deployment sends the operator's key is refused unless this says so (gateway/serve.py).
    allow_open: Flag = False

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(origin(v) for v in values)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(host_name(v) for v in values)


class Observe(Model):
    """Where finished requests are recorded besides /metrics and the stderr log."""

    # A SQLite file (relative: to the working directory) or a postgresql:// DSN (store_pg); None
    # or "" (TOML has no null) turns it off. Unset, in the state directory: on by default, and out of the directory served from.
    request_log: str | None = Field(default_factory=default_request_log)
    # Retention, applied by the log's writer: rows older than this many seconds, and beyond this
    # many rows (the oldest written first), are deleted; 0 or null for no bound.
    request_log_max_age: Annotated[float, Field(strict=True, ge=0)] | None = 14 * 86400.0
    request_log_max_rows: Annotated[int, Field(strict=True, ge=0)] | None = 1_000_000
    # Raw captures of routes with capture = true: one folder per request, newest kept.
    capture_dir: str = Field(default="sseguard-captures", min_length=1)
    capture_max_count: Annotated[int, Field(strict=True, ge=1)] = 100
    capture_max_bytes: Bytes = 256 * 1024 * 1024

    @field_validator("request_log")
    @classmethod
    def _off_when_empty(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("request_log_max_age", "request_log_max_rows")
    @classmethod
    def _unbounded(cls, value: float | None) -> float | None:
        return value or None  # 0 and null both mean no bound


class Dashboard(Model):
    """``GET /dashboard`` (dashboard/access.py says who may see it): on by default, for
    loopback clients only unless ``token_env`` names a variable whose value it then requires."""

    enabled: Flag = True
    token_env: str | None = None
    token: SecretStr | None = Field(default=None, exclude=True)  # read from token_env at load

    @model_validator(mode="before")
    @classmethod
    def _token_from_env(cls, data: Any) -> Any:
        if isinstance(data, dict) and "token" in data:
            raise ValueError("token: give token_env: NAME, the variable that holds it")
        name = data.get("token_env") if isinstance(data, dict) else None
        if isinstance(name, str):
            try:
                data = {**data, "token": SecretStr(env_var(name))}
            except ValueError as exc:
                raise ValueError(f"token_env: {exc}") from None
        return data


class Config(Model):
    """The whole configuration. Build with ``load_config`` or the constructors below."""

    server: Server = Server()
    timeouts: Timeouts = Timeouts()
    retry: Retry = Retry()
    breaker: Breaker = Breaker()
    limits: Limits = Limits()
    observe: Observe = Field(default_factory=Observe)  # its default log place is read now
    dashboard: Dashboard = Dashboard()
    deployments: tuple[Deployment, ...]
    routes: tuple[Route, ...] = ()
    # Teams (docs/configuration.md): gateway keys, the prices budgets are kept in, the admin
    # API's key, and the state replicas share.
    keys: tuple[KeySpec, ...] = ()
    prices: Prices = Field(default_factory=dict)
    admin: Admin | None = None
    state: State = State()

    @property
    def gateway_keys(self) -> bool:
        """Clients must present a gateway key: keys are listed, or may be created at runtime."""
        return bool(self.keys) or self.admin is not None

    @cached_property
    def _by_name(self) -> dict[str, Deployment]:
        return {d.name: d for d in self.deployments}

    @cached_property
    def _routes_for(self) -> dict[str, Route | None]:
        """Routes by client model name: the globs are matched once per name, not once per request.
        Clients choose the names, so the cache is bounded."""
        return {}

    @cached_property
    def _timeouts_for(self) -> dict[str, Timeouts]:
        out: dict[str, Timeouts] = {}
        for d in self.deployments:
            override = d.timeouts.model_dump(exclude_none=True)
            out[d.name] = self.timeouts.model_copy(update=override) if override else self.timeouts
        return out

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        problems: list[str] = []
        if not self.deployments:
            problems.append("deployments: at least one deployment is required")
        by_name: dict[str, Deployment] = {}
        for i, d in enumerate(self.deployments):
            if d.name in by_name:
                problems.append(f"deployments[{i}].name: {d.name!r} is declared twice")
            by_name[d.name] = d
            for name, seconds in d.timeouts.model_dump(exclude_none=True).items():
                if seconds > self.timeouts.total:
                    problems.append(f"deployments[{i}].timeouts.{name}: longer than timeouts.total")
        for i, route in enumerate(self.routes):
            named = [(f"deployments[{j}]", n) for j, n in enumerate(route.deployments)]
            for k, spec in enumerate(route.policies):
                if isinstance(spec, ToolJudgeSpec):
                    named += [(f"policies[{k}].judge", n) for n in spec.judges]
            for where, name in named:
                if name not in by_name:
                    problems.append(
                        f"routes[{i}].{where}: unknown deployment {name!r}"
                        f" (declared: {', '.join(by_name)})"
                    )
        problems += self._teams_problems()
        if problems:
            raise ValueError("\n".join(problems))
        if not self.routes:
            # Frozen model: the default route is filled in before the instance is handed out.
            object.__setattr__(self, "routes", (Route(deployments=tuple(by_name)),))
        return self

    def _teams_problems(self) -> list[str]:
        problems: list[str] = []
        names: set[str] = set()
        digests: set[str] = set()
        for i, key in enumerate(self.keys):
            if key.name in names:
                problems.append(f"keys[{i}].name: {key.name!r} is declared twice")
            if key.key_sha256 in digests:
                problems.append(f"keys[{i}]: the same key as an earlier one")
            names.add(key.name)
            digests.add(key.key_sha256)
            if key.budget_usd is not None and not self.prices:
                problems.append(f"keys[{i}].budget_usd: needs a price table (prices)")
        if self.admin is not None and self.admin.key_sha256 in digests:
            problems.append("admin: the admin key is also a gateway key")
        if self.gateway_keys:
            # A passthrough deployment sends the client's key upstream; with gateway keys the key
            # a client sends is the gateway's and must never leave it.
            passing = [d.name for d in self.deployments if d.passthrough_key]
            if passing:
                problems.append(
                    f"deployments {', '.join(passing)}: passthrough_key cannot be combined with"
                    " gateway keys (keys, admin): a client's key is then the gateway's and never"
                    " goes upstream; give these deployments a key of their own (api_key_env)"
                )
        return problems

    def route_for(self, model: str) -> Route | None:
        """The first route whose glob matches the client's model name."""
        cache = self._routes_for
        if model in cache:
            return cache[model]
        route = next((r for r in self.routes if r.matches(model)), None)
        if len(cache) < ROUTE_CACHE_SIZE:
            cache[model] = route
        return route

    def deployment(self, name: str) -> Deployment:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no deployment named {name!r}") from None

    def timeouts_for(self, name: str) -> Timeouts:
        """The global timeouts with the deployment's overrides applied."""
        try:
            return self._timeouts_for[name]
        except KeyError:
            raise KeyError(f"no deployment named {name!r}") from None

    def redacted(self) -> dict[str, Any]:
        """The effective configuration for printing: secrets masked, default route included."""
        out = self.model_dump(mode="json", by_alias=True)
        out["deployments"] = [d.redacted() for d in self.deployments]
        return out

    def with_server(self, **overrides: Any) -> Config:
        """A copy with CLI overrides (``host``, ``port``, ``workers``...) applied and validated."""
        server = _validated(Server, {**self.server.model_dump(), **overrides}, "command line")
        return self.model_copy(update={"server": server})

    @classmethod
    def single_upstream(
        cls, url: str, key: str | None, kind: str = "anthropic-compatible"
    ) -> Config:
        """``--upstream URL [--upstream-key KEY]``: no key means the client's key is passed on."""
        deployment: dict[str, Any] = {"name": "upstream", "base_url": url, "kind": kind}
        if key is None:
            deployment["passthrough_key"] = True
        else:
            deployment["api_key"] = SecretStr(key)  # a SecretStr is not ${...}-interpolated
        return _validated(cls, {"deployments": [deployment]}, "--upstream")

    @classmethod
    def anthropic(cls, key: str) -> Config:
        """Anthropic's API with the operator's key (``ANTHROPIC_API_KEY``)."""
        deployment = {
            "name": "anthropic",
            "base_url": "https://api.anthropic.com",
            "kind": "anthropic",
            "api_key": SecretStr(key),
        }
        return _validated(cls, {"deployments": [deployment]}, "ANTHROPIC_API_KEY")

    @classmethod
    def simulator(cls, base_url: str) -> Config:
        """The built-in fault simulator; it checks no key, so whatever the client sent goes on."""
        deployment = {
            "name": "simulator",
            "base_url": base_url,
            "kind": "anthropic-compatible",
            "passthrough_key": True,
        }
        return _validated(cls, {"deployments": [deployment]}, "simulator")


def _validated(model: type[_M], data: dict[str, Any], source: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(source, model, exc) from None
