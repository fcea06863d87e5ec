"""The embedded store: SQLite in WAL mode, written by one thread with group commit.

Every write is acknowledged only after its transaction is committed with `synchronous=FULL`,
so an answered logout survives `kill -9`. Writes that arrive together share one commit, which
keeps throughput independent of the disk's fsync latency under concurrent load.

Writes are gathered on the event loop and handed to the writer once per loop iteration, not one
by one: a writer woken by the first write of a burst would commit it alone, and under load most
commits held a single write (1.35 ms of fsync and about 100 µs of CPU each, on the server's
core). Outcomes go back to each loop in one callback per commit, not one per write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from adapter_core.store import sqlite_queries as queries
from adapter_core.store.base import IssuedToken, StoreUnavailable, TokenQuery, TokenRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
_ISSUED_TOKENS_COLUMNS = """(
    token_id BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    broker_names TEXT NOT NULL,
    account_ids TEXT,
    is_verified INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    key_id INTEGER NOT NULL
)"""
"""A rowid table, so a new row is appended; only the small unique index takes the random
token id. Keyed on the token id (WITHOUT ROWID, schema 1), every insert wrote its whole row
to a random page: 39-44 µs of CPU per mint instead of 18."""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS issued_tokens {_ISSUED_TOKENS_COLUMNS};
CREATE INDEX IF NOT EXISTS issued_tokens_by_user ON issued_tokens (user_id);
CREATE INDEX IF NOT EXISTS issued_tokens_by_issue ON issued_tokens (issued_at);
CREATE INDEX IF NOT EXISTS issued_tokens_by_expiry ON issued_tokens (expires_at);
CREATE TABLE IF NOT EXISTS revocations (
    token_id BLOB PRIMARY KEY,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revocations_by_expiry ON revocations (expires_at);
"""
_SCHEMA_1_ASIDE = """
DROP INDEX issued_tokens_by_user;
DROP INDEX issued_tokens_by_issue;
DROP INDEX issued_tokens_by_expiry;
ALTER TABLE issued_tokens RENAME TO issued_tokens_schema_1;
"""
_SCHEMA_1_MOVED = """
INSERT INTO issued_tokens SELECT * FROM issued_tokens_schema_1 ORDER BY issued_at, token_id;
DROP TABLE issued_tokens_schema_1;
"""
"""Schema 1 to 2: the issued tokens are set aside, the schema made, and they move into the new
table in the order they were issued; revocations stay as they are."""
_BATCH_LIMIT = 512

Operation = Callable[[sqlite3.Connection], Any]


@dataclass(slots=True)
class _Job:
    operation: Operation
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


Outcome = tuple[asyncio.Future[Any], Any, bool]
"""A job's future, its result or exception, and whether it failed."""


