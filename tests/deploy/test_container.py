"""The Dockerfile and the wheel it installs, checked without Docker (none runs where these tests
do): what the image is built from, who it runs as, what it listens on and that the command it
starts is sseguard's."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from deploy_files import ROOT, exec_form, gateway_status, read_dockerfile, shell_words

from sseguard.cli import main

DOCKERFILE = read_dockerfile(ROOT / "Dockerfile")
BUILD, RUNTIME = DOCKERFILE.stages[0], DOCKERFILE.stages[-1]
CONFIG_PATH = "/etc/sseguard/config.yaml"


def test_two_stages_the_runtime_a_slim_python_the_package_supports() -> None:
    assert len(DOCKERFILE.stages) == 2
    assert (BUILD.name, RUNTIME.name) == ("build", "runtime")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = tuple(int(n) for n in requires.removeprefix(">=").split("."))
    for stage in (BUILD, RUNTIME):
        found = re.fullmatch(r"python:(\d+)\.(\d+)-slim", stage.base)
        assert found, stage.base
        assert (int(found[1]), int(found[2])) >= lowest


def test_the_build_stage_makes_wheels_and_the_runtime_installs_only_those() -> None:
    assert any("pip wheel --wheel-dir /wheels" in run for run in BUILD.all("RUN"))
    (install,) = [run for run in RUNTIME.all("RUN") if "pip install" in run]
    # From the build stage's folder alone: nothing fetched, nothing compiled, no source tree.
    assert "--mount=type=bind,from=build,source=/wheels" in install
    assert "--no-index" in shell_words(install)
    assert not RUNTIME.all("COPY"), "the runtime stage copies nothing in: wheels are bind-mounted"


def test_the_runtime_runs_as_a_fixed_non_root_user() -> None:
    user = RUNTIME.last("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, "a numeric uid, so runAsNonRoot can check it"
    assert gid.isdigit() and int(gid) > 0
    keywords = [kw for kw, _ in RUNTIME.instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert any('--uid "${SSEGUARD_UID}"' in run for run in RUNTIME.all("RUN"))
    assert any(arg == f"SSEGUARD_UID={uid}" for arg in RUNTIME.all("ARG"))


def test_the_entrypoint_is_sseguard_serve_on_the_exposed_port_with_the_mounted_config() -> None:
    argv = exec_form(RUNTIME.last("ENTRYPOINT"))
    assert exec_form(RUNTIME.last("CMD")) == []  # `docker run IMAGE --allow-open` appends to it
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[argv[0]] == "sseguard.cli:main"
    command = main.commands[argv[1]]  # type: ignore[attr-defined]
    assert argv[1] == "serve"
    options = {opt: p for p in command.params for opt in p.opts}
    for word in argv[2:]:
        if word.startswith("--"):
            assert word in options, f"serve has no option {word}"
    port = argv[argv.index("--port") + 1]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert RUNTIME.last("EXPOSE").split() == [port]
    # The config by environment variable, so that flags appended with `docker run` keep it.
    assert "SSEGUARD_CONFIG" in options["--config"].envvar
    env = " ".join(RUNTIME.all("ENV"))
    assert f"SSEGUARD_CONFIG={CONFIG_PATH}" in env
    assert "--allow-open" in options


def test_the_healthcheck_asks_healthz_with_python_alone() -> None:
    check = RUNTIME.last("HEALTHCHECK")
    _, _, cmd = check.partition("CMD ")
    argv = exec_form(cmd)
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "<healthcheck>", "exec")
    port = RUNTIME.last("EXPOSE")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", argv[2])
    assert url and url[1] == port
    assert gateway_status(url[2]) == 200


def test_the_build_context_holds_what_the_build_copies_and_nothing_else() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything out, then what the wheel needs back in
    kept = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = {c for cp in BUILD.all("COPY") for c in shell_words(cp)[:-1]}
    assert copied == kept == {"pyproject.toml", "README.md", "src"}
    assert any(fnmatch.fnmatch("src/sseguard/__pycache__", r) for r in rules)


@pytest.mark.processes
def test_the_wheel_builds_and_its_console_script_starts(tmp_path: Path) -> None:
    """What the build stage does (`pip wheel .`), and the installed `sseguard` command running
    from that wheel rather than from this checkout."""
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("sseguard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sseguard/gateway/playground.html" in names  # package data: /playground's page
    assert "sseguard/py.typed" in names
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import sseguard; print(sseguard.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(target))
    done = subprocess.run(
        [str(target / "bin" / "sseguard"), "serve", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--allow-open" in done.stdout and "--config" in done.stdout
