"""The token store in Redis, shared by several adapter instances behind one address.

What is kept: each issued token's claims and times under its id (never the token), an index
of issue times for listing, and one entry per revocation that lives exactly as long as its
token would have (EXAT), so Redis holds no dead entries. A revocation is written and
announced on REVOCATION_CHANNEL by one script, atomically; every instance subscribes.

Durability is Redis's: with `appendonly yes` and `appendfsync always` a write is on disk
before Redis answers, and the adapter answers only after Redis did. Every call has a
timeout; a Redis that does not answer in time is StoreUnavailable, never a hang.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError

from adapter_core.store import record_filter
from adapter_core.store.base import (
    IssuedToken,
    StoreFull,
    StoreUnavailable,
    TokenQuery,
    TokenRecord,
)
from adapter_core.tokens.claims import TokenClaims

STORE_ENV_VAR = "TV_ADAPTER_STORE"
PASSWORD_ENV_VAR = "TV_ADAPTER_REDIS_PASSWORD"  # noqa: S105 (a variable name)
PREFIX = "tv-adapter:"
TOKEN_KEY = PREFIX + "token:"
REVOKED_KEY = PREFIX + "revoked:"
ISSUED_INDEX = PREFIX + "issued"
REVOKED_INDEX = PREFIX + "revocations"
REVOCATION_CHANNEL = PREFIX + "revocations"
ISSUED_RETENTION = 7 * 24 * 3600
"""Seconds an issued token stays listed after it expired (the admin list's expired view)."""
CALL_TIMEOUT = 0.5
"""Seconds any one Redis call may take before the adapter treats Redis as unavailable."""
READ_BATCH = 500
FULL = "Redis is full (maxmemory) and refuses writes"

log = logging.getLogger(__name__)

_REVOKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
    redis.call('PUBLISH', ARGV[4], ARGV[3] .. ' ' .. ARGV[2])
    return 1
end
return 0
"""
T = TypeVar("T")


class RedisConfigError(ValueError):
    """The Redis address cannot be used; the message is meant for the operator."""


def connect(url: str, *, retries: int = 1) -> aioredis.Redis:
    """A client for `redis://` or `rediss://` (TLS) URLs; the password from the URL or the
    environment. Nothing is sent until the first call.

    Calls are retried `retries` times on a broken connection; the Pub/Sub client takes none,
    because a subscription quietly re-made would hide the messages missed meanwhile."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise RedisConfigError(f"the store {url!r} is not a redis:// or rediss:// address")
    if not parts.hostname:
        raise RedisConfigError(f"the store {url!r} names no host")
    password = parts.password or os.environ.get(PASSWORD_ENV_VAR) or None
    # A connection pooled before Redis restarted fails on first use: one retry on a fresh
    # connection, at once, so the first calls after a recovery do not fail. Timeouts are not
    # retried (a slow Redis answers 503 within CALL_TIMEOUT).
    return aioredis.Redis.from_url(
        url,
        password=password,
        socket_timeout=CALL_TIMEOUT,
        socket_connect_timeout=CALL_TIMEOUT,
        retry=Retry(NoBackoff(), retries=retries),
        retry_on_error=[RedisConnectionError],
        retry_on_timeout=False,
        decode_responses=False,
    )


def shown_address(url: str) -> str:
    """The address without its password, for logs and /admin/info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _claims_json(issued: IssuedToken) -> bytes:
    claims = issued.claims
    return json.dumps(
        [
            claims.user_id,
            list(claims.broker_names),
            None if claims.account_ids is None else list(claims.account_ids),
            claims.is_verified,
            claims.issued_at,
            claims.expires_at,
            issued.key_id,
        ],
        separators=(",", ":"),
    ).encode()


def _record(token_id: bytes, stored: bytes, revoked: bytes | None) -> TokenRecord:
    user_id, names, accounts, verified, issued_at, expires_at, key_id = json.loads(stored)
    claims = TokenClaims(
        token_id,
        user_id,
        tuple(names),
        None if accounts is None else tuple(accounts),
        verified,
        issued_at,
        expires_at,
    )
    return TokenRecord(claims, key_id, None if revoked is None else int(revoked))


class RedisTokenStore:
    def __init__(self, client: aioredis.Redis, listener: aioredis.Redis | None = None) -> None:
        self.client = client
        self.listener = listener or client
        """The client subscriptions are made on (one that does not retry)."""
        self._revoke = client.register_script(_REVOKE)
        self._full = False
        """Redis refused the last write for want of memory. Reads still work then (polls are
        answered, revocations are known), but no token can be minted and no logout recorded:
        /healthz and /admin/info say so, and the log says it once when it starts and once
        when it ends."""

    @property
    def full_problem(self) -> str | None:
        """What a full Redis stops, for /healthz and /admin/info; None while it has room."""
        return f"{FULL}: no token can be minted and no logout recorded" if self._full else None

    async def call(self, call: Awaitable[T], *, writes: bool = False) -> T:
        """Await one Redis call; a failure or timeout is StoreUnavailable. A call that
        `writes` and succeeds shows Redis has room again."""
        try:
            result = await call
        except OutOfMemoryError as exc:
            if not self._full:
                self._full = True
                log.warning("%s until it has room", self.full_problem)
            raise StoreFull(FULL) from exc
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc
        if writes and self._full:
            self._full = False
            log.warning("Redis takes writes again")
        return result

    async def record_issued(self, issued: IssuedToken) -> None:
        token_hex = issued.claims.token_id.hex()
        keep_until = issued.claims.expires_at + ISSUED_RETENTION
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(TOKEN_KEY + token_hex, _claims_json(issued), exat=keep_until)
            pipe.zadd(ISSUED_INDEX, {token_hex: issued.claims.issued_at})
            await self.call(pipe.execute(), writes=True)

    async def revoke(self, token_id: bytes, revoked_at: int, expires_at: int) -> bool:
        token_hex = token_id.hex()
        keys = [REVOKED_KEY + token_hex, REVOKED_INDEX]
        arguments: list[str | int] = [revoked_at, expires_at, token_hex, REVOCATION_CHANNEL]
        newly: Any = await self.call(self._revoke(keys=keys, args=arguments), writes=True)
        return bool(newly)

    async def revoked_at(self, token_id: bytes) -> int | None:
        """When the token was revoked, by any instance; None if it is not."""
        stored = await self.call(self.client.get(REVOKED_KEY + token_id.hex()))
        return None if stored is None else int(stored)

    async def load_revocations(self, now: int) -> dict[bytes, int]:
        found = cast(
            list[tuple[bytes, float]],
            await self.call(
                self.client.zrangebyscore(REVOKED_INDEX, f"({now}", "+inf", withscores=True)
            ),
        )
        return {bytes.fromhex(member.decode()): int(score) for member, score in found}

    async def purge_expired_revocations(self, now: int) -> int:
        """The revocation entries expire by themselves; this trims the two indexes."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(REVOKED_INDEX, "-inf", now)
            pipe.zremrangebyscore(ISSUED_INDEX, "-inf", now - ISSUED_RETENTION - 366 * 86400)
            removed, _ = await self.call(pipe.execute())
        return int(removed)

    async def _records(self, token_hexes: list[str]) -> list[TokenRecord]:
        records = []
        for start in range(0, len(token_hexes), READ_BATCH):
            batch = token_hexes[start : start + READ_BATCH]
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.mget([TOKEN_KEY + token_hex for token_hex in batch])
                pipe.mget([REVOKED_KEY + token_hex for token_hex in batch])
                stored, revoked = await self.call(pipe.execute())
            for token_hex, claims, revoked_at in zip(batch, stored, revoked, strict=True):
                if claims is not None:
                    records.append(_record(bytes.fromhex(token_hex), claims, revoked_at))
        return records

    async def query_issued(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        """Reads every listed token and filters here: an operator's page, not a hot path."""
        members = cast(list[bytes], await self.call(self.client.zrange(ISSUED_INDEX, 0, -1)))
        records = await self._records([member.decode() for member in members])
        return record_filter.select(records, query)

    async def issued_token(self, token_id: bytes) -> TokenRecord | None:
        records = await self._records([token_id.hex()])
        return records[0] if records else None

    async def ping(self) -> None:
        await self.call(self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
        if self.listener is not self.client:
            await self.listener.aclose()
