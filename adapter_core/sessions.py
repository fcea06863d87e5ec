"""Trader sessions: one per (token, account), reading the account's shared book.

TradingView polls orders, positions and state several times a second per open tab. An
account's book is loaded once from the backend when its first session opens, then kept
current from the backend's execution events, so a poll reads memory and never queries the
backend. Every session on the account reads the same book, so what an account shows does not
depend on which token asks; a session keeps only its own activity. Revoking a token removes
its sessions (source document, /logout step 5); the book outlives them for the retention.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from adapter_core.account_book import AccountBook
from adapter_core.backend.model import TraderAccount
from adapter_core.backend.port import BackendEvent, ExecutionEvent, TradingBackend
from adapter_core.tokens.claims import TokenClaims

MAX_CLOSED_TOKENS = 10_000
"""Tokens whose closed sessions are remembered (oldest forgotten first): what operators see of
a logged-out token's activity. Memory only: a restart forgets them."""
MAX_REQUEST_IDS = 1024


class SessionKey(NamedTuple):
    """A NamedTuple, not a dataclass: every TradingView request looks one up, and a tuple
    hashes and compares in C."""

    token_id: bytes
    account_id: int


@dataclass
class TraderSession:
    """One token's use of one account; its trading data is the account's `book`."""

    claims: TokenClaims
    account: TraderAccount
    book: AccountBook
    opened_at: float
    last_activity: float
    client_address: str
    user_agent: str
    request_count: int = 0
    request_ids: dict[str, int] = field(default_factory=dict)
    """TradingView's requestId → the order it placed: placing twice places once."""

    @property
    def key(self) -> SessionKey:
        return SessionKey(self.claims.token_id, self.account.ctid_trader_account_id)

    def touch(self, client_address: str, user_agent: str, now: float) -> None:
        self.request_count += 1
        self.last_activity = now
        self.client_address = client_address
        self.user_agent = user_agent

    def remember_request(self, request_id: str, order_id: int) -> None:
        if len(self.request_ids) >= MAX_REQUEST_IDS:
            del self.request_ids[next(iter(self.request_ids))]
        self.request_ids[request_id] = order_id


@dataclass(frozen=True, slots=True)
class ClosedSession:
    """What a trader session did, kept after logout or expiry closed it and dropped its caches."""

    account_id: int
    broker_name: str
    opened_at: float
    last_activity: float
    request_count: int
    client_address: str
    user_agent: str
    closed_at: float

    @classmethod
    def of(cls, session: TraderSession, now: float) -> ClosedSession:
        return cls(
            session.account.ctid_trader_account_id,
            session.account.broker_name,
            session.opened_at,
            session.last_activity,
            session.request_count,
            session.client_address,
            session.user_agent,
            now,
        )


K = TypeVar("K")
V = TypeVar("V")


async def _once(pending: dict[K, asyncio.Future[V]], key: K, make: Callable[[], Awaitable[V]]) -> V:
    """`make()` run once for `key` however many callers ask at the same time; the others
    wait for its outcome (its exception included)."""
    future = pending.get(key)
    if future is None:
        future = asyncio.get_running_loop().create_future()
        pending[key] = future
        try:
            future.set_result(await make())
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here; concurrent waiters re-raise it
            raise
        finally:
            del pending[key]
    return await asyncio.shield(future)


