"""``sseguard serve`` as the quickstart runs it: which upstream it picks, and that it answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest
from click.testing import CliRunner, Result

from processes import running
from sseguard.cli import main
from sseguard.config import Config
from sseguard.gateway.serve import ServeOptions, resolve
from upstream_recorder import recording_upstream


def test_no_config_no_upstream_no_key_serves_the_builtin_simulator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env["SSEGUARD_STATE_DIR"] = str(tmp_path)  # its request log, not in the user's home
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


# --- the provider key for --upstream: never in the command line --------------------------------

KEY = "sk-cli-key-not-in-argv-3f9a0c7e"
KEY_ENV = "SSEGUARD_UPSTREAM_KEY"


def _cmdline(pid: int) -> bytes:
    """What the process list shows of ``pid``'s command line (ps reads the same file)."""
    return Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
@pytest.mark.parametrize("how", ["file", "env"])
def test_a_key_from_a_file_or_a_variable_reaches_the_upstream_and_no_command_line(
    tmp_path: Path, how: str
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")  # as `echo KEY > file` or an editor leaves it
    args = {
        "file": ("--upstream-key-file", str(key_file)),
        "env": ("--upstream-key-env", "SGT_CLI_PROVIDER_KEY"),
    }[how]
    env = {"SGT_CLI_PROVIDER_KEY": KEY, "SSEGUARD_STATE_DIR": str(tmp_path / "state")}
    with recording_upstream() as rec:
        upstream = rec.base("ok", how)
        with running(
            "serve", "--port", "0", "--upstream", upstream, *args, env=env, banner=b"listening on"
        ) as (url, proc, output):
            client = anthropic.Anthropic(
                base_url=url, api_key="sk-client-own", max_retries=0, timeout=30
            )
            message = client.messages.create(
                model="m", max_tokens=64, messages=[{"role": "user", "content": "key?"}]
            )
            assert message.content[0].type == "text"
            assert KEY.encode() not in _cmdline(proc.pid)
        [got] = rec.of(how)
    assert got.header_all("x-api-key") == [KEY]  # the gateway's key, not the client's
    assert all(KEY.encode() not in line for line in output)


def _serve_options(
    monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str | None] | None = None
) -> tuple[Result, Config | None]:
    """``sseguard serve ARGS`` up to the point it would listen: what it printed, and the
    configuration its workers would build from the options it hands them."""
    built: list[Config] = []
    monkeypatch.setattr(
        "sseguard.gateway.serve.serve", lambda options: built.append(resolve(options)[0])
    )
    # The CLI hands a key to workers through SSEGUARD_UPSTREAM_KEY: None has it removed after.
    result = CliRunner().invoke(main, ["serve", *args], env={KEY_ENV: None, **(env or {})})
    return result, built[0] if built else None


def _key(config: Config | None) -> str | None:
    assert config is not None
    key = config.deployments[0].api_key
    return None if key is None else key.get_secret_value()


def test_upstream_key_on_the_command_line_still_works_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, config = _serve_options(
        monkeypatch, "--upstream", "http://127.0.0.1:9", "--upstream-key", KEY
    )
    assert result.exit_code == 0, result.output
    assert _key(config) == KEY
    assert "process list" not in result.stdout
    warning = result.stderr
    assert "--upstream-key puts the key in this process's command line" in warning
    assert "--upstream-key-env NAME, --upstream-key-file PATH" in warning
    assert KEY not in result.output
    # From its environment variable the key is in no command line: no warning.
    result, config = _serve_options(
        monkeypatch, "--upstream", "http://127.0.0.1:9", env={KEY_ENV: KEY}
    )
    assert result.exit_code == 0 and result.stderr == ""
    assert _key(config) == KEY


