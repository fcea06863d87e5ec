"""What the adapter needs from durable storage, independent of the engine."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from adapter_core.admin.search import SearchQuery
from adapter_core.tokens.claims import TokenClaims


class StoreUnavailable(RuntimeError):
    """A write could not be made durable; nothing was acknowledged."""


class StoreFull(StoreUnavailable):
    """The store refuses writes for want of room: trying again fails the same way until its
    operator frees some, so the refusal must not say "try again"."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What is kept of an issued token: its id and claims, never the token text."""

    claims: TokenClaims
    key_id: int


class TokenSort(enum.Enum):
    ISSUED_AT = "issuedAt"
    EXPIRES_AT = "expiresAt"
    USER_ID = "userId"


@dataclass(frozen=True, slots=True)
class TokenQuery:
    """Which issued tokens to list; every given condition must hold."""

    now: int
    user_id: int | None = None
    broker: str | None = None
    account_id: int | None = None
    account_token_ids: frozenset[bytes] = frozenset()
    """With `account_id`: tokens that reach the account through a trader session also match."""
    token_id_prefix: str = ""
    """Lower-case hex."""
    search: SearchQuery | None = None
    """Only tokens `search` matches (`SearchQuery.matches`); None or empty matches every token."""
    search_token_ids: frozenset[bytes] = frozenset()
    """With a numeric `search`: tokens with an open trader session on a matching account."""
    only_token_ids: frozenset[bytes] | None = None
    excluded_token_ids: frozenset[bytes] = frozenset()
    revoked: bool | None = None
    expired: bool | None = None
    sort: TokenSort = TokenSort.ISSUED_AT
    descending: bool = True
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An issued token as the store knows it."""

    claims: TokenClaims
    key_id: int
    revoked_at: int | None


class TokenStore(Protocol):
    async def record_issued(self, issued: IssuedToken) -> None:
        """Durably record an issuance before the token is handed out."""

    async def revoke(self, token_id: bytes, revoked_at: int, expires_at: int) -> bool:
        """Durably revoke; True if this call revoked it, False if it already was."""

    async def load_revocations(self, now: int) -> dict[bytes, int]:
        """Every revocation still in force, as token id → token expiry."""

    async def purge_expired_revocations(self, now: int) -> int:
        """Drop revocations of tokens that have expired anyway; returns how many."""

    async def query_issued(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        """How many issued tokens match, and the requested page of them."""

    async def issued_token(self, token_id: bytes) -> TokenRecord | None: ...

    async def close(self) -> None:
        """Finish pending writes and release the store."""
