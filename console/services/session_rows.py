"""Session rows, typed: decoded once from the admin API's JSON, read everywhere as attributes.

A row is one token of `GET /admin/sessions` (its claims, state, activity and trader sessions).
On an adapter without an admin API the console builds rows from the tokens it minted itself;
those carry `source=RowSource.CONSOLE`, the vault's record id and what the console assumed
or probed, and their token id is only known where introspection once told it. The token
itself is never part of a row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import msgspec

from adapter_core.admin.sessions_view import TokenState

FINAL_STATES = frozenset({TokenState.REVOKED, TokenState.EXPIRED})
"""States no logout can change."""


class CachedCounts(msgspec.Struct, frozen=True, rename="camel"):
    positions: int = 0
    orders: int = 0
    order_history: int = 0
    deals: int = 0


class DetailItem(msgspec.Struct, frozen=True, rename="camel"):
    """A cached position, order or deal as the detail listing gives it (display only)."""

    id: str | int
    instrument: str = ""
    side: str = ""
    qty: float | None = None
    type: str | None = None
    status: str | None = None
    avg_price: float | None = None
    price: float | None = None
    unrealized_pl: float | None = None
    is_close: bool | None = None


class TraderSessionRow(msgspec.Struct, frozen=True, rename="camel"):
    account_id: int
    broker_name: str
    opened_at: float
    last_activity: float
    request_count: int
    client_address: str | None = None
    user_agent: str | None = None
    cached: CachedCounts = CachedCounts()
    closed_at: float | None = None
    """Set when logout or expiry closed the session: its activity stays, its caches are gone."""
    instance: str | None = None
    """The adapter instance holding the session, where several share a store; None otherwise."""
    positions: tuple[DetailItem, ...] | None = None
    orders: tuple[DetailItem, ...] | None = None
    deals: tuple[DetailItem, ...] | None = None
    """The three lists come only with `GET /admin/sessions/{tokenId}`."""


class RowSource(enum.Enum):
    ADMIN = "admin"
    """The adapter's admin API said all of it."""
    CONSOLE = "console"
    """Built from this console's own record of a token it minted (no admin API)."""


class SessionRow(msgspec.Struct, frozen=True, rename="camel"):
    token_id: str | None
    """The adapter's token id; None for a console record whose id the adapter never told."""
    user_id: int
    broker_names: tuple[str, ...]
    ctid_trader_account_ids: tuple[int, ...] | None
    is_verified: bool
    issued_at: float
    expires_at: float
    state: TokenState | None
    """None: the adapter could not be asked (a console record while it is unreachable)."""
    expiry_assumed: bool = False
    """A console row whose expiry the adapter never told: `expires_at` is the usual lifetime."""
    probe_status: int | None = None
    """A console row's `GET /accounts` probe: the status it answered; None when not asked."""
    key_id: str | None = None
    revoked_at: float | None = None
    last_activity: float | None = None
    request_count: int = 0
    trader_sessions: tuple[TraderSessionRow, ...] = ()
    source: RowSource = RowSource.ADMIN
    record_id: str | None = None
    """The vault record of a console row."""

    @property
    def key(self) -> str:
        """What identifies the row in a table: the token id, or the console's record id."""
        return self.token_id or f"record:{self.record_id}"

    @property
    def can_log_out(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def session_account_ids(self) -> tuple[int, ...]:
        """The accounts of the token's open sessions: what the adapter's search looks at."""
        return tuple(s.account_id for s in self.trader_sessions if s.closed_at is None)

    @property
    def instances(self) -> tuple[str, ...]:
        """The adapter instances the token's trader sessions are on, sorted, each once."""
        return tuple(sorted({s.instance for s in self.trader_sessions if s.instance is not None}))

    def cached(self, kind: str) -> int:
        """Positions, orders or deals cached over the token's trader sessions."""
        return sum(getattr(session.cached, kind) for session in self.trader_sessions)


class RowDecodeError(ValueError):
    """The adapter sent a row this console cannot read; the message says which field."""


def decode_row(document: Any) -> SessionRow:
    try:
        return msgspec.convert(document, SessionRow)
    except msgspec.ValidationError as exc:
        raise RowDecodeError(f"the adapter sent an unreadable session row: {exc}") from None


def decode_rows(documents: Any) -> list[SessionRow]:
    if not isinstance(documents, list):
        raise RowDecodeError("the adapter sent a listing without rows")
    return [decode_row(document) for document in documents]


class ChangeKind(enum.Enum):
    UPSERT = "upsert"
    """Insert the row, or replace the one with the same key."""
    REMOVE = "remove"
    """The token no longer matches what the view shows."""


@dataclass(frozen=True, slots=True)
class SessionChange:
    kind: ChangeKind
    key: str
    row: SessionRow | None = None


class FeedStatus(enum.Enum):
    """What the live indicator shows."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    NOT_AVAILABLE = "not available"
