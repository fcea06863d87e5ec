"""The Sessions page without an admin API: the tokens this console minted, probed, said plainly.

Each token is probed with a harmless authorised TradingView call (`GET /accounts`), and the
row keeps the status it answered, so the page can tell what the probe established from what
the console assumes: 200 says the token works, 401 says why not, but any other answer (a 404
from an adapter that does not serve the path, a 500) tells nothing of the token, which is then
only assumed issued. An expiry the adapter never told is assumed too, and the counts only an
admin API reports (requests, trader sessions, cached items) are unknown, never 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from adapter_core.admin.sessions_view import TokenState
from console.services.client import AdapterClient
from console.services.formatting import local_time
from console.services.minted import (
    PROBE_CONCURRENCY,
    PROBE_PATH,
    REFUSED,
    probe,
    probe_told,
    recorded_state,
)
from console.services.session_rows import RowSource, SessionRow
from console.services.vault import DEFAULT_LIFETIME, MintedRecord

_NOT_TOLD = "an adapter without an admin API does not tell it"
NOT_REPORTED = f"Not reported: {_NOT_TOLD}"
"""The tooltip of a value only the admin API reports."""
UNREPORTED = f"not reported ({_NOT_TOLD})"
"""The same, as the detail pane's value."""
_RECORDED = {
    TokenState.REVOKED: " (it logged the token out)",
    TokenState.EXPIRED: " (the expiry the adapter told has passed)",
}
"""Why the console's record alone gives a state (see `minted.recorded_state`)."""


def is_console(row: SessionRow) -> bool:
    """Built from this console's own record (no admin API): counts and activity are unknown."""
    return row.source is RowSource.CONSOLE


def state_assumed(row: SessionRow) -> bool:
    """The probe was answered but told nothing, so `issued` is only assumed."""
    return is_console(row) and row.probe_status is not None and not probe_told(row.probe_status)


def state_text(row: SessionRow) -> str:
    """The state as the table and the logout confirmation word it."""
    if row.state is None:
        return "unknown"
    return f"{row.state.value} (assumed)" if state_assumed(row) else row.state.value


def state_basis(row: SessionRow) -> str | None:
    """What a console row's state rests on, in words; None for the admin API's rows."""
    if not is_console(row):
        return None
    status = row.probe_status
    if status is None:
        if row.state is None:
            return "Unknown: the adapter could not be asked"
        why = _RECORDED.get(row.state, "")
        return f"From this console's record{why}; the adapter was not asked"
    if status == REFUSED:
        return f"GET {PROBE_PATH} with the token answered 401 (this adapter has no admin API)"
    if probe_told(status):
        return (
            f"The token works: GET {PROBE_PATH} with it answered {status} "
            "(this adapter has no admin API)"
        )
    answered = (
        f"GET {PROBE_PATH} answered 404: this adapter does not serve it"
        if status == 404
        else f"GET {PROBE_PATH} answered HTTP {status}, which says nothing of the token"
    )
    return (
        f"Assumed: {answered}, so the probe told nothing; issued is assumed as long as this "
        "console has not logged the token out"
    )


def expiry_assumption(timestamp: float) -> str:
    """The Tokens page's words for an expiry the adapter never told."""
    days = DEFAULT_LIFETIME.days
    return (
        f"not told by this adapter; assumed {local_time(timestamp)}, the usual {days} days "
        "(an assumption)"
    )


def console_row(record: MintedRecord, state: TokenState | None, status: int | None) -> SessionRow:
    """A Sessions row for an adapter without an admin API: what the console knows, no more."""
    return SessionRow(
        token_id=record.token_id,
        user_id=record.user_id,
        broker_names=record.broker_names,
        ctid_trader_account_ids=record.account_ids,
        is_verified=record.is_verified,
        issued_at=record.minted_at.timestamp(),
        expires_at=record.expires_at.timestamp(),
        expiry_assumed=record.expiry_assumed,
        state=state,
        probe_status=status,
        source=RowSource.CONSOLE,
        record_id=record.record_id,
    )


async def console_rows(client: AdapterClient, records: Iterable[MintedRecord]) -> list[SessionRow]:
    """A row per record: ended ones from the record alone, the others probed (a few at once)."""
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(record: MintedRecord) -> SessionRow:
        known = recorded_state(record)
        if known is not None:
            return console_row(record, known, None)
        async with limit:
            state, status = await probe(client, record)
        return console_row(record, state, status)

    return list(await asyncio.gather(*(one(record) for record in records)))
