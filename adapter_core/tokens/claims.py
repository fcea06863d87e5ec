"""What a token asserts, and its compact binary form inside the ciphertext.

Binary rather than JSON keeps tokens short (they ride on every TradingView request) and makes
decoding one fixed-width read, one UTF-8 decode and one integer-array read: opening a token is
on the path of every request. Only the codec sees the packed form, and only after the AEAD tag
has proved that `pack_claims` wrote it.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

TOKEN_ID_SIZE = 16
MAX_BROKER_NAMES = 16
MAX_BROKER_NAME_LENGTH = 64
MAX_ACCOUNT_IDS = 100
MAX_INT64 = 2**63 - 1
NAME_SEPARATOR = "\x1f"
"""Joins broker names; validation forbids control characters in names, so it cannot occur."""

_FLAG_VERIFIED = 0x01
_FLAG_ACCOUNTS_LISTED = 0x02
_KNOWN_FLAGS = _FLAG_VERIFIED | _FLAG_ACCOUNTS_LISTED
# token id, issued at, expires at, user id, flags, names blob length, account-id count
_FIXED = struct.Struct(">16sqqqBHH")
_ACCOUNTS = [struct.Struct(f">{count}q") for count in range(MAX_ACCOUNT_IDS + 1)]
MIN_PACKED_SIZE = _FIXED.size + 1
_NAMES: dict[bytes, tuple[str, ...]] = {}
"""Broker name lists already decoded: a broker has a handful, shared by all its tokens."""
_NAMES_KEPT = 4096


class TokenClaims(NamedTuple):
    """The authorisation data a token carries (source document: the /generate/token body)."""

    token_id: bytes
    user_id: int
    broker_names: tuple[str, ...]
    account_ids: tuple[int, ...] | None
    """None means every account of the user under `broker_names`."""
    is_verified: bool
    issued_at: int
    expires_at: int

    @property
    def token_id_hex(self) -> str:
        """The id operators see and stores key on; never the token itself."""
        return self.token_id.hex()


def pack_claims(claims: TokenClaims) -> bytes:
    """Serialise claims; the caller has validated them against the caps above."""
    names = NAME_SEPARATOR.join(claims.broker_names).encode()
    accounts = claims.account_ids
    flags = (_FLAG_VERIFIED if claims.is_verified else 0) | (
        0 if accounts is None else _FLAG_ACCOUNTS_LISTED
    )
    count = 0 if accounts is None else len(accounts)
    fixed = _FIXED.pack(
        claims.token_id,
        claims.issued_at,
        claims.expires_at,
        claims.user_id,
        flags,
        len(names),
        count,
    )
    return fixed + names + _ACCOUNTS[count].pack(*(accounts or ()))


def unpack_claims(data: bytes) -> TokenClaims:
    """Inverse of `pack_claims`; raises ValueError (or struct.error) on any mismatch."""
    token_id, issued_at, expires_at, user_id, flags, names_size, count = _FIXED.unpack_from(data)
    names_end = _FIXED.size + names_size
    accounts = _ACCOUNTS[count]
    if names_end + accounts.size != len(data) or flags & ~_KNOWN_FLAGS or not names_size:
        raise ValueError("claims do not have the packed layout")
    if flags & _FLAG_ACCOUNTS_LISTED:
        account_ids: tuple[int, ...] | None = accounts.unpack_from(data, names_end)
    elif count:
        raise ValueError("account ids present without the listed flag")
    else:
        account_ids = None
    packed_names = data[_FIXED.size : names_end]
    names = _NAMES.get(packed_names)
    if names is None:
        if len(_NAMES) >= _NAMES_KEPT:
            _NAMES.clear()
        names = _NAMES[packed_names] = tuple(packed_names.decode().split(NAME_SEPARATOR))
    return tuple.__new__(
        TokenClaims,
        (
            token_id,
            user_id,
            names,
            account_ids,
            bool(flags & _FLAG_VERIFIED),
            issued_at,
            expires_at,
        ),
    )


def max_packed_size() -> int:
    """Largest claims blob the validation caps allow (four UTF-8 bytes per character)."""
    names = MAX_BROKER_NAMES * (4 * MAX_BROKER_NAME_LENGTH + len(NAME_SEPARATOR))
    return _FIXED.size + names + _ACCOUNTS[MAX_ACCOUNT_IDS].size
