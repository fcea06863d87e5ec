"""The revocation list: durable in the store, answered from memory on every request.

Checking a token costs one set lookup; revoking writes through to the store first and is
acknowledged only once durable. Listeners run after the durable write: they are where the
trader sessions and their caches of a revoked token are cleared (source document, step 5).

With a store shared by several instances (Redis), other instances' revocations arrive through
`learn`, a token this instance has never seen is looked up in the store once (`check`), and
while the link to the store is not `trusted` no token is accepted: fail closed.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from adapter_core.store.base import StoreUnavailable, TokenStore
from adapter_core.tokens.claims import TokenClaims

log = logging.getLogger(__name__)

RevocationListener = Callable[[TokenClaims], Awaitable[None]]
RemoteRevocationListener = Callable[[bytes], object]
MAX_CHECKED = 100_000
"""Tokens looked up in a shared store and found live, remembered (oldest forgotten first)."""


class RevokeOutcome(enum.Enum):
    REVOKED = "revoked"
    ALREADY_REVOKED = "already revoked"


class SharedRevocations:
    """What a shared store adds: a per-token lookup, and whether this instance is in step."""

    def __init__(
        self, lookup: Callable[[bytes], Awaitable[int | None]], trusted: Callable[[], bool]
    ) -> None:
        self.lookup = lookup
        """When the token was revoked by any instance, or None."""
        self.trusted = trusted
        """Whether the store answers and every revocation since it last did is known here."""


class RevocationList:
    def __init__(self, store: TokenStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._revoked: dict[bytes, int] = {}
        self._listeners: list[RevocationListener] = []
        self._remote_listeners: list[RemoteRevocationListener] = []
        self.shared: SharedRevocations | None = None
        self._checked: OrderedDict[bytes, None] = OrderedDict()
        self._revoking: dict[bytes, int] = {}
        """Tokens this instance is revoking (how many calls): its own announcement is not
        news to it, and the call the store says revoked it runs the listeners."""

    def __len__(self) -> int:
        return len(self._revoked)

    async def load(self) -> None:
        """Read every revocation in force from the store (at start, and after a shared
        store's subscription was lost, since revocations may have been missed meanwhile)."""
        loaded = await self._store.load_revocations(int(self._clock()))
        for token_id, expires_at in loaded.items():
            self.learn(token_id, expires_at)
        self._checked.clear()

    def add_listener(self, listener: RevocationListener) -> None:
        self._listeners.append(listener)

    def add_remote_listener(self, listener: RemoteRevocationListener) -> None:
        """`listener(token_id)` when a revocation made elsewhere becomes known here."""
        self._remote_listeners.append(listener)

    @property
    def trusted(self) -> bool:
        return self.shared is None or self.shared.trusted()

    def is_revoked(self, token_id: bytes) -> bool:
        """Revoked as far as this instance knows (always all there is for a local store)."""
        return token_id in self._revoked

    async def check(self, token_id: bytes) -> bool:
        """Whether the token is revoked anywhere; StoreUnavailable if that cannot be known."""
        if token_id in self._revoked:
            return True
        if self.shared is None:
            return False
        if not self.shared.trusted():
            raise StoreUnavailable("the shared store is not reachable")
        if token_id in self._checked:
            self._checked.move_to_end(token_id)
            return False
        if await self.shared.lookup(token_id) is not None:
            return True
        self._checked[token_id] = None
        if len(self._checked) > MAX_CHECKED:
            self._checked.popitem(last=False)
        return False

    def learn(self, token_id: bytes, expires_at: int) -> None:
        """A revocation made by another instance (or found in the store)."""
        if token_id in self._revoked or token_id in self._revoking:
            return
        self._revoked[token_id] = expires_at
        self._checked.pop(token_id, None)
        for listener in self._remote_listeners:
            listener(token_id)

    async def revoke(self, claims: TokenClaims) -> RevokeOutcome:
        """Revoke durably (exactly one of several concurrent callers gets REVOKED)."""
        token_id = claims.token_id
        if token_id in self._revoked:
            return RevokeOutcome.ALREADY_REVOKED
        self._revoking[token_id] = self._revoking.get(token_id, 0) + 1
        try:
            newly = await self._store.revoke(token_id, int(self._clock()), claims.expires_at)
        finally:
            self._revoking[token_id] -= 1
            if not self._revoking[token_id]:
                del self._revoking[token_id]
        if not newly:
            if token_id not in self._revoking:  # revoked elsewhere first: as if learnt
                self.learn(token_id, claims.expires_at)
            return RevokeOutcome.ALREADY_REVOKED
        self._revoked[token_id] = claims.expires_at
        self._checked.pop(token_id, None)
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
