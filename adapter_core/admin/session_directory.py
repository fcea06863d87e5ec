"""Every instance's open trader sessions, as one admin request reads them.

With one instance that is this instance's `SessionRegistry`. Instances that share a store each
publish a summary of their sessions (`sessions_view.published_sessions`); a listing reads the
others' summaries once, and `SessionDirectory` answers what the listing asks (the sessions of
a token, the tokens with sessions, the tokens on an account, each token's latest activity)
over this instance's sessions and theirs alike. No Redis here: the other instances' summaries
arrive as plain documents, and one that cannot be read is left out rather than failing the
listing (an instance of another version, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from adapter_core.sessions import ClosedSession, SessionRegistry, TraderSession


class _Cached(msgspec.Struct, frozen=True, rename="camel"):
    positions: int
    orders: int
    order_history: int
    deals: int


class _Published(msgspec.Struct, frozen=True, rename="camel"):
    """One session as another instance published it (`published_sessions`)."""

    token_id: str
    expires_at: int
    account_id: int
    broker_name: str
    opened_at: float
    last_activity: float
    request_count: int
    client_address: str
    user_agent: str
    cached: _Cached


@dataclass(frozen=True, slots=True)
class RemoteSession:
    """A trader session another instance holds: what listings need, and its summary."""

    instance: str
    token_id: bytes
    expires_at: int
    account_id: int
    last_activity: float
    request_count: int
    summary: dict[str, Any]
    """The session as listings show it, with `instance`."""

    @classmethod
    def read(cls, instance: str, document: Any) -> RemoteSession | None:
        """The session, or None for a document this version cannot read."""
        try:
            published = msgspec.convert(document, _Published)
            token_id = bytes.fromhex(published.token_id)
        except (msgspec.ValidationError, ValueError):
            return None
        if len(token_id) != 16:
            return None
        cached = published.cached
        summary = {
            "accountId": published.account_id,
            "brokerName": published.broker_name,
            "openedAt": published.opened_at,
            "lastActivity": published.last_activity,
            "requestCount": published.request_count,
            "clientAddress": published.client_address,
            "userAgent": published.user_agent,
            "cached": {
                "positions": cached.positions,
                "orders": cached.orders,
                "orderHistory": cached.order_history,
                "deals": cached.deals,
            },
            "instance": instance,
        }
        return cls(
            instance,
            token_id,
            published.expires_at,
            published.account_id,
            published.last_activity,
            published.request_count,
            summary,
        )


LiveSession = TraderSession | RemoteSession
"""An open trader session on this instance or another; both have `last_activity` and
`request_count`."""


def remote_sessions(snapshot: Mapping[str, Iterable[Any]]) -> list[RemoteSession]:
    """The readable sessions of other instances' published summaries (instance → documents)."""
    sessions: list[RemoteSession] = []
    for instance, documents in snapshot.items():
        if not isinstance(documents, list):
            continue
        for document in documents:
            session = RemoteSession.read(instance, document)
            if session is not None:
                sessions.append(session)
    return sessions


class SessionDirectory:
    """This instance's sessions (live) and the other instances' (as last published)."""

    def __init__(
        self,
        registry: SessionRegistry,
        instance: str | None = None,
        remote: Iterable[RemoteSession] = (),
    ) -> None:
        self.instance = instance
        """This instance's id where instances share a store; None on its own."""
        self._registry = registry
        self._remote: dict[bytes, list[RemoteSession]] = {}
        for session in remote:
            self._remote.setdefault(session.token_id, []).append(session)

    def sessions_of(self, token_id: bytes) -> list[LiveSession]:
        """This instance's sessions of the token first, then the others'."""
        local: list[LiveSession] = list(self._registry.sessions_of(token_id))
        return local + list(self._remote.get(token_id, ()))

    def local_sessions_of(self, token_id: bytes) -> list[TraderSession]:
        """The sessions whose caches are here (positions, orders and deals to show)."""
        return self._registry.sessions_of(token_id)

    def closed_sessions_of(self, token_id: bytes) -> list[ClosedSession]:
        """Sessions logout or expiry closed on this instance (each instance remembers its own)."""
        return self._registry.closed_sessions_of(token_id)

    def token_ids(self) -> frozenset[bytes]:
        """Tokens with at least one trader session on any instance."""
        return self._registry.token_ids().union(self._remote)

    def tokens_on_account(self, account_id: int) -> frozenset[bytes]:
        return self._registry.sessions_on_account(account_id) | {
            token_id
            for token_id, sessions in self._remote.items()
            if any(session.account_id == account_id for session in sessions)
        }

    def tokens_on_accounts(self, matches: Callable[[int], bool]) -> frozenset[bytes]:
        """Tokens with a session on an account `matches` accepts."""
        local = (
            (session.claims.token_id, session.account.ctid_trader_account_id)
            for session in self._registry.all_sessions()
        )
        remote = (
            (token_id, session.account_id)
            for token_id, sessions in self._remote.items()
            for session in sessions
        )
        found: set[bytes] = set()
        for pairs in (local, remote):
            found.update(token_id for token_id, account_id in pairs if matches(account_id))
        return frozenset(found)

    def latest_activity(self) -> dict[bytes, tuple[int, float]]:
        """Each token with sessions: its expiry and its sessions' most recent request."""
        latest: dict[bytes, tuple[int, float]] = {}
        for session in self._registry.all_sessions():
            token_id = session.claims.token_id
            known = latest.get(token_id)
            if known is None or session.last_activity > known[1]:
                latest[token_id] = (session.claims.expires_at, session.last_activity)
        for token_id, sessions in self._remote.items():
            for remote in sessions:
                known = latest.get(token_id)
                if known is None or remote.last_activity > known[1]:
                    latest[token_id] = (remote.expires_at, remote.last_activity)
        return latest
