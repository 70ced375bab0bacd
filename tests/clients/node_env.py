"""The pinned Node clients for the conformance tests: installed once, cached, and located.

``node_env()`` makes sure ``tests/clients/node_modules`` holds exactly what ``package-lock.json``
pins (``npm ci``), runs Claude Code's install step so ``claude`` is the real native binary and not
the placeholder npm leaves when it skips install scripts, and returns the paths. The install is
cached by a stamp file in ``node_modules`` holding a hash of the lock file, package.json and the
Node version: a changed lock file, a missing or half-done install, or another Node reinstalls.

Progress goes to stderr. Missing ``node``/``npm`` or a failed install raise ``NodeEnvError`` with
the reason (a test error, not a skip: the matrix must not silently shrink).

Run it directly (``python tests/clients/node_env.py``) to install ahead of a test run.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CLIENTS_DIR = Path(__file__).resolve().parent
NODE_MODULES = CLIENTS_DIR / "node_modules"
STAMP = NODE_MODULES / ".sseguard-install-stamp"
CLAUDE_PACKAGE = NODE_MODULES / "@anthropic-ai" / "claude-code"
SDK_PACKAGE = NODE_MODULES / "@anthropic-ai" / "sdk"
INSTALL_TIMEOUT = 900.0  # a first install downloads a ~100 MB native binary


class NodeEnvError(RuntimeError):
    """Node, npm or the pinned packages are not usable; the message says why and what to do."""


@dataclass(frozen=True)
class NodeEnv:
    node: str
    clients_dir: Path
    node_modules: Path
    claude: Path  # the native Claude Code binary, ready to exec
    stream_script: Path  # stream.mjs: one @anthropic-ai/sdk request, one JSON line out
    sdk_version: str
    claude_version: str


def _say(message: str) -> None:
    print(f"[node_env] {message}", file=sys.stderr, flush=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise NodeEnvError(
            f"`{name}` is not on PATH: the Node client tests need Node.js (20 or newer) and npm. "
            "Install them (e.g. `apt-get install nodejs npm`, or from nodejs.org) and rerun."
        )
    return path


def _run(cmd: list[str], what: str, timeout: float = INSTALL_TIMEOUT) -> str:
    _say(f"{what}: {' '.join(cmd)}")
    try:
        proc = subprocess.run(
            cmd,
            cwd=CLIENTS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeEnvError(f"{what} did not finish within {timeout:.0f} s: {cmd}") from exc
    if proc.stdout.strip():
        sys.stderr.write(proc.stdout if proc.stdout.endswith("\n") else proc.stdout + "\n")
    if proc.returncode != 0:
        raise NodeEnvError(f"{what} failed (exit {proc.returncode}): {proc.stdout.strip()[-2000:]}")
    return proc.stdout


def _fingerprint(node: str) -> str:
    lock = CLIENTS_DIR / "package-lock.json"
    if not lock.is_file():
        raise NodeEnvError(f"{lock} is missing: the client versions must be pinned by a lock file")
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    digest = hashlib.sha256()
    for part in (lock.read_bytes(), (CLIENTS_DIR / "package.json").read_bytes(), node_version):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _claude_version(claude: Path) -> str | None:
    """``claude --version`` of a real binary ("2.1.330 (Claude Code)"), else None (stub/missing)."""
    if not claude.is_file():
        return None
    try:
        proc = subprocess.run(
            [str(claude), "--version"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and "Claude Code" in out else None


def _package_version(package_dir: Path) -> str:
    return str(json.loads((package_dir / "package.json").read_text())["version"])


def _lock_path() -> Path:
    key = hashlib.sha256(str(CLIENTS_DIR).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"sseguard-node-env-{key}.lock"


def claude_env(home: Path, base_url: str) -> dict[str, str]:
    """The environment a Claude Code run gets in the tests: only what it needs (no ANTHROPIC_* or
    CLAUDE_* setting of the caller leaks in), the gateway as its API, an empty home, and nothing
    sent anywhere but the gateway (no telemetry, no auto-update, no non-essential traffic)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-test",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def run_script(
    script: str, *args: str, stdin: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``node tests/clients/SCRIPT ARGS`` fed ``stdin``, with nothing of the caller's environment
    but PATH (no ANTHROPIC_* or OPENAI_* setting leaks into a client under test)."""
    return subprocess.run(
        [node_env().node, str(CLIENTS_DIR / script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=CLIENTS_DIR,
        env={"PATH": os.environ.get("PATH", "")},
    )


@functools.cache
def node_env() -> NodeEnv:
    """Install (if needed) and locate the pinned Node clients. Cached for the session."""
    node = _tool("node")
    npm = _tool("npm")
    claude = CLAUDE_PACKAGE / "bin" / "claude.exe"
    # One installer at a time, also across concurrent pytest runs in this tree.
    with open(_lock_path(), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        want = _fingerprint(node)
        have = STAMP.read_text().strip() if STAMP.is_file() else None
        if have != want:
            why = "package-lock.json, package.json or Node changed" if have else "no install yet"
            _say(f"installing the pinned Node clients into {NODE_MODULES} ({why})")
            _run([npm, "ci", "--no-audit", "--no-fund"], "npm ci")
            STAMP.unlink(missing_ok=True)
        # npm may skip the package's postinstall and leave a placeholder; install.cjs copies the
        # native binary into place. Run after every install, and whenever the binary is not real.
        version = None if have != want else _claude_version(claude)
        if version is None:
            _run([node, str(CLAUDE_PACKAGE / "install.cjs")], "Claude Code install step")
            version = _claude_version(claude)
            if version is None:
                raise NodeEnvError(
                    f"{claude} is not a working Claude Code binary after its install step "
                    "(is the platform package @anthropic-ai/claude-code-<os>-<arch> installed?)"
                )
        if have != want:
            STAMP.write_text(want + "\n")
            _say(
                f"installed: Claude Code {version}, @anthropic-ai/sdk {_package_version(SDK_PACKAGE)}"
            )
        fcntl.flock(lock, fcntl.LOCK_UN)
    return NodeEnv(
        node=node,
        clients_dir=CLIENTS_DIR,
        node_modules=NODE_MODULES,
        claude=claude,
        stream_script=CLIENTS_DIR / "stream.mjs",
        sdk_version=_package_version(SDK_PACKAGE),
        claude_version=version,
    )


if __name__ == "__main__":
    env = node_env()
    for field, value in vars(env).items():
        print(f"{field} = {value}")
