"""``ConfigError``: one readable line per problem, ``<source>: <path in the document>: <problem>``.

Built from pydantic's error records without their input values, so a secret never reaches a message.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` holds each ``path: problem`` line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def location(loc: tuple[int | str, ...]) -> str:
    """``("deployments", 1, "base_url")`` → ``deployments[1].base_url``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def from_validation(source: str, root: type[BaseModel], exc: ValidationError) -> ConfigError:
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            msg = _unknown_option(root, loc)
        elif err["type"] == "missing":
            msg = "required option is missing"
        where = location(loc)
        # Config-wide checks already name their own paths, one per line.
        problems.extend(f"{where}: {line}" if where else line for line in msg.split("\n"))
    return ConfigError(source, problems)


def _unknown_option(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    model = _model_at(root, loc[:-1])
    if model is None:
        return "unknown option"
    known = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
    return f"unknown option ({hint})"


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class whose mapping sits at ``loc``, following fields, list items and optionals."""
    current: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(current)
        if model is None:
            return None
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        current = field.annotation
    return _model_in(current)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, list, tuple):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
