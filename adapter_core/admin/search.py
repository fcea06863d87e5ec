"""The operator's search (`q=`): which tokens one line of typed text finds.

One rule in one place. The admin API lists with it (the store translates it to SQL, and a
property test holds that translation to `SearchQuery.matches`); the console imports it to match
the rows it already holds exactly as the adapter would, so the two never disagree. Pure Python,
no Qt, no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

MAX_QUERY_LENGTH = 64
"""Longer text is refused (HTTP 400): no user id, account id, token id or broker name is longer."""
MIN_TOKEN_ID_PREFIX = 6
"""Hex text this long or longer also matches token ids. Shorter would let a number like `146`
match one random token id in 4,096."""
_HEX_DIGITS = frozenset(string.hexdigits.lower())
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class SearchQueryError(ValueError):
    """The text is longer than `MAX_QUERY_LENGTH`; str() says so in a sentence."""


def _fold(text: str) -> str:
    """ASCII letters lower-cased and nothing else: exactly what SQLite's NOCASE compares."""
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed `q`: build it with `parse`, then ask `matches` once per token."""

    text: str
    """`q` stripped, ASCII letters lower-cased. Empty matches every token."""

    @classmethod
    def parse(cls, q: str) -> SearchQuery:
        """Strip and normalise `q`; `SearchQueryError` past `MAX_QUERY_LENGTH` characters."""
        text = q.strip()
        if len(text) > MAX_QUERY_LENGTH:
            raise SearchQueryError(
                f"The search text is {len(text)} characters long; at most "
                f"{MAX_QUERY_LENGTH} are allowed."
            )
        return cls(_fold(text))

    @property
    def number_prefix(self) -> str | None:
        """The text if it is ASCII digits: the start of a user id or an account id."""
        return self.text if self.text.isascii() and self.text.isdigit() else None

    @property
    def token_id_prefix(self) -> str | None:
        """The text if it is at least `MIN_TOKEN_ID_PREFIX` hex digits: a token id's start."""
        if len(self.text) >= MIN_TOKEN_ID_PREFIX and _HEX_DIGITS.issuperset(self.text):
            return self.text
        return None

    @property
    def broker_name(self) -> str | None:
        """Any other non-empty text: a whole broker name, compared without ASCII case."""
        if not self.text or self.number_prefix is not None or self.token_id_prefix is not None:
            return None
        return self.text

    def matches_account(self, account_id: int) -> bool:
        """Whether an account id (listed, or of an open trader session) matches."""
        prefix = self.number_prefix
        return prefix is not None and str(account_id).startswith(prefix)

    def matches(
        self,
        *,
        token_id: str,
        user_id: int,
        broker_names: Sequence[str],
        account_ids: Sequence[int] | None,
        session_account_ids: Sequence[int] = (),
    ) -> bool:
        """Whether the token matches; `token_matches` states the rule."""
        if not self.text:
            return True
        if self.number_prefix is not None and (
            str(user_id).startswith(self.number_prefix)
            or any(self.matches_account(account) for account in account_ids or ())
            or any(self.matches_account(account) for account in session_account_ids)
        ):
            return True
        prefix = self.token_id_prefix
        if prefix is not None and _fold(token_id).startswith(prefix):
            return True
        name = self.broker_name
        return name is not None and any(_fold(broker) == name for broker in broker_names)


def token_matches(
    q: str,
    *,
    token_id: str,
    user_id: int,
    broker_names: Sequence[str],
    account_ids: Sequence[int] | None,
    session_account_ids: Sequence[int] = (),
) -> bool:
    """Whether the search text `q` finds this token.

    - `q` is stripped of surrounding whitespace; empty text matches every token. Longer than
      `MAX_QUERY_LENGTH` (64) characters raises `SearchQueryError`.
    - ASCII digits match a token whose `user_id` in decimal starts with them, or one of whose
      listed `account_ids`, or the account ids of its open trader sessions
      (`session_account_ids`), starts with them: `146` finds users 14601 and 14602, `1377`
      account 137780091.
    - Text of at least `MIN_TOKEN_ID_PREFIX` (6) hexadecimal digits also matches a token whose
      `token_id` (hex) starts with it, ignoring case. Shorter text never does, so a short number
      such as `146` does not match random token ids.
    - Any other text matches a token one of whose `broker_names` equals it, ignoring the case
      of ASCII letters: `bestbroker-eu` finds a `BESTBROKER-EU` token, `BESTBROKER` does not.
      Digits, and hex text of 6 or more characters, are never compared with broker names.
    """
    return SearchQuery.parse(q).matches(
        token_id=token_id,
        user_id=user_id,
        broker_names=broker_names,
        account_ids=account_ids,
        session_account_ids=session_account_ids,
    )
