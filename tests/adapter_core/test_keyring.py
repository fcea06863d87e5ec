"""The key ring and its file: newest key mints, serialisation round-trips, files stay private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from adapter_core.tokens.keyfile import (
    KeyFileError,
    load_key_ring,
    load_or_create_key_ring,
    save_key_ring,
)
from adapter_core.tokens.keyring import KeyRing, KeyRingError, TokenKey


def test_the_newest_key_mints() -> None:
    old = TokenKey(1, b"a" * 32, created_at=100)
    new = TokenKey(2, b"b" * 32, created_at=200)
    assert KeyRing([new, old]).minting_key == new
    assert KeyRing([old, new]).minting_key == new


def test_a_key_added_in_the_same_second_still_becomes_the_minting_key() -> None:
    ring = KeyRing([TokenKey(1, b"a" * 32, created_at=100)])
    rotated = ring.with_new_key(now=100)
    assert rotated.minting_key.key_id != 1
    assert {key.key_id for key in rotated.keys} >= {1}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "at least one key"),
        ([TokenKey(1, b"a" * 31, 0)], "not 32 bytes"),
        ([TokenKey(1, b"a" * 32, 0), TokenKey(1, b"b" * 32, 1)], "appears twice"),
        ([TokenKey(2**32, b"a" * 32, 0)], "out of range"),
    ],
)
def test_unusable_rings_are_refused(keys: list[TokenKey], message: str) -> None:
    with pytest.raises(KeyRingError, match=message):
        KeyRing(keys)


def test_the_last_key_cannot_be_retired_and_unknown_ids_are_named() -> None:
    ring = KeyRing.generate()
    with pytest.raises(KeyRingError, match="only key"):
        ring.without(ring.minting_key.key_id)
    with pytest.raises(KeyRingError, match="no key with id"):
        ring.with_new_key().without(ring.minting_key.key_id ^ 1)


def test_key_material_never_shows_in_repr() -> None:
    key = TokenKey.generate()
    assert key.secret.hex() not in repr(key)
    assert str(key.secret) not in repr(key)


def test_json_round_trip(tmp_path: Path) -> None:
    ring = KeyRing.generate().with_new_key()
    again = KeyRing.from_json(json.loads(json.dumps(ring.to_json())))
    assert again.keys == ring.keys
    assert again.minting_key == ring.minting_key


def test_key_file_is_created_private_once(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring, created = load_or_create_key_ring(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_key_ring(path)
    assert not created_again
    assert again.keys == ring.keys


def test_saving_replaces_the_file_atomically_and_privately(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring, _ = load_or_create_key_ring(path)
    rotated = ring.with_new_key()
    save_key_ring(path, rotated)
    assert load_key_ring(path).minting_key == rotated.minting_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["keys.json"]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    load_or_create_key_ring(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key_ring(path)


@pytest.mark.parametrize(
    "content", [b"not json", b"{}", b'{"version": 1, "keys": [{"id": "zz"}]}', b"[]"]
)
def test_a_damaged_key_file_is_refused_without_showing_its_content(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="cannot use the token key file"):
        load_key_ring(path)
