"""What a token asserts, and its compact binary form inside the ciphertext.

The packed form is a msgpack array decoded by msgspec straight into `TokenClaims`: one C
call, where the fixed binary layout of version 1 tokens took a dozen interpreter steps, and
opening a token is on the path of every request. Only the codec sees the packed form, and
only after the AEAD tag has proved that `pack_claims` wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

TOKEN_ID_SIZE = 16
MAX_BROKER_NAMES = 16
MAX_BROKER_NAME_LENGTH = 64
MAX_ACCOUNT_IDS = 100
MAX_INT64 = 2**63 - 1


class TokenClaims(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The authorisation data a token carries (source document: the /generate/token body).

    A frozen msgspec struct: decoding straight into it is the cheapest step of opening a
    token, it packs as an array (no field names in the token), and holds no cycles (gc=False).
    """

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


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(TokenClaims)


def pack_claims(claims: TokenClaims) -> bytes:
    """Serialise claims; the caller has validated them against the caps above."""
    return _ENCODER.encode(claims)


unpack_claims: Callable[[bytes], TokenClaims] = _DECODER.decode
"""Inverse of `pack_claims`; raises ValueError (msgspec's errors are ValueErrors). The
decoder's own method, not a wrapper: it runs on every first sight of a token."""


def _packed_size(*, largest: bool) -> int:
    """Packed size of the smallest or largest claims the validation caps allow.

    msgpack writes the smallest integers (0 to 127) in one byte and every int64 in nine,
    and a character in up to four UTF-8 bytes, so these two claims bound every other.
    """
    if largest:
        names = tuple(chr(0x10000 + n) * MAX_BROKER_NAME_LENGTH for n in range(MAX_BROKER_NAMES))
        claims = TokenClaims(
            bytes(TOKEN_ID_SIZE),
            MAX_INT64,
            names,
            (MAX_INT64,) * MAX_ACCOUNT_IDS,
            True,
            MAX_INT64,
            MAX_INT64,
        )
    else:
        claims = TokenClaims(bytes(TOKEN_ID_SIZE), 0, ("x",), None, False, 0, 0)
    return len(pack_claims(claims))


MIN_PACKED_SIZE = _packed_size(largest=False)
MAX_PACKED_SIZE = _packed_size(largest=True)
