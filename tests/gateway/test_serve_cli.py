"""``sseguard serve`` as the quickstart runs it: which upstream it picks, and that it answers."""

from __future__ import annotations

import os
from pathlib import Path

import anthropic
import pytest

from processes import running
from sseguard.gateway.serve import ServeOptions, resolve


def test_no_config_no_upstream_no_key_serves_the_builtin_simulator() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    with running("serve", "--port", "0", env=env, banner=b"sseguard listening on") as (
        url,
        proc,
        _,
    ):
        client = anthropic.Anthropic(base_url=url, api_key="any", max_retries=0, timeout=30)
        message = client.messages.create(
            model="claude-sonnet-4-5+glued_text",
            max_tokens=256,
            messages=[{"role": "user", "content": "hello"}],
        )
        assert message.stop_reason == "end_turn" and message.content[0].type == "text"
    assert proc.stdout is not None


def test_upstream_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-precedence")
    config, what = resolve(ServeOptions())
    assert config.deployments[0].base_url == "https://api.anthropic.com"
    assert "ANTHROPIC_API_KEY" in what and "sk-ant-test" not in what
    config, what = resolve(ServeOptions(upstream="http://127.0.0.1:9"))
    assert config.deployments[0].base_url == "http://127.0.0.1:9"
    assert config.deployments[0].passthrough_key  # no --upstream-key: the client's key goes on
    path = tmp_path / "c.toml"
    path.write_text(
        '[[deployments]]\nname = "a"\nbase_url = "http://127.0.0.1:9"\nkind = "anthropic-compatible"\npassthrough_key = true\n'
    )
    config, what = resolve(ServeOptions(config_path=str(path), port=0))
    assert config.deployments[0].name == "a" and config.server.port == 0
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ValueError, match="no upstream"):
        resolve(ServeOptions())
