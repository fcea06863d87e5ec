"""The in-memory revocation list kept in step with the durable store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapter_core.revocation import RevocationList, RevokeOutcome
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens import TokenClaims

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def claims_for(token_id: bytes, expires_at: int = 5000) -> TokenClaims:
    return TokenClaims(token_id, 1, ("B",), None, False, 1000, expires_at)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteTokenStore]:
    opened = SqliteTokenStore(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


async def test_revoking_is_remembered_and_reported_once(store: SqliteTokenStore) -> None:
    revocations = RevocationList(store, Clock(1000))
    claims = claims_for(b"\x01" * 16)
    assert not revocations.is_revoked(claims.token_id)
    assert await revocations.revoke(claims) is RevokeOutcome.REVOKED
    assert revocations.is_revoked(claims.token_id)
    assert await revocations.revoke(claims) is RevokeOutcome.ALREADY_REVOKED


@pytest.mark.expect_log("adapter_core.revocation", "clearing the sessions of token")
async def test_listeners_clear_sessions_once_per_revocation(store: SqliteTokenStore) -> None:
    revocations = RevocationList(store, Clock(1000))
    cleared: list[bytes] = []

    async def clear(claims: TokenClaims) -> None:
        cleared.append(claims.token_id)

    async def broken(claims: TokenClaims) -> None:
        raise RuntimeError("boom")

    revocations.add_listener(broken)
    revocations.add_listener(clear)
    claims = claims_for(b"\x02" * 16)
    outcomes = await asyncio.gather(*(revocations.revoke(claims) for _ in range(50)))
    assert outcomes.count(RevokeOutcome.REVOKED) == 1
    assert cleared == [claims.token_id]


async def test_a_new_list_loads_what_the_store_holds(store: SqliteTokenStore) -> None:
    first = RevocationList(store, Clock(1000))
    await first.revoke(claims_for(b"\x03" * 16))
    second = RevocationList(store, Clock(1000))
    await second.load()
    assert second.is_revoked(b"\x03" * 16)
    assert len(second) == 1


async def test_purge_forgets_revocations_of_expired_tokens(store: SqliteTokenStore) -> None:
    clock = Clock(1000)
    revocations = RevocationList(store, clock)
    await revocations.revoke(claims_for(b"\x04" * 16, expires_at=2000))
    await revocations.revoke(claims_for(b"\x05" * 16, expires_at=9000))
    clock.now = 2000
    assert await revocations.purge_expired() == 1
    assert not revocations.is_revoked(b"\x04" * 16)
    assert revocations.is_revoked(b"\x05" * 16)
    assert await store.load_revocations(0) == {b"\x05" * 16: 9000}
