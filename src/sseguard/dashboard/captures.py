"""One request's raw capture (routes with ``capture = true``) for the dashboard, with the replay
of each upstream response: what came in, what the repair layer sent out for it, and why.

Captures are folders named ``<time>_<request id>`` (observe/capture.py). Everything read is
bounded: each file's first SHOWN_BYTES are shown, the first REPLAY_BYTES of each upstream
response replayed, at most REPLAY_STEPS steps returned. Blocking file reads: call off the loop.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sseguard.replay import replay

REQUEST_ID = re.compile(r"sg_[0-9a-f]{20}")
SHOWN_BYTES = 64 * 1024
REPLAY_BYTES = 1024 * 1024
REPLAY_STEPS = 400


def find_capture(root: Path, request_id: str) -> Path | None:
    """The capture folder of ``request_id`` under ``root``, if one was kept."""
    if not REQUEST_ID.fullmatch(request_id) or not root.is_dir():
        return None
    return next((p for p in root.glob(f"*_{request_id}") if p.is_dir()), None)


def read_capture(folder: Path) -> dict[str, Any]:
    """The capture's files, each shown up to SHOWN_BYTES, and each upstream response replayed."""
    upstream = []
    for n in range(1, 100):
        response = folder / f"upstream-{n}-response.sse"
        if not response.is_file():
            break
        raw = _head(response, REPLAY_BYTES)
        upstream.append(
            {
                "attempt": n,
                "request": _json(folder / f"upstream-{n}-request.json"),
                "response": _text(response),
                "replay": _replay(raw, response.stat().st_size > REPLAY_BYTES),
            }
        )
    return {
        "folder": folder.name,
        "client_request": _json(folder / "client-request.json"),
        "upstream": upstream,
        "client_response": _text(folder / "client-response.sse"),
    }


def _replay(raw: bytes, cut: bool) -> dict[str, Any]:
    result = replay(raw)
    steps = [
        {
            "in": None
            if step.incoming is None
            else {"event": step.incoming.event, "data": _short(step.incoming.data)},
            "out": [{"event": e.type, "data": _short(e.data)} for e in step.outgoing],
            "anomalies": step.anomalies,
            "details": step.details,
        }
        for step in result.steps[:REPLAY_STEPS]
    ]
    return {
        "verdict": result.verdict(),
        "anomalies": result.repairer.anomalies.counts(),
        "steps": steps,
        "more_steps": max(0, len(result.steps) - REPLAY_STEPS),
        "ending": [{"event": e.type, "data": _short(e.data)} for e in result.ending],
        "cut": cut,
    }


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _text(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    size = path.stat().st_size
    return {"text": _head(path, SHOWN_BYTES).decode("utf-8", "replace"), "bytes": size}


def _json(path: Path) -> Any:
    shown = _text(path)
    if shown is None or shown["bytes"] > SHOWN_BYTES:
        return shown
    try:
        return json.loads(shown["text"])
    except ValueError:
        return shown


def _short(text: str, width: int = 2000) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
