"""Raw capture through a real gateway: what each side sent, byte for byte, keys removed, and
``sseguard replay`` on the capture folder shows the repair."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import anthropic

from processes import gateway_config, running, simulator
from sseguard.observe.capture import Capture, CaptureStore, UpstreamCapture
from sseguard.protocol.events import Event
from sseguard.protocol.grammar import violations
from sseguard.sse import SSEDecoder

PROVIDER_KEY = "sk-provider-capture-5b1e9c"
CLIENT_KEY = "sk-client-capture-77aa01"


def test_capture_keeps_both_directions_without_keys_and_replays(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    with simulator() as sim_url:
        config = gateway_config(tmp_path, sim_url)
        text = config.read_text()
        text = text.replace("passthrough_key = true", 'api_key_env = "SGT_CAPTURE_KEY"')
        text = text.replace('deployments = ["sim"]', 'deployments = ["sim"]\ncapture = true')
        text = text.replace(
            'request_log = ""',
            f'request_log = ""\ncapture_dir = "{captures}"\ncapture_max_count = 2',
        )
        config.write_text(text)
        env = {"SGT_CAPTURE_KEY": PROVIDER_KEY}
        with running(
            "serve", "--config", str(config), env=env, banner=b"sseguard listening on"
        ) as gw:
            client = anthropic.Anthropic(
                base_url=gw.url, api_key=CLIENT_KEY, max_retries=0, timeout=30
            )
            for name in ("clean", "clean", "glued_text"):  # three requests, two folders kept
                with client.messages.stream(
                    model=f"claude-sonnet-4-5+{name}",
                    max_tokens=256,
                    messages=[{"role": "user", "content": f"capture {name}"}],
                ) as stream:
                    stream.get_final_message()
    folders = sorted(p for p in captures.iterdir() if p.is_dir())
    assert len(folders) == 2  # retention by count
    assert _modes(captures) == {captures: 0o700} | {p: 0o700 for p in folders} | {
        f: 0o600 for p in folders for f in p.iterdir()
    }  # prompts: the operator's only
    glued = next(p for p in folders if "glued_text" in (p / "client-request.json").read_text())
    files = {p.name for p in glued.iterdir()}
    assert files == {
        "client-request.json",
        "upstream-1-request.json",
        "upstream-1-response.sse",
        "client-response.sse",
    }
    for path in glued.iterdir():
        content = path.read_bytes()
        assert PROVIDER_KEY.encode() not in content and CLIENT_KEY.encode() not in content, path
    upstream = json.loads((glued / "upstream-1-request.json").read_text())
    assert upstream["headers"]["x-api-key"] == "[REDACTED]" and upstream["status"] == 200
    assert upstream["body"]["stream"] is True
    raw_up = (glued / "upstream-1-response.sse").read_bytes()
    assert b"}    event: content_block_delta" in raw_up  # the glued bytes, as they arrived (F02)
    dec = SSEDecoder()
    sent = [
        Event(e.event or "", e.data, json.loads(e.data))
        for e in dec.feed((glued / "client-response.sse").read_bytes()) + dec.close()
    ]
    assert sent and not violations(sent)
    res = subprocess.run(
        [sys.executable, "-m", "sseguard", "replay", str(glued)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "== upstream attempt 1" in res.stdout and "F02" in res.stdout


def _modes(root: Path) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in (root, *root.rglob("*"))}


def test_captures_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    """A permissive umask (0) made them world-readable; the folders and files are now made
    readable by their owner only as they are created."""
    root = tmp_path / "state" / "captures"
    capture = Capture(limit=1024, client_request={"path": "/v1/messages"})
    capture.upstream.append(UpstreamCapture("http://127.0.0.1:9", {}, b"{}", raw=bytearray(b"x")))
    capture.client_bytes += b"event: message_stop\ndata: {}\n\n"
    old = os.umask(0)
    try:
        folder = CaptureStore(root, max_count=5, max_bytes=10**6).save("sg_private", capture)
    finally:
        os.umask(old)
    modes = _modes(root)
    assert modes.pop(root) == 0o700 and modes.pop(folder) == 0o700
    assert modes == {f: 0o600 for f in folder.iterdir()} and len(modes) == 4
