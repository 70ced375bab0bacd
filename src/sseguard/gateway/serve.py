"""``sseguard serve``: choose the upstream configuration, print what was chosen, run uvicorn.

The precedence a user expects: a config file, else ``--upstream``, else ``ANTHROPIC_API_KEY`` (the
real Anthropic API), else the built-in simulator so that the command works on a bare machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass
from types import FrameType

import orjson
import uvicorn
from uvicorn.supervisors import Multiprocess

from sseguard.config import Config, load_config
from sseguard.config.rules import default_request_log
from sseguard.gateway.app import Gateway
from sseguard.gateway.direct import check_server
from sseguard.gateway.readiness import Check
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
    delay = config.server.drain_delay
    on_startup = [lambda gateway: drain_on_sigterm(gateway, delay)] if delay > 0 else []
    if observe.request_log is None:
        handoff = Handoff([log_requests])
        return Gateway(
            config,
            observers=[handoff],
            on_shutdown=[handoff.flush, stop_logs],
            on_startup=on_startup,
        )
    store = open_store(
        observe.request_log,
        max_age=observe.request_log_max_age,
        max_rows=observe.request_log_max_rows,
    )
    handoff = Handoff([log_requests, store.observe])

    async def reach_log() -> str | None:
        return store.health()

    return Gateway(
        config,
        observers=[handoff],
        on_shutdown=[handoff.flush, stop_logs, store.close],
        on_startup=on_startup,
        checks=[Check("request_log", reach_log, blocking=False)],
    )


def drain_on_sigterm(gateway: Gateway, delay: float) -> None:
    """Put ``delay`` seconds of draining between SIGTERM and the server's shutdown.

    A load balancer learns that an instance is going away by polling its readiness; if the
    listener closed at the signal, requests it sends meanwhile would fail. So the first SIGTERM
    only marks the gateway draining (``/readyz`` answers 503, everything else is served as
    before), and the server's own handler, which stops listening and gives open streams
    ``shutdown_grace``, runs ``delay`` seconds later, or at once on a second SIGTERM (an operator
    who will not wait). SIGINT (Ctrl-C) is left to the server: no delay at a terminal.

    Called in the event loop at startup, after uvicorn installed its handlers, so the one it had
    for SIGTERM is the one deferred to; none there (an app not run by ``serve``) leaves it alone.
    """
    stop = signal.getsignal(signal.SIGTERM)
    if not callable(stop):
        return
    loop = asyncio.get_running_loop()
    pending: list[asyncio.TimerHandle] = []

    def begin(sig: int, frame: FrameType | None) -> None:
        if not gateway.draining:
            gateway.draining = True
            pending.append(loop.call_later(delay, stop, sig, frame))
            return
        for timer in pending:
            timer.cancel()
        stop(sig, frame)

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        # A signal handler may run between any two steps of the loop: only hand over to it.
        loop.call_soon_threadsafe(begin, sig, None)

    signal.signal(signal.SIGTERM, on_sigterm)


def serve(options: ServeOptions) -> None:
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
    # Nagle off for every accepted connection, whatever the event loop does with a socket handed
    # to it (uvicorn wraps a passed fd as a Unix socket, and then never turns it off): small
    # event writes would wait for the client's delayed ACK (up to 40 ms each). Accepted sockets
    # inherit the option from the listener on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    print(
        f"sseguard listening on {url}\n"
        f"  upstream: {what}\n"
        f"  use it:   ANTHROPIC_BASE_URL={url} claude   (or any Anthropic SDK with base_url set)\n"
        f"            OpenAI SDKs: base_url {url}/v1   browsers: {url}/playground"
        f"{log_line}"
        f"{f'{chr(10)}  dashboard: {url}/dashboard' if config.dashboard.enabled else ''}",
        file=sys.stderr,
        flush=True,
    )
    # Once, here: workers (the same uvicorn) come to the same answer without saying it again.
    check_server()
    os.environ[OPTIONS_ENV] = orjson.dumps(asdict(options)).decode()
    if server.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its metrics to files here; /metrics in any worker adds them all up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sseguard-metrics-")
    uv_config = uvicorn.Config(
        "sseguard.gateway.serve:app_factory",
        factory=True,
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
    # uvicorn.run(fd=...) would duplicate the listening socket and close only its copy at
    # shutdown: this process's copy kept the port listening, so new connections were queued and
    # never answered until the process exited, instead of refused at once (a load balancer fails
    # over on a refusal; a queued request just hangs). Handing over the socket itself, it is
    # closed when the drain ends; with workers, the supervisor closes its own copy once it
    # signalled them, and the port stops listening when the last worker closes its.
    try:
        if server.workers > 1:
            _Supervisor(uv_config, sockets=[sock]).run()
        else:
            uv_config.load_app()
            uv_server = uvicorn.Server(uv_config)
            uv_server.run(sockets=[sock])
            if not uv_server.started:
                raise SystemExit(3)  # as uvicorn.run: the app or its startup failed (logged)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        if stop_simulator is not None:
            stop_simulator()


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, letting go of the listening socket as soon as it has signalled
    the workers to stop (see ``serve``): the port keeps listening through their drain delay, on
    their copies, and stops with the last of them."""

    def terminate_all(self) -> None:
        super().terminate_all()
        for sock in self.sockets:
            sock.close()

    def join_all(self) -> None:
        """Wait for the workers as uvicorn does, but pass on the signals that come meanwhile (its
        own wait leaves them queued): a second SIGTERM ends the workers' drain delay, SIGINT
        hurries them as it would a single process."""
        while True:
            for sig in tuple(self.signal_queue):
                self.signal_queue.remove(sig)
                if sig in (signal.SIGTERM, signal.SIGINT):
                    for worker in self.processes:
                        if worker.process.is_alive() and worker.pid is not None:
                            os.kill(worker.pid, sig)
            alive = [w.process for w in self.processes if w.process.is_alive()]
            if not alive:
                return
            alive[0].join(0.2)  # wakes as soon as it ends; 0.2 s only bounds a signal's wait
