"""The shared state in Redis: every replica of a gateway pointed at one Redis keeps one set of
limits, budgets and runtime keys, and learns the others' breaker transitions and prefill refusals.

Each check-and-count is one Lua script (``admit``, ``settle``): Redis runs a script whole, so two
replicas admitting at once cannot both take the last slot, which a read then a write would allow.
Times come from Redis's own clock (``TIME``), so replicas whose clocks differ still share one
window. The rules are those of ``limits.Windows``, which documents them.

Keys, all under ``state.prefix`` (default ``sseguard:``); a gateway key's own state shares one
hash tag, so the scripts also run on a Redis Cluster:

- ``key:{NAME}:rpm`` sorted set, request id by start time (expires a minute after the last);
- ``key:{NAME}:tpm`` sorted set, ``request-id:tokens`` by end time;
- ``key:{NAME}:streams`` sorted set, request id by the expiry of its lease;
- ``key:{NAME}:spent`` integer, micro-dollars (never expires: a budget is for good);
- ``{keys}`` hash, digest -> runtime key (JSON), and ``{keys}:names`` hash, name -> digest;
- ``resilience`` hash of the last fact per deployment, and the ``resilience`` channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sseguard.config.teams import KeySpec
from sseguard.teams.limits import WINDOW, Quota, Refusal, retry_seconds
from sseguard.teams.state import Listener, Unavailable

LOGGER = logging.getLogger("sseguard.state")
T = TypeVar("T")
# After a failed call Redis is not asked again for this long: a dead Redis costs requests one
# failed attempt a second, not one each.
RETRY_INTERVAL = 1.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
CLOSE_TIMEOUT = 1.0  # seconds for a subscription to close before it is let go
POLL = 1.0  # seconds a subscription's read waits before looking whether it is to stop

# KEYS: rpm, tpm, streams, spent. ARGV: rpm, tpm, max_streams, budget (-1: none), request id,
# lease seconds. Returns {"ok"} or {reason, seconds until it frees, spent}.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, tpm, streams = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
if budget >= 0 and spent >= budget then
  return {'budget', '0', tostring(spent)}
end
if streams > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= streams then
    return {'streams', '1', tostring(spent)}
  end
end
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - WINDOW)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local frees = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    return {'rpm', tostring(tonumber(frees[2]) + WINDOW - now), tostring(spent)}
  end
end
if tpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - WINDOW)
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  local total = 0
  for i = 1, #entries, 2 do
    total = total + tonumber(string.match(entries[i], ':(%d+)$'))
  end
  if total >= tpm then
    for i = 1, #entries, 2 do
      total = total - tonumber(string.match(entries[i], ':(%d+)$'))
      if total < tpm then
        return {'tpm', tostring(tonumber(entries[i + 1]) + WINDOW - now), tostring(spent)}
      end
    end
  end
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('EXPIRE', KEYS[1], WINDOW + 1)
end
if streams > 0 then
  local lease = tonumber(ARGV[6])
  redis.call('ZADD', KEYS[3], now + lease, ARGV[5])
  redis.call('EXPIRE', KEYS[3], math.ceil(lease) + 1)
end
return {'ok'}
""".replace("WINDOW", str(int(WINDOW)))

# KEYS: tpm, streams, spent. ARGV: request id, tokens, cost in micro-dollars.
SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREM', KEYS[2], ARGV[1])
local tokens = tonumber(ARGV[2])
if tokens > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. ARGV[2])
  redis.call('EXPIRE', KEYS[1], WINDOW + 1)
end
local cost = tonumber(ARGV[3])
if cost > 0 then
  redis.call('INCRBY', KEYS[3], cost)
end
return 1
""".replace("WINDOW", str(int(WINDOW)))

# KEYS: keys, names. ARGV: name, digest, record.
ADD_KEY = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
"""

# KEYS: keys, names. ARGV: name.
REVOKE_KEY = """
local digest = redis.call('HGET', KEYS[2], ARGV[1])
if not digest then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], digest)
return 1
"""


