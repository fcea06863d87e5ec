"""What operators see of tokens and their trader sessions: states, rows, listings.

Issued tokens live in the store (possibly 100,000s); trader sessions live in memory (a few
thousand). A listing asks the store for one page with every filter applied in SQL, passing
the in-memory session token ids as a set where the state, account or search filter needs them.
`TokenState` and `IDLE_AFTER` are public: the console derives the same states from live events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

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
    claims: TokenClaims, revoked: bool, sessions: list[TraderSession], now: float
) -> TokenState:
    if revoked:
        return TokenState.REVOKED
    if claims.expires_at <= now:
        return TokenState.EXPIRED
    if not sessions:
        return TokenState.ISSUED
    last = max(session.last_activity for session in sessions)
    return TokenState.ACTIVE if now - last < IDLE_AFTER else TokenState.IDLE


def session_summary(session: TraderSession) -> dict[str, Any]:
    return {
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


def closed_summary(session: ClosedSession) -> dict[str, Any]:
    """A closed session as listings show it: its activity, `closedAt`, and no caches left."""
    return {
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


def token_row(
    claims: TokenClaims,
    key_id: int | None,
    revoked_at: int | None,
    sessions: list[TraderSession],
    now: float,
    *,
    revoked: bool | None = None,
    closed: list[ClosedSession] | None = None,
) -> dict[str, Any]:
    """`revoked` overrides what `revoked_at` implies (a token unknown to this store).

    `closed` are the sessions logout or expiry ended: their activity stays in the row (with
    `closedAt`), so a logged-out token does not look as if it had never been used.
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
        "traderSessions": [session_summary(s) for s in sessions]
        + [closed_summary(s) for s in ended],
    }


@dataclass(frozen=True, slots=True)
class Listing:
    total: int
    rows: list[dict[str, Any]]


class SessionsView:
    def __init__(self, store: TokenStore, registry: SessionRegistry) -> None:
        self._store = store
        self._registry = registry

    def row(self, record: TokenRecord, now: float) -> dict[str, Any]:
        token_id = record.claims.token_id
        sessions = self._registry.sessions_of(token_id)
        closed = self._registry.closed_sessions_of(token_id)
        return token_row(
            record.claims, record.key_id, record.revoked_at, sessions, now, closed=closed
        )

    def _tokens_in_state(self, state: TokenState, now: float) -> frozenset[bytes]:
        by_token: dict[bytes, list[TraderSession]] = {}
        for session in self._registry.all_sessions():
            by_token.setdefault(session.claims.token_id, []).append(session)
        return frozenset(
            token_id
            for token_id, sessions in by_token.items()
            if token_state(sessions[0].claims, False, sessions, now) is state
        )

    def _with_state(self, query: TokenQuery, state: TokenState | None) -> TokenQuery:
        if state is None:
            return query
        if state is TokenState.REVOKED:
            return replace(query, revoked=True)
        live = replace(query, revoked=False, expired=state is TokenState.EXPIRED)
        if state is TokenState.EXPIRED:
            return live
        if state is TokenState.ISSUED:
            return replace(live, excluded_token_ids=self._registry.token_ids())
        in_state = self._tokens_in_state(state, query.now)
        if query.only_token_ids is not None:
            in_state &= query.only_token_ids
        return replace(live, only_token_ids=in_state)

    async def list(
        self, query: TokenQuery, state: TokenState | None, by_last_activity: bool
    ) -> Listing:
        if query.account_id is not None:
            sessions = self._registry.sessions_on_account(query.account_id)
            query = replace(query, account_token_ids=frozenset(sessions))
        search = query.search
        if search is not None and search.number_prefix is not None:
            on_matching_accounts = frozenset(
                session.claims.token_id
                for session in self._registry.all_sessions()
                if search.matches_account(session.account.ctid_trader_account_id)
            )
            query = replace(query, search_token_ids=on_matching_accounts)
        query = self._with_state(query, state)
        if by_last_activity:
            return await self._by_last_activity(query)
        total, records = await self._store.query_issued(query)
        return Listing(total, [self.row(record, query.now) for record in records])

    async def _by_last_activity(self, query: TokenQuery) -> Listing:
        """Tokens with sessions first, most (or least) recently active first; then the rest."""
        active_ids = self._registry.token_ids()
        if query.only_token_ids is not None:
            active_ids &= query.only_token_ids
        everyone = replace(query, offset=0, limit=max(len(active_ids), 1))
        _, with_sessions = await self._store.query_issued(
            replace(everyone, only_token_ids=active_ids)
        )
        rows = [self.row(record, query.now) for record in with_sessions]
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
        page += [self.row(record, query.now) for record in rest][: query.limit - len(page)]
        return Listing(len(rows) + rest_total, page)
