"""``sseguard sim``: list the scenario catalogue or serve the simulator until interrupted.

A thin shell over ``sseguard.sim``; it holds no scenario or server logic.
"""

from __future__ import annotations

import asyncio

import click

from sseguard.sim.judge import JUDGE_PREFIX
from sseguard.sim.scenarios import (
    BEHAVIOURS,
    CHUNKING_SEPARATOR,
    DELAY,
    DIALECTS,
    MAX_DELAY,
    SCENARIO_SEPARATOR,
    SCENARIOS,
    select,
)
from sseguard.sim.server import SCENARIO_HEADER, Simulator
from sseguard.sim.wire import CHUNKINGS


def _catalogue_lines() -> list[str]:
    width = max(len(name) for name in SCENARIOS)
    lines: list[str] = []
    for dialect in DIALECTS:
        lines += [*([""] if lines else []), f"POST {dialect.path}"]
        lines += [
            f"{s.name:<{width}}  {s.fault:<4}  {s.description}"
            for s in SCENARIOS.values()
            if s.dialect is dialect and s.name not in BEHAVIOURS
        ]
    # Not faults, so apart: what tests of the gateway's policies ask for.
    lines += ["", "behaviours (no fault; oa_ ones on POST /v1/chat/completions)"]
    lines += [f"{s.name:<{width}}  {s.fault:<4}  {s.description}" for s in BEHAVIOURS.values()]
    lines += [
        f"{DELAY + '<seconds>':<{width}}  -     the clean answer, started that many seconds late "
        f"(e.g. {DELAY}2.5; at most {MAX_DELAY:g}; oa_{DELAY}<seconds> on chat.completions)",
        "",
        f"models: a base model named {JUDGE_PREFIX}* ({JUDGE_PREFIX}, {JUDGE_PREFIX}-1) answers with "
        'a JSON verdict {"probability": 0..1, "explanation": "..."} on the last user turn, high '
        "for destructive commands (sseguard/sim/judge.py); any scenario applies to it",
    ]
    return lines


def _banner(sim: Simulator) -> str:
    return "\n".join(
        [
            f"sseguard sim: an Anthropic-compatible upstream at {sim.base_url}",
            "  (and an OpenAI-compatible one: POST /v1/chat/completions, `oa_` scenarios)",
            f"default scenario: {sim.default.spec}",
            "pick a scenario per request (first match wins):",
            f"  base URL     {sim.url_for('<scenario>')}",
            f"  model name   claude-sonnet-4-5{SCENARIO_SEPARATOR}<scenario>",
            f"  judge model  {JUDGE_PREFIX}{SCENARIO_SEPARATOR}<scenario>: a JSON verdict on the "
            "request's harm",
            f"  header       {SCENARIO_HEADER}: <scenario>",
            f"chunking: <scenario>{CHUNKING_SEPARATOR}<{'|'.join(CHUNKINGS)}>",
            "`sseguard sim --list` prints the catalogue. Ctrl-C stops.",
        ]
    )


async def _serve(host: str, port: int, scenario: str) -> None:
    async with Simulator(host, port, scenario) as sim:
        click.echo(_banner(sim))
        await asyncio.Event().wait()


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, help="Port to listen on (0: any free).")
@click.option(
    "--scenario",
    default="clean",
    show_default=True,
    help="Scenario for requests that do not choose one (NAME or NAME@CHUNKING).",
)
@click.option("--list", "list_only", is_flag=True, help="Print the scenario catalogue and exit.")
def sim(host: str, port: int, scenario: str, list_only: bool) -> None:
    """Run the fault simulator: a fake Anthropic (and OpenAI) API that breaks streams on purpose.

    It answers POST /v1/messages (streaming or not), /v1/messages/count_tokens and GET /v1/models
    with deterministic content, damaged the way a named scenario says (docs/faults.md), and POST
    /v1/chat/completions with the same content in OpenAI's format, damaged by the `oa_` scenarios.
    Any API key works. Point a client at it and pick the scenario by base URL (.../s/NAME), by model
    name (MODEL+NAME) or by the x-sim-scenario header; add @CHUNKING (event, whole, bytes, utf8,
    crlf) to re-slice the bytes. The default scenario serves the endpoint it belongs to; the other
    endpoint answers cleanly (clean, oa_clean).

    Besides the faults, behaviours for tests of the gateway's policies: agent (runs a backticked
    command with the offered Bash tool), leak_secret (fake keys in text and tool input), judge_prose,
    delay_SECONDS (the answer starts late); and judge models (judge, judge-1, ...) that answer a JSON
    verdict on whether the request could cause harm.
    """
    if list_only:
        click.echo("\n".join(_catalogue_lines()))
        return
    try:
        select(scenario)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--scenario") from err
    try:
        asyncio.run(_serve(host, port, scenario))
    except KeyboardInterrupt:
        click.echo("sseguard sim: stopped")
