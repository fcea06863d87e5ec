"""Opaque AEAD tokens: claims, the key ring that seals them, and the codec that mints and opens."""

from adapter_core.tokens.claims import TokenClaims
from adapter_core.tokens.codec import (
    MAX_BEARER_LENGTH,
    InvalidToken,
    MintedToken,
    TokenCodec,
    TokenFault,
)
from adapter_core.tokens.keyring import KeyRing, TokenKey

__all__ = [
    "MAX_BEARER_LENGTH",
    "InvalidToken",
    "KeyRing",
    "MintedToken",
    "TokenClaims",
    "TokenCodec",
    "TokenFault",
    "TokenKey",
]
