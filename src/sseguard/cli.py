"""The ``sseguard`` command line: each subcommand is a thin call into the layers below."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

import click

from sseguard import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sseguard")
def main() -> None:
    """sseguard keeps Anthropic Messages streams well-formed between providers and clients."""


@main.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    envvar="SSEGUARD_CONFIG",
    help="YAML or TOML file declaring deployments and routes (docs/configuration.md).",
)
@click.option("--upstream", metavar="URL", help="Shorthand for one Anthropic-compatible upstream.")
@click.option(
    "--upstream-key",
    metavar="KEY",
    envvar="SSEGUARD_UPSTREAM_KEY",
    help="Key for --upstream (or env SSEGUARD_UPSTREAM_KEY); without it each client's key is passed on.",
)
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8080).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default 1).")
def serve_command(
    config_path: str | None,
    upstream: str | None,
    upstream_key: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
) -> None:
    """Run the gateway: Anthropic Messages in, well-formed streams or typed errors out.

    The upstream is, in order: --config, else --upstream, else the Anthropic API when
    ANTHROPIC_API_KEY is set, else the built-in fault simulator (so this works on a bare machine).
    Point clients at it with ANTHROPIC_BASE_URL=http://HOST:PORT.
    """
    from sseguard.gateway.serve import ServeOptions, serve

    if config_path and upstream:
        raise click.UsageError("give either --config or --upstream, not both")
    if upstream_key and not upstream:
        raise click.UsageError("--upstream-key needs --upstream")
    key_env = None
    if upstream_key:
        # Workers read the key from the environment: it never appears in a command line or file.
        os.environ["SSEGUARD_UPSTREAM_KEY"] = upstream_key
        key_env = "SSEGUARD_UPSTREAM_KEY"
    serve(
        ServeOptions(
            config_path=config_path,
            upstream=upstream,
            upstream_key_env=key_env,
            host=host,
            port=port,
            workers=workers,
        )
    )


@main.command("demo")
@click.argument("scenarios", nargs=-1)
def demo_command(scenarios: tuple[str, ...]) -> None:
    """Show broken streams with and without sseguard, side by side.

    Starts the built-in simulator and a gateway, sends each scenario (default: a selection
    covering every kind of fault; see `sseguard sim --list`) through the official anthropic SDK
    straight at the simulator and through sseguard, and prints what the SDK made of each.
    Needs the `anthropic` package (pip install 'sseguard[demo]').
    """
    try:
        import anthropic  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "sseguard demo needs the official anthropic SDK: pip install 'sseguard[demo]'"
        ) from None
    from sseguard.demo import SCENARIOS, run, table
    from sseguard.sim import CATALOGUE

    unknown = [s for s in scenarios if s not in CATALOGUE]
    if unknown:
        raise click.BadParameter(
            f"unknown scenario(s) {', '.join(unknown)}; see `sseguard sim --list`",
            param_hint="SCENARIOS",
        )
    rows = run(scenarios or SCENARIOS, lambda line: click.echo(line, err=True))
    click.echo(table(rows))


@main.command("replay")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON.")
@click.option(
    "--as-client",
    type=click.Choice(["anthropic", "openai"]),
    help="Print only what a client of this format would show its user.",
)
@click.option(
    "--no-atomic-tools",
    is_flag=True,
    help="Stream tool_use input as it comes instead of holding each call until its JSON parses.",
)
def replay_command(
    file: BinaryIO, as_json: bool, as_client: str | None, no_atomic_tools: bool
) -> None:
    """Run a captured stream through sseguard's repair and show what it did.

    FILE is a raw SSE capture, a .sse file, or `curl -N` / `curl -i` output ("-" reads stdin).
    Exit status: 0 when the stream is complete (after repairs), 1 when it is broken.
    """
    from sseguard.replay import client_view, replay, report_json, report_text

    result = replay(file.read(), atomic_tools=not no_atomic_tools)
    if as_client:
        click.echo(client_view(result, as_client))
    elif as_json:
        click.echo(report_json(result))
    else:
        click.echo(report_text(result))
    sys.exit(0 if result.repairer.ended and not result.ending else 1)


from sseguard.sim.cli import sim  # noqa: E402  (registered last: commands stay independent)

main.add_command(sim)
