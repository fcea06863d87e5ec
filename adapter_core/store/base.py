"""What the adapter needs from durable storage, independent of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from adapter_core.tokens.claims import TokenClaims


class StoreUnavailable(RuntimeError):
    """A write could not be made durable; nothing was acknowledged."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What is kept of an issued token: its id and claims, never the token text."""

    claims: TokenClaims
    key_id: int


class TokenStore(Protocol):
    async def record_issued(self, issued: IssuedToken) -> None:
        """Durably record an issuance before the token is handed out."""

    async def revoke(self, token_id: bytes, revoked_at: int, expires_at: int) -> bool:
        """Durably revoke; True if this call revoked it, False if it already was."""

    def load_revocations(self, now: int) -> dict[bytes, int]:
        """Every revocation still in force, as token id → token expiry."""

    async def purge_expired_revocations(self, now: int) -> int:
        """Drop revocations of tokens that have expired anyway; returns how many."""

    async def close(self) -> None:
        """Finish pending writes and release the store."""
