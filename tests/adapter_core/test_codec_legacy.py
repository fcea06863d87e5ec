"""Version 1 tokens (base64url, fixed binary claims), minted before version 2, still open until
they expire, and every altered one is refused.

The tokens below were minted by the version 1 code with the key below, so these tests read
real tokens of that format rather than ones this code base can no longer write.
"""

from __future__ import annotations

import base64

import pytest

from adapter_core.tokens import InvalidToken, KeyRing, TokenClaims, TokenCodec, TokenFault
from adapter_core.tokens.keyring import TokenKey

KEY = TokenKey(key_id=0x1A2B3C4D, secret=bytes(range(32)), created_at=1_796_000_000)
ISSUED_AT = 1_796_000_000
EXPIRES_AT = 1_798_592_000
BESTBROKER = (
    "ARorPE0_TGT4TnhmDOy2XHHKPKdepudfERdHy5DFnMugScTf9GK9as1gxuxoGQvmBzpCyw59fyreVgywMstOoYvDRO"
    "eQaXnXbCxIC80CuCWhu_76Jg1Lmwpbl6HMrxfNwebMo6He9PM"
)
TWO_BROKERS = (
    "ARorPE3KIjL5n4bPVHkwDF4_5j4-MVTMh3P3-IWW0TnarrGgPxVYc97bc4IKljslVCyAyAiiVXmM3IiW65EgvXm-eA"
    "fWkpklgOVxyeizYr2y6pyDEa7DkHvNa6ynLO963i8b"
)
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec(now: float = ISSUED_AT) -> TokenCodec:
    return TokenCodec(KeyRing([KEY]), clock=Clock(now))


def test_version_1_tokens_open_with_their_claims() -> None:
    opener = codec()
    assert opener.open(BESTBROKER) == TokenClaims(
        bytes.fromhex("00112233445566778899aabbccddeeff"),
        14601,
        ("BESTBROKER",),
        (137780091, 137792301),
        True,
        ISSUED_AT,
        EXPIRES_AT,
    )
    assert opener.open(TWO_BROKERS) == TokenClaims(
        bytes.fromhex("ffeeddccbbaa99887766554433221100"),
        7,
        ("B", "Ünïcode 𝔅roker"),
        None,
        False,
        ISSUED_AT,
        EXPIRES_AT,
    )


def test_version_1_tokens_expire_and_stop_with_their_key() -> None:
    with pytest.raises(InvalidToken) as refused:
        codec(now=EXPIRES_AT).open(BESTBROKER)
    assert refused.value.fault is TokenFault.EXPIRED
    rotated = codec()
    rotated.key_ring = rotated.key_ring.with_new_key(now=ISSUED_AT + 1)
    assert rotated.open(BESTBROKER).user_id == 14601
    assert rotated.mint(1, ["B"], None, False).token.startswith("02")
    rotated.key_ring = rotated.key_ring.without(KEY.key_id)
    with pytest.raises(InvalidToken):
        rotated.open(BESTBROKER)


@pytest.mark.parametrize("token", [BESTBROKER, TWO_BROKERS])
def test_every_single_character_change_is_rejected(token: str) -> None:
    opener = codec()
    for index, original in enumerate(token):
        for replacement in BASE64URL.replace(original, ""):
            with pytest.raises(InvalidToken):
                opener.open_uncached(token[:index] + replacement + token[index + 1 :])


@pytest.mark.parametrize("token", [BESTBROKER, TWO_BROKERS])
def test_every_truncation_and_every_foreign_character_is_rejected(token: str) -> None:
    opener = codec()
    for cut in range(len(token)):
        with pytest.raises(InvalidToken):
            opener.open_uncached(token[:cut])
    for index in range(len(token) + 1):
        for inserted in ("=", "+", "/", " ", ".", "é", "A", "0"):
            with pytest.raises(InvalidToken):
                opener.open_uncached(token[:index] + inserted + token[index:])


def test_padding_or_standard_alphabet_variants_are_rejected() -> None:
    raw = base64.urlsafe_b64decode(BESTBROKER + "=" * (-len(BESTBROKER) % 4))
    padded = base64.urlsafe_b64encode(raw).decode()
    standard = base64.b64encode(raw).decode().rstrip("=")
    for variant in {padded, standard, raw.hex()} - {BESTBROKER}:
        with pytest.raises(InvalidToken):
            codec().open_uncached(variant)
