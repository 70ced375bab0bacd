"""``sseguard serve``: choose the upstream configuration, print what was chosen, run uvicorn.

The precedence a user expects: a config file, else ``--upstream``, else ``ANTHROPIC_API_KEY`` (the
real Anthropic API), else the built-in simulator so that the command works on a bare machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass

import orjson

from sseguard.config import Config, load_config
from sseguard.config.rules import default_request_log
from sseguard.gateway.app import Gateway
from sseguard.gateway.direct import check_server
from sseguard.observe.handoff import Handoff
from sseguard.observe.log import log_requests, log_to_stderr
from sseguard.observe.log_sql import RequestLogError
from sseguard.observe.log_target import describe, open_store

OPTIONS_ENV = "SSEGUARD_SERVE_OPTIONS"  # how the CLI hands its options to worker processes
# How long an idle client connection stays open. uvicorn's 5 s equals httpx's (the Python SDKs')
# own idle limit and is close to undici's 4 s (Node): a request sent on a connection the server is
# closing at that moment fails, and a POST is not retried. Longer than any client's, the client
# always closes first (75 s, as nginx).
KEEP_ALIVE_SECONDS = 75


@dataclass(frozen=True, slots=True)
class ServeOptions:
    config_path: str | None = None
    upstream: str | None = None
    upstream_kind: str = "anthropic-compatible"
    upstream_key_env: str | None = (
        None  # the key travels to workers by env var name, never by value
    )
    host: str | None = None
    port: int | None = None
    workers: int | None = None
    allow_open: bool = False  # --allow-open
    simulator_url: str | None = None  # the built-in simulator the CLI started, when it did


def resolve(options: ServeOptions) -> tuple[Config, str]:
    """The configuration to serve and a one-line description of its upstream for the banner."""
    if options.config_path:
        config = load_config(options.config_path)
        what = f"config {options.config_path}: " + ", ".join(d.name for d in config.deployments)
    elif options.upstream:
        key = os.environ.get(options.upstream_key_env) if options.upstream_key_env else None
        config = Config.single_upstream(options.upstream, key, options.upstream_kind)
        keys = "gateway key" if key else "client keys passed through"
        what = f"{options.upstream} ({options.upstream_kind}, {keys})"
    elif os.environ.get("ANTHROPIC_API_KEY"):
        config = Config.anthropic(os.environ["ANTHROPIC_API_KEY"])
        what = "Anthropic API (key from ANTHROPIC_API_KEY)"
    elif options.simulator_url:
        config = Config.simulator(options.simulator_url)
        what = (
            f"the built-in fault simulator at {options.simulator_url} (no config, no --upstream, "
            "no ANTHROPIC_API_KEY); pick a fault per request with the model suffix "
            "'+<scenario>', see `sseguard sim --list`"
        )
    else:
        raise ValueError("no upstream: give a config, --upstream, ANTHROPIC_API_KEY or a simulator")
    overrides = {
        "host": options.host,
        "port": options.port,
        "workers": options.workers,
        "allow_open": options.allow_open or None,  # the flag turns it on, never off
    }
    updates = {k: v for k, v in overrides.items() if v is not None}
    return (config.with_server(**updates) if updates else config), what


def open_refusal(config: Config) -> str | None:
    """Why the gateway must not start where it is told to listen, or None.

    Without gateway keys (``keys``, ``admin``) sseguard does not authenticate its clients:
    whoever reaches its address is served, and a
    deployment with a key of the operator's (not passthrough_key) bills that operator for them.
    On loopback only this machine's users reach it; elsewhere that takes a decision
    (``server.allow_open``), not a default. Judged before listening, so a refused gateway never
    accepts a connection.
    """
    server = config.server
    keyed = [d.name for d in config.deployments if d.secrets]
    # With gateway keys it does authenticate them: only their holders spend the provider's key.
    if (
        server.allow_open
        or config.gateway_keys
        or not keyed
        or not _reachable_from_elsewhere(server.host)
    ):
        return None
    return (
        f"refusing to listen on {server.host}: sseguard does not authenticate its clients, so "
        "anyone who can reach that address would spend the provider key of "
        f"{', '.join(keyed)}. Listen on 127.0.0.1 (the default; for other machines, behind a "
        "proxy that authenticates them), or let clients bring their own keys (passthrough_key), "
        "or, if only trusted clients can reach it, start anyway with --allow-open "
        "(server.allow_open: true)."
    )


def _reachable_from_elsewhere(host: str) -> bool:
    """Whether ``host`` names an address other than loopback, resolved as the listening socket
    will resolve it (IPv4). A name that does not resolve is left to fail at listening."""
    try:
        found = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    return any(not ipaddress.ip_address(info[4][0]).is_loopback for info in found)


def app_factory() -> Gateway:
    """Each uvicorn worker builds its gateway from the options the CLI left in the environment."""
    options = ServeOptions(**orjson.loads(os.environ[OPTIONS_ENV]))
    config, _ = resolve(options)
    stop_logs = log_to_stderr()
    observe = config.observe
    if observe.request_log is None:
        handoff = Handoff([log_requests])
        return Gateway(config, observers=[handoff], on_shutdown=[handoff.flush, stop_logs])
    store = open_store(
        observe.request_log,
        max_age=observe.request_log_max_age,
        max_rows=observe.request_log_max_rows,
    )
    handoff = Handoff([log_requests, store.observe])
    return Gateway(config, observers=[handoff], on_shutdown=[handoff.flush, stop_logs, store.close])


def serve(options: ServeOptions) -> None:
    import uvicorn

    stop_simulator = None
    if not (options.config_path or options.upstream or os.environ.get("ANTHROPIC_API_KEY")):
        # One simulator for all workers, in a thread of this process: it is the upstream here.
        from sseguard.sim import start_in_thread

        url, stop_simulator = start_in_thread()
        options = ServeOptions(**{**asdict(options), "simulator_url": url})
    config, what = resolve(options)
    server = config.server
    refusal = open_refusal(config)
    if refusal is not None:
        raise SystemExit(f"sseguard: {refusal}")
    log_line = ""
    request_log = config.observe.request_log
    if request_log is not None:
        # Created and migrated here, once, so a bad path or a database that cannot be reached
        # stops the command, with the cause, before any worker runs; retention is the workers'
        # (their writers start with a pass).
        try:
            open_store(request_log).close()
        except RequestLogError as exc:
            raise SystemExit(f"sseguard: request log: {exc}") from None
        shown = describe(request_log)
        read = "" if request_log == default_request_log() else f" --db {shown}"
        log_line = f"\n  requests: {shown}   (sseguard logs{read})"
    # Bound before the banner: once a user (or a test) reads the address, connections are queued.
    try:
        sock = socket.create_server((server.host, server.port), backlog=4096, reuse_port=False)
    except OSError as exc:
        if stop_simulator is not None:
            stop_simulator()
        raise SystemExit(
            f"sseguard: cannot listen on {server.host}:{server.port}: {exc.strerror or exc} "
            "(choose another with --port, or --port 0 for any free one)"
        ) from None
    # uvicorn wraps a passed fd as a Unix socket, so the event loop never turns Nagle off for the
    # connections it accepts; small event writes then wait for the client's delayed ACK (up to
    # 40 ms each). Accepted sockets inherit the option from the listener on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    print(
        f"sseguard listening on {url}\n"
        f"  upstream: {what}\n"
        f"  use it:   ANTHROPIC_BASE_URL={url} claude   (or any Anthropic SDK with base_url set)\n"
        f"            OpenAI SDKs: base_url {url}/v1   browsers: {url}/playground"
        f"{log_line}",
        file=sys.stderr,
        flush=True,
    )
    # Once, here: workers (the same uvicorn) come to the same answer without saying it again.
    check_server()
    os.environ[OPTIONS_ENV] = orjson.dumps(asdict(options)).decode()
    if server.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its metrics to files here; /metrics in any worker adds them all up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sseguard-metrics-")
    uvicorn.run(
        "sseguard.gateway.serve:app_factory",
        factory=True,
        fd=sock.fileno(),
        workers=server.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        # Client addresses are not used; the X-Forwarded-* middleware would only add a call layer.
        proxy_headers=False,
        log_level="warning",
        timeout_graceful_shutdown=int(server.shutdown_grace),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    if stop_simulator is not None:
        stop_simulator()
