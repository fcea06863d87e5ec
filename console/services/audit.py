"""The logouts an operator triggered from the console: who, which token, what came of it.

Kept apart from the request log because it answers a different question ("did we revoke
that token?") and must outlive a flood of ordinary exchanges. Only a token's id and masked
form are kept, never the token.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from console.services.redaction import mask, redact_text

AUDIT_CAPACITY = 1000

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    """Increases by one per entry: the stable key a Qt model keeps rows by."""
    when: datetime
    """UTC."""
    profile_id: str
    profile_name: str
    token_id: str | None
    """Hex id from introspection, when the adapter offers it."""
    token_hint: str
    """The masked token (`abcd…wxyz`), so the operator can match it to a vault row."""
    ok: bool
    result: str
    """The outcome in words, redacted."""


AuditListener = Callable[[AuditEntry, AuditEntry | None], None]
"""Called with the new entry and the oldest one it pushed out (None below capacity)."""


class AuditTrail:
    """A bounded, newest-last list of logout attempts with change listeners.

    Use it from one thread (the GUI's): listeners run synchronously inside `add`.
    """

    def __init__(self, capacity: int = AUDIT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._entries: deque[AuditEntry] = deque(maxlen=capacity)
        self._listeners: list[AuditListener] = []
        self._next_seq = 1

    def entries(self) -> list[AuditEntry]:
        """Oldest first."""
        return list(self._entries)

    def add_listener(self, listener: AuditListener) -> Callable[[], None]:
        """Add a listener; the returned callable removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add(
        self,
        *,
        profile_id: str,
        profile_name: str,
        token: str,
        token_id: str | None,
        ok: bool,
        result: str,
        secrets: Iterable[str] = (),
        when: datetime | None = None,
    ) -> AuditEntry:
        """Record a logout; `token` is masked here and not kept."""
        entry = AuditEntry(
            seq=self._next_seq,
            when=when or datetime.now(UTC),
            profile_id=profile_id,
            profile_name=profile_name,
            token_id=token_id,
            token_hint=mask(token),
            ok=ok,
            result=redact_text(result, [*secrets, token]),
        )
        self._next_seq += 1
        full = len(self._entries) == self._entries.maxlen
        evicted = self._entries[0] if full else None
        self._entries.append(entry)
        for listener in list(self._listeners):
            try:
                listener(entry, evicted)
            except Exception:
                _log.exception("An audit listener failed")
        return entry
