"""What operators see of tokens and their trader sessions: states, rows, listings.

Issued tokens live in the store (possibly 100,000s); trader sessions live in memory (a few
thousand per instance). A listing asks the store for one page with every filter applied in SQL,
passing the session token ids as a set where the state, account or search filter needs them.
Where instances share a store, the sessions are every instance's (`SessionDirectory`, read once
per request) and each session summary names its `instance`; on its own an instance's wire is
what it always was, without `instance`.
`TokenState` and `IDLE_AFTER` are public: the console derives the same states from live events.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adapter_core.admin.session_directory import LiveSession, RemoteSession, SessionDirectory
from adapter_core.events import token_summary
from adapter_core.sessions import ClosedSession, SessionRegistry, TraderSession
from adapter_core.store.base import TokenQuery, TokenRecord, TokenSort, TokenStore
from adapter_core.tokens.claims import TokenClaims

IDLE_AFTER = 60.0
"""A token whose sessions made no request for this long is idle (TradingView polls every ≤1.5 s)."""


class TokenState(enum.StrEnum):
    """The one list of token states: the wire's `state` values, filters and the console's."""

    ISSUED = "issued"
    ACTIVE = "active"
    IDLE = "idle"
    REVOKED = "revoked"
    EXPIRED = "expired"


def token_state(
    claims: TokenClaims, revoked: bool, sessions: Sequence[LiveSession], now: float
) -> TokenState:
    last = max((session.last_activity for session in sessions), default=None)
    return _state(claims.expires_at, revoked, last, now)


def _state(expires_at: int, revoked: bool, last_activity: float | None, now: float) -> TokenState:
    if revoked:
        return TokenState.REVOKED
    if expires_at <= now:
        return TokenState.EXPIRED
    if last_activity is None:
        return TokenState.ISSUED
    return TokenState.ACTIVE if now - last_activity < IDLE_AFTER else TokenState.IDLE


def session_summary(session: TraderSession, instance: str | None = None) -> dict[str, Any]:
    """The session as listings show it; `instance` only where instances share a store."""
    summary: dict[str, Any] = {
        "accountId": session.account.ctid_trader_account_id,
        "brokerName": session.account.broker_name,
        "openedAt": session.opened_at,
        "lastActivity": session.last_activity,
        "requestCount": session.request_count,
        "clientAddress": session.client_address,
        "userAgent": session.user_agent,
        "cached": {
            "positions": sum(1 for p in session.book.positions.values() if p.volume),
            "orders": len(session.book.orders),
            "orderHistory": len(session.book.order_history),
            "deals": len(session.book.deals),
        },
    }
    if instance is not None:
        summary["instance"] = instance
    return summary


def published_sessions(registry: SessionRegistry) -> list[dict[str, Any]]:
    """This instance's open sessions as it tells the other instances (`Cluster.sessions_source`):
    each summary with its token's id and expiry, which the others' state filter needs."""
    return [
        {
            **session_summary(session),
            "tokenId": session.claims.token_id_hex,
            "expiresAt": session.claims.expires_at,
        }
        for session in registry.all_sessions()
    ]


def live_summary(session: LiveSession, instance: str | None) -> dict[str, Any]:
    """Any instance's open session as listings show it (a new dict: the detail adds to it)."""
    if isinstance(session, RemoteSession):
        return dict(session.summary)
    return session_summary(session, instance)


def closed_summary(session: ClosedSession, instance: str | None = None) -> dict[str, Any]:
    """A closed session as listings show it: its activity, `closedAt`, and no caches left."""
    summary: dict[str, Any] = {
        "accountId": session.account_id,
        "brokerName": session.broker_name,
        "openedAt": session.opened_at,
        "lastActivity": session.last_activity,
        "requestCount": session.request_count,
        "clientAddress": session.client_address,
        "userAgent": session.user_agent,
        "closedAt": session.closed_at,
        "cached": {"positions": 0, "orders": 0, "orderHistory": 0, "deals": 0},
    }
    if instance is not None:
        summary["instance"] = instance
    return summary


