"""Raw capture, opt-in per route: what the client sent, what went upstream, the upstream's bytes as
they arrived, and the bytes the client got — one folder per request, credentials removed.

What maintainers ask for in bug reports ("the raw SSE tail, please"). Collecting is an append to a
bounded buffer; writing and pruning happen off the event loop, when the request has ended.

Captures hold prompts and answers: each folder and file is created readable by its owner only.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sseguard.observe.store import PRIVATE_DIR, PRIVATE_FILE, make_private_dir
from sseguard.upstream.redact import MARK, redact

# Header names whose values are credentials, whoever sent them.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_HINTS = ("auth", "key", "token", "secret", "signature")


def redact_headers(headers: dict[str, str], secrets: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if low in SECRET_HEADERS or any(h in low for h in _HINTS):
            out[name] = MARK.decode()
        else:
            out[name] = redact(value.encode(), secrets).decode()
    return out


@dataclass(slots=True)
class UpstreamCapture:
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    raw: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class Capture:
    """One request's bytes; ``limit`` bounds each byte stream, and ``truncated`` says it hit it."""

    limit: int
    client_request: dict[str, Any] = field(default_factory=dict)
    upstream: list[UpstreamCapture] = field(default_factory=list)
    client_bytes: bytearray = field(default_factory=bytearray)
    secrets: tuple[str, ...] = ()
    truncated: bool = False

    def add_to(self, buf: bytearray, data: bytes) -> None:
        room = self.limit - len(buf)
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            self.truncated = True
            data = data[:room]
        buf += data


class CaptureStore:
    """Folders under ``root``, newest kept: at most ``max_count`` of them and ``max_bytes`` in all."""

    def __init__(self, root: str | Path, max_count: int, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_count = max_count
        self.max_bytes = max_bytes

    def save(self, request_id: str, capture: Capture) -> Path:
        # Names sort by time to the nanosecond: pruning removes the oldest, whatever the ids.
        now = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
        folder = self.root / f"{stamp}.{now % 10**9:09d}_{request_id}"
        make_private_dir(self.root)
        folder.mkdir(mode=PRIVATE_DIR)
        os.chmod(folder, PRIVATE_DIR)  # whatever the umask
        secrets = capture.secrets
        meta = {**capture.client_request, "truncated": capture.truncated}
        _write_json(folder / "client-request.json", meta, secrets)
        for n, up in enumerate(capture.upstream, start=1):
            _write_json(
                folder / f"upstream-{n}-request.json",
                {
                    "url": up.url,
                    "headers": redact_headers(up.headers, secrets),
                    "body": _body(up.body),
                    "status": up.status,
                    "response_headers": redact_headers(up.response_headers, secrets),
                },
                secrets,
            )
            _write(folder / f"upstream-{n}-response.sse", redact(bytes(up.raw), secrets))
        _write(folder / "client-response.sse", redact(bytes(capture.client_bytes), secrets))
        self.prune()
        return folder

    def prune(self) -> None:
        folders = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.name)
        sizes = {p: sum(f.stat().st_size for f in p.iterdir()) for p in folders}
        total = sum(sizes.values())
        while folders and (len(folders) > self.max_count or total > self.max_bytes):
            oldest = folders.pop(0)
            total -= sizes[oldest]
            shutil.rmtree(oldest, ignore_errors=True)


def _body(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def _write_json(path: Path, value: Any, secrets: tuple[str, ...]) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=2).encode()
    _write(path, redact(text, secrets))


def _write(path: Path, data: bytes) -> None:
    """A new file readable by its owner only, from its creation on (the umask cannot widen it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    with open(fd, "wb") as out:
        os.fchmod(fd, PRIVATE_FILE)
        out.write(data)
