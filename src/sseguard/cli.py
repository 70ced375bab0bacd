"""The ``sseguard`` command line: each subcommand is a thin call into the layers below."""

from __future__ import annotations

import click

from sseguard import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sseguard")
def main() -> None:
    """sseguard keeps Anthropic Messages streams well-formed between providers and clients."""
