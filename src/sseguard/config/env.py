"""``${NAME}`` interpolation from the environment, for the few config values that may hold secrets.

Reads ``os.environ`` only. Errors name the variable and never echo a value.
"""

from __future__ import annotations

import os
import re

# ``$${`` stays a literal ``${`` so a value that really contains one can be written.
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_var(name: str) -> str:
    """The value of ``name``; a missing or empty variable is an error (an empty key never works)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"environment variable {name} is not set")
    if not value:
        raise ValueError(f"environment variable {name} is empty")
    return value


def interpolate(template: str) -> str:
    """Replace each ``${NAME}`` in ``template`` with ``env_var(NAME)``."""

    def substitute(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$${":
            return "${"
        if m.group(1) is None:
            raise ValueError("unterminated '${' (write '$${' for a literal '${')")
        return env_var(m.group(1))

    return _TOKEN.sub(substitute, template)


def has_reference(template: str) -> bool:
    """Whether ``template`` takes anything from the environment (its value is then a secret)."""
    return any(m.group(1) is not None for m in _TOKEN.finditer(template))