class RedisState:
    """The state in one Redis; every call bounded by ``timeout`` seconds."""

    def __init__(self, url: str, *, prefix: str = "sseguard:", timeout: float = 0.5) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
        )
        # Subscriptions block on the socket until a fact arrives: no read timeout there. A Redis
        # that dies closes the socket, which ends the wait.
        self._listening = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_keepalive=True
        )
        self._timeout = timeout
        self._prefix = prefix
        self._keys = f"{prefix}{{keys}}"
        self._names = f"{prefix}{{keys}}:names"
        self._facts = f"{prefix}resilience"
        self._admit = self._redis.register_script(ADMIT)
        self._settle = self._redis.register_script(SETTLE)
        self._add_key = self._redis.register_script(ADD_KEY)
        self._revoke_key = self._redis.register_script(REVOKE_KEY)
        self._down_until = 0.0
        self._closed = False
        # Facts this replica published come back on the channel: they carry its id, to be skipped.
        self.origin = os.urandom(8).hex()

    def _key(self, name: str, what: str) -> str:
        return f"{self._prefix}key:{{{name}}}:{what}"

    async def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        if time.monotonic() < self._down_until:
            raise Unavailable("Redis was unreachable less than a second ago")
        try:
            return await asyncio.wait_for(work(), self._timeout * 2)
        except UNREACHABLE as exc:
            self._down_until = time.monotonic() + RETRY_INTERVAL
            raise Unavailable(f"Redis is unreachable ({type(exc).__name__})") from None

    async def ping(self) -> None:
        await self._call(self._redis.ping)

    async def admit(self, name: str, quota: Quota, request_id: str, lease: float) -> Refusal | None:
        keys = [self._key(name, w) for w in ("rpm", "tpm", "streams", "spent")]
        args: list[str | int | float] = [
            quota.rpm or 0,
            quota.tpm or 0,
            quota.max_streams or 0,
            -1 if quota.budget_micros is None else quota.budget_micros,
            request_id,
            lease,
        ]
        answer = await self._call(lambda: self._admit(keys=keys, args=args))
        if answer[0] == b"ok":
            return None
        reason, seconds, spent = (part.decode() for part in answer)
        retry = 0 if reason == "budget" else retry_seconds(float(seconds))
        return Refusal(reason, retry, int(float(spent)))

    async def settle(self, name: str, request_id: str, tokens: int, cost_micros: int) -> None:
        keys = [self._key(name, w) for w in ("tpm", "streams", "spent")]
        await self._call(lambda: self._settle(keys=keys, args=[request_id, tokens, cost_micros]))

    async def spent(self, names: list[str]) -> dict[str, int]:
        if not names:
            return {}
        values = await self._call(lambda: self._redis.mget([self._key(n, "spent") for n in names]))
        return {n: int(v or 0) for n, v in zip(names, values, strict=True)}

    async def find_key(self, digest: str) -> KeySpec | None:
        raw = await self._call(lambda: self._redis.hget(self._keys, digest))
        return None if raw is None else KeySpec.model_validate_json(raw)

    async def add_key(self, spec: KeySpec) -> bool:
        record = orjson.dumps(spec.model_dump(mode="json"))
        keys = [self._keys, self._names]
        added = await self._call(
            lambda: self._add_key(keys=keys, args=[spec.name, spec.key_sha256, record])
        )
        return bool(added)

    async def revoke_key(self, name: str) -> bool:
        keys = [self._keys, self._names]
        return bool(await self._call(lambda: self._revoke_key(keys=keys, args=[name])))

    async def runtime_keys(self) -> list[KeySpec]:
        found = await self._call(lambda: self._redis.hvals(self._keys))
        return sorted((KeySpec.model_validate_json(raw) for raw in found), key=lambda k: k.name)

    async def publish(self, fact: dict[str, Any]) -> None:
        fact = {**fact, "origin": self.origin}
        data = orjson.dumps(fact)
        field = f"{fact['kind']}:{fact['deployment']}"

        async def write() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._facts, field, data)
                pipe.publish(self._facts, data)
                await pipe.execute()

        await self._call(write)

    async def listen(self, listener: Listener) -> None:
        """Subscribe, then read what is kept (so nothing published in between is missed), then
        follow the channel; after a lost connection, the same again once Redis answers."""
        task = asyncio.current_task()
        while not self._closed:
            pubsub = self._listening.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._facts)
                for raw in (await self._listening.hgetall(self._facts)).values():
                    self._deliver(raw, listener)
                while True:
                    # A read that waits at most POLL seconds, then a look at whether this task
                    # is asked to stop: redis-py may swallow a cancellation that lands inside
                    # a read (it reconnects and reads on), so it is not relied on alone.
                    if task is not None and task.cancelling():
                        raise asyncio.CancelledError
                    if self._closed:
                        return
                    message = await pubsub.get_message(timeout=POLL)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"], listener)
            except UNREACHABLE:
                # redis-py turns a cancellation that lands inside a read into a connection
                # error: a task asked to stop (or a closed store) stops, never reconnects.
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                if self._closed:
                    return
                await asyncio.sleep(RETRY_INTERVAL)  # a retry interval, not a synchronisation
            finally:
                with contextlib.suppress(TimeoutError, *UNREACHABLE):
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await pubsub.aclose()

    def _deliver(self, raw: bytes | str, listener: Listener) -> None:
        try:
            fact = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if isinstance(fact, dict) and fact.get("origin") != self.origin:
            listener(fact)

    async def close(self) -> None:
        self._closed = True
        with contextlib.suppress(*UNREACHABLE):
            await self._redis.aclose()
            await self._listening.aclose()
