"""``load_config``: read one YAML or TOML file and validate it into a ``Config``.

The only file this package reads. Parse errors give a position, never the text at it (it may be a key).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sseguard.config.errors import ConfigError, from_validation
from sseguard.config.schema import Config


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; in a config that silently drops a setting."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> Config:
    """Parse ``path`` by its suffix (``.yaml``, ``.yml``, ``.toml``) and validate it."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise ConfigError(source, ["unknown file type: use .yaml, .yml or .toml"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [f"cannot read: {exc.__class__.__name__}"]) from None
    document = _parse_toml(source, text) if suffix == ".toml" else _parse_yaml(source, text)
    if not isinstance(document, dict):
        raise ConfigError(source, ["the document must be a mapping of options"])
    try:
        return Config.model_validate(document)
    except ValidationError as exc:
        raise from_validation(source, Config, exc) from None


def _parse_toml(source: str, text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None


def _parse_yaml(source: str, text: str) -> Any:
    try:
        return yaml.load(
            text, Loader=_UniqueKeyLoader
        )  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(source, [f"not valid YAML: {where}{exc.problem}"]) from None
    except yaml.YAMLError:
        raise ConfigError(source, ["not valid YAML"]) from None
