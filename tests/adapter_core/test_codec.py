"""The token codec: round trips, and refusal of every modified, truncated or extended token."""

from __future__ import annotations

import base64
import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter_core.tokens import MAX_BEARER_LENGTH, InvalidToken, KeyRing, TokenCodec, TokenFault
from adapter_core.tokens.claims import (
    MAX_ACCOUNT_IDS,
    MAX_BROKER_NAME_LENGTH,
    MAX_BROKER_NAMES,
    TokenClaims,
)
from tests.adapter_core.strategies import claims

HEX = "0123456789abcdef"
FAR_PAST = 0.0


class Clock:
    """A settable clock so expiry is tested without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec_at(now: float, ring: KeyRing | None = None) -> TokenCodec:
    return TokenCodec(ring or KeyRing.generate(), clock=Clock(now))


RING = KeyRing.generate()
CODEC = codec_at(FAR_PAST, RING)


@given(claims())
def test_any_valid_claims_round_trip(original: TokenClaims) -> None:
    sealed = CODEC.seal(original)
    assert CODEC.open_uncached(sealed.token) == original
    assert CODEC.open(sealed.token) == original


def test_minted_token_is_lower_case_hex_and_carries_the_request() -> None:
    codec = codec_at(1_000_000)
    minted = codec.mint(14601, ["BESTBROKER"], [137780091, 137792301], True)
    assert set(minted.token) <= set(HEX)
    assert minted.token.startswith("02")  # the version byte
    claims = codec.open(minted.token)
    assert claims.user_id == 14601
    assert claims.broker_names == ("BESTBROKER",)
    assert claims.account_ids == (137780091, 137792301)
    assert claims.is_verified is True
    assert claims.expires_at - claims.issued_at == 30 * 24 * 3600
    assert len(claims.token_id) == 16
    assert minted.key_id == codec.key_ring.minting_key.key_id


def test_absent_account_ids_stay_absent_not_empty() -> None:
    minted = CODEC.mint(7, ["B"], None, False)
    assert CODEC.open(minted.token).account_ids is None


def test_every_token_gets_a_fresh_id_and_nonce() -> None:
    first = CODEC.mint(1, ["B"], None, False)
    second = CODEC.mint(1, ["B"], None, False)
    assert first.claims.token_id != second.claims.token_id
    assert first.token != second.token


@settings(max_examples=300)
@given(claims(), st.data())
def test_every_single_byte_change_is_rejected(original: TokenClaims, data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(CODEC.seal(original).token))
    index = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[index] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(InvalidToken) as refused:
        CODEC.open_uncached(raw.hex())
    assert refused.value.fault is TokenFault.MALFORMED


@settings(max_examples=300)
@given(claims(), st.data())
def test_every_single_character_change_is_rejected(
    original: TokenClaims, data: st.DataObject
) -> None:
    token = CODEC.seal(original).token
    index = data.draw(st.integers(0, len(token) - 1), label="position")
    replacement = data.draw(
        st.sampled_from(HEX + HEX.upper()).filter(lambda char: char != token[index]),
        label="char",
    )
    with pytest.raises(InvalidToken):
        CODEC.open_uncached(token[:index] + replacement + token[index + 1 :])


@given(claims(), st.data())
def test_truncation_is_rejected(original: TokenClaims, data: st.DataObject) -> None:
    token = CODEC.seal(original).token
    cut = data.draw(st.integers(0, len(token) - 1), label="keep")
    with pytest.raises(InvalidToken):
        CODEC.open_uncached(token[:cut])


@given(claims(), st.text(min_size=1, max_size=40))
def test_extension_is_rejected(original: TokenClaims, suffix: str) -> None:
    token = CODEC.seal(original).token
    with pytest.raises(InvalidToken):
        CODEC.open_uncached(token + suffix)


@given(
    claims(),
    st.data(),
    st.text(st.characters(max_codepoint=127, exclude_characters=HEX), min_size=1, max_size=8),
)
def test_characters_outside_the_alphabet_are_never_skipped(
    original: TokenClaims, data: st.DataObject, inserted: str
) -> None:
    token = CODEC.seal(original).token
    index = data.draw(st.integers(0, len(token)), label="position")
    with pytest.raises(InvalidToken):
        CODEC.open_uncached(token[:index] + inserted + token[index:])


@given(st.text(max_size=300))
def test_arbitrary_text_is_rejected_with_the_one_error_type(text: str) -> None:
    with pytest.raises(InvalidToken):
        CODEC.open(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "=",
        "A" * 9000,
        "0" * 13_000,
        "Bearer x",
        "AAAA====",
        " " * 200,
        "é" * 200,
        "+/" * 100,
        "02" + "0" * 199,
    ],
)
def test_malformed_shapes_are_rejected(text: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        CODEC.open(text)
    assert refused.value.fault is TokenFault.MALFORMED


def test_other_spellings_of_the_same_bytes_are_rejected() -> None:
    token = CODEC.mint(1, ["B"], None, False).token
    raw = bytes.fromhex(token)
    spellings = {
        token.upper(),
        _one_letter_upper(token),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        " " + token,
        token + "\n",
    }
    for spelling in spellings:
        with pytest.raises(InvalidToken):
            CODEC.open_uncached(spelling)


def _one_letter_upper(token: str) -> str:
    index = next(index for index, char in enumerate(token) if char in "abcdef")
    return token[:index] + token[index].upper() + token[index + 1 :]


@pytest.mark.parametrize("version", [0, 1, 3, 255])
def test_another_version_is_rejected_even_with_a_valid_tag(version: int) -> None:
    token = CODEC.mint(1, ["B"], None, False).token
    raw = bytes.fromhex(token)
    key_id, aead = RING.minting_aead()
    header = struct.pack(">BI", version, key_id)
    nonce = raw[5:17]
    plaintext = aead.decrypt(nonce, raw[17:], raw[:5])
    forged = header + nonce + aead.encrypt(nonce, plaintext, header)
    for text in (forged.hex(), base64.urlsafe_b64encode(forged).decode().rstrip("=")):
        with pytest.raises(InvalidToken):
            CODEC.open_uncached(text)


def test_sealed_bytes_that_are_not_claims_are_rejected() -> None:
    key_id, aead = RING.minting_aead()
    header = struct.pack(">BI", 2, key_id)
    nonce = bytes(12)
    claims_like = msgspec.msgpack.encode([b"\x00" * 16, 1, ["B"], None, False, 0])
    for plaintext in (b"", b"\x00" * 40, claims_like, claims_like + b"\x00"):
        forged = header + nonce + aead.encrypt(nonce, plaintext, header)
        with pytest.raises(InvalidToken):
            CODEC.open_uncached(forged.hex())


def test_a_token_from_another_key_ring_is_rejected() -> None:
    foreign = codec_at(FAR_PAST).mint(1, ["B"], None, False).token
    with pytest.raises(InvalidToken):
        CODEC.open(foreign)


def test_key_rotation_keeps_old_tokens_until_their_key_is_retired() -> None:
    codec = codec_at(1000)
    old = codec.mint(1, ["B"], None, False)
    codec.key_ring = codec.key_ring.with_new_key(now=1000)
    new = codec.mint(2, ["B"], None, False)
    assert new.key_id != old.key_id
    assert codec.open(old.token).user_id == 1
    assert codec.open(new.token).user_id == 2
    codec.key_ring = codec.key_ring.without(old.key_id)
    with pytest.raises(InvalidToken):
        codec.open(old.token)
    assert codec.open(new.token).user_id == 2


def test_expiry_follows_the_clock_on_cold_and_cached_paths() -> None:
    clock = Clock(1000)
    codec = TokenCodec(KeyRing.generate(), ttl_seconds=60, clock=clock)
    token = codec.mint(1, ["B"], None, False).token
    clock.now = 1059.9
    assert codec.open(token).expires_at == 1060
    clock.now = 1060
    with pytest.raises(InvalidToken) as refused:
        codec.open(token)
    assert refused.value.fault is TokenFault.EXPIRED
    fresh = TokenCodec(codec.key_ring, ttl_seconds=60, clock=clock)
    with pytest.raises(InvalidToken) as refused_cold:
        fresh.open(token)
    assert refused_cold.value.fault is TokenFault.EXPIRED


def test_the_largest_allowed_claims_fit_under_the_bearer_cap() -> None:
    names = [chr(0x10000 + index) * MAX_BROKER_NAME_LENGTH for index in range(MAX_BROKER_NAMES)]
    accounts = list(range(1, MAX_ACCOUNT_IDS + 1))
    minted = CODEC.mint(2**63 - 1, names, accounts, True)
    assert len(minted.token) <= MAX_BEARER_LENGTH
    assert CODEC.open(minted.token).broker_names == tuple(names)


def test_the_opened_token_cache_is_bounded() -> None:
    codec = TokenCodec(KeyRing.generate(), clock=Clock(FAR_PAST), cache_size=4)
    tokens = [codec.mint(user, ["B"], None, False).token for user in range(1, 11)]
    for token in tokens:
        codec.open(token)
    assert len(codec._opened) == 4
    assert [codec.open(token).user_id for token in tokens] == list(range(1, 11))
