"""Sessions on adapters without an admin API: only the tokens this console minted.

Each is probed with a harmless authorised TradingView call (`GET /accounts`): 200 means the
token still works; 401 says why not (logged out, expired, invalid), in the adapter's words.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from console.services.client import AdapterClient, AdapterUnavailable
from console.services.session_rows import SessionRow
from console.services.vault import MintedRecord

PROBE_CONCURRENCY = 8


def _row(record: MintedRecord, state: str) -> SessionRow:
    return {
        "tokenId": record.token_id or record.record_id,
        "userId": record.user_id,
        "brokerNames": list(record.broker_names),
        "ctidTraderAccountIds": None if record.account_ids is None else list(record.account_ids),
        "isVerified": record.is_verified,
        "issuedAt": record.minted_at.timestamp(),
        "expiresAt": record.expires_at.timestamp(),
        "state": state,
        "lastActivity": None,
        "requestCount": 0,
        "traderSessions": [],
        "_token": record.token,
        "_record": record.record_id,
    }


async def probe(client: AdapterClient, record: MintedRecord) -> str:
    """issued (the token works), revoked, expired, or unknown when the adapter cannot be asked."""
    if record.logged_out_at is not None:
        return "revoked"
    if record.expires_at <= datetime.now(UTC):
        return "expired"
    try:
        answer = await client.request(
            "GET", "/accounts", bearer=record.token, params={"locale": "en"}
        )
    except AdapterUnavailable:
        return "unknown"
    if answer.status != 401:
        return "issued"
    text = (answer.errmsg or "").lower()
    return "expired" if "expired" in text else "revoked"


async def unmanaged_rows(client: AdapterClient, records: list[MintedRecord]) -> list[SessionRow]:
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(record: MintedRecord) -> SessionRow:
        async with limit:
            return _row(record, await probe(client, record))

    return list(await asyncio.gather(*(one(record) for record in records)))
