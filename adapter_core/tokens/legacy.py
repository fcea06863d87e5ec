"""Version 1 tokens, opened but no longer minted: base64url text, fixed binary claims.

Tokens minted before version 2 stay valid until they expire (30 days by default), so their
text and claims layout are still read here; nothing writes them any more.
"""

from __future__ import annotations

import binascii
import struct

from adapter_core.tokens.claims import (
    MAX_ACCOUNT_IDS,
    MAX_BROKER_NAME_LENGTH,
    MAX_BROKER_NAMES,
    TokenClaims,
)

LEGACY_VERSION = 1
NAME_SEPARATOR = "\x1f"
"""Joins broker names; validation forbids control characters in names, so it cannot occur."""

_FLAG_VERIFIED = 0x01
_FLAG_ACCOUNTS_LISTED = 0x02
_KNOWN_FLAGS = _FLAG_VERIFIED | _FLAG_ACCOUNTS_LISTED
# token id, issued at, expires at, user id, flags, names blob length, account-id count
_FIXED = struct.Struct(">16sqqqBHH")
_ACCOUNTS = [struct.Struct(f">{count}q") for count in range(MAX_ACCOUNT_IDS + 1)]
MIN_PACKED_SIZE = _FIXED.size + 1
_MAX_NAMES_SIZE = MAX_BROKER_NAMES * (4 * MAX_BROKER_NAME_LENGTH + len(NAME_SEPARATOR))
MAX_PACKED_SIZE = _FIXED.size + _MAX_NAMES_SIZE + _ACCOUNTS[MAX_ACCOUNT_IDS].size

_STANDARD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# base64url to standard base64; '+', '/' and '=' become '!' so decoding refuses them.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_SIXBIT = {char: value for value, char in enumerate(_STANDARD_ALPHABET)}
_PADDING = (b"", b"", b"==", b"=")
_CANONICAL_LAST: tuple[frozenset[int], ...] = (
    frozenset(),
    frozenset(),
    frozenset(char for char, value in _SIXBIT.items() if not value & 0x0F),
    frozenset(char for char, value in _SIXBIT.items() if not value & 0x03),
)
"""By text length modulo 4: the characters that may end a text. The last character carries
unused low bits; they must be zero, or two texts would open as the same token."""


def text_length(raw_size: int) -> int:
    """Length of the unpadded base64url text of `raw_size` bytes."""
    return -(-raw_size * 4 // 3)


def decode_text(token: str) -> bytes:
    """Strict base64url without padding: one text per byte string, nothing silently skipped.

    The lenient decoder is faster than `strict_mode`; it skips characters outside the
    alphabet, and every skipped character shortens the result, so comparing the length with
    the one the text's length implies refuses exactly what strict mode would. Raises
    ValueError for anything else.
    """
    remainder = len(token) & 3
    data = token.encode("ascii").translate(_TO_STANDARD)
    if remainder:
        if data[-1] not in _CANONICAL_LAST[remainder]:  # none for a remainder of 1
            raise ValueError("not canonical base64url")
        data += _PADDING[remainder]
    raw = binascii.a2b_base64(data)
    if len(raw) != len(token) * 3 >> 2:
        raise ValueError("characters outside the base64url alphabet")
    return raw


def unpack_claims(data: bytes) -> TokenClaims:
    """The claims of a version 1 token; ValueError on any mismatch with the layout."""
    try:
        token_id, issued_at, expires_at, user_id, flags, names_size, count = _FIXED.unpack_from(
            data
        )
        accounts = _ACCOUNTS[count]
    except (struct.error, IndexError):
        raise ValueError("claims do not have the packed layout") from None
    names_end = _FIXED.size + names_size
    if names_end + accounts.size != len(data) or flags & ~_KNOWN_FLAGS or not names_size:
        raise ValueError("claims do not have the packed layout")
    if flags & _FLAG_ACCOUNTS_LISTED:
        account_ids: tuple[int, ...] | None = accounts.unpack_from(data, names_end)
    elif count:
        raise ValueError("account ids present without the listed flag")
    else:
        account_ids = None
    names = tuple(data[_FIXED.size : names_end].decode().split(NAME_SEPARATOR))
    return TokenClaims(
        token_id,
        user_id,
        names,
        account_ids,
        bool(flags & _FLAG_VERIFIED),
        issued_at,
        expires_at,
    )
