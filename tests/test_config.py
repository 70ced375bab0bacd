"""The configuration layer: loading, validation messages, secrets, routing, per-deployment rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sseguard.config import Config, ConfigError, Deployment, load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "config"
SECRET = "sk-test-9f8e7d6c5b4a-do-not-print"
EXAMPLE_ENV = {
    "ANTHROPIC_API_KEY": SECRET,
    "APIM_KEY_EASTUS": SECRET,
    "APIM_KEY_SWEDEN": SECRET + "-2",
    "PROVIDER_KEY": SECRET + "-3",
    "OPENROUTER_KEY": SECRET + "-4",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def deployment(**fields: Any) -> Deployment:
    base: dict[str, Any] = {
        "name": "d",
        "kind": "anthropic",
        "base_url": "https://api.example.com",
        "passthrough_key": True,
    }
    return Deployment.model_validate({**base, **fields})


def config(deployments: list[dict[str, Any]], **rest: Any) -> Config:
    return Config.model_validate({"deployments": deployments, **rest})


def dep(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "anthropic",
        "base_url": f"https://{name}.example.com",
        "passthrough_key": True,
        **fields,
    }


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)


# -- the example files documented in docs/configuration.md ----------------------------------------


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize(
    ("file", "deployments", "routes"),
    [
        ("anthropic.yaml", ["anthropic"], ["claude-*"]),
        ("azure-apim.yaml", ["foundry-eastus", "foundry-sweden"], ["claude-*"]),
        ("compatible.toml", ["provider", "anthropic"], ["claude-*", "*"]),
        ("local-openai.yaml", ["ollama", "openrouter"], ["*"]),
    ],
)
def test_examples_load(file: str, deployments: list[str], routes: list[str]) -> None:
    cfg = load_config(EXAMPLES / file)
    assert [d.name for d in cfg.deployments] == deployments
    assert [r.match for r in cfg.routes] == routes
    assert SECRET not in repr(cfg) + str(cfg) + str(cfg.model_dump()) + str(cfg.redacted())


def test_examples_are_all_documented_and_tested() -> None:
    docs = (EXAMPLES.parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    for path in EXAMPLES.iterdir():
        assert f"examples/config/{path.name}" in docs
        # The docs show each file verbatim, so they cannot drift apart.
        assert path.read_text(encoding="utf-8").strip() in docs


@pytest.mark.usefixtures("example_env")
def test_azure_apim_example_details() -> None:
    cfg = load_config(EXAMPLES / "azure-apim.yaml")
    east = cfg.deployment("foundry-eastus")
    assert east.base_url == "https://contoso-ai.azure-api.net/foundry-eastus/anthropic"
    assert east.auth_headers("client-key") == {"ocp-apim-subscription-key": SECRET}
    assert east.upstream_model("claude-sonnet-4-5-20250929") == "claude-sonnet-4-5"
    assert east.filter_beta("interleaved-thinking-2025-05-14,files-api-2025-04-14") == (
        "interleaved-thinking-2025-05-14"
    )
    assert cfg.timeouts_for("foundry-sweden").first_event == 150
    assert cfg.timeouts_for("foundry-eastus").first_event == 120


def test_yaml_and_toml_give_the_same_config(tmp_path: Path) -> None:
    yaml_path = write(
        tmp_path,
        "c.yml",
        "deployments:\n  - {name: a, kind: anthropic, base_url: 'https://a.example.com/',"
        " passthrough_key: true}\ntimeouts: {idle: 12.5}\n",
    )
    toml_path = write(
        tmp_path,
        "c.toml",
        '[[deployments]]\nname = "a"\nkind = "anthropic"\nbase_url = "https://a.example.com/"\n'
        "passthrough_key = true\n[timeouts]\nidle = 12.5\n",
    )
    assert load_config(yaml_path) == load_config(toml_path)
    assert load_config(yaml_path).deployments[0].base_url == "https://a.example.com"


# -- validation errors name the file, the path in the document and the problem -------------------

VALID = "https://ok.example.com"


@pytest.mark.parametrize(
    ("document", "path", "problem"),
    [
        (
            {"deployments": [dep("a"), dep("b", base_url="ftp://x")]},
            "deployments[1].base_url",
            "http:// or https://",
        ),
        (
            {"deployments": [dep("a", base_url="https://u:p@h.example.com")]},
            "deployments[0].base_url",
            "credentials",
        ),
        (
            {"deployments": [dep("a", base_url="https://api.anthropic.com/v1")]},
            "deployments[0].base_url",
            "drop the /v1",
        ),
        ({"deployments": [dep("a", bse_url=VALID)]}, "deployments[0].bse_url", "base_url"),
        ({"deployments": [dep("a")], "timeouts": {"idel": 3}}, "timeouts.idel", "'idle'"),
        ({"deployments": [dep("a")], "timeouts": {"idle": "30s"}}, "timeouts.idle", "number"),
        ({"deployments": [dep("a")], "timeouts": {"idle": 0}}, "timeouts.idle", "greater than 0"),
        ({"deployments": [dep("a")], "timeouts": {"idle": 700}}, "timeouts", "longer than total"),
        ({"deployments": [dep("a")], "server": {"port": 70000}}, "server.port", "65535"),
        (
            {"deployments": [dep("a")], "server": {"cors_origins": ["http://localhost:5173/"]}},
            "server.cors_origins",
            "a path, even '/'",
        ),
        (
            {"deployments": [dep("a")], "server": {"cors_origins": ["localhost:5173"]}},
            "server.cors_origins",
            "scheme://host[:port]",
        ),
        (
            {"deployments": [dep("a")], "server": {"cors_origins": ["null"]}},
            "server.cors_origins",
            "'null' is not an origin",
        ),
        (
            {"deployments": [dep("a")], "server": {"allowed_hosts": ["http://gw.example"]}},
            "server.allowed_hosts",
            "without scheme or port",
        ),
        (
            {"deployments": [dep("a")], "server": {"allowed_hosts": ["gw.example:8080"]}},
            "server.allowed_hosts",
            "without scheme or port",
        ),
        ({"deployments": [dep("a", kind="bedrock")]}, "deployments[0].kind", "not supported yet"),
        ({"deployments": [dep("a", kind="vertex")]}, "deployments[0].kind", "not supported yet"),
        ({"deployments": [dep("a", kind="openai")]}, "deployments[0].kind", "Input should be"),
        ({"deployments": [dep("a", auth="basic")]}, "deployments[0].auth", "x-api-key, bearer"),
        (
            {"deployments": [dep("a", auth={"header": "bad name"})]},
            "deployments[0].auth.header",
            "header name",
        ),
        ({"deployments": [dep("a", headers={"Host": "x"})]}, "deployments[0].headers", "host"),
        (
            {"deployments": [dep("a", headers={"x-a": "1\r\nx-b: 2"})]},
            "deployments[0].headers",
            "CR, LF",
        ),
        (
            {"deployments": [dep("a", headers={"X-Api-Key": "k"})]},
            "deployments[0].headers",
            "auth header",
        ),
        ({"deployments": [dep("a", passthrough_key=False)]}, "deployments[0]", "no key"),
        ({"deployments": [dep("a", api_key="k")]}, "deployments[0]", "not ["),
        (
            {"deployments": [dep("a", passthrough_key="yes")]},
            "deployments[0].passthrough_key",
            "boolean",
        ),
        ({"deployments": [dep("a", model=3)]}, "deployments[0].model", "model name"),
        ({"deployments": [dep("a"), dep("a")]}, "deployments[1].name", "declared twice"),
        ({"deployments": [dep("a b")]}, "deployments[0].name", "pattern"),
        ({"deployments": []}, "deployments", "at least one"),
        ({}, "deployments", "missing"),
        (
            {"deployments": [dep("a")], "routes": [{"match": "*", "deployments": ["a", "zz"]}]},
            "routes[0].deployments[1]",
            "unknown deployment 'zz'",
        ),
        (
            {"deployments": [dep("a")], "routes": [{"deployments": ["a"], "midstream": "retry"}]},
            "routes[0].midstream",
            "'resume', 'error' or 'finalize'",
        ),
        (
            {
                "deployments": [dep("a")],
                "routes": [{"deployments": ["a"], "drop_events": ["ping", "message_stop"]}],
            },
            "routes[0].drop_events",
            "message_stop cannot be dropped",
        ),
        (
            {"deployments": [dep("a", timeouts={"idle": 900})]},
            "deployments[0].timeouts.idle",
            "longer than timeouts.total",
        ),
    ],
)
def test_errors_name_file_path_and_problem(
    tmp_path: Path, document: dict[str, Any], path: str, problem: str
) -> None:
    import yaml

    file = write(tmp_path, "gw.yaml", yaml.safe_dump(document))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{file}: {path}: ") and problem in line for line in lines), lines


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("c.json", "{}", "unknown file type"),
        ("c.yaml", "deployments: [\n", "not valid YAML: line"),
        ("c.yaml", "server: {port: 1}\nserver: {port: 2}\n", "duplicate key 'server'"),
        ("c.yaml", "- a\n", "must be a mapping"),
        ("c.yaml", "", "must be a mapping"),
        ("c.toml", "x = \n", "not valid TOML"),
    ],
)
def test_file_level_errors(tmp_path: Path, name: str, text: str, problem: str) -> None:
    file = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=problem) as info:
        load_config(file)
    assert str(info.value).startswith(f"{file}: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


# -- secrets: from the environment, never shown ----------------------------------------------------


def test_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_KEY", SECRET)
    d = deployment(passthrough_key=False, api_key_env="GW_KEY")
    assert d.auth_headers(None) == {"x-api-key": SECRET}
    assert d.auth_headers("the-client-key") == {"x-api-key": SECRET}  # not a passthrough


def test_api_key_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_KEY", SECRET)
    d = deployment(passthrough_key=False, api_key="${GW_KEY}", auth="bearer")
    assert d.auth_headers(None) == {"authorization": f"Bearer {SECRET}"}


@pytest.mark.parametrize(
    ("fields", "path", "problem"),
    [
        (
            {"api_key_env": "GW_MISSING"},
            "deployments[0]",
            "api_key_env: environment variable GW_MISSING is not set",
        ),
        ({"api_key": "${GW_MISSING}"}, "deployments[0].api_key", "GW_MISSING is not set"),
        ({"api_key": "${GW_EMPTY}"}, "deployments[0].api_key", "GW_EMPTY is empty"),
        ({"api_key": "${GW_KEY"}, "deployments[0].api_key", "unterminated"),
        ({"api_key_env": "not a name"}, "deployments[0]", "not an environment variable name"),
        (
            {"passthrough_key": True, "headers": {"x-t": "${GW_MISSING}"}},
            "deployments[0].headers",
            "x-t: environment variable GW_MISSING",
        ),
        (
            {"passthrough_key": True, "base_url": "https://${GW_MISSING}.example.com"},
            "deployments[0].base_url",
            "GW_MISSING is not set",
        ),
    ],
)
def test_missing_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], path: str, problem: str
) -> None:
    import yaml

    monkeypatch.delenv("GW_MISSING", raising=False)
    monkeypatch.setenv("GW_EMPTY", "")
    monkeypatch.setenv("GW_KEY", SECRET)
    d = {"name": "a", "kind": "anthropic", "base_url": VALID, **fields}
    file = write(tmp_path, "gw.yaml", yaml.safe_dump({"deployments": [d]}))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert f"{file}: {path}: " in str(info.value)
    assert problem in str(info.value)
    assert SECRET not in str(info.value)


def test_interpolation_in_headers_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_RESOURCE", "contoso")
    monkeypatch.setenv("GW_TOKEN", SECRET)
    d = deployment(
        kind="azure-foundry",
        base_url="https://${GW_RESOURCE}.services.ai.azure.com/anthropic/",
        headers={"X-Trace": "on", "X-Token": "${GW_TOKEN}", "X-Dollar": "$${literal}"},
    )
    assert d.base_url == "https://contoso.services.ai.azure.com/anthropic"
    assert d.headers == {"x-trace": "on", "x-token": SECRET, "x-dollar": "${literal}"}
    shown = d.redacted()["headers"]
    assert shown == {"X-Trace": "on", "X-Token": "**********", "X-Dollar": "$${literal}"}


def test_secret_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_KEY", SECRET)
    file = write(
        tmp_path,
        "gw.yaml",
        f"deployments:\n"
        f"  - {{name: a, kind: anthropic, base_url: '{VALID}', api_key_env: GW_KEY}}\n"
        f"  - {{name: b, kind: anthropic, base_url: '{VALID}', api_key: '{SECRET}',"
        f" headers: {{x-api-token: '{SECRET}'}}, auth: bearer}}\n",
    )
    cfg = load_config(file)
    for shown in (
        repr(cfg),
        str(cfg),
        str(cfg.model_dump()),
        cfg.model_dump_json(),
        str(cfg.redacted()),
        repr(cfg.deployment("a")),
        str(cfg.deployment("b")),
    ):
        assert SECRET not in shown
    assert cfg.deployment("b").auth_headers(None) == {"authorization": f"Bearer {SECRET}"}


def test_secret_not_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_KEY", SECRET)
    # A key where a number belongs, a literal key next to a broken option: no message quotes it.
    file = write(
        tmp_path,
        "gw.yaml",
        f"server: {{port: '{SECRET}', host: '{SECRET}x'}}\n"
        f"deployments:\n  - {{name: a, kind: anthropic, base_url: '{VALID}', api_key: '{SECRET}',"
        f" auth: '{SECRET}', model: 5}}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_secret_not_in_yaml_parse_error(tmp_path: Path) -> None:
    file = write(tmp_path, "gw.yaml", f"deployments:\n  - api_key: {SECRET}: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert SECRET not in str(info.value)


# -- routes ----------------------------------------------------------------------------------------


def test_route_order_and_globs() -> None:
    cfg = config(
        [dep("a"), dep("b"), dep("c")],
        routes=[
            {"match": "claude-opus-*", "deployments": ["c"]},
            {"match": "claude-*", "deployments": ["a", "b"], "midstream": "finalize"},
            {"match": "gpt-?", "deployments": ["b"]},
        ],
    )
    cases = {
        "claude-opus-4-1": ("c",),
        "claude-sonnet-4-5": ("a", "b"),
        "gpt-5": ("b",),
        "gpt-55": None,
        "Claude-sonnet": None,  # case-sensitive, like the model ids
        "": None,
    }
    for model, chain in cases.items():
        route = cfg.route_for(model)
        assert (route.deployments if route else None) == chain, model
    route = cfg.route_for("claude-x")
    assert route is not None
    assert (route.midstream, route.max_resumes, route.finalize_stop_reason) == (
        "finalize",
        2,
        "end_turn",
    )
    assert route.atomic_tools is True and route.drop_events == ()


def test_catch_all_default_route() -> None:
    cfg = config([dep("b"), dep("a")])
    route = cfg.route_for("anything at all")
    assert route is not None
    assert route.match == "*" and route.deployments == ("b", "a")
    assert route.midstream == "resume"
    assert len(cfg.routes) == 1


def test_deployment_lookup() -> None:
    cfg = config([dep("a")])
    assert cfg.deployment("a").name == "a"
    with pytest.raises(KeyError, match="no deployment named 'zz'"):
        cfg.deployment("zz")


# -- per-deployment rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rename", "client", "upstream"),
    [
        (None, "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("my-deployment", "claude-sonnet-4-5", "my-deployment"),
        ({"claude-opus-*": "big", "claude-*": "small"}, "claude-opus-4-1", "big"),
        ({"claude-opus-*": "big", "claude-*": "small"}, "claude-haiku-4-5", "small"),
        ({"claude-opus-*": "big"}, "gpt-5", "gpt-5"),
    ],
)
def test_model_rename(rename: Any, client: str, upstream: str) -> None:
    assert deployment(model=rename).upstream_model(client) == upstream


B1, B2, B3 = "interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "files-api-2025-04-14"


@pytest.mark.parametrize(
    ("rule", "header", "sent"),
    [
        (None, None, None),
        (None, f"{B1}, {B2}", f"{B1},{B2}"),  # F28: everything passes by default
        ({"allow": ["interleaved-thinking-*"]}, f"{B1},{B2},{B3}", B1),
        ({"deny": ["files-api-*"]}, f"{B1},{B3}", B1),
        ({"deny": ["*"]}, f"{B1},{B3}", None),
        ({"allow": [], "deny": []}, B1, None),
        ({"allow": ["*"], "deny": [B2]}, f" {B1} ,, {B2} ,{B3}", f"{B1},{B3}"),
        ({"deny": [B3]}, B3, None),
    ],
)
def test_beta_filter(rule: dict[str, Any] | None, header: str | None, sent: str | None) -> None:
    d = deployment(**({"anthropic_beta": rule} if rule is not None else {}))
    assert d.filter_beta(header) == sent


@pytest.mark.parametrize(
    ("kind", "auth", "header", "value"),
    [
        ("anthropic", None, "x-api-key", "K"),
        ("azure-foundry", None, "x-api-key", "K"),
        ("anthropic-compatible", None, "x-api-key", "K"),
        ("openai-compatible", None, "authorization", "Bearer K"),
        ("azure-foundry", "api-key", "api-key", "K"),
        ("azure-foundry", "bearer", "authorization", "Bearer K"),
        (
            "azure-foundry",
            {"header": "Ocp-Apim-Subscription-Key"},
            "ocp-apim-subscription-key",
            "K",
        ),
        ("anthropic-compatible", {"header": "X-Token", "prefix": "Token "}, "x-token", "Token K"),
    ],
)
def test_auth_header_styles(kind: str, auth: Any, header: str, value: str) -> None:
    fields: dict[str, Any] = {"kind": kind, "passthrough_key": False, "api_key": "K"}
    if auth is not None:
        fields["auth"] = auth
    assert deployment(**fields).auth_headers("client") == {header: value}


@pytest.mark.parametrize(
    ("client_key", "sent"), [("ck", {"x-api-key": "ck"}), (None, {}), ("", {})]
)
def test_passthrough(client_key: str | None, sent: dict[str, str]) -> None:
    assert deployment(passthrough_key=True).auth_headers(client_key) == sent


def test_deployment_defaults() -> None:
    d = deployment()
    assert d.anthropic_version == "2023-06-01"
    assert d.count_tokens == "proxy"
    assert deployment(kind="openai-compatible").count_tokens == "estimate"  # F29
    assert d.headers == {}
    assert d.base_url == "https://api.example.com"


def test_cors_origins_are_kept_as_browsers_send_them() -> None:
    """``Origin`` is lower-case and omits a default port: equality must be enough to match."""
    server = Config.model_validate(
        {
            "deployments": [dep("a")],
            "server": {
                "cors_origins": ["HTTP://LocalHost:5173", "https://App.example:443", "*"],
            },
        }
    ).server
    assert server.cors_origins == ("http://localhost:5173", "https://app.example", "*")
    assert Config.model_validate({"deployments": [dep("a")]}).server.cors_origins == ()


def test_timeouts_defaults_and_overrides() -> None:
    cfg = config([dep("a", timeouts={"idle": 5}), dep("b")])
    t = cfg.timeouts
    assert (t.connect, t.first_event, t.idle, t.total, t.ping_interval) == (10, 30, 30, 600, 10)
    assert cfg.timeouts_for("a").idle == 5 and cfg.timeouts_for("a").connect == 10
    assert cfg.timeouts_for("b") == t
    r, lim, s = cfg.retry, cfg.limits, cfg.server
    assert (r.max_attempts, r.backoff_base, r.backoff_max, r.jitter, r.retry_after_cap) == (
        2,
        0.5,
        8,
        True,
        30,
    )
    assert lim.max_request_bytes == lim.max_event_bytes == 32 * 1024 * 1024
    assert (s.host, s.port, s.workers, s.shutdown_grace) == ("127.0.0.1", 8080, 1, 30)


def test_frozen() -> None:
    cfg = config([dep("a")])
    with pytest.raises(ValueError, match="frozen"):
        cfg.deployments[0].base_url = "https://evil.example.com"  # type: ignore[misc]


# -- constructors for the CLI ----------------------------------------------------------------------


def test_single_upstream_with_key() -> None:
    cfg = Config.single_upstream("http://127.0.0.1:9000/", SECRET)
    d = cfg.deployment("upstream")
    assert (d.kind, d.base_url) == ("anthropic-compatible", "http://127.0.0.1:9000")
    assert d.auth_headers("client") == {"x-api-key": SECRET}
    assert cfg.route_for("any") is not None
    assert SECRET not in repr(cfg) + str(cfg.redacted())


def test_single_upstream_key_is_not_interpolated() -> None:
    d = Config.single_upstream("https://u.example.com", "${HOME}").deployment("upstream")
    assert d.auth_headers(None) == {"x-api-key": "${HOME}"}


def test_single_upstream_passthrough() -> None:
    d = Config.single_upstream("https://u.example.com", None, kind="anthropic").deployment(
        "upstream"
    )
    assert d.kind == "anthropic" and d.passthrough_key
    assert d.auth_headers("ck") == {"x-api-key": "ck"} and d.auth_headers(None) == {}


def test_single_upstream_bad_url() -> None:
    with pytest.raises(ConfigError, match=r"^--upstream: deployments\[0\].base_url: "):
        Config.single_upstream("localhost:9000", None)


def test_anthropic() -> None:
    cfg = Config.anthropic(SECRET)
    d = cfg.deployment("anthropic")
    assert (d.kind, d.base_url) == ("anthropic", "https://api.anthropic.com")
    assert d.auth_headers("client") == {"x-api-key": SECRET}
    assert d.filter_beta(B3) == B3
    assert SECRET not in repr(cfg)


def test_simulator() -> None:
    cfg = Config.simulator("http://127.0.0.1:8765")
    d = cfg.deployment("simulator")
    assert d.passthrough_key and d.base_url == "http://127.0.0.1:8765"
    assert cfg.route_for("claude-sonnet-4-5+stall") is not None


def test_with_server() -> None:
    cfg = Config.simulator("http://127.0.0.1:8765").with_server(port=0, host="0.0.0.0")
    assert (cfg.server.host, cfg.server.port) == ("0.0.0.0", 0)
    with pytest.raises(ConfigError, match=r"^command line: port: "):
        cfg.with_server(port=-1)


def test_openai_compatible_base_url_and_count_tokens() -> None:
    kind = "openai-compatible"
    with pytest.raises(ConfigError, match="/chat/completions is appended"):
        Config.single_upstream("http://h:8000/v1/chat/completions", "k", kind)
    with pytest.raises(ValidationError, match="count_tokens: OpenAI-compatible servers"):
        Deployment.model_validate(
            {
                "name": "x",
                "kind": kind,
                "base_url": "http://h/v1",
                "api_key": "k",
                "count_tokens": "proxy",
            }
        )
    local = Config.single_upstream("http://h:8000/v1/", "k", kind).deployments[0]
    assert local.base_url == "http://h:8000/v1" and local.count_tokens == "estimate"
    assert local.auth_headers(None) == {"authorization": "Bearer k"}


# -- breaker: per-deployment circuit breaker settings ----------------------------------------------


def test_breaker_defaults() -> None:
    b = config([dep("a")]).breaker
    assert (b.enabled, b.failure_threshold, b.cooldown, b.max_cooldown) == (True, 5, 30, 300)


def test_breaker_long_cooldown_alone_raises_the_cap() -> None:
    """An unset max_cooldown never makes a long cooldown invalid: it is the cap then."""
    b = config([dep("a")], breaker={"cooldown": 600}).breaker
    assert (b.cooldown, b.max_cooldown) == (600, 600)
    assert config([dep("a")], breaker={"cooldown": 5}).breaker.max_cooldown == 300


@pytest.mark.parametrize(
    ("breaker", "path", "problem"),
    [
        ({"cooldown": 60, "max_cooldown": 30}, "breaker", "max_cooldown is shorter than cooldown"),
        ({"max_cooldown": 10}, "breaker", "max_cooldown is shorter than cooldown"),
        ({"failure_threshold": 0}, "breaker.failure_threshold", "greater than or equal to 1"),
        ({"failure_threshold": 2.5}, "breaker.failure_threshold", "integer"),
        ({"cooldown": 0}, "breaker.cooldown", "greater than 0"),
        ({"cooldown": "30s"}, "breaker.cooldown", "number"),
        ({"enabled": "no"}, "breaker.enabled", "boolean"),
        ({"threshold": 3}, "breaker.threshold", "did you mean 'failure_threshold'?"),
    ],
)
def test_breaker_errors(tmp_path: Path, breaker: dict[str, Any], path: str, problem: str) -> None:
    import yaml

    file = write(
        tmp_path, "gw.yaml", yaml.safe_dump({"deployments": [dep("a")], "breaker": breaker})
    )
    with pytest.raises(ConfigError) as info:
        load_config(file)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{file}: {path}: ") and problem in line for line in lines), lines


def test_breaker_from_yaml_and_toml(tmp_path: Path) -> None:
    deployment = (
        '[[deployments]]\nname = "a"\nkind = "anthropic"\nbase_url = "https://a.example.com"\n'
        "passthrough_key = true\n"
    )
    toml_path = write(
        tmp_path,
        "c.toml",
        deployment + "[breaker]\nfailure_threshold = 3\ncooldown = 10\nmax_cooldown = 120.5\n",
    )
    yaml_path = write(
        tmp_path,
        "c.yaml",
        "deployments:\n  - {name: a, kind: anthropic, base_url: 'https://a.example.com',"
        " passthrough_key: true}\nbreaker:\n  failure_threshold: 3\n  cooldown: 10\n"
        "  max_cooldown: 120.5\n",
    )
    b = load_config(toml_path).breaker
    assert (b.enabled, b.failure_threshold, b.cooldown, b.max_cooldown) == (True, 3, 10, 120.5)
    assert load_config(yaml_path) == load_config(toml_path)
    off = write(tmp_path, "off.toml", deployment + "[breaker]\nenabled = false\n")
    assert load_config(off).breaker.enabled is False


POLICY_BASE: dict[str, Any] = {
    "deployments": [
        {"name": "a", "base_url": "https://a.example", "kind": "anthropic", "passthrough_key": True}
    ],
}


def with_policies(*policies: dict[str, Any], **route: Any) -> dict[str, Any]:
    return {**POLICY_BASE, "routes": [{"deployments": ["a"], "policies": list(policies), **route}]}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (with_policies({"use": "tool_judge", "judge": "nobody"}), "unknown deployment 'nobody'"),
        (
            with_policies({"use": "tool_judge", "judge": "a"}, atomic_tools=False),
            "set atomic_tools: true",
        ),
        (
            with_policies({"use": "tools", "deny": ["Bash"]}, atomic_tools=False),
            "set atomic_tools: true",
        ),
        (
            with_policies({"use": "tool_judge", "judge": "a", "threshold": 1.5}),
            "less than or equal to 1",
        ),
        (
            with_policies({"use": "redact", "patterns": {"mine": "tok-[a-z]+"}}),
            "can match without bound",
        ),
        (with_policies({"use": "redact", "mask": 'x"y'}), "may not hold quotes"),
        (with_policies({"use": "moderate"}), "moderate"),
        (with_policies({"use": "noop", "extra": 1}), "extra"),
    ],
)
def test_policy_options_are_checked_at_load(
    tmp_path: Path, document: dict[str, Any], problem: str
) -> None:
    import yaml

    file = write(tmp_path, "gw.yaml", yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_config(file)


def test_policies_load_in_order(tmp_path: Path) -> None:
    import yaml

    document = with_policies(
        {"use": "tools", "deny": ["mcp__*"], "max_tokens": 100},
        {"use": "redact", "patterns": {"ticket": "TKT-[0-9]{6}"}},
        {"use": "tool_judge", "judge": ["a"], "on_error": "allow"},
    )
    config = load_config(write(tmp_path, "gw.yaml", yaml.safe_dump(document)))
    policies = config.routes[0].policies
    assert [p.use for p in policies] == ["tools", "redact", "tool_judge"]
    assert policies[2].judges == ("a",) and policies[2].threshold == 0.6  # type: ignore[union-attr]
