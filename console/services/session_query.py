"""What the Sessions page shows, decided in one place: the find box's text and a state.

The adapter matches with `q=` (and `state=`); rows the console holds are matched locally with
`adapter_core.admin.search`, the very rule the adapter applies, so a row never shows here that
the adapter would not list, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapter_core.admin.search import SearchQuery, SearchQueryError
from adapter_core.admin.sessions_view import TokenState
from console.services.session_rows import SessionRow


class QueryError(ValueError):
    """The find box's text cannot be searched for; the message says why."""


@dataclass(frozen=True, slots=True)
class SessionQuery:
    text: str = ""
    """userId or account id (exact or prefix), broker name, or a token id prefix."""
    state: TokenState | None = None
    search: SearchQuery = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            search = SearchQuery.parse(self.text)
        except SearchQueryError as exc:
            raise QueryError(str(exc)) from None
        object.__setattr__(self, "text", self.text.strip())
        object.__setattr__(self, "search", search)

    def params(self) -> dict[str, str]:
        """The admin listing's query parameters: what the adapter matches."""
        params: dict[str, str] = {}
        if self.text:
            params["q"] = self.text
        if self.state is not None:
            params["state"] = self.state.value
        return params

    def matches(self, row: SessionRow) -> bool:
        """The same rule, for a row the console already holds."""
        if self.state is not None and row.state is not self.state:
            return False
        return self.search.matches(
            token_id=row.token_id or "",
            user_id=row.user_id,
            broker_names=row.broker_names,
            account_ids=row.ctid_trader_account_ids,
            session_account_ids=row.session_account_ids,
        )

    def could_match_event(self, data: Mapping[str, Any]) -> bool:
        """False only when an event's fixed claims show its token can never match."""
        if not self.text:
            return True
        user_id, brokers = data.get("userId"), data.get("brokerNames")
        token_id, accounts = data.get("tokenId"), data.get("ctidTraderAccountIds")
        if not isinstance(user_id, int) or not isinstance(brokers, list):
            return True
        if not isinstance(token_id, str) or not (accounts is None or isinstance(accounts, list)):
            return True
        account = data.get("accountId")
        return self.search.matches(
            token_id=token_id,
            user_id=user_id,
            broker_names=[str(name) for name in brokers],
            account_ids=None if accounts is None else [int(a) for a in accounts],
            session_account_ids=[account] if isinstance(account, int) else [],
        )