class SessionRegistry:
    """Every live trader session, indexed by token and by account for event delivery."""

    def __init__(self, backend: TradingBackend, clock: Callable[[], float] = time.time) -> None:
        self._backend = backend
        self._clock = clock
        self._sessions: dict[SessionKey, TraderSession] = {}
        self._by_token: dict[bytes, set[SessionKey]] = {}
        self._by_account: dict[int, set[SessionKey]] = {}
        self._opening: dict[SessionKey, asyncio.Future[TraderSession]] = {}
        self._books: dict[int, AccountBook] = {}
        self._book_loading: dict[int, asyncio.Future[AccountBook]] = {}
        self._loading: dict[int, list[ExecutionEvent]] = {}
        """Events for accounts whose snapshot is being read, replayed over the snapshot."""
        self._listeners: list[Callable[[str, TraderSession], None]] = []
        self._closed: OrderedDict[bytes, list[ClosedSession]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def add_listener(self, listener: Callable[[str, TraderSession], None]) -> None:
        """`listener(kind, session)` for kind in opened, activity (every request), closed."""
        self._listeners.append(listener)

    def on_backend_event(self, event: BackendEvent) -> None:
        if not isinstance(event, ExecutionEvent):
            return
        account_id = event.ctid_trader_account_id
        buffer = self._loading.get(account_id)
        if buffer is not None:
            buffer.append(event)
        book = self._books.get(account_id)
        if book is not None:
            book.apply(event, self._clock())

    async def session_for(
        self, claims: TokenClaims, account: TraderAccount, client_address: str, user_agent: str
    ) -> TraderSession:
        """The session of this token on this account, opened (and loaded) on first use."""
        key = SessionKey(claims.token_id, account.ctid_trader_account_id)
        session = self._sessions.get(key)
        if session is None:
            session = await _once(
                self._opening, key, functools.partial(self._open, key, claims, account)
            )
        session.touch(client_address, user_agent, self._clock())
        for listener in self._listeners:
            listener("activity", session)
        return session

    async def _open(
        self, key: SessionKey, claims: TokenClaims, account: TraderAccount
    ) -> TraderSession:
        book = await self._book_of(account.ctid_trader_account_id)
        now = self._clock()
        if claims.expires_at <= now:
            raise LookupError("the token expired while its session was opening")
        book.idle_since = None
        session = TraderSession(
            claims=claims,
            account=account,
            book=book,
            opened_at=now,
            last_activity=now,
            client_address="",
            user_agent="",
        )
        self._sessions[key] = session
        self._by_token.setdefault(key.token_id, set()).add(key)
        self._by_account.setdefault(key.account_id, set()).add(key)
        for listener in self._listeners:
            listener("opened", session)
        return session

    async def _book_of(self, account_id: int) -> AccountBook:
        """The account's book, read from the backend once however many sessions ask at once."""
        book = self._books.get(account_id)
        if book is not None:
            return book
        return await _once(
            self._book_loading, account_id, functools.partial(self._load_book, account_id)
        )

    async def _load_book(self, account_id: int) -> AccountBook:
        # Events that arrive while the snapshot is read are replayed over it; `apply` keeps
        # whichever copy of an order or position is newer, so replaying is always safe.
        buffered: list[ExecutionEvent] = []
        self._loading[account_id] = buffered
        try:
            balance = await self._backend.balance(account_id)
            positions, orders = await self._backend.reconcile(account_id)
            history = await self._backend.order_history(account_id)
            deals = await self._backend.deals(account_id)
        finally:
            del self._loading[account_id]
        now = self._clock()
        book = AccountBook.from_snapshot(balance, positions, orders, history, deals, now)
        for event in buffered:
            book.apply(event, now)
        book.idle_since = now
        self._books[account_id] = book
        return book

    def session(self, token_id: bytes, account_id: int) -> TraderSession | None:
        """The open session of this token on this account, if there is one."""
        return self._sessions.get(SessionKey(token_id, account_id))

    def sessions_of(self, token_id: bytes) -> list[TraderSession]:
        return [self._sessions[key] for key in self._by_token.get(token_id, ())]

    def all_sessions(self) -> list[TraderSession]:
        return list(self._sessions.values())

    def token_ids(self) -> frozenset[bytes]:
        """Tokens that have at least one trader session."""
        return frozenset(self._by_token)

    def sessions_on_account(self, account_id: int) -> frozenset[bytes]:
        """Tokens with a trader session on the account."""
        return frozenset(key.token_id for key in self._by_account.get(account_id, ()))

    def close_token(self, token_id: bytes) -> int:
        """Remove every session of the token and drop their caches; returns how many."""
        keys = self._by_token.pop(token_id, set())
        now = self._clock()
        for key in keys:
            session = self._sessions.pop(key)
            self._closed.setdefault(token_id, []).append(ClosedSession.of(session, now))
            account_keys = self._by_account.get(key.account_id)
            if account_keys is not None:
                account_keys.discard(key)
                if not account_keys:
                    del self._by_account[key.account_id]
                    session.book.idle_since = now
            for listener in self._listeners:
                listener("closed", session)
        if keys:
            self._closed.move_to_end(token_id)
            while len(self._closed) > MAX_CLOSED_TOKENS:
                self._closed.popitem(last=False)
        return len(keys)

    def closed_sessions_of(self, token_id: bytes) -> list[ClosedSession]:
        """The token's sessions that logout or expiry closed (the newest MAX_CLOSED_TOKENS)."""
        return list(self._closed.get(token_id, ()))

    def sweep(self) -> list[TokenClaims]:
        """Close the sessions of expired tokens, prune every book and forget idle ones; returns
        those tokens."""
        now = self._clock()
        expired = {
            session.claims.token_id: session.claims
            for session in self._sessions.values()
            if session.claims.expires_at <= now
        }
        for account_id, book in list(self._books.items()):
            book.prune(now)
            if book.forgettable(now):
                del self._books[account_id]
        for token_id in expired:
            self.close_token(token_id)
        return list(expired.values())
