"""The admin API: ``/admin/keys`` lists, creates and revokes gateway keys, behind the admin key.

Keys created here live in the state store (with Redis: every replica knows them at once); keys in
the config file are listed but read-only. A new key is shown once, in the answer that created
it, and kept only as its digest. Without ``admin`` in the config the API does not exist (404),
and a wrong or missing admin key gets 401: nothing here says which keys exist to anyone else.

- ``GET /admin/keys``: ``{"keys": [{name, source, models, rpm, tpm, max_streams, budget_usd,
  spent_usd}]}``, config keys first;
- ``POST /admin/keys`` ``{"name", "models"?, "rpm"?, "tpm"?, "max_streams"?, "budget_usd"?}``:
  201 ``{"key": "sg-...", "key_sha256", ...the key's settings}``; 409 when the name is taken;
- ``DELETE /admin/keys/NAME``: 200 ``{"revoked": NAME}``; 404 unknown, 409 a config key.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from pydantic import ValidationError

from sseguard.config import Config
from sseguard.config.teams import KeySpec, key_digest
from sseguard.errors import GatewayError
from sseguard.teams.keys import KeyRing, new_key, presented
from sseguard.teams.prices import dollars
from sseguard.teams.state import StateStore, Unavailable

PATH = "/admin/keys"
SETTINGS = ("models", "rpm", "tpm", "max_streams", "budget_usd")


def new_spec(name: str, settings: dict[str, Any]) -> tuple[str, KeySpec]:
    """A new key and its spec, checked as the config checks its keys (400 when invalid)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise GatewayError(400, f"unknown setting(s) {', '.join(unknown)}; known: {SETTINGS}")
    key = new_key()
    try:
        spec = KeySpec.model_validate({"name": name, "key_sha256": key_digest(key), **settings})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'key'}: {e['msg']}" for e in exc.errors()
        )
        raise GatewayError(400, f"invalid key settings: {problems}") from None
    return key, spec


async def listing(config: Config, store: StateStore) -> list[dict[str, Any]]:
    """Every key with where it lives and what it spent (``Unavailable`` propagates)."""
    runtime = await store.runtime_keys()
    everything = [(k, "config") for k in config.keys] + [(k, "runtime") for k in runtime]
    spent = await store.spent([k.name for k, _ in everything])
    return [
        {**k.public(), "source": source, "spent_usd": dollars(spent.get(k.name, 0))}
        for k, source in everything
    ]


async def create(config: Config, store: StateStore, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str):
        raise GatewayError(400, "name: a key name (string) is required")
    if name in {k.name for k in config.keys}:
        raise GatewayError(
            409, f"a key named {name!r} is in the config file", "invalid_request_error"
        )
    if any(s in body and body[s] is not None for s in ("budget_usd",)) and not config.prices:
        raise GatewayError(400, "budget_usd: the gateway has no price table (prices)")
    key, spec = new_spec(name, {k: v for k, v in body.items() if k != "name"})
    if not await store.add_key(spec):
        raise GatewayError(409, f"a key named {name!r} exists", "invalid_request_error")
    return {"key": key, "key_sha256": spec.key_sha256, **spec.public()}


async def revoke(config: Config, store: StateStore, ring: KeyRing | None, name: str) -> None:
    if name in {k.name for k in config.keys}:
        raise GatewayError(
            409,
            f"key {name!r} is in the config file: remove it there and restart",
            "invalid_request_error",
        )
    if ring is not None:
        ring.forget_name(name)
    if not await store.revoke_key(name):
        raise GatewayError(404, f"no key created at runtime is named {name!r}", "not_found_error")


class AdminAPI:
    def __init__(self, config: Config, store: StateStore, ring: KeyRing | None) -> None:
        assert config.admin is not None
        self._digest = config.admin.key_sha256
        self._config = config
        self._store = store
        self._ring = ring

    def check(self, headers: dict[str, str]) -> None:
        key = presented(headers)
        if key is None or not hmac.compare_digest(key_digest(key), self._digest):
            raise GatewayError(401, "the admin API needs the admin key", "authentication_error")

    async def handle(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[int, bytes]:
        """(status, JSON body) for an admin request; errors raise ``GatewayError``."""
        self.check(headers)
        try:
            if path == PATH and method == "GET":
                keys = await listing(self._config, self._store)
                return 200, orjson.dumps({"keys": keys})
            if path == PATH and method == "POST":
                created = await create(self._config, self._store, body or {})
                return 201, orjson.dumps(created)
            if path.startswith(PATH + "/") and method == "DELETE":
                name = path[len(PATH) + 1 :]
                await revoke(self._config, self._store, self._ring, name)
                return 200, orjson.dumps({"revoked": name})
        except Unavailable as exc:
            raise GatewayError(503, f"the shared state is unreachable: {exc}") from None
        allowed = "GET or POST" if path == PATH else "DELETE"
        raise GatewayError(405, f"use {allowed} for this endpoint, not {method}")