def token_row(
    claims: TokenClaims,
    key_id: int | None,
    revoked_at: int | None,
    sessions: Sequence[LiveSession],
    now: float,
    *,
    revoked: bool | None = None,
    closed: list[ClosedSession] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """`revoked` overrides what `revoked_at` implies (a token unknown to this store).

    `closed` are the sessions logout or expiry ended: their activity stays in the row (with
    `closedAt`), so a logged-out token does not look as if it had never been used.
    `instance` is this instance's id where instances share a store: its sessions carry it.
    """
    is_revoked = revoked_at is not None if revoked is None else revoked
    state = token_state(claims, is_revoked, sessions, now)
    ended = closed or []
    activity = [s.last_activity for s in sessions] + [s.last_activity for s in ended]
    return {
        **token_summary(claims),
        "keyId": None if key_id is None else f"{key_id:08x}",
        "state": state.value,
        "revokedAt": revoked_at,
        "lastActivity": max(activity, default=None),
        "requestCount": sum(s.request_count for s in sessions)
        + sum(s.request_count for s in ended),
        "traderSessions": [live_summary(s, instance) for s in sessions]
        + [closed_summary(s, instance) for s in ended],
    }


@dataclass(frozen=True, slots=True)
class Listing:
    total: int
    rows: list[dict[str, Any]]


DirectorySource = Callable[[], Awaitable[SessionDirectory]]
"""Every instance's sessions for one request; raises StoreUnavailable if they cannot be read."""


class SessionsView:
    """Listings and rows over the store's issued tokens and every instance's sessions.

    `directory` reads the sessions once per request; by default this instance's only.
    """

    def __init__(
        self,
        store: TokenStore,
        registry: SessionRegistry,
        directory: DirectorySource | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._directory = directory or self._local_directory

    async def _local_directory(self) -> SessionDirectory:
        return SessionDirectory(self._registry)

    async def directory(self) -> SessionDirectory:
        return await self._directory()

    def row(self, record: TokenRecord, now: float, directory: SessionDirectory) -> dict[str, Any]:
        token_id = record.claims.token_id
        return token_row(
            record.claims,
            record.key_id,
            record.revoked_at,
            directory.sessions_of(token_id),
            now,
            closed=directory.closed_sessions_of(token_id),
            instance=directory.instance,
        )

    def _with_state(
        self, query: TokenQuery, state: TokenState | None, directory: SessionDirectory
    ) -> TokenQuery:
        if state is None:
            return query
        if state is TokenState.REVOKED:
            return replace(query, revoked=True)
        live = replace(query, revoked=False, expired=state is TokenState.EXPIRED)
        if state is TokenState.EXPIRED:
            return live
        if state is TokenState.ISSUED:
            return replace(live, excluded_token_ids=directory.token_ids())
        in_state = frozenset(
            token_id
            for token_id, (expires_at, last) in directory.latest_activity().items()
            if _state(expires_at, False, last, query.now) is state
        )
        if query.only_token_ids is not None:
            in_state &= query.only_token_ids
        return replace(live, only_token_ids=in_state)

    async def list(
        self, query: TokenQuery, state: TokenState | None, by_last_activity: bool
    ) -> Listing:
        directory = await self.directory()
        if query.account_id is not None:
            on_account = directory.tokens_on_account(query.account_id)
            query = replace(query, account_token_ids=on_account)
        search = query.search
        if search is not None and search.number_prefix is not None:
            on_matching_accounts = directory.tokens_on_accounts(search.matches_account)
            query = replace(query, search_token_ids=on_matching_accounts)
        query = self._with_state(query, state, directory)
        if by_last_activity:
            return await self._by_last_activity(query, directory)
        total, records = await self._store.query_issued(query)
        return Listing(total, [self.row(record, query.now, directory) for record in records])

    async def _by_last_activity(self, query: TokenQuery, directory: SessionDirectory) -> Listing:
        """Tokens with sessions first, most (or least) recently active first; then the rest."""
        active_ids = directory.token_ids()
        if query.only_token_ids is not None:
            active_ids &= query.only_token_ids
        everyone = replace(query, offset=0, limit=max(len(active_ids), 1))
        _, with_sessions = await self._store.query_issued(
            replace(everyone, only_token_ids=active_ids)
        )
        rows = [self.row(record, query.now, directory) for record in with_sessions]
        rows.sort(key=lambda row: row["lastActivity"] or 0.0, reverse=query.descending)
        rest_query = replace(
            query,
            excluded_token_ids=query.excluded_token_ids | active_ids,
            sort=TokenSort.ISSUED_AT,
            offset=max(query.offset - len(rows), 0),
            limit=max(query.limit - max(len(rows) - query.offset, 0), 0),
        )
        rest_total, rest = await self._store.query_issued(rest_query)
        page = rows[query.offset : query.offset + query.limit]
        page += [self.row(record, query.now, directory) for record in rest][
            : query.limit - len(page)
        ]
        return Listing(len(rows) + rest_total, page)
