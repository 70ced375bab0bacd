"""What the deployment files' tests share: the repository's paths, a minimal Dockerfile reader, and
asking a real gateway app (in process, no socket) what it answers on a path."""

from __future__ import annotations

import asyncio
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sseguard.config import Config
from sseguard.gateway.app import Gateway

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


@dataclass
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base, its name and its instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]


@dataclass
class Dockerfile:
    args: dict[str, str]  # ARGs declared before the first FROM, with their defaults
    stages: list[Stage]


def read_dockerfile(path: Path) -> Dockerfile:
    """Instructions with their continuation lines joined and comments dropped: enough to check
    what the image is made of without Docker, not a full parser (no heredocs, no escape
    directive), which the file does not use."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines, also between continuation lines
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for text in logical:
        keyword, _, rest = text.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(_expand(words[0], args), name))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            key, _, default = rest.partition("=")
            args[key] = default.strip('"')
        else:
            stages[-1].instructions.append((keyword, rest))
    return Dockerfile(args, stages)


def _expand(word: str, args: dict[str, str]) -> str:
    for key, value in args.items():
        word = word.replace("${" + key + "}", value).replace("$" + key, value)
    return word


def exec_form(args: str) -> list[str]:
    """An instruction's JSON (exec) form; the shell form would put a shell in front as PID 1,
    which does not pass SIGTERM on to sseguard."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def shell_words(args: str) -> list[str]:
    return shlex.split(args)


def gateway_status(path: str, method: str = "GET") -> int:
    """The status a gateway answers on ``path``, asked through its ASGI interface in process."""
    app = Gateway(Config.simulator("http://127.0.0.1:9"))  # never called: no model request
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    async def ask() -> None:
        app.ready = True  # as after the lifespan's startup
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8080")],
        }
        await app(scope, receive, send)
        await app.client.close()

    asyncio.run(ask())
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    return int(starts[0]["status"])