def test_key_file_and_key_variable_problems_are_named_without_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {
        "missing": (None, "cannot read {path}: No such file or directory"),
        "empty": (b"", "{path} holds no key (it is empty)"),
        "newline-only": (b"\n", "{path} holds no key (it is empty)"),
        "two-lines": (KEY.encode() + b"\nsecond\n", "{path} holds more than one line"),
        "binary": (b"\xff\xfe" + KEY.encode(), "{path} is not UTF-8 text"),
    }
    for name, (content, problem) in files.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result, config = _serve_options(
            monkeypatch, "--upstream", "http://127.0.0.1:9", "--upstream-key-file", str(path)
        )
        assert result.exit_code == 2 and config is None, (name, result.output)
        assert "--upstream-key-file" in result.output
        assert problem.format(path=path) in result.output.replace("\n", " "), result.output
        assert KEY not in result.output and "second" not in result.output
    result, _ = _serve_options(
        monkeypatch, "--upstream", "http://127.0.0.1:9", "--upstream-key-file", str(tmp_path)
    )
    assert result.exit_code == 2 and "Is a directory" in result.output
    for value, problem in ((None, "is not set"), ("", "is empty")):
        result, config = _serve_options(
            monkeypatch,
            "--upstream",
            "http://127.0.0.1:9",
            "--upstream-key-env",
            "SGT_CLI_NO_KEY",
            env={"SGT_CLI_NO_KEY": value},
        )
        assert result.exit_code == 2 and config is None
        assert f"environment variable SGT_CLI_NO_KEY {problem}" in result.output


def test_one_key_source_and_only_with_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    both = ("--upstream-key-env", "SGT_A", "--upstream-key-file", "/nonexistent")
    result, _ = _serve_options(monkeypatch, "--upstream", "http://127.0.0.1:9", *both)
    assert result.exit_code == 2
    assert "give one key for --upstream, not --upstream-key-env and --upstream-key-file" in (
        result.output
    )
    result, _ = _serve_options(monkeypatch, "--upstream-key-env", "SGT_A")
    assert result.exit_code == 2 and "--upstream-key-env needs --upstream" in result.output


# --- an open gateway that would spend the operator's key ----------------------------------------

# RFC 5737's documentation address, assigned to no machine: listening on it fails, so a test can
# show the refusal lifted without listening anywhere but on loopback.
NOT_THIS_MACHINE = "192.0.2.1"
OPEN_KEY = "sk-open-gateway-key-b71d2e94"


def _keyed_config(
    tmp_path: Path, key: str = 'api_key_env = "SGT_OPEN_KEY"', server: str = ""
) -> Path:
    path = tmp_path / "open.toml"
    path.write_text(
        f"[server]\nport = 0\n{server}\n"
        '[[deployments]]\nname = "provider"\nkind = "anthropic-compatible"\n'
        f'base_url = "http://127.0.0.1:9"\n{key}\n'
        '[observe]\nrequest_log = ""\n'
    )
    return path


def _serve_exits(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sseguard serve`` that is expected to stop before it listens."""
    done = subprocess.run(
        [sys.executable, "-m", "sseguard", "serve", "--config", str(config), *args],
        env={**os.environ, "SGT_OPEN_KEY": OPEN_KEY},
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0, done.stderr
    assert OPEN_KEY not in done.stdout + done.stderr
    return done


def test_a_gateway_open_to_other_machines_with_a_key_of_the_operators_is_refused(
    tmp_path: Path,
) -> None:
    config = _keyed_config(tmp_path)
    # 0.0.0.0 second: were the refusal gone, the first fails without listening everywhere.
    for host in (NOT_THIS_MACHINE, "0.0.0.0"):
        refused = _serve_exits(config, "--host", host).stderr
        assert f"sseguard: refusing to listen on {host}: sseguard does not authenticate" in (
            refused
        )
        assert "spend the provider key of provider" in refused
        assert "--allow-open (server.allow_open: true)" in refused
    # With the decision made (flag or option) it goes on to listen: here, where it cannot.
    for lifted in (
        _serve_exits(config, "--host", NOT_THIS_MACHINE, "--allow-open"),
        _serve_exits(
            _keyed_config(tmp_path, server="allow_open = true"), "--host", NOT_THIS_MACHINE
        ),
        # Clients' own keys are theirs to spend: nothing to refuse.
        _serve_exits(
            _keyed_config(tmp_path, key="passthrough_key = true"), "--host", NOT_THIS_MACHINE
        ),
    ):
        assert f"sseguard: cannot listen on {NOT_THIS_MACHINE}:0" in lifted.stderr
        assert "refusing" not in lifted.stderr


def test_a_gateway_on_loopback_with_a_key_starts(tmp_path: Path) -> None:
    config = _keyed_config(tmp_path)
    env = {"SGT_OPEN_KEY": OPEN_KEY}
    for host in ("127.0.0.1", "localhost"):
        with running(
            "serve", "--config", str(config), "--host", host, env=env, banner=b"listening on"
        ) as (url, _, _):
            assert url.startswith("http://127.0.0.1:")
