"""The value types every part of the configuration is written in, and its model base: strict
numbers and flags, names and globs, and models that refuse unknown keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Numbers only, no "30s" or "+5": lenient parsing hides typos.
Seconds = Annotated[float, Field(strict=True, gt=0)]
Bytes = Annotated[int, Field(strict=True, gt=0)]
Flag = Annotated[bool, Field(strict=True)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)]
Glob = Annotated[str, Field(min_length=1)]


class Model(BaseModel):
    """A section of the configuration: a misspelt key is an error, not a silently unused one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
