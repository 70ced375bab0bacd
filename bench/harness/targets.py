"""Starting and stopping what the benchmark measures: the upstream and each proxy under test.

Every process is a child of the harness in its own session, started with its files in a private
temporary folder and stopped (SIGTERM, then SIGKILL) before the next target starts. Installing
what a target needs (nginx from Debian, LiteLLM in its own virtualenv) is ``ensure_*``'s job.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
SSEGUARD = ROOT / ".venv" / "bin" / "sseguard"
LITELLM_VENV = BENCH / ".venv-litellm"
# An exact release: LiteLLM's PyPI project has shipped compromised releases (since yanked), so the
# benchmark never takes whatever is newest. Override with --litellm-version.
LITELLM_VERSION = "1.81.13"
LITELLM_MODEL = "anthropic/claude-sonnet-4-5-20250929"

Log = Callable[[str], None]

TARGETS = {
    "direct": "no proxy: the load client talks to the upstream (the floor)",
    "nginx": "nginx, one worker process, proxy_buffering off, upstream keep-alive",
    "sseguard": "sseguard serve --upstream URL, default configuration (request log on)",
    "sseguard-nolog": "sseguard with observe.request_log off (the configuration switch)",
    "sseguard-bare": "sseguard with every per-request observer off (harness/bare_gateway.py)",
    "sseguard-w2": "sseguard serve --workers 2",
    "relay-floor": "not sseguard: its repair core behind protocol callbacks (harness/relay_floor.py)",
    "litellm": f"LiteLLM proxy {LITELLM_VERSION}, /v1/messages, model_list entry {LITELLM_MODEL}",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BENCH) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class Process:
    """A running child: ``pid`` is the process whose tree's CPU and memory count."""

    name: str
    url: str  # base URL, no path
    proc: subprocess.Popen[bytes] | None
    workdir: Path
    logs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for path in self.logs:
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _spawn(
    cmd: list[str], workdir: Path, name: str, cpus: str | None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], list[Path]]:
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]
    out, err = workdir / f"{name}.stdout.log", workdir / f"{name}.stderr.log"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdout=fo,
            stderr=fe,
            stdin=subprocess.DEVNULL,
            env=env or bench_env(),
            start_new_session=True,  # its own process group: stop() ends the whole tree
        )
    return proc, [out, err]


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"not listening on port {port} after {timeout:.0f} s")


def start_upstream(workdir: Path, deltas: int, pace_ms: float, cpus: str | None) -> Process:
    port = free_port()
    cmd = [
        str(VENV_PY),
        "-m",
        "harness.upstream",
        "--port",
        str(port),
        "--deltas",
        str(deltas),
        "--pace-ms",
        str(pace_ms),
    ]
    proc, logs = _spawn(cmd, workdir, "upstream", cpus)
    p = Process("upstream", f"http://127.0.0.1:{port}", proc, workdir, logs)
    try:
        _wait_port(port, proc, 15)
    except RuntimeError as exc:
        p.stop()
        raise RuntimeError(f"upstream: {exc}\n{p.log_tail()}") from None
    return p


def _nginx_conf(workdir: Path, port: int, upstream_port: int) -> Path:
    conf = workdir / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            # A plain streaming reverse proxy, as its documentation recommends for SSE.
            user root root;
            worker_processes 1;
            worker_rlimit_nofile 16384;
            pid {workdir}/nginx.pid;
            error_log {workdir}/nginx-error.log warn;
            events {{ worker_connections 8192; }}
            http {{
                access_log {workdir}/nginx-access.log;
                client_body_temp_path {workdir}/tmp-body;
                proxy_temp_path {workdir}/tmp-proxy;
                fastcgi_temp_path {workdir}/tmp-fastcgi;
                uwsgi_temp_path {workdir}/tmp-uwsgi;
                scgi_temp_path {workdir}/tmp-scgi;
                upstream bench_upstream {{
                    server 127.0.0.1:{upstream_port};
                    keepalive 4096;
                }}
                server {{
                    listen 127.0.0.1:{port} backlog=4096;
                    location / {{
                        proxy_pass http://bench_upstream;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_buffering off;
                        proxy_read_timeout 300s;
                    }}
                }}
            }}
            """
        )
    )
    return conf


def _sseguard_config(workdir: Path, upstream: str) -> Path:
    path = workdir / "sseguard.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            # The --upstream shorthand's configuration, with the request log switched off.
            observe:
              request_log: ""
            deployments:
              - name: upstream
                kind: anthropic-compatible
                base_url: {upstream}
                passthrough_key: true
            """
        )
    )
    return path


