"""Claude Code with its own retry loop on (up to about ten attempts, its default) through the
gateway: against a fault that does not go away, one turn must cost no more upstream calls than
sseguard's own budget (F40: errors after sseguard's attempts say ``x-should-retry: false``), and
end with a typed error well before Claude Code's backoff would have run for minutes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from node_env import node_env
from test_claude_code import Case, Run, run_claude

from processes import Running, gateway_config, running, simulator

PERSISTENT = ["unauthorized_401", "bad_request_400", "overloaded_529", "endless_message_start"]
BUDGET = 2  # retry.max_attempts of the test configuration, one deployment
# On a 400 Claude Code sends its request again without optional features, one at a time (a beta
# header, then thinking.display; measured): requests of its own, not retries, each answered once.
CLIENT_VARIANTS = {"bad_request_400": 3}


@pytest.fixture(scope="module")
def turns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, dict[str, Run]]]:
    env = node_env()
    tmp = tmp_path_factory.mktemp("claude-retries")
    with (
        simulator() as sim,
        running(
            "serve", "--config", str(gateway_config(tmp, sim)), banner=b"sseguard listening on"
        ) as gw,
        ThreadPoolExecutor(max_workers=len(PERSISTENT)) as pool,
    ):
        cases = [Case(name, "error", own_retries=True) for name in PERSISTENT]
        futures = {c.scenario: pool.submit(run_claude, env, gw.url, c, tmp) for c in cases}
        yield gw, {name: f.result() for name, f in futures.items()}


def attempts(lines: list[bytes], scenario: str) -> list[int]:
    """Upstream attempts of each gateway request made for ``scenario`` (its JSON log lines)."""
    model = f"claude-sonnet-4-5+{scenario}"
    records: list[dict[str, Any]] = [orjson.loads(line) for line in lines if line.startswith(b"{")]
    return [len(r["attempts"]) for r in records if r["client_model"] == model]


@pytest.mark.parametrize("scenario", PERSISTENT)
def test_one_turn_costs_no_more_than_sseguards_own_budget(
    turns: tuple[Running, dict[str, Run]], scenario: str
) -> None:
    gw, runs = turns
    run = runs[scenario]
    shown = (
        f"exit {run.returncode} after {run.seconds:.1f} s\n{run.stdout[-800:]}{run.stderr[-800:]}"
    )
    assert run.returncode not in (None, 0), shown
    said = run.stdout + run.stderr
    assert "API Error" in said or "Invalid API key" in said, shown
    # Log lines leave the gateway in batches: wait (bounded) until this scenario's are out.
    lines = gw.output.wait_until(lambda got: bool(attempts(got, scenario)), timeout=10)
    per_request = attempts(lines, scenario)
    print(f"{scenario}: upstream calls per request {per_request}, {run.seconds:.1f} s")
    variants = CLIENT_VARIANTS.get(scenario, 1)
    assert 0 < len(per_request) <= variants, shown  # no request of Claude Code's repeated
    assert sum(per_request) <= max(BUDGET, variants), shown
