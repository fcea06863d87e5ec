"""The token key ring: the newest key mints, every key in the ring opens.

Immutable on purpose: rotation builds a new ring and swaps one reference, so a request being
served never sees a half-updated ring.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_SIZE = 32
MAX_KEY_ID = 2**32 - 1


class KeyRingError(ValueError):
    """The ring or its serialised form is unusable (empty, duplicate ids, bad key bytes)."""


@dataclass(frozen=True, slots=True)
class TokenKey:
    """One AES-256-GCM key with the id written into every token it seals."""

    key_id: int
    secret: bytes
    created_at: int

    def __repr__(self) -> str:  # keep key material out of logs and tracebacks
        return f"TokenKey(key_id={self.key_id:08x}, created_at={self.created_at})"

    @classmethod
    def generate(cls, existing_ids: Iterable[int] = (), now: float | None = None) -> TokenKey:
        """A fresh random key whose id collides with none of `existing_ids`."""
        taken = set(existing_ids)
        key_id = secrets.randbelow(MAX_KEY_ID + 1)
        while key_id in taken:
            key_id = secrets.randbelow(MAX_KEY_ID + 1)
        created = int(time.time() if now is None else now)
        return cls(key_id=key_id, secret=secrets.token_bytes(KEY_SIZE), created_at=created)


class KeyRing:
    """Keys by id, plus the minting key (the newest by creation time, then by position)."""

    __slots__ = ("_aeads", "_keys", "_minting")

    def __init__(self, keys: Iterable[TokenKey]) -> None:
        ordered = list(keys)
        if not ordered:
            raise KeyRingError("a key ring needs at least one key")
        by_id: dict[int, TokenKey] = {}
        for key in ordered:
            if not 0 <= key.key_id <= MAX_KEY_ID:
                raise KeyRingError(f"key id {key.key_id} is out of range")
            if len(key.secret) != KEY_SIZE:
                raise KeyRingError(f"key {key.key_id:08x} is not {KEY_SIZE} bytes")
            if key.key_id in by_id:
                raise KeyRingError(f"key id {key.key_id:08x} appears twice")
            by_id[key.key_id] = key
        self._keys = by_id
        self._aeads = {key_id: AESGCM(key.secret) for key_id, key in by_id.items()}
        newest = max(enumerate(ordered), key=lambda pair: (pair[1].created_at, pair[0]))[1]
        self._minting = newest

    @classmethod
    def generate(cls) -> KeyRing:
        return cls([TokenKey.generate()])

    @property
    def keys(self) -> tuple[TokenKey, ...]:
        return tuple(sorted(self._keys.values(), key=lambda key: key.created_at))

    @property
    def minting_key(self) -> TokenKey:
        return self._minting

    def minting_aead(self) -> tuple[int, AESGCM]:
        return self._minting.key_id, self._aeads[self._minting.key_id]

    def aead_for(self, key_id: int) -> AESGCM | None:
        return self._aeads.get(key_id)

    def aeads(self) -> Mapping[int, AESGCM]:
        """Every key id with its cipher (read-only: the ring is immutable)."""
        return MappingProxyType(self._aeads)

    def with_new_key(self, now: float | None = None) -> KeyRing:
        """A ring that mints with a fresh key and still opens everything this one opens."""
        newest = self._minting.created_at
        key = TokenKey.generate(self._keys, now)
        if key.created_at <= newest:  # same second as the current minting key: stay newest
            key = TokenKey(key.key_id, key.secret, newest + 1)
        return KeyRing([*self._keys.values(), key])

    def without(self, key_id: int) -> KeyRing:
        """Retire a key: tokens it sealed stop opening. The last key cannot be retired."""
        if key_id not in self._keys:
            raise KeyRingError(f"no key with id {key_id:08x}")
        if len(self._keys) == 1:
            raise KeyRingError("cannot retire the only key; add a new key first")
        return KeyRing(key for kid, key in self._keys.items() if kid != key_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "keys": [
                {
                    "id": f"{key.key_id:08x}",
                    "key": base64.urlsafe_b64encode(key.secret).decode(),
                    "created_at": key.created_at,
                }
                for key in self.keys
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyRing:
        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise KeyRingError("unknown key ring format")
        entries = data.get("keys")
        if not isinstance(entries, list):
            raise KeyRingError("key ring has no key list")
        keys = []
        for entry in entries:
            try:
                keys.append(
                    TokenKey(
                        key_id=int(entry["id"], 16),
                        secret=base64.urlsafe_b64decode(entry["key"]),
                        created_at=int(entry["created_at"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise KeyRingError("a key entry is malformed") from exc
        return cls(keys)
