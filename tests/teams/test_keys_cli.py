"""``sseguard keys``: a key printed once with its config snippet; create, list and revoke in the
shared state of a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from redis_server import RedisServer, redis_server
from sseguard.cli import main
from sseguard.config import Config
from sseguard.config.teams import key_digest


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with redis_server() as found:
        yield found


def test_create_prints_the_key_once_and_a_snippet_that_loads() -> None:
    result = CliRunner().invoke(
        main, ["keys", "create", "team-a", "--models", "claude-*", "--rpm", "9"]
    )
    assert result.exit_code == 0, result.output
    first, _, snippet = result.output.partition("add to the config under keys:\n")
    key = first.rsplit(" ", 1)[1].strip()
    assert key.startswith("sg-")
    entries = yaml.safe_load(snippet)
    assert entries[0]["key_sha256"] == key_digest(key) and key not in snippet
    config = Config.model_validate(
        {
            "deployments": [
                {"name": "u", "kind": "anthropic", "base_url": "https://x.test", "api_key": "k"}
            ],
            "keys": entries,
        }
    )
    assert config.keys[0].rpm == 9 and config.keys[0].models == ("claude-*",)


def test_create_list_revoke_in_the_shared_state(server: RedisServer, tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(
        "deployments:\n"
        "  - {name: u, kind: anthropic, base_url: 'https://x.test', api_key: k}\n"
        "keys:\n  - {name: fixed, key: sg-fixed}\n"
        f"state: {{redis_url: '{server.url}'}}\n"
    )
    runner = CliRunner()
    created = runner.invoke(
        main, ["keys", "create", "later", "--tpm", "1000", "--config", str(path)]
    )
    assert created.exit_code == 0, created.output
    key = created.output.split("\n")[0].rsplit(" ", 1)[1]
    listed = runner.invoke(main, ["keys", "list", "--config", str(path)])
    assert "fixed  (config)" in listed.output and "later  (runtime)" in listed.output
    assert key not in listed.output and "tpm 1000" in listed.output
    assert runner.invoke(main, ["keys", "create", "later", "--config", str(path)]).exit_code == 1
    assert runner.invoke(main, ["keys", "revoke", "fixed", "--config", str(path)]).exit_code == 1
    revoked = runner.invoke(main, ["keys", "revoke", "later", "--config", str(path)])
    assert revoked.exit_code == 0, revoked.output
    assert "later" not in runner.invoke(main, ["keys", "list", "--config", str(path)]).output
