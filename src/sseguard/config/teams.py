"""The configuration of teams: gateway keys with their limits, the price table budgets are kept
in, the admin key, and where the state replicas share lives (docs/configuration.md).

Keys are kept as SHA-256 digests only: a key given in clear (``key``, ``key_env``) is hashed while
the file is read and the clear value is not kept, so no dump, repr or log of the configuration
can hold it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from sseguard.config.env import env_var, interpolate
from sseguard.config.types import Glob, Model, Name, Seconds

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
Count = Annotated[int, Field(strict=True, ge=1)]
Dollars = Annotated[float, Field(ge=0)]
PerMillion = Annotated[float, Field(ge=0)]


def key_digest(key: str) -> str:
    """The form every gateway key is stored and compared in."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _hashed(data: Any, what: str) -> Any:
    """Raw config with exactly one of ``key``, ``key_env``, ``key_sha256``: the first two are
    replaced by the digest of the key they give, so the clear key is gone once validated."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    given = [k for k in ("key", "key_env", "key_sha256") if data.get(k) is not None]
    if len(given) != 1:
        raise ValueError(f"{what}: give one of key, key_env, key_sha256 (got {given or 'none'})")
    source = given[0]
    if source == "key_sha256":
        digest = data["key_sha256"]
        if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest.lower()):
            raise ValueError(f"{what}: key_sha256 must be 64 hexadecimal digits")
        data["key_sha256"] = digest.lower()
        return data
    raw = data.pop(source)
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    if not isinstance(raw, str):
        raise ValueError(f"{what}: {source} must be a string")
    try:
        key = env_var(raw) if source == "key_env" else interpolate(raw)
    except ValueError as exc:
        raise ValueError(f"{what}: {source}: {exc}") from None
    if not key.strip():
        raise ValueError(f"{what}: the key is empty")
    data["key_sha256"] = key_digest(key)
    return data


class KeySpec(Model):
    """One gateway key: who (``name``, the only thing logs and metrics ever show), which client
    model names (globs), and its limits; None is no limit."""

    name: Name
    key_sha256: str
    models: tuple[Glob, ...] = ("*",)
    rpm: Count | None = None  # requests per minute, sliding window
    tpm: Count | None = None  # tokens per minute (input + cache writes + output), sliding window
    max_streams: Count | None = None  # requests in flight at once
    budget_usd: Dollars | None = None  # total spend, by the price table

    @model_validator(mode="before")
    @classmethod
    def _key(cls, data: Any) -> Any:
        name = data.get("name") if isinstance(data, dict) else None
        return _hashed(data, f"key {name!r}" if name else "key")

    @field_validator("models", mode="before")
    @classmethod
    def _one_glob(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def allows(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, glob) for glob in self.models)

    def public(self) -> dict[str, Any]:
        """What the admin API and ``sseguard keys list`` show: everything but the digest."""
        return self.model_dump(mode="json", exclude={"key_sha256"})


class Price(Model):
    """US dollars per million tokens. Cache tokens default to Anthropic's multipliers of the
    input price: writes (5-minute cache) 1.25×, reads 0.1×."""

    input: PerMillion
    output: PerMillion
    cache_write: PerMillion | None = None
    cache_read: PerMillion | None = None

    @model_validator(mode="after")
    def _cache_defaults(self) -> Self:
        if self.cache_write is None:
            object.__setattr__(self, "cache_write", self.input * 1.25)
        if self.cache_read is None:
            object.__setattr__(self, "cache_read", self.input * 0.1)
        return self


class Admin(Model):
    """The key of the admin API (``/admin/keys``); without this section that API answers 404."""

    key_sha256: str

    @model_validator(mode="before")
    @classmethod
    def _key(cls, data: Any) -> Any:
        return _hashed(data, "admin")


class State(Model):
    """Where limits, budgets, runtime keys, breakers and learned continuations live: this process
    (no ``redis_url``) or a Redis every replica shares."""

    # SecretStr: the URL may carry a password (redis://:PASSWORD@host); ${ENV} is resolved.
    redis_url: SecretStr | None = None
    # Redis unreachable: "open" serves (limits and budgets not kept, a metric counts each request),
    # "closed" answers 503 until it is back.
    on_unavailable: Literal["open", "closed"] = "open"
    # Every Redis call's bound; beyond it Redis counts as unreachable for this request.
    timeout: Seconds = 0.5
    # Prefix of every Redis key and channel: gateways of different teams may share one Redis.
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9:._-]*$", max_length=64)] = "sseguard:"

    @field_validator("redis_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        if isinstance(value, str):
            url = interpolate(value)
            if not url:
                return None
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("must be a redis://, rediss:// or unix:// URL")
            return SecretStr(url)
        return value


Prices = dict[Glob, Price]


def price_for(prices: Prices, model: str) -> Price | None:
    """The first price whose glob matches the client's model name, in the table's order."""
    for glob, price in prices.items():
        if fnmatch.fnmatchcase(model, glob):
            return price
    return None
