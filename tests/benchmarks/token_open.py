"""Token opening against raw AES-256-GCM decryption of the very same bytes."""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable

from adapter_core.tokens.codec import _HEADER_SIZE, _PREFIX_SIZE, TokenCodec
from adapter_core.tokens.keyring import KeyRing
from tests.benchmarks.results import Figure

TOKENS = 5_000
ROUNDS = 15
"""Rounds in which raw decryption, cold and warm opening take turns; the best round of each
counts (the least disturbed), and taking turns keeps a busy spell on the machine from
landing on one side of a ratio."""


def _per_op(run: Callable[[], None]) -> float:
    """µs per operation of one pass over the tokens."""
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) / TOKENS * 1e6


def _fresh_copies(tokens: list[str]) -> list[str]:
    """New string objects, as each request brings: their hashes are not cached yet."""
    return [binascii.a2b_base64(binascii.b2a_base64(t.encode())).decode() for t in tokens]


def measure() -> list[Figure]:
    ring = KeyRing.generate()
    codec = TokenCodec(ring, cache_size=TOKENS)
    tokens = [
        codec.mint(14601, ["BESTBROKER"], [137780091, 137792301], True).token for _ in range(TOKENS)
    ]
    _, aead = ring.minting_aead()
    raw = [bytes.fromhex(token) for token in tokens]
    sealed = [(r[_HEADER_SIZE:_PREFIX_SIZE], r[_PREFIX_SIZE:], r[:_HEADER_SIZE]) for r in raw]

    def raw_decrypt() -> None:
        for nonce, ciphertext, header in sealed:
            aead.decrypt(nonce, ciphertext, header)

    def open_cold() -> None:
        for token in tokens:
            codec.open_uncached(token)

    for token in tokens:
        codec.open(token)
    fresh = iter([_fresh_copies(tokens) for _ in range(ROUNDS)])

    def open_warm() -> None:
        for token in next(fresh):
            codec.open(token)

    raw_us = cold_us = warm_us = float("inf")
    for _ in range(ROUNDS):
        raw_us = min(raw_us, _per_op(raw_decrypt))
        cold_us = min(cold_us, _per_op(open_cold))
        warm_us = min(warm_us, _per_op(open_warm))
    return [
        Figure(
            "token_open_cold_us",
            cold_us,
            "µs/op",
            raw_us,
            "ratio <= 3 (vs raw AES-GCM decrypt)",
            "first sight of a token: decode, checks, decrypt, parse claims",
        ),
        Figure(
            "token_open_warm_us",
            warm_us,
            "µs/op",
            raw_us,
            "ratio <= 3 (vs raw AES-GCM decrypt)",
            "a token seen before (every poll after the first): cache hit plus expiry check",
        ),
    ]
