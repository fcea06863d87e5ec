"""The revocation list: durable in the store, answered from memory on every request.

Checking a token costs one set lookup; revoking writes through to the store first and is
acknowledged only once durable. Listeners run after the durable write: they are where the
trader sessions and their caches of a revoked token are cleared (source document, step 5).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable

from adapter_core.store.base import TokenStore
from adapter_core.tokens.claims import TokenClaims

log = logging.getLogger(__name__)

RevocationListener = Callable[[TokenClaims], Awaitable[None]]


class RevokeOutcome(enum.Enum):
    REVOKED = "revoked"
    ALREADY_REVOKED = "already revoked"


class RevocationList:
    def __init__(self, store: TokenStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._revoked: dict[bytes, int] = store.load_revocations(int(clock()))
        self._listeners: list[RevocationListener] = []

    def __len__(self) -> int:
        return len(self._revoked)

    def add_listener(self, listener: RevocationListener) -> None:
        self._listeners.append(listener)

    def is_revoked(self, token_id: bytes) -> bool:
        return token_id in self._revoked

    async def revoke(self, claims: TokenClaims) -> RevokeOutcome:
        """Revoke durably (exactly one of several concurrent callers gets REVOKED)."""
        token_id = claims.token_id
        if token_id in self._revoked:
            return RevokeOutcome.ALREADY_REVOKED
        newly = await self._store.revoke(token_id, int(self._clock()), claims.expires_at)
        self._revoked[token_id] = claims.expires_at
        if not newly:
            return RevokeOutcome.ALREADY_REVOKED
        for listener in self._listeners:
            try:
                await listener(claims)
            except Exception:
                log.exception("clearing the sessions of token %s failed", claims.token_id_hex)
        return RevokeOutcome.REVOKED

    async def purge_expired(self) -> int:
        """Forget revocations of tokens that can no longer open anyway."""
        now = int(self._clock())
        self._revoked = {tid: expiry for tid, expiry in self._revoked.items() if expiry > now}
        return await self._store.purge_expired_revocations(now)
