"""Session rows as the admin API sends them, and the changes the live feed produces.

A row is the JSON object of one token from `GET /admin/sessions` (tokenId, userId,
brokerNames, ctidTraderAccountIds, isVerified, issuedAt, expiresAt, keyId, state, revokedAt,
lastActivity, requestCount, traderSessions[...]); the console keeps it as is, keyed by tokenId.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

SessionRow = dict[str, Any]


class ChangeKind(enum.Enum):
    UPSERT = "upsert"
    """Insert the row, or replace the one with the same tokenId."""
    REMOVE = "remove"
    """The token no longer matches what the view shows."""


@dataclass(frozen=True, slots=True)
class SessionChange:
    kind: ChangeKind
    token_id: str
    row: SessionRow | None = None


class FeedStatus(enum.Enum):
    """What the live indicator shows."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    NOT_AVAILABLE = "not available"
