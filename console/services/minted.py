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
from console.services.vault import MintedRecord

PROBE_CONCURRENCY = 8
PROBE_PATH = "/accounts"
REFUSED = 401
"""The status with which the adapter says a token no longer works (logged out, expired)."""


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
    probe_status: int | None = None
    """What the probe answered, when the state comes from one."""

    @property
    def state_text(self) -> str:
        if self.state is None:
            return "unknown"
        if self.source is StateSource.PROBE and not probe_told(self.probe_status):
            return f"{self.state.value} (assumed)"
        return self.state.value


def probe_told(status: int | None) -> bool:
    """Whether a probe's answer says anything of the token: only 2xx and 401 do. A 404 (the
    adapter does not serve the path) or a 500 leaves `issued` an assumption."""
    return status is not None and (200 <= status < 300 or status == REFUSED)


def recorded_state(record: MintedRecord, now: datetime | None = None) -> TokenState | None:
    """What the console's own record implies, without asking: ended, or not known."""
    if record.logged_out_at is not None and record.logout_result == "logged out":
        return TokenState.REVOKED
    if record.expires_at <= (now or datetime.now(UTC)) and not record.expiry_assumed:
        return TokenState.EXPIRED
    return None


async def probe(
    client: AdapterClient, record: MintedRecord
) -> tuple[TokenState | None, int | None]:
    """issued, or revoked or expired (the adapter's 401), and the status answered; (None,
    None) when the adapter could not be asked. See `probe_told` for what `issued` rests on."""
    try:
        answer = await client.request(
            "GET",
            PROBE_PATH,
            bearer=record.token,
            params={"locale": "en"},
            background=True,
            expected=frozenset({REFUSED}),
        )
    except AdapterUnavailable:
        return None, None
    if answer.status != REFUSED:
        return TokenState.ISSUED, answer.status
    expired = "expired" in (answer.errmsg or "").lower()
    return (TokenState.EXPIRED if expired else TokenState.REVOKED), REFUSED


async def probe_all(client: AdapterClient, records: Iterable[MintedRecord]) -> list[MintedToken]:
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(record: MintedRecord) -> MintedToken:
        known = recorded_state(record)
        if known is not None:
            return MintedToken(record, known, StateSource.RECORD, time.time())
        async with limit:
            state, status = await probe(client, record)
        source = StateSource.PROBE if state is not None else StateSource.RECORD
        return MintedToken(record, state, source, time.time(), status)

    return list(await asyncio.gather(*(one(record) for record in records)))
