"""Gateway keys: reading the one a client presents, making new ones, finding whose it is.

A key is compared by its SHA-256 digest only, and only its configured name is ever shown. Keys
in the config file are fixed; keys created at runtime (admin API, ``sseguard keys create``) live
in the state store, and are looked up there on every request, so one revoked on any replica is
refused by all at once.
"""

from __future__ import annotations

import secrets

from sseguard.config.teams import KeySpec, key_digest

PREFIX = "sg-"
# Runtime keys this process saw last, for ``on_unavailable: open`` while the store is down.
REMEMBERED = 1024


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe, with a prefix that says whose key it is (secret
    scanners and people can tell it from a provider's)."""
    return PREFIX + secrets.token_urlsafe(32)


def presented(headers: dict[str, str]) -> str | None:
    """The key a client sent: ``x-api-key``, else ``Authorization: Bearer``, as the Anthropic and
    OpenAI SDKs send theirs."""
    key = headers.get("x-api-key")
    if key:
        return key.strip() or None
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


class KeyRing:
    """The config's keys by digest, and the runtime keys last seen (see ``REMEMBERED``)."""

    def __init__(self, keys: tuple[KeySpec, ...]) -> None:
        self.fixed = {k.key_sha256: k for k in keys}
        self.names = frozenset(k.name for k in keys)
        self._seen: dict[str, KeySpec] = {}

    def remember(self, spec: KeySpec) -> None:
        if len(self._seen) >= REMEMBERED:
            self._seen.pop(next(iter(self._seen)))
        self._seen[spec.key_sha256] = spec

    def forget(self, digest: str) -> None:
        self._seen.pop(digest, None)

    def forget_name(self, name: str) -> None:
        for digest, spec in list(self._seen.items()):
            if spec.name == name:
                del self._seen[digest]

    def remembered(self, digest: str) -> KeySpec | None:
        return self._seen.get(digest)


__all__ = ["PREFIX", "KeyRing", "key_digest", "new_key", "presented"]
