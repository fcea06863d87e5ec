"""The tokens this console minted, with what the adapter says of them now.

With an admin API the adapter lists them by token id; without one each is probed with a
harmless authorised TradingView call (`GET /accounts`): 200 means the token still works, 401
says why not (logged out, expired, invalid), in the adapter's words. The state is labelled
with where it came from, so the console never presents its own record as the adapter's word.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from adapter_core.admin.sessions_view import TokenState
from console.services.client import AdapterClient, AdapterUnavailable
from console.services.session_rows import RowSource, SessionRow
from console.services.vault import MintedRecord

PROBE_CONCURRENCY = 8


class StateSource(enum.Enum):
    ADAPTER = "the adapter's admin API"
    PROBE = "a GET /accounts probe"
    RECORD = "this console's record"
    """Not asked: the adapter is unreachable, or the record already says it ended."""


@dataclass(frozen=True, slots=True)
class MintedToken:
    record: MintedRecord
    state: TokenState | None
    """None: unknown (the adapter could not be asked)."""
    source: StateSource
    checked_at: float

    @property
    def state_text(self) -> str:
        return self.state.value if self.state is not None else "unknown"


def recorded_state(record: MintedRecord, now: datetime | None = None) -> TokenState | None:
    """What the console's own record implies, without asking: ended, or not known."""
    if record.logged_out_at is not None and record.logout_result == "logged out":
        return TokenState.REVOKED
    if record.expires_at <= (now or datetime.now(UTC)) and not record.expiry_assumed:
        return TokenState.EXPIRED
    return None


async def probe(client: AdapterClient, record: MintedRecord) -> TokenState | None:
    """issued (the token works), revoked or expired (the adapter's 401), None if unreachable."""
    try:
        answer = await client.request(
            "GET",
            "/accounts",
            bearer=record.token,
            params={"locale": "en"},
            background=True,
            expected=frozenset({401}),
        )
    except AdapterUnavailable:
        return None
    if answer.status != 401:
        return TokenState.ISSUED
    return TokenState.EXPIRED if "expired" in (answer.errmsg or "").lower() else TokenState.REVOKED


async def probe_all(client: AdapterClient, records: Iterable[MintedRecord]) -> list[MintedToken]:
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(record: MintedRecord) -> MintedToken:
        known = recorded_state(record)
        if known is not None:
            return MintedToken(record, known, StateSource.RECORD, time.time())
        async with limit:
            state = await probe(client, record)
        source = StateSource.PROBE if state is not None else StateSource.RECORD
        return MintedToken(record, state, source, time.time())

    return list(await asyncio.gather(*(one(record) for record in records)))


def console_row(token: MintedToken) -> SessionRow:
    """A Sessions row for an adapter without an admin API: what the console knows, no more."""
    record = token.record
    return SessionRow(
        token_id=record.token_id,
        user_id=record.user_id,
        broker_names=record.broker_names,
        ctid_trader_account_ids=record.account_ids,
        is_verified=record.is_verified,
        issued_at=record.minted_at.timestamp(),
        expires_at=record.expires_at.timestamp(),
        state=token.state,
        source=RowSource.CONSOLE,
        record_id=record.record_id,
    )