def _litellm_config(workdir: Path, upstream: str) -> Path:
    path = workdir / "litellm.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            # The Claude Code setup LiteLLM documents: clients call the proxy's /v1/messages with
            # the model_name; the anthropic provider streams the upstream's bytes through.
            model_list:
              - model_name: claude-bench
                litellm_params:
                  model: {LITELLM_MODEL}
                  api_base: {upstream}
                  api_key: sk-bench
            litellm_settings:
              telemetry: false
            """
        )
    )
    return path


def start_target(
    name: str, upstream: Process, workdir: Path, cpus: str | None, log: Log
) -> Process:
    """Start ``name`` in front of ``upstream`` and wait until it accepts connections."""
    if name == "direct":
        return Process("direct", upstream.url, None, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd, env, timeout = target_command(name, upstream, workdir, port)
    proc, logs = _spawn(cmd, workdir, name, cpus, env)
    p = Process(name, f"http://127.0.0.1:{port}", proc, workdir, logs)
    try:
        _wait_port(port, proc, timeout)
    except RuntimeError as exc:
        p.stop()
        raise RuntimeError(f"{name}: {exc}\n{p.log_tail()}") from None
    return p


def target_command(
    name: str, upstream: Process, workdir: Path, port: int
) -> tuple[list[str], dict[str, str] | None, float]:
    """The command that serves target ``name`` on ``port``, its environment (None: the bench's)
    and how long it may take to listen."""
    upstream_port = int(upstream.url.rsplit(":", 1)[1])
    timeout = 30.0
    env = None
    if name == "nginx":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = _nginx_conf(workdir, port, upstream_port)
        cmd = [nginx, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"]
    elif name in ("sseguard", "sseguard-w2"):
        workers = "2" if name == "sseguard-w2" else "1"
        cmd = [str(SSEGUARD), "serve", "--upstream", upstream.url, "--port", str(port)]
        cmd += ["--workers", workers]
    elif name == "sseguard-nolog":
        conf = _sseguard_config(workdir, upstream.url)
        cmd = [str(SSEGUARD), "serve", "--config", str(conf), "--port", str(port)]
    elif name == "sseguard-bare":
        cmd = [str(VENV_PY), "-m", "harness.bare_gateway", "--upstream", upstream.url]
        cmd += ["--port", str(port)]
    elif name == "relay-floor":
        cmd = [str(VENV_PY), "-m", "harness.relay_floor", "--upstream", upstream.url]
        cmd += ["--port", str(port)]
    elif name == "litellm":
        conf = _litellm_config(workdir, upstream.url)
        cmd = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(conf)]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
        env = bench_env()
        # Never fetch the model price list from the internet at start-up.
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        env["LITELLM_LOG"] = "ERROR"
        timeout = 120.0
    else:
        raise ValueError(f"unknown target {name!r}; known: {', '.join(TARGETS)}")
    return cmd, env, timeout


def check_stream(url: str, timeout: float = 30.0, max_tokens: int = 100) -> tuple[float, int]:
    """One streaming request through ``url``; (seconds, events). Raises if the stream is not a
    complete Messages stream carrying the upstream's stamps. The bench upstream sends one delta
    per token up to 64, so ``max_tokens`` below that shortens the stream."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(
        {
            "model": "claude-bench",
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(
            "POST",
            "/v1/messages",
            body,
            {
                "content-type": "application/json",
                "x-api-key": "sk-bench",
                "anthropic-version": "2023-06-01",
            },
        )
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {raw[:300]!r}")
    if b"event: message_stop" not in raw or b"[t=" not in raw:
        raise RuntimeError(f"not a complete stamped stream: {raw[-300:]!r}")
    return time.monotonic() - t0, raw.count(b"\n\n")


def run_cmd(cmd: list[str], log: Log, env: dict[str, str] | None = None) -> None:
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=sys.stderr, stderr=sys.stderr, env=env)


def apt_install(package: str, log: Log) -> None:
    """Debian's ``package``, said on stderr: the harness installs what it measures with."""
    log(
        f"{package} is not installed: installing Debian's {package} package with apt-get (needs root)"
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run_cmd(["apt-get", "update", "-qq"], log, env)
    run_cmd(["apt-get", "install", "-y", "-qq", package], log, env)


def ensure_nginx(log: Log) -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if found:
        return found
    apt_install("nginx", log)
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    # Debian's package may start its own service on port 80; the benchmark runs its own nginx.
    subprocess.run(["service", "nginx", "stop"], capture_output=True, check=False)
    return found


def ensure_litellm(log: Log, version: str) -> str:
    py = LITELLM_VENV / "bin" / "python"
    stamp = LITELLM_VENV / ".bench-installed"
    want = f"litellm[proxy]=={version}"
    if stamp.exists() and stamp.read_text().strip() == want:
        return version
    log(f"installing {want} into {LITELLM_VENV} (first run; takes a minute or two)")
    if not py.exists():
        run_cmd([sys.executable, "-m", "venv", str(LITELLM_VENV)], log)
    run_cmd([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], log)
    run_cmd([str(py), "-m", "pip", "install", "--quiet", want], log)
    stamp.write_text(want + "\n")
    return version
