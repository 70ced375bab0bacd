"""sseguard's gateway with every per-request observer switched off: no request log, no JSON log
line, no metrics update when a request ends. Benchmark only, to measure what observation costs end
to end; sseguard itself has no such switch (only the request log can be turned off, in the
configuration).

What stays, because it is inline in the streaming sink: the per-write counters of the request
record (events, bytes, inter-event gaps), which ``bench/observe_overhead.py`` measures on their own.
Everything else is started as ``sseguard serve`` starts it (the same socket, uvicorn options).

Run: ``python -m harness.bare_gateway --upstream http://127.0.0.1:9000 --port 8090`` (from bench/).
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from harness.upstream import raise_nofile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        choices=("noop", "redact"),
        help="put this policy on the route (repeatable, in order): what the policy layer costs",
    )
    parser.add_argument(
        "--keys-redis",
        metavar="URL",
        help="require the gateway key the load client sends (sk-bench), with every limit and a "
        "budget kept in the Redis at URL: what gateway keys cost",
    )
    parser.add_argument(
        "--keep-metrics",
        action="store_true",
        help="keep the Prometheus metrics (the record's one observer that is not a log)",
    )
    args = parser.parse_args(argv)
    raise_nofile()

    import uvicorn

    from sseguard.config import Config
    from sseguard.gateway.app import Gateway

    config = (
        _with_keys(args.upstream, args.keys_redis)
        if args.keys_redis
        else Config.single_upstream(args.upstream, None)
    )
    if args.policy:
        route = config.routes[0].model_copy(
            update={"policies": tuple(_spec(name) for name in args.policy)}
        )
        config = config.model_copy(update={"routes": (route,)})
    gateway: Any = Gateway(config, observers=())
    if not hasattr(gateway, "observers") or not hasattr(gateway.metrics, "add_gaps"):
        sys.exit("bare_gateway: sseguard's Gateway changed; update bench/harness/bare_gateway.py")
    if not args.keep_metrics:
        gateway.observers = ()  # also drops the metrics' own per-request observer

        def no_gaps(tally: Any) -> None:
            return None

        gateway.metrics.add_gaps = no_gaps
    sock = socket.create_server((args.host, args.port), backlog=4096)
    # As sseguard serve does: accepted connections inherit it (uvicorn treats an fd as AF_UNIX).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(f"bare sseguard listening on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    uvicorn.run(
        gateway,
        fd=sock.fileno(),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        log_level="warning",
    )


def _with_keys(upstream: str, redis_url: str) -> Any:
    """One deployment with the operator's key, and the load client's key with limits set high
    enough never to refuse (every counter still counts) and a price so spend is kept too."""
    from sseguard.config import Config

    big = 10**9
    return Config.model_validate(
        {
            "deployments": [
                {"name": "upstream", "base_url": upstream, "kind": "anthropic-compatible",
                 "api_key": "sk-operator"},
            ],
            "keys": [
                {"name": "bench", "key": "sk-bench", "rpm": big, "tpm": big,
                 "max_streams": 100_000, "budget_usd": 1_000_000},
            ],
            "prices": {"*": {"input": 1.0, "output": 1.0}},
            "state": {"redis_url": redis_url},
        }
    )  # fmt: skip


def _spec(name: str) -> Any:
    from sseguard.config.policy_specs import NoopSpec, RedactSpec

    return NoopSpec(use="noop") if name == "noop" else RedactSpec(use="redact")


if __name__ == "__main__":
    main()
