"""The Sessions table's columns, each described once: title, header tip, text, sort key, tooltip,
and what an export writes.

Adding or moving a column is one entry in `COLUMNS`; the table model, the sort and the tick
all read from it, so nothing else can drift out of step. Qt-free: colours are hex strings.
The last column, `Instance`, shows only while the adapter reports several instances (the
model leaves it out otherwise), so every other column keeps its number either way.

The view may shorten (a token id's start, "2 min ago"); an export may not, since a file is read
later and elsewhere: it writes the full token id and absolute UTC times. A value the console
assumes says so in both, and one it cannot know (a count only an admin API reports) is a dash
in the view and an empty cell in a file, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from adapter_core.admin.sessions_view import TokenState
from console.services.formatting import NO_TIME, accounts_text, local_time, relative_time, short_id
from console.services.session_console import (
    NOT_REPORTED,
    expiry_assumption,
    is_console,
    state_basis,
    state_text,
)
from console.services.session_rows import SessionRow

SortKey = int | float | str
"""Raw values, never display text: numbers and timestamps sort as numbers."""
ExportValue = int | str | None
"""A CSV cell: None is an empty cell (not known)."""
ASSUMED = " (assumed)"


def _no_tooltip(row: SessionRow) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    tip: str | None
    """The header's tooltip."""
    text: Callable[[SessionRow, float], str]
    """The cell's text; the float is now, for relative times."""
    sort_key: Callable[[SessionRow], SortKey]
    tooltip: Callable[[SessionRow], str | None] = _no_tooltip
    numeric: bool = False
    """Right-aligned, so digits line up."""
    timed: bool = False
    """The text changes as time passes, so the table refreshes it on every tick."""
    exported: Callable[[SessionRow], ExportValue] | None = None
    """What an export writes where the text is a short or relative form; None: the text."""

    def export_value(self, row: SessionRow, now: float) -> ExportValue:
        """The cell as a file keeps it: full, absolute, and still saying what is assumed."""
        return self.text(row, now) if self.exported is None else self.exported(row)


STATE_COLOURS: dict[TokenState | None, str] = {
    TokenState.ISSUED: "#1e88e5",
    TokenState.ACTIVE: "#43a047",
    TokenState.IDLE: "#fb8c00",
    TokenState.REVOKED: "#e53935",
    TokenState.EXPIRED: "#757575",
    None: "#bdbdbd",
}
"""The dot beside a row's state; None is a state the adapter could not be asked for."""

_STATE_RANK: dict[TokenState | None, int] = {
    TokenState.ACTIVE: 0,
    TokenState.IDLE: 1,
    TokenState.ISSUED: 2,
    TokenState.EXPIRED: 3,
    TokenState.REVOKED: 4,
    None: 5,
}
"""Ascending puts the tokens in use first."""


def _token_tooltip(row: SessionRow) -> str:
    if row.token_id is None:
        return "The adapter never told this token's id: the console only has its own record of it"
    return row.token_id


def _state_tooltip(row: SessionRow) -> str | None:
    basis = state_basis(row)
    parts = [basis] if basis is not None else []
    if row.state is None and basis is None:
        parts.append("Unknown: the adapter could not be asked")
    if row.revoked_at:
        parts.append(f"revoked at {local_time(row.revoked_at)}")
    return "; ".join(parts) or None


def _accounts_key(row: SessionRow) -> int:
    """All accounts first, then by the lowest listed account."""
    accounts = row.ctid_trader_account_ids
    return -1 if accounts is None else min(accounts, default=0)


