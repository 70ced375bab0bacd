"""The ``sseguard`` command line: each subcommand is a thin call into the layers below."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from sseguard import __version__

# How ``serve`` hands a key to its workers, and where --upstream-key also looks for one.
UPSTREAM_KEY_ENV = "SSEGUARD_UPSTREAM_KEY"


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
@click.option("--upstream", metavar="URL", help="Shorthand for one upstream (see --upstream-kind).")
@click.option(
    "--upstream-kind",
    type=click.Choice(["anthropic-compatible", "openai-compatible"]),
    default="anthropic-compatible",
    show_default=True,
    help="The protocol --upstream speaks. openai-compatible: URL is the base an OpenAI SDK takes "
    "(e.g. http://127.0.0.1:11434/v1) and /v1/messages is translated to chat.completions.",
)
@click.option(
    "--upstream-key-env",
    metavar="NAME",
    help="Key for --upstream, read from the environment variable NAME. Without a key each "
    "client's own key is passed on.",
)
@click.option(
    "--upstream-key-file",
    metavar="PATH",
    help="Key for --upstream, read once from the file PATH (one line; a trailing newline is "
    "dropped).",
)
@click.option(
    "--upstream-key",
    metavar="KEY",
    envvar=UPSTREAM_KEY_ENV,
    help=f"Deprecated on the command line, where the process list shows it to every user of the "
    f"machine: use --upstream-key-env, --upstream-key-file or env {UPSTREAM_KEY_ENV}.",
)
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8080).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default 1).")
@click.option(
    "--allow-open",
    is_flag=True,
    help="Listen on an address other machines reach even though a deployment sends a key of "
    "yours: sseguard does not authenticate clients, so whoever reaches it spends that key "
    "(server.allow_open). Without it such a start is refused.",
)
def serve_command(
    config_path: str | None,
    upstream: str | None,
    upstream_kind: str,
    upstream_key_env: str | None,
    upstream_key_file: str | None,
    upstream_key: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    allow_open: bool,
) -> None:
    """Run the gateway: Anthropic Messages, OpenAI chat.completions and browser event streams in,
    well-formed streams or typed errors out.

    The upstream is, in order: --config, else --upstream, else the Anthropic API when
    ANTHROPIC_API_KEY is set, else the built-in fault simulator (so this works on a bare machine).
    Point clients at it with ANTHROPIC_BASE_URL=http://HOST:PORT.
    """
    from sseguard.config.env import env_var
    from sseguard.gateway.serve import ServeOptions, serve

    if config_path and upstream:
        raise click.UsageError("give either --config or --upstream, not both")
    ctx = click.get_current_context()
    key_from_argv = ctx.get_parameter_source("upstream_key") == ParameterSource.COMMANDLINE
    given = {
        "--upstream-key" if key_from_argv else UPSTREAM_KEY_ENV: upstream_key,
        "--upstream-key-env": upstream_key_env,
        "--upstream-key-file": upstream_key_file,
    }
    sources = [name for name, value in given.items() if value is not None]
    if len(sources) > 1:
        raise click.UsageError(f"give one key for --upstream, not {' and '.join(sources)}")
    if sources and not upstream:
        raise click.UsageError(f"{sources[0]} needs --upstream")
    if upstream_kind != "anthropic-compatible" and not upstream:
        raise click.UsageError("--upstream-kind needs --upstream")
    if key_from_argv:
        click.echo(
            "sseguard: warning: --upstream-key puts the key in this process's command line, which "
            "every user of this machine can read (ps, /proc); pass it with --upstream-key-env "
            f"NAME, --upstream-key-file PATH or the {UPSTREAM_KEY_ENV} environment variable "
            "instead. --upstream-key on the command line will be removed.",
            err=True,
        )
    # Workers read the key from the environment, by the variable's name: it travels in no
    # command line and no file of the gateway's.
    key_env = upstream_key_env
    if upstream_key_env is not None:
        try:
            env_var(upstream_key_env)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--upstream-key-env") from None
    else:
        key = upstream_key if upstream_key_file is None else _read_key_file(upstream_key_file)
        if key is not None:
            if not key:
                raise click.BadParameter("the key is empty", param_hint=sources[0])
            os.environ[UPSTREAM_KEY_ENV] = key
            key_env = UPSTREAM_KEY_ENV
    serve(
        ServeOptions(
            config_path=config_path,
            upstream=upstream,
            upstream_kind=upstream_kind,
            upstream_key_env=key_env,
            host=host,
            port=port,
            workers=workers,
            allow_open=allow_open,
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
@click.argument("source", type=click.Path(exists=True, allow_dash=True, path_type=Path))
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
    source: Path, as_json: bool, as_client: str | None, no_atomic_tools: bool
) -> None:
    """Run a captured stream through sseguard's repair and show what it did.

    SOURCE is a raw SSE capture, a .sse file, `curl -N` / `curl -i` output ("-" reads stdin), or a
    capture folder written by the gateway (each upstream attempt is replayed in turn).
    Exit status: 0 when the (last) stream is complete after repairs, 1 when it is broken.
    """
    from sseguard.replay import client_view, read_source, replay, report_json, report_text

    try:
        streams = read_source(source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    complete = False
    for label, raw in streams:
        if label and not as_json:
            click.echo(f"== {label}")
        result = replay(raw, atomic_tools=not no_atomic_tools)
        if as_client:
            click.echo(client_view(result, as_client))
        elif as_json:
            click.echo(report_json(result))
        else:
            click.echo(report_text(result))
        complete = result.repairer.ended and not result.ending
    sys.exit(0 if complete else 1)


@main.command("probe")
@click.argument("url")
@click.option(
    "--key",
    envvar="ANTHROPIC_API_KEY",
    show_envvar=True,
    help="API key (or env ANTHROPIC_API_KEY); never printed. Without one no auth header is sent.",
)
@click.option("--model", default="claude-sonnet-4-5", show_default=True, help="Model to ask.")
@click.option(
    "--auth",
    type=click.Choice(["x-api-key", "bearer", "api-key"]),
    default="x-api-key",
    show_default=True,
    help="How the key is sent: x-api-key (Anthropic), Authorization: Bearer, or api-key (Azure).",
)
@click.option(
    "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra request header."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the response head and between reads (longer is a stall, F21).",
)
@click.option(
    "--tool", is_flag=True, help="Offer one small tool and force a call, to check tool_use streams."
)
@click.option("--no-count-tokens", is_flag=True, help="Skip the /v1/messages/count_tokens check.")
@click.option(
    "--no-prefill", is_flag=True, help="Skip the prefill check (two more streaming requests)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def probe_command(
    url: str,
    key: str | None,
    model: str,
    auth: str,
    headers: tuple[str, ...],
    timeout: float,
    tool: bool,
    no_count_tokens: bool,
    no_prefill: bool,
    as_json: bool,
) -> None:
    """Check an Anthropic-compatible endpoint against the fault catalogue (docs/faults.md).

    URL is the base URL, as ANTHROPIC_BASE_URL would be. Sends a small streaming and a
    non-streaming POST /v1/messages (and count_tokens) and reports status, timing, events, ping
    cadence and every anomaly with its fault ID and the offending bytes. Then checks whether the
    model takes an assistant prefill: it accepts, refuses or ignores one (F37, which
    continuation: auto handles), or the probe could not tell; a capability, not a fault, so the
    exit status leaves it out.
    Exit status: 0 conformant, 1 faults found, 2 the probe could not run.
    """
    from sseguard.probe import (
        ProbeFailed,
        ProbeOptions,
        conformant,
        parse_header,
        redact,
        report_json,
        report_text,
        run,
    )

    try:
        parsed = tuple(parse_header(h) for h in headers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--header") from None
    options = ProbeOptions(
        url=url,
        key=key or None,
        model=model,
        auth=auth,
        headers=parsed,
        timeout=timeout,
        tool=tool,
        count_tokens=not no_count_tokens,
        prefill=not no_prefill,
    )
    try:
        report = run(options)
    except ProbeFailed as exc:
        click.echo(f"sseguard probe: could not run: {redact(str(exc), options.secrets)}", err=True)
        sys.exit(2)
    click.echo(report_json(report) if as_json else report_text(report))
    sys.exit(0 if conformant(report) else 1)


@main.command("logs")
@click.option(
    "--db",
    metavar="PATH|DSN",
    help="The request log: [observe] request_log in the gateway's config, a SQLite file (default: "
    "sseguard-requests.sqlite3 in the state directory, $SSEGUARD_STATE_DIR, else "
    "$XDG_STATE_HOME/sseguard, else ~/.local/state/sseguard, as for sseguard serve) or a "
    "PostgreSQL database, postgresql://USER@HOST:PORT/DB (give its password through "
    "PGPASSWORD or ~/.pgpass rather than on the command line; it is never printed).",
)
@click.option(
    "--since", metavar="WHEN", help="Only requests since: 10m, 2h, 7d or 2026-11-21T10:00."
)
@click.option("--status", type=click.IntRange(100, 599), help="Only this HTTP status, e.g. 529.")
@click.option("--deployment", metavar="NAME", help="Only requests whose last deployment was NAME.")
@click.option("--anomaly", metavar="ID", help="Only requests with this fault ID, e.g. F02.")
@click.option(
    "--outcome",
    type=click.Choice(["complete", "resumed", "error", "finalized", "rejected", "client_gone"]),
    help="Only requests with this outcome.",
)
@click.option(
    "--decision",
    metavar="WORD",
    help="Only requests where a policy decided WORD: allow, block, mask, refuse, cap, error.",
)
@click.option(
    "--policy",
    metavar="NAME",
    help="Only requests with a decision by this policy (with --decision: one decision of both).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N rows."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON record per line, attempts and decisions included.",
)
def logs_command(
    db: str | None,
    since: str | None,
    status: int | None,
    deployment: str | None,
    anomaly: str | None,
    outcome: str | None,
    decision: str | None,
    policy: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the gateway's request log, newest first.

    `sseguard serve` writes every finished request there ([observe] in docs/configuration.md):
    a SQLite file, or a PostgreSQL database when its request_log is a postgresql:// DSN, which
    --db reads the same way, with every filter and --json.
    """
    from sseguard.config.rules import default_request_log
    from sseguard.observe.log_sql import Filters, NoRequestLog, RequestLogError
    from sseguard.observe.log_target import is_dsn, query
    from sseguard.observe.logs_cli import json_lines, parse_since, table

    try:
        since_at = None if since is None else parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    filters = Filters(
        since=since_at,
        status=status,
        deployment=deployment,
        anomaly=_fault_id(anomaly) if anomaly else None,
        outcome=outcome,
        policy=policy,
        decision=decision.lower() if decision else None,
        limit=limit,
    )
    try:
        records = query(db or default_request_log(), filters)
    except NoRequestLog as exc:
        if db and is_dsn(db):
            raise click.ClickException(str(exc)) from None
        raise click.ClickException(
            f"{exc}\n`sseguard serve` writes it to the file its config's [observe] request_log"
            ' names (off when that is ""); by default sseguard-requests.sqlite3 in the state'
            " directory: $SSEGUARD_STATE_DIR if set, else $XDG_STATE_HOME/sseguard, else"
            " ~/.local/state/sseguard, so a gateway run with another environment wrote"
            " elsewhere. Read another file with --db PATH"
        ) from None
    except RequestLogError as exc:
        raise click.ClickException(str(exc)) from None
    if records:
        click.echo(json_lines(records) if as_json else table(records))
    elif not as_json:
        click.echo("no matching requests", err=True)


def _read_key_file(path: str) -> str:
    """The key in ``path``, read once: its one line, without the newline editors and ``echo``
    end it with. Problems name the file and what is wrong, never what it holds."""
    hint = "--upstream-key-file"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror or exc.__class__.__name__}", param_hint=hint
        ) from None
    try:
        key = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path} is not UTF-8 text", param_hint=hint) from None
    if not key.strip():
        raise click.BadParameter(f"{path} holds no key (it is empty)", param_hint=hint)
    if any(c in key for c in "\r\n\0"):
        # A line break in a header value would end the header: the rest would be sent as headers.
        raise click.BadParameter(
            f"{path} holds more than one line: a key file holds the key alone", param_hint=hint
        )
    return key


def _fault_id(typed: str) -> str:
    """A fault ID as the catalogue spells it, however it was typed: f02 is F02, f23b is F23b."""
    return typed[:1].upper() + typed[1:].lower()


from sseguard.sim.cli import sim  # noqa: E402  (registered last: commands stay independent)
from sseguard.teams.cli import keys  # noqa: E402

main.add_command(sim)
main.add_command(keys)
