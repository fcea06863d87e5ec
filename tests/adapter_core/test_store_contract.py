"""The token store's contract, held by both engines: SQLite (the default) and Redis (several
instances). Redis is a real redis-server on loopback (tests/support/redis_server.py)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from adapter_core.admin.search import SearchQuery
from adapter_core.store.base import (
    IssuedToken,
    StoreUnavailable,
    TokenQuery,
    TokenSort,
    TokenStore,
)
from adapter_core.store.redis_store import RedisTokenStore, connect
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.claims import TokenClaims
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.anyio
NOW = int(time.time())
DAY = 86_400


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


def _flush(server: RedisServer) -> None:
    with redis.Redis.from_url(server.url) as client:
        client.flushdb()


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TokenStore]:
    if request.param == "sqlite":
        opened: TokenStore = SqliteTokenStore(tmp_path / "store.sqlite3")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        _flush(server)
        opened = RedisTokenStore(connect(server.url))
    yield opened
    await opened.close()


def claims(
    number: int,
    *,
    user_id: int = 14601,
    brokers: tuple[str, ...] = ("BESTBROKER",),
    accounts: tuple[int, ...] | None = (137780091,),
    issued_at: int = NOW,
    lifetime: int = 30 * DAY,
) -> TokenClaims:
    token_id = number.to_bytes(16, "big")
    return TokenClaims(token_id, user_id, brokers, accounts, True, issued_at, issued_at + lifetime)


async def test_a_revocation_is_made_once_even_when_asked_at_once(store: TokenStore) -> None:
    token = claims(1)
    outcomes = await asyncio.gather(
        *(store.revoke(token.token_id, NOW, token.expires_at) for _ in range(50))
    )
    assert outcomes.count(True) == 1
    assert await store.revoke(token.token_id, NOW, token.expires_at) is False


async def test_revocations_in_force_are_loaded_and_expired_ones_purged(store: TokenStore) -> None:
    soon, later = claims(2, lifetime=60), claims(3)
    for token in (soon, later):
        await store.revoke(token.token_id, NOW, token.expires_at)
    assert await store.load_revocations(NOW) == {
        soon.token_id: soon.expires_at,
        later.token_id: later.expires_at,
    }
    assert await store.load_revocations(soon.expires_at) == {later.token_id: later.expires_at}
    await store.purge_expired_revocations(soon.expires_at)
    assert await store.load_revocations(0) == {later.token_id: later.expires_at}


async def test_an_issued_token_is_kept_with_its_claims_key_and_revocation(
    store: TokenStore,
) -> None:
    token = claims(4, accounts=None, brokers=("BESTBROKER", "BESTBROKER-EU"))
    await store.record_issued(IssuedToken(token, key_id=7))
    record = await store.issued_token(token.token_id)
    assert record is not None
    assert (record.claims, record.key_id, record.revoked_at) == (token, 7, None)
    await store.revoke(token.token_id, NOW + 5, token.expires_at)
    record = await store.issued_token(token.token_id)
    assert record is not None
    assert record.revoked_at == NOW + 5
    assert await store.issued_token(claims(5).token_id) is None


def _population() -> list[TokenClaims]:
    users = itertools.cycle([14601, 14602, 99001])
    brokers = itertools.cycle([("BESTBROKER",), ("BESTBROKER-EU",), ("BESTBROKER", "OTHER")])
    accounts = itertools.cycle([(137780091,), (137780412, 137792301), None])
    return [
        claims(
            100 + number,
            user_id=next(users),
            brokers=next(brokers),
            accounts=next(accounts),
            issued_at=NOW - 34 * DAY + number * 3 * DAY,  # the oldest expired 4 days ago
        )
        for number in range(14)
    ]


QUERIES = [
    TokenQuery(now=NOW),
    TokenQuery(now=NOW, user_id=14602),
    TokenQuery(now=NOW, broker="BESTBROKER"),
    TokenQuery(now=NOW, account_id=137792301),
    TokenQuery(now=NOW, account_id=137780091, account_token_ids=frozenset({(105).to_bytes(16)})),
    TokenQuery(now=NOW, token_id_prefix=(107).to_bytes(16, "big").hex()[:28]),
    TokenQuery(now=NOW, search=SearchQuery.parse("146")),
    TokenQuery(now=NOW, search=SearchQuery.parse("1377804")),
    TokenQuery(now=NOW, search=SearchQuery.parse("bestbroker-eu")),
    TokenQuery(
        now=NOW,
        search=SearchQuery.parse("990"),
        search_token_ids=frozenset({(100).to_bytes(16, "big")}),
    ),
    TokenQuery(now=NOW, only_token_ids=frozenset({(101).to_bytes(16, "big")})),
    TokenQuery(now=NOW, excluded_token_ids=frozenset({(101).to_bytes(16, "big")})),
    TokenQuery(now=NOW, revoked=True),
    TokenQuery(now=NOW, revoked=False, expired=False),
    TokenQuery(now=NOW, expired=True),
    TokenQuery(now=NOW, sort=TokenSort.EXPIRES_AT, descending=False, offset=3, limit=4),
    TokenQuery(now=NOW, sort=TokenSort.USER_ID, offset=5, limit=5),
]


async def test_listing_answers_every_filter_alike_in_both_stores(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The Redis store filters in Python what the SQLite store filters in SQL."""
    _flush(redis_server)
    stores: list[TokenStore] = [
        SqliteTokenStore(tmp_path / "store.sqlite3"),
        RedisTokenStore(connect(redis_server.url)),
    ]
    try:
        for store in stores:
            for token in _population():
                await store.record_issued(IssuedToken(token, key_id=1))
            for number in (101, 104, 109):
                token_id = number.to_bytes(16, "big")
                await store.revoke(token_id, NOW, NOW + 30 * DAY)
        for query in QUERIES:
            sqlite_answer, redis_answer = [await store.query_issued(query) for store in stores]
            assert redis_answer == sqlite_answer, query
            assert sqlite_answer[0] > 0 or query.only_token_ids is not None, query
    finally:
        for store in stores:
            await store.close()


async def test_a_redis_that_is_gone_is_unavailable_at_once_not_a_hang(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    store = RedisTokenStore(connect(server.url))
    server.kill()
    try:
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(store.revoke(b"\x09" * 16, NOW, NOW + DAY), timeout=5)
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(store.record_issued(IssuedToken(claims(9), 1)), timeout=5)
    finally:
        await store.close()