def utc_iso(timestamp: float) -> str:
    """'2026-12-03T08:12:45Z': absolute, and read alike in every time zone."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _never_assumed(row: SessionRow) -> bool:
    return False


def _time_column(
    title: str,
    tip: str | None,
    when: Callable[[SessionRow], float | None],
    assumed: Callable[[SessionRow], bool] = _never_assumed,
) -> Column:
    """A relative time with the exact local time as tooltip, exported as UTC ISO-8601; no time
    sorts as 0. An assumed time (only an expiry can be) says so in the cell, the tooltip
    and the export."""

    def text(row: SessionRow, now: float) -> str:
        timestamp = when(row)
        if not timestamp:
            return NO_TIME
        return relative_time(timestamp, now) + (ASSUMED if assumed(row) else "")

    def tooltip(row: SessionRow) -> str | None:
        timestamp = when(row)
        if not timestamp:
            return NOT_REPORTED if is_console(row) else None
        return expiry_assumption(timestamp) if assumed(row) else local_time(timestamp)

    def exported(row: SessionRow) -> str | None:
        timestamp = when(row)
        if not timestamp:
            return None
        return utc_iso(timestamp) + (ASSUMED if assumed(row) else "")

    return Column(
        title, tip, text, lambda row: when(row) or 0.0, tooltip, timed=True, exported=exported
    )


def _count_column(title: str, tip: str | None, count: Callable[[SessionRow], int]) -> Column:
    """A count the admin API reports: a dash, an empty export cell and a tooltip saying so
    where the adapter has none (it sorts below every known count)."""

    def known(row: SessionRow) -> int | None:
        return None if is_console(row) else count(row)

    def text(row: SessionRow, now: float) -> str:
        value = known(row)
        return NO_TIME if value is None else str(value)

    def tooltip(row: SessionRow) -> str | None:
        return NOT_REPORTED if is_console(row) else None

    def sort_key(row: SessionRow) -> int:
        value = known(row)
        return -1 if value is None else value

    return Column(title, tip, text, sort_key, tooltip, numeric=True, exported=known)


def _cached_column(title: str, kind: str) -> Column:
    tip = f"{title} cached over the token's trader sessions"
    return _count_column(title, tip, lambda row: row.cached(kind))


COLUMNS: tuple[Column, ...] = (
    Column(
        "Token id",
        "The token's id (never the token itself); the full id in the cell's tooltip",
        lambda row, now: short_id(row.token_id),
        lambda row: row.token_id or "",
        _token_tooltip,
        exported=lambda row: row.token_id,
    ),
    Column(
        "User",
        None,
        lambda row, now: str(row.user_id),
        lambda row: row.user_id,
        numeric=True,
        exported=lambda row: row.user_id,
    ),
    Column(
        "Brokers",
        None,
        lambda row, now: ", ".join(row.broker_names),
        lambda row: ", ".join(row.broker_names).lower(),
    ),
    Column(
        "Accounts",
        "The accounts the token lists, or all accounts of the user",
        lambda row, now: accounts_text(row.ctid_trader_account_ids),
        _accounts_key,
        lambda row: accounts_text(row.ctid_trader_account_ids),
    ),
    Column(
        "Verified",
        None,
        lambda row, now: "yes" if row.is_verified else "no",
        lambda row: int(row.is_verified),
    ),
    Column(
        "State",
        "Ascending sorts tokens in use first",
        lambda row, now: state_text(row),
        lambda row: _STATE_RANK[row.state],
        _state_tooltip,
    ),
    _time_column("Issued", None, lambda row: row.issued_at),
    _time_column(
        "Expires",
        "Relative to now; the exact local time in the cell's tooltip",
        lambda row: row.expires_at,
        lambda row: row.expiry_assumed,
    ),
    _time_column(
        "Last activity",
        "The most recent request over the token's trader sessions",
        lambda row: row.last_activity,
    ),
    _count_column(
        "Requests", "Requests over the token's trader sessions", lambda row: row.request_count
    ),
    _count_column("Trader sessions", None, lambda row: len(row.trader_sessions)),
    _cached_column("Positions", "positions"),
    _cached_column("Orders", "orders"),
    _cached_column("Deals", "deals"),
    Column(
        "Instance",
        "The adapter instances holding the token's trader sessions (several instances share "
        "one store)",
        lambda row, now: ", ".join(row.instances),
        lambda row: ", ".join(row.instances),
    ),
)
INSTANCE_COLUMN = len(COLUMNS) - 1
"""Always the last column: shown only with several instances."""


def column_index(title: str) -> int:
    """Where a column is, by its title; raises ValueError for an unknown title."""
    for number, column in enumerate(COLUMNS):
        if column.title == title:
            return number
    raise ValueError(f"no Sessions column is called {title!r}")
