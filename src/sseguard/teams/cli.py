"""``sseguard keys``: make a gateway key, and list or revoke the keys kept in the shared state.

Thin: the rules are the admin API's (teams/admin.py); this reaches Redis directly with the
gateway's own config, for operators on a machine that can.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
import yaml

from sseguard.config import Config, ConfigError, load_config
from sseguard.errors import GatewayError
from sseguard.teams import admin
from sseguard.teams.state import Unavailable, open_store

CONFIG_HELP = (
    "The gateway's config file; with state.redis_url the key is kept there, and every replica "
    "using that Redis knows it at once."
)


@click.group("keys")
def keys() -> None:
    """Gateway keys: who may use this gateway, with which models, limits and budget.

    Keys in the config file (keys:) are read-only here; keys created with --config whose state
    names a Redis (state.redis_url) live there, as do those made with the admin API
    (/admin/keys). Only a key's digest is kept: a new key is printed once.
    """


def _config(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _shared(config: Config) -> None:
    if config.state.redis_url is None:
        raise click.ClickException(
            "this config has no shared state (state.redis_url): its keys are the ones in the "
            "file; create one without --config and paste the snippet printed"
        )


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except Unavailable as exc:
        raise click.ClickException(f"the shared state is unreachable: {exc}") from None
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None


@keys.command("create")
@click.argument("name")
@click.option(
    "--models",
    "models",
    multiple=True,
    metavar="GLOB",
    help="Allowed client model names (globs; repeat the option). Default: every model.",
)
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute.")
@click.option("--max-streams", type=click.IntRange(min=1), help="Requests in flight at once.")
@click.option("--budget-usd", type=click.FloatRange(min=0), help="Total spend, in US dollars.")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False), help=CONFIG_HELP
)
def create_command(
    name: str,
    models: tuple[str, ...],
    rpm: int | None,
    tpm: int | None,
    max_streams: int | None,
    budget_usd: float | None,
    config_path: str | None,
) -> None:
    """Make a new key NAME and print it, once.

    Without --config: the key and the snippet to add under keys: in the config (its digest,
    never the key). With --config: kept in the config's shared state (Redis), in use at once.
    """
    settings: dict[str, Any] = {
        "models": list(models) or None,
        "rpm": rpm,
        "tpm": tpm,
        "max_streams": max_streams,
        "budget_usd": budget_usd,
    }
    settings = {k: v for k, v in settings.items() if v is not None}
    if config_path is None:
        try:
            key, spec = admin.new_spec(name, settings)
        except GatewayError as exc:
            raise click.ClickException(exc.message) from None
        snippet = {"name": spec.name, "key_sha256": spec.key_sha256, **settings}
        click.echo(f"key (shown once, give it to {name}): {key}")
        click.echo("add to the config under keys:")
        click.echo(yaml.safe_dump([snippet], sort_keys=False).rstrip())
        return
    config = _config(config_path)
    _shared(config)

    async def work() -> dict[str, Any]:
        store = open_store(config.state)
        try:
            return await admin.create(config, store, {"name": name, **settings})
        finally:
            await store.close()

    created = _run(work())
    click.echo(f"key (shown once, give it to {name}): {created['key']}")
    click.echo(f"kept in the shared state; digest {created['key_sha256']}")


@keys.command("list")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="The gateway's config file.",
)
def list_command(config_path: str) -> None:
    """Every key: those of the config file and those in the shared state, with their spend."""
    config = _config(config_path)

    async def work() -> list[dict[str, Any]]:
        store = open_store(config.state)
        try:
            return await admin.listing(config, store)
        finally:
            await store.close()

    if config.state.redis_url is None:
        rows = [{**k.public(), "source": "config", "spent_usd": None} for k in config.keys]
    else:
        rows = _run(work())
    if not rows:
        click.echo("no keys", err=True)
    for row in rows:
        limits = ", ".join(
            f"{name} {row[name]}" for name in ("rpm", "tpm", "max_streams") if row[name]
        )
        budget = "" if row["budget_usd"] is None else f", budget ${row['budget_usd']:g}"
        spent = "" if row["spent_usd"] is None else f", spent ${row['spent_usd']:g}"
        click.echo(
            f"{row['name']}  ({row['source']})  models {','.join(row['models'])}"
            f"{', ' + limits if limits else ''}{budget}{spent}"
        )


@keys.command("revoke")
@click.argument("name")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="The gateway's config file (its state.redis_url).",
)
def revoke_command(name: str, config_path: str) -> None:
    """Revoke the key NAME kept in the shared state: refused by every replica at once."""
    config = _config(config_path)
    _shared(config)

    async def work() -> None:
        store = open_store(config.state)
        try:
            await admin.revoke(config, store, None, name)
        finally:
            await store.close()

    _run(work())
    click.echo(f"revoked {name}")
