"""The simulator's obedient agent (scenario ``agent``): it runs the command a user quotes in backticks
with the shell tool the client offers, then reports what the tool returned.

Pure. It lets a test drive a real agent client (Claude Code, an SDK tool loop) through a gateway
policy that holds tool calls: the command in the prompt is the tool call the policy sees.
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

LEAD_TEXT = "I'll run it."
DONE_PREFIX = "Done: "
RESULT_CHARS = 200  # how much of a tool's output the follow-up repeats
DESCRIPTION = "Run the command the user asked for"
SHELL_NAMES = ("Bash", "bash")  # preferred in this order, before any tool with a command property
# One backticked span on one line; code fences (```) never match, as their backticks touch.
_COMMAND = re.compile(r"`([^`\n]+)`")
# Claude Code puts its own notes (which quote tool names in backticks) in the user turn.
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


def command_in(text: str) -> str | None:
    """The first backticked command of a user's words, outside a client's system reminders."""
    found = _COMMAND.search(_REMINDER.sub("", text))
    command = found.group(1).strip() if found else ""
    return command or None


def shell_tool(tools: tuple[JSON, ...]) -> JSON:
    """The tool that runs commands: ``Bash``, else ``bash``, else the first with a ``command``
    string property, else the first tool offered (``tools`` is not empty)."""
    for name in SHELL_NAMES:
        for tool in tools:
            if tool.get("name") == name:
                return tool
    return next((t for t in tools if _has_command(t)), tools[0])


def tool_input(tool: JSON, command: str) -> JSON:
    """``command`` and, where the schema has the property, a short ``description``."""
    arguments: JSON = {"command": command}
    if "description" in _properties(tool):
        arguments["description"] = DESCRIPTION
    return arguments


def report(result: str) -> str:
    """The follow-up to a tool result: its first characters, so a test sees the tool really ran
    (without the notes Claude Code appends to a result, which are not the tool's output)."""
    return DONE_PREFIX + _REMINDER.sub("", result).strip()[:RESULT_CHARS]


def _properties(tool: JSON) -> JSON:
    schema = tool.get("input_schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _has_command(tool: JSON) -> bool:
    command = _properties(tool).get("command")
    return isinstance(command, dict) and command.get("type") == "string"
