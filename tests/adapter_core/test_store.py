"""The SQLite store: durable writes, atomic revocation, private files, clear failures."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from adapter_core.store.base import IssuedToken, StoreUnavailable
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens import TokenClaims

pytestmark = pytest.mark.anyio


def claims_for(token_id: bytes, expires_at: int = 2_000_000_000) -> TokenClaims:
    return TokenClaims(token_id, 14601, ("BESTBROKER",), (137780091,), True, 1000, expires_at)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteTokenStore]:
    opened = SqliteTokenStore(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


async def test_issuance_is_recorded_without_the_token(
    store: SqliteTokenStore, tmp_path: Path
) -> None:
    await store.record_issued(IssuedToken(claims_for(b"\x01" * 16), key_id=7))
    rows = sqlite3.connect(tmp_path / "store.sqlite3").execute("SELECT * FROM issued_tokens")
    assert list(rows) == [
        (b"\x01" * 16, 14601, '["BESTBROKER"]', "[137780091]", 1, 1000, 2_000_000_000, 7)
    ]


async def test_revoke_is_true_once(store: SqliteTokenStore) -> None:
    assert await store.revoke(b"\x02" * 16, 1000, 5000) is True
    assert await store.revoke(b"\x02" * 16, 1001, 5000) is False


async def test_concurrent_revocations_of_one_token_succeed_exactly_once(
    store: SqliteTokenStore,
) -> None:
    outcomes = await asyncio.gather(*(store.revoke(b"\x03" * 16, 1000, 5000) for _ in range(50)))
    assert outcomes.count(True) == 1


async def test_many_concurrent_writes_all_land(store: SqliteTokenStore, tmp_path: Path) -> None:
    ids = [index.to_bytes(16, "big") for index in range(1000)]
    await asyncio.gather(*(store.record_issued(IssuedToken(claims_for(i), 1)) for i in ids))
    (count,) = (
        sqlite3.connect(tmp_path / "store.sqlite3")
        .execute("SELECT count(*) FROM issued_tokens")
        .fetchone()
    )
    assert count == 1000


@pytest.mark.expect_log("adapter_core.store.sqlite", "token store write failed")
async def test_a_failing_write_fails_alone(store: SqliteTokenStore) -> None:
    duplicate = IssuedToken(claims_for(b"\x04" * 16), 1)
    await store.record_issued(duplicate)
    results = await asyncio.gather(
        store.record_issued(duplicate),
        store.revoke(b"\x05" * 16, 1000, 5000),
        return_exceptions=True,
    )
    assert isinstance(results[0], StoreUnavailable)
    assert results[1] is True


async def test_revocations_survive_reopening_and_expired_ones_are_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    first = SqliteTokenStore(path)
    await first.revoke(b"\x06" * 16, 1000, expires_at=5000)
    await first.revoke(b"\x07" * 16, 1000, expires_at=9000)
    await first.close()
    second = SqliteTokenStore(path)
    try:
        assert await second.load_revocations(now=6000) == {b"\x07" * 16: 9000}
        assert await second.purge_expired_revocations(now=6000) == 1
        assert await second.load_revocations(now=0) == {b"\x07" * 16: 9000}
    finally:
        await second.close()


async def test_store_files_are_private(store: SqliteTokenStore, tmp_path: Path) -> None:
    await store.revoke(b"\x08" * 16, 1000, 5000)
    files = list(tmp_path.glob("store.sqlite3*"))
    assert {path.name for path in files} >= {"store.sqlite3", "store.sqlite3-wal"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


async def test_a_closed_store_refuses_writes(tmp_path: Path) -> None:
    closing = SqliteTokenStore(tmp_path / "store.sqlite3")
    await closing.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        await closing.revoke(b"\x09" * 16, 1000, 5000)


def test_a_store_from_a_newer_adapter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version=99")
    connection.close()
    with pytest.raises(StoreUnavailable, match="newer adapter"):
        SqliteTokenStore(path)


SCHEMA_1 = """
CREATE TABLE issued_tokens (
    token_id BLOB PRIMARY KEY, user_id INTEGER NOT NULL, broker_names TEXT NOT NULL,
    account_ids TEXT, is_verified INTEGER NOT NULL, issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, key_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX issued_tokens_by_user ON issued_tokens (user_id);
CREATE INDEX issued_tokens_by_issue ON issued_tokens (issued_at);
CREATE INDEX issued_tokens_by_expiry ON issued_tokens (expires_at);
CREATE TABLE revocations (
    token_id BLOB PRIMARY KEY, revoked_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX revocations_by_expiry ON revocations (expires_at);
PRAGMA user_version=1;
"""
"""The file an adapter of schema 1 wrote, as it wrote it."""


def schema_1_store(path: Path, extra: str = "") -> None:
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA_1 + extra)
    connection.executemany(
        "INSERT INTO issued_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (bytes([n]) * 16, 14601, '["BESTBROKER"]', "[137780091]", 1, 1000 + n, 2_000_000_000, 3)
            for n in (9, 4, 7)
        ],
    )
    connection.execute(
        "INSERT INTO revocations VALUES (?, ?, ?)", (b"\x04" * 16, 1500, 2_000_000_000)
    )
    connection.commit()
    connection.close()


@pytest.mark.expect_log("adapter_core.store.sqlite", "UNIQUE constraint failed")
async def test_a_schema_1_store_keeps_every_token_and_revocation(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    schema_1_store(path)
    store = SqliteTokenStore(path)
    try:
        record = await store.issued_token(b"\x07" * 16)
        assert record is not None
        assert record.claims == msgspec.structs.replace(claims_for(b"\x07" * 16), issued_at=1007)
        assert await store.load_revocations(0) == {b"\x04" * 16: 2_000_000_000}
        await store.record_issued(IssuedToken(claims_for(b"\x01" * 16), key_id=3))
        with pytest.raises(StoreUnavailable):
            await store.record_issued(IssuedToken(claims_for(b"\x09" * 16), key_id=3))
    finally:
        await store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (2,)
    in_order = connection.execute("SELECT rowid, token_id FROM issued_tokens ORDER BY rowid")
    assert [token_id[0] for _, token_id in in_order] == [4, 7, 9, 1]
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    assert "issued_tokens_schema_1" not in tables
    assert {"issued_tokens_by_user", "issued_tokens_by_issue", "issued_tokens_by_expiry"} <= tables


def test_a_schema_1_store_that_cannot_move_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    schema_1_store(path, "CREATE TABLE issued_tokens_schema_1 (x);")
    with pytest.raises(StoreUnavailable, match="cannot open"):
        SqliteTokenStore(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (1,)
    assert connection.execute("SELECT count(*) FROM issued_tokens").fetchone() == (3,)
    indexes = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'")
    assert indexes.fetchone() == (4,)
