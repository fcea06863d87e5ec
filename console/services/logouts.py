"""What a logout is aimed at and what came of it: the types every page's logout goes through.

A target is a token the console holds (minted here, or pasted in from a broker's CRM), which
is logged out with the documented `POST /logout`, or a token id from the admin API, which is
logged out with `POST /admin/sessions/{tokenId}/logout` by an operator who has no token.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from console.services.formatting import short_id
from console.services.redaction import mask
from console.services.session_rows import SessionRow
from console.services.vault import MintedRecord


class LogoutOutcome(enum.Enum):
    LOGGED_OUT = "logged out"
    REFUSED = "refused"
    """The adapter answered and said no (already revoked, expired, invalid): its words shown."""
    UNREACHABLE = "not sent"
    """The adapter could not be asked, or no secret is stored; nothing changed there."""


@dataclass(frozen=True, slots=True)
class LogoutTarget:
    label: str
    """What the operator sees: a short token id, or the masked token."""
    token: str | None = field(default=None, repr=False)
    token_id: str | None = None
    record_id: str | None = None

    @classmethod
    def for_row(cls, row: SessionRow) -> LogoutTarget:
        return cls(short_id(row.token_id), token_id=row.token_id, record_id=row.record_id)

    @classmethod
    def for_record(cls, record: MintedRecord) -> LogoutTarget:
        return cls(
            record.token_hint,
            token=record.token,
            token_id=record.token_id,
            record_id=record.record_id,
        )

    @classmethod
    def pasted(cls, token: str) -> LogoutTarget:
        return cls(mask(token), token=token)


@dataclass(frozen=True, slots=True)
class LogoutResult:
    target: LogoutTarget
    outcome: LogoutOutcome
    message: str
    """For the operator: 'logged out', or the adapter's errmsg, or why it was not sent."""

    @property
    def ok(self) -> bool:
        return self.outcome is LogoutOutcome.LOGGED_OUT

    @property
    def audit_text(self) -> str:
        return self.message if self.ok else f"{self.outcome.value}: {self.message}"