def _apply(outcomes: list[Outcome]) -> None:
    for future, outcome, failed in outcomes:
        if future.done():
            continue
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _settle(batch: list[_Job], results: list[tuple[Any, bool]]) -> None:
    """Hand every outcome back to its job's loop, one callback per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for job, (outcome, failed) in zip(batch, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, outcome, failed))
    for loop, outcomes in by_loop.items():
        # A RuntimeError means the caller's loop has closed: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_apply, outcomes)


def _connect(path: Path) -> sqlite3.Connection:
    # Created private before SQLite touches it: its -wal and -shm files copy this mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


class SqliteTokenStore:
    """`TokenStore` over one SQLite file; safe to call from any event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._connection = _connect(path)
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the token store {path}: {exc}") from exc
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        """Writes submitted on each loop during its current iteration, not yet handed off."""
        self._jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self._stop_lock = threading.Lock()
        self._stopped = False
        """Set by the writer as it stops; a hand-off after that fails its writes instead."""
        self._writer = threading.Thread(target=self._write_loop, name="token-store", daemon=True)
        self._writer.start()
        self._closed = False

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION in one transaction: a failed step leaves it as
        it was."""
        (version,) = self._connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"the token store {self._path} was written by a newer adapter "
                f"(schema {version}, this adapter knows {SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        aside, moved = (_SCHEMA_1_ASIDE, _SCHEMA_1_MOVED) if version == 1 else ("", "")
        try:
            self._connection.executescript(
                f"BEGIN IMMEDIATE; {aside} {_SCHEMA} {moved}"
                f" PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        except sqlite3.Error:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise
        if version:
            log.info(
                "token store %s moved from schema %d to %d", self._path, version, SCHEMA_VERSION
            )

    async def _submit(self, operation: Operation) -> Any:
        if self._closed:
            raise StoreUnavailable("the token store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_off, loop)
        pending.append(_Job(operation, future, loop))
        return await future

    def _hand_off(self, loop: asyncio.AbstractEventLoop) -> None:
        """Pass this loop iteration's writes to the writer as one batch."""
        jobs = self._pending.pop(loop, None)
        if jobs is None:  # `close` handed them off already
            return
        with self._stop_lock:
            if not self._stopped:
                self._jobs.put(jobs)
                return
        _apply([(job.future, StoreUnavailable("the token store is closed"), True) for job in jobs])

    def _write_loop(self) -> None:
        while True:
            jobs = self._jobs.get()
            if jobs is None:
                break
            batch = jobs
            stop = False
            while len(batch) < _BATCH_LIMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch += more
            self._commit(batch)
            if stop:
                break
        with self._stop_lock:
            self._stopped = True
        self._fail_leftovers()

    def _fail_leftovers(self) -> None:
        """Writes handed off after the stop was queued: refused, never left waiting."""
        closed = StoreUnavailable("the token store is closed")
        while True:
            try:
                jobs = self._jobs.get_nowait()
            except queue.Empty:
                return
            if jobs:
                _settle(jobs, [(closed, True)] * len(jobs))

    def _commit(self, batch: list[_Job]) -> None:
        """One transaction for the batch. Each write runs in a savepoint only once one of
        them has failed, so that it fails alone; until then the savepoints cost two extra
        statements per write for nothing."""
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [(job.operation(connection), False) for job in batch]
            except sqlite3.Error:
                connection.execute("ROLLBACK")
                connection.execute("BEGIN IMMEDIATE")
                outcomes = [self._isolated(connection, job) for job in batch]
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("token store commit failed: %s", exc)
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            failure = StoreUnavailable("the store could not commit")
            outcomes = [(failure, True)] * len(batch)
        _settle(batch, outcomes)

    @staticmethod
    def _isolated(connection: sqlite3.Connection, job: _Job) -> tuple[Any, bool]:
        connection.execute("SAVEPOINT job")
        try:
            outcome = job.operation(connection)
        except sqlite3.Error as exc:
            connection.execute("ROLLBACK TO job")
            connection.execute("RELEASE job")
            log.error("token store write failed: %s", exc)
            return StoreUnavailable("the write was refused"), True
        connection.execute("RELEASE job")
        return outcome, False

    async def record_issued(self, issued: IssuedToken) -> None:
        claims = issued.claims
        row = (
            claims.token_id,
            claims.user_id,
            orjson.dumps(claims.broker_names).decode(),
            None if claims.account_ids is None else orjson.dumps(claims.account_ids).decode(),
            int(claims.is_verified),
            claims.issued_at,
            claims.expires_at,
            issued.key_id,
        )
        await self._submit(
            lambda connection: connection.execute(
                "INSERT INTO issued_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row
            )
        )

    async def revoke(self, token_id: bytes, revoked_at: int, expires_at: int) -> bool:
        def insert(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO revocations VALUES (?, ?, ?)",
                (token_id, revoked_at, expires_at),
            )
            return cursor.rowcount == 1

        return bool(await self._submit(insert))

    async def _read(self, reader: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a read on the reader connection in a worker thread: WAL lets it overlap writes."""
        if self._closed:
            raise StoreUnavailable("the token store is closed")

        def run() -> Any:
            with self._reader_lock:
                if self._reader is None:
                    self._reader = _connect(self._path)
                return reader(self._reader)

        try:
            return await asyncio.to_thread(run)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the token store could not be read: {exc}") from exc

    async def query_issued(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        result: tuple[int, list[TokenRecord]] = await self._read(
            lambda connection: queries.query_issued(connection, query)
        )
        return result

    async def issued_token(self, token_id: bytes) -> TokenRecord | None:
        record: TokenRecord | None = await self._read(
            lambda connection: queries.issued_token(connection, token_id)
        )
        return record

    async def load_revocations(self, now: int) -> dict[bytes, int]:
        def load(connection: sqlite3.Connection) -> dict[bytes, int]:
            rows = connection.execute(
                "SELECT token_id, expires_at FROM revocations WHERE expires_at > ?", (now,)
            )
            return {bytes(token_id): expires_at for token_id, expires_at in rows}

        revocations: dict[bytes, int] = await self._read(load)
        return revocations

    async def purge_expired_revocations(self, now: int) -> int:
        def delete(connection: sqlite3.Connection) -> int:
            return connection.execute(
                "DELETE FROM revocations WHERE expires_at <= ?", (now,)
            ).rowcount

        return int(await self._submit(delete))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        if loop in self._pending:
            self._hand_off(loop)
        self._jobs.put(None)
        await asyncio.to_thread(self._writer.join)
        self._connection.close()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
