"""The logouts an operator triggered from the console: who, which token, what came of it.

Kept apart from the request log because it answers a different question ("did we revoke
that token?") and must outlive a flood of ordinary exchanges. Only a token's id and masked
form are kept, never the token.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from psygnal import Signal

from console.services.redaction import mask, redact_text

AUDIT_CAPACITY = 1000


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


class AuditTrail:
    """A bounded, newest-last list of logout attempts that tells listeners about each one.

    Use it from one thread (the GUI's): `added`'s listeners run synchronously inside `add`.
    """

    added = Signal(AuditEntry, object)
    """(entry, evicted): the new entry and the oldest one it pushed out (None below capacity),
    so a bounded view can drop the same row. A listener's exception propagates from `add` as
    `psygnal.EmitLoopError` (the entry is kept already): a broken view is a bug to see."""

    def __init__(self, capacity: int = AUDIT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._entries: deque[AuditEntry] = deque(maxlen=capacity)
        self._next_seq = 1

    def entries(self) -> list[AuditEntry]:
        """Oldest first."""
        return list(self._entries)

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
        self.added.emit(entry, evicted)
        return entry
