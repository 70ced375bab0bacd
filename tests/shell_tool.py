"""The shell tool as agents offer it (Claude Code calls it ``Bash``), in Messages form: what the
simulator's obedient agent (``+agent``) calls with the command a user quotes."""

from __future__ import annotations

from typing import Any

BASH: dict[str, Any] = {
    "name": "Bash",
    "description": "Run a shell command.",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
        "required": ["command"],
    },
}
