"""deploy/compose.yaml and the files it mounts, checked without Docker: the pieces name each other
consistently, and the gateway's config is one sseguard loads."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml
from deploy_files import DEPLOY, ROOT, gateway_status, read_dockerfile

from sseguard.cli import main
from sseguard.config import load_config
from sseguard.gateway.app import SHUTDOWN_ENDING_TIMEOUT
from sseguard.gateway.serve import open_refusal
from sseguard.observe.log_target import is_dsn

COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
GATEWAYS = ["gateway-1", "gateway-2"]
RAW_CONFIG = yaml.safe_load((DEPLOY / "sseguard.yaml").read_text())
RUNTIME = read_dockerfile(ROOT / "Dockerfile").stages[-1]
PORT = RUNTIME.last("EXPOSE")


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Bind mounts as container path → host path (relative to deploy/)."""
    out = {}
    for volume in service.get("volumes", ()):
        host, container, *_ = volume.split(":")
        out[container] = host
    return out


def test_the_stack_has_its_services_and_every_mounted_file_exists() -> None:
    assert {*GATEWAYS, "lb", "sim", "redis", "postgres", "prometheus"} <= set(SERVICES)
    for name, service in SERVICES.items():
        for host in _mounts(service).values():
            if host.startswith("."):
                assert (DEPLOY / host).is_file(), f"{name} mounts {host}"
    for name in (*GATEWAYS, "sim"):
        build = SERVICES[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"


def test_each_gateway_gets_the_config_where_the_image_reads_it_and_time_to_drain() -> None:
    (env,) = [e for e in RUNTIME.all("ENV") if "SSEGUARD_CONFIG=" in e]
    where = env.split("SSEGUARD_CONFIG=")[1].split()[0]
    server = RAW_CONFIG["server"]
    needed = server["drain_delay"] + server["shutdown_grace"] + SHUTDOWN_ENDING_TIMEOUT
    for name in GATEWAYS:
        service = SERVICES[name]
        assert _mounts(service)[where] == "./sseguard.yaml"
        assert service["init"] is True
        # compose's default stop timeout is 10 s: sseguard would be killed mid-drain.
        assert int(service["stop_grace_period"].removesuffix("s")) > needed


def test_the_load_balancer_and_prometheus_reach_both_replicas() -> None:
    targets = {f"{name}:{PORT}" for name in GATEWAYS}
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = prometheus["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and gateway_status("/metrics") == 200
    assert set(job["static_configs"][0]["targets"]) == targets
    dynamic = yaml.safe_load((DEPLOY / "traefik-dynamic.yml").read_text())
    balancer = dynamic["http"]["services"]["sseguard"]["loadBalancer"]
    assert {urlsplit(s["url"]).netloc for s in balancer["servers"]} == targets
    check = balancer["healthCheck"]
    assert check["path"] == "/readyz" and gateway_status("/readyz") == 200
    # Several polls fit in the drain delay, so a replica is out of rotation before it stops
    # listening.
    assert 3 * float(check["interval"].removesuffix("s")) <= RAW_CONFIG["server"]["drain_delay"]
    assert _mounts(SERVICES["lb"])["/etc/traefik/dynamic.yml"] == "./traefik-dynamic.yml"
    assert SERVICES["lb"]["ports"] == [f"127.0.0.1:8080:{PORT}"]


def test_the_upstream_is_the_simulator_service_and_no_key_is_needed() -> None:
    sim = SERVICES["sim"]["entrypoint"]
    assert sim[:2] == ["sseguard", "sim"]
    options = {o for p in main.commands["sim"].params for o in p.opts}  # type: ignore[attr-defined]
    assert {w for w in sim if w.startswith("--")} <= options
    (deployment,) = RAW_CONFIG["deployments"]
    assert urlsplit(deployment["base_url"]).netloc == f"sim:{sim[sim.index('--port') + 1]}"
    config = load_config(DEPLOY / "sseguard.yaml").with_server(host="0.0.0.0", port=8080)
    assert open_refusal(config) is None  # no key of anyone's: the image's 0.0.0.0 is allowed


def test_the_shared_state_and_the_request_log_name_the_stack_s_services() -> None:
    redis = urlsplit(RAW_CONFIG["state"]["redis_url"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)
    dsn = urlsplit(RAW_CONFIG["observe"]["request_log"])
    postgres = SERVICES["postgres"]["environment"]
    assert dsn.scheme == "postgresql" and dsn.hostname == "postgres"
    assert dsn.username == postgres["POSTGRES_USER"] and dsn.path == f"/{postgres['POSTGRES_DB']}"
    assert dsn.password is None  # from PGPASSWORD, set for the gateways from the same variable
    for name in GATEWAYS:
        assert SERVICES[name]["environment"]["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"]


def test_the_whole_config_loads_with_shared_state_and_the_postgresql_log() -> None:
    config = load_config(DEPLOY / "sseguard.yaml")
    assert config.server.drain_delay == RAW_CONFIG["server"]["drain_delay"]
    assert [d.name for d in config.deployments] == ["simulator"]
    assert config.state.redis_url is not None
    assert config.state.redis_url.get_secret_value() == RAW_CONFIG["state"]["redis_url"]
    assert config.observe.request_log == RAW_CONFIG["observe"]["request_log"]
    assert is_dsn(config.observe.request_log)  # a PostgreSQL log, not a file of that name
