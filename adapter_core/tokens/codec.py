"""Mint and open tokens: base64url(version ‖ key id ‖ nonce ‖ AES-256-GCM(claims)).

Version and key id are authenticated as associated data, so neither can be swapped. Opening
checks everything that can be checked before decrypting (length, alphabet, canonical base64,
version, key id) and raises one exception type for every failure, so a caller cannot half-read
a token it should have refused.
"""

from __future__ import annotations

import binascii
import enum
import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapter_core.tokens.claims import (
    MIN_PACKED_SIZE,
    TokenClaims,
    max_packed_size,
    pack_claims,
    unpack_claims,
)
from adapter_core.tokens.keyring import KeyRing

TOKEN_VERSION = 1
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
NONCE_SIZE = 12
TAG_SIZE = 16
_HEADER = struct.Struct(">BI")
_HEADER_SIZE = _HEADER.size
_PREFIX_SIZE = _HEADER_SIZE + NONCE_SIZE
MIN_TOKEN_BYTES = _PREFIX_SIZE + MIN_PACKED_SIZE + TAG_SIZE
MAX_TOKEN_BYTES = _PREFIX_SIZE + max_packed_size() + TAG_SIZE
MAX_BEARER_LENGTH = 8192
_MIN_TEXT_LENGTH = -(-MIN_TOKEN_BYTES * 4 // 3)
_MAX_TEXT_LENGTH = (4 * MAX_TOKEN_BYTES + 3) // 3
"""The longest text that decodes to at most MAX_TOKEN_BYTES: longer ones are refused before
any decoding."""

_STANDARD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# base64url to standard base64; '+', '/' and '=' become '!' so strict decoding refuses them.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_FROM_STANDARD = bytes.maketrans(b"+/", b"-_")
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

assert _MAX_TEXT_LENGTH <= MAX_BEARER_LENGTH


class TokenFault(enum.Enum):
    MALFORMED = "malformed"
    EXPIRED = "expired"


class InvalidToken(Exception):
    """The one error for a token that must not be honoured; `fault` says why, for messages."""

    def __init__(self, fault: TokenFault) -> None:
        super().__init__(fault.value)
        self.fault = fault


def _decode(token: str) -> bytes:
    """Strict base64url without padding: one text per byte string, nothing silently skipped.

    The lenient decoder is faster than `strict_mode`; it skips characters outside the
    alphabet, and every skipped character shortens the result, so comparing the length with
    the one the text's length implies refuses exactly what strict mode would.
    """
    remainder = len(token) & 3
    try:
        data = token.encode("ascii").translate(_TO_STANDARD)
        if remainder:
            if data[-1] not in _CANONICAL_LAST[remainder]:  # none for a remainder of 1
                raise InvalidToken(TokenFault.MALFORMED)
            data += _PADDING[remainder]
        raw = binascii.a2b_base64(data)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidToken(TokenFault.MALFORMED) from None
    if len(raw) != len(token) * 3 >> 2:
        raise InvalidToken(TokenFault.MALFORMED)
    return raw


def _encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_FROM_STANDARD).rstrip(b"=").decode()


class MintedToken(NamedTuple):
    token: str
    claims: TokenClaims
    key_id: int


class TokenCodec:
    """Seals claims into tokens with the ring's newest key; opens with any key in the ring.

    Opened tokens are remembered (bounded, oldest first out) because TradingView presents the
    same token several times a second per tab; a hit still checks expiry, and swapping the key
    ring forgets everything, so a retired key's tokens stop opening at once.
    """

    def __init__(
        self,
        key_ring: KeyRing,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        cache_size: int = 65_536,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("token lifetime must be positive")
        self._key_ring = key_ring
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache_size = cache_size
        self._opened: dict[str, TokenClaims] = {}
        self._openers = _openers(key_ring)

    @property
    def key_ring(self) -> KeyRing:
        return self._key_ring

    @key_ring.setter
    def key_ring(self, ring: KeyRing) -> None:
        self._opened = {}
        self._openers = _openers(ring)
        self._key_ring = ring

    def mint(
        self,
        user_id: int,
        broker_names: Sequence[str],
        account_ids: Sequence[int] | None,
        is_verified: bool,
    ) -> MintedToken:
        """A new token, the claims it carries (with a fresh 128-bit token id) and its key id."""
        now = int(self._clock())
        claims = TokenClaims(
            token_id=os.urandom(16),
            user_id=user_id,
            broker_names=tuple(broker_names),
            account_ids=None if account_ids is None else tuple(account_ids),
            is_verified=is_verified,
            issued_at=now,
            expires_at=now + self.ttl_seconds,
        )
        return self.seal(claims)

    def seal(self, claims: TokenClaims) -> MintedToken:
        """Encrypt given claims as they are; `mint` is the normal way in."""
        key_id, aead = self._key_ring.minting_aead()
        header = _HEADER.pack(TOKEN_VERSION, key_id)
        nonce = os.urandom(NONCE_SIZE)
        token = _encode(header + nonce + aead.encrypt(nonce, pack_claims(claims), header))
        return MintedToken(token, claims, key_id)

    def open(self, token: str) -> TokenClaims:
        """The claims of a genuine, unexpired token; InvalidToken for anything else."""
        claims = self._opened.get(token)
        if claims is None:
            claims = self.open_uncached(token)
            opened = self._opened
            if len(opened) >= self._cache_size:
                del opened[next(iter(opened))]
            opened[token] = claims
        if claims.expires_at <= self._clock():
            raise InvalidToken(TokenFault.EXPIRED)
        return claims

    def open_uncached(self, token: str) -> TokenClaims:
        """Decode, authenticate and parse; does not check expiry (callers do)."""
        if not _MIN_TEXT_LENGTH <= len(token) <= _MAX_TEXT_LENGTH:
            raise InvalidToken(TokenFault.MALFORMED)
        raw = _decode(token)
        header = raw[:_HEADER_SIZE]
        aead = self._openers.get(header)  # this version, a key in the ring
        if aead is None:
            raise InvalidToken(TokenFault.MALFORMED)
        try:
            return unpack_claims(
                aead.decrypt(raw[_HEADER_SIZE:_PREFIX_SIZE], raw[_PREFIX_SIZE:], header)
            )
        except (InvalidTag, ValueError, struct.error):
            raise InvalidToken(TokenFault.MALFORMED) from None


def _openers(ring: KeyRing) -> dict[bytes, AESGCM]:
    """The cipher for each header a token of this version may carry: looking the header up
    checks the version and finds the key in one step."""
    return {_HEADER.pack(TOKEN_VERSION, key_id): aead for key_id, aead in ring.aeads().items()}
