"""The ``sseguard`` command line: each subcommand is a thin call into the layers below."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click

from sseguard import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sseguard")
def main() -> None:
    """sseguard keeps Anthropic Messages streams well-formed between providers and clients."""


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
