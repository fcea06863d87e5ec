"""Tokens the console minted, remembered per profile so they can be logged out later.

Adapters that are not ours offer no admin API to list tokens, so the console keeps what it
minted. Tokens are secrets: the file is AES-256-GCM encrypted under a key that lives only in
the OS keyring. Without a real keyring the vault keeps records in memory for this run and
writes nothing, because a key that is not in a keyring would have to sit next to the file.
A file that cannot be decrypted is moved aside, never overwritten, and the operator is told.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapter_core.datadir import write_private_file
from adapter_core.tokens.codec import DEFAULT_TTL_SECONDS
from console.paths import data_dir, ensure_dir
from console.services.redaction import mask
from console.services.secrets import MINTED_TOKENS_KEY, SecretStore, SecretStoreError

VAULT_FILE = "minted-tokens.bin"
DEFAULT_LIFETIME = timedelta(seconds=DEFAULT_TTL_SECONDS)
"""The lifetime the source document gives tokens: what is assumed when the adapter never says."""
"""The source document's token lifetime, assumed when the adapter does not say."""
DEFAULT_PURGE_AFTER = timedelta(days=7)
KEY_SIZE = 32
NONCE_SIZE = 12
_HEADER = b"TVCMT\x01"
"""File magic and format version; also the AEAD associated data."""


class VaultError(Exception):
    """The vault could not be read or saved; the message is for the operator."""


def set_aside(path: Path) -> Path:
    """Rename an unreadable file to `<name>.unreadable-<UTC time>` and return the new path.

    The file is evidence (and maybe recoverable with the right key), so it is never deleted
    or overwritten; an existing name gets a counter rather than being replaced.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.unreadable-{stamp}-{counter}")
        counter += 1
    path.rename(target)
    return target


@dataclass(frozen=True, slots=True)
class MintedRecord:
    record_id: str
    """Random; the key for `mark_logged_out`, `remove` and the like."""
    profile_id: str
    token: str = field(repr=False)
    """The token itself: a secret, kept out of repr so it never lands in a log line."""
    token_id: str | None
    """Hex id from introspection, when the adapter offers it."""
    user_id: int
    broker_names: tuple[str, ...]
    account_ids: tuple[int, ...] | None
    is_verified: bool
    minted_at: datetime
    expires_at: datetime
    logged_out_at: datetime | None = None
    logout_result: str | None = None
    expiry_assumed: bool = False
    """True when the adapter never told the expiry: `expires_at` is then the usual lifetime."""

    @property
    def token_hint(self) -> str:
        return mask(self.token)

    def to_json(self) -> dict[str, Any]:
        return {
            "recordId": self.record_id,
            "profileId": self.profile_id,
            "token": self.token,
            "tokenId": self.token_id,
            "userId": self.user_id,
            "brokerNames": list(self.broker_names),
            "accountIds": None if self.account_ids is None else list(self.account_ids),
            "isVerified": self.is_verified,
            "mintedAt": self.minted_at.isoformat(),
            "expiresAt": self.expires_at.isoformat(),
            "loggedOutAt": None if self.logged_out_at is None else self.logged_out_at.isoformat(),
            "logoutResult": self.logout_result,
            "expiryAssumed": self.expiry_assumed,
        }

    @classmethod
    def from_json(cls, row: Any) -> MintedRecord:
        """Raises ValueError, TypeError or KeyError on anything but what `to_json` wrote."""
        if not isinstance(row, dict):
            raise TypeError("record is not an object")
        accounts = row["accountIds"]
        logged_out = row["loggedOutAt"]
        return cls(
            record_id=_text(row["recordId"]),
            profile_id=_text(row["profileId"]),
            token=_text(row["token"]),
            token_id=None if row["tokenId"] is None else _text(row["tokenId"]),
            user_id=_integer(row["userId"]),
            broker_names=tuple(_text(name) for name in _items(row["brokerNames"])),
            account_ids=None if accounts is None else tuple(_integer(a) for a in _items(accounts)),
            is_verified=_flag(row["isVerified"]),
            minted_at=_time(row["mintedAt"]),
            expires_at=_time(row["expiresAt"]),
            logged_out_at=None if logged_out is None else _time(logged_out),
            logout_result=None if row["logoutResult"] is None else _text(row["logoutResult"]),
            expiry_assumed=_flag(row.get("expiryAssumed", False)),
        )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _items(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value


def _time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None:
        raise ValueError("time without a zone")
    return parsed.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must carry a time zone (use UTC)")
    return value.astimezone(UTC)


def _encrypt(records: list[MintedRecord], key: bytes) -> bytes:
    document = {"version": 1, "records": [record.to_json() for record in records]}
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(document).encode(), _HEADER)
    return _HEADER + nonce + sealed


def _decrypt(blob: bytes, key: bytes) -> list[MintedRecord]:
    """Raises ValueError for any file this module did not write with this key."""
    if not blob.startswith(_HEADER) or len(blob) < len(_HEADER) + NONCE_SIZE + 16:
        raise ValueError("not a minted-token vault of a known version")
    nonce = blob[len(_HEADER) : len(_HEADER) + NONCE_SIZE]
    try:
        plain = AESGCM(key).decrypt(nonce, blob[len(_HEADER) + NONCE_SIZE :], _HEADER)
    except InvalidTag:
        raise ValueError("does not decrypt with the keyring's key") from None
    try:
        document = json.loads(plain)
        rows = document["records"]
        if not isinstance(rows, list):
            raise TypeError("records is not a list")
        return [MintedRecord.from_json(row) for row in rows]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"decrypts but its content is damaged ({exc})") from None


def _decode_key(encoded: str) -> bytes | None:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_SIZE else None


class MintedTokenVault:
    """Minted tokens per profile; encrypted on disk only under a key held in a real keyring.

    Call `load` once (it blocks on the keyring and the disk: run it in an executor) before
    anything else. Every change is saved at once; a failed save raises `VaultError` but keeps
    the change in memory for this run. Safe to call from several threads.
    """

    def __init__(self, store: SecretStore, path: Path | None = None) -> None:
        self._store = store
        self._path = path
        self._records: dict[str, MintedRecord] = {}
        self._key: bytes | None = None
        self._loaded = False
        self._lock = threading.RLock()
        self._unavailable: str | None = None
        """Why nothing is written this run although the store is a keyring."""
        self.problem: VaultError | None = None
        """The last load or save failure, for the status area; None once a save succeeds."""

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else data_dir() / VAULT_FILE

    @property
    def persistent(self) -> bool:
        """True when records survive a restart (encrypted file, key in the keyring)."""
        return self._store.persistent and self._unavailable is None

    @property
    def status_message(self) -> str:
        """Where the minted tokens are kept, in a sentence for the operator."""
        if not self._store.persistent:
            return (
                "Minted tokens are kept in memory for this run only: there is no OS keyring "
                "to hold the key that would encrypt them on disk."
            )
        if self._unavailable is not None:
            return f"Minted tokens are kept in memory for this run only: {self._unavailable}"
        return f"Minted tokens are saved encrypted in {self.path}."

    def load(self) -> None:
        """Read the saved records; raises VaultError (and starts empty) if they are unreadable."""
        with self._lock:
            self._records = {}
            self._key = None
            self._unavailable = None
            self.problem = None
            self._loaded = True
            if not self._store.persistent:
                return
            try:
                self._load_file()
            except VaultError as exc:
                self.problem = exc
                raise

    def _load_file(self) -> None:
        path = self.path
        try:
            encoded = self._store.get(MINTED_TOKENS_KEY)
        except SecretStoreError as exc:
            self._unavailable = "the keyring could not be read, so nothing is saved."
            raise VaultError(
                f"The minted tokens of earlier runs cannot be shown: {exc} The file {path} "
                "is left untouched, and tokens minted now are not saved."
            ) from exc
        try:
            blob: bytes | None = path.read_bytes()
        except FileNotFoundError:
            blob = None
        except OSError as exc:
            self._unavailable = f"{path} could not be read, so nothing is saved."
            raise VaultError(
                f"The minted tokens of earlier runs cannot be read from {path}: "
                f"{exc.strerror or exc}. Tokens minted now are not saved."
            ) from exc
        key = None if encoded is None else _decode_key(encoded)
        if blob is None:
            self._key = key
            return
        if key is None:
            reason = (
                "its key is missing from the keyring"
                if encoded is None
                else ("the key in the keyring is not a valid vault key")
            )
            self._fail_unreadable(path, reason)
        try:
            records = _decrypt(blob, key)
        except ValueError as exc:
            self._key = key
            self._fail_unreadable(path, str(exc))
        self._key = key
        self._records = {record.record_id: record for record in records}

    def _fail_unreadable(self, path: Path, reason: str) -> NoReturn:
        try:
            aside = set_aside(path)
        except OSError as exc:
            self._unavailable = f"{path} is unreadable and could not be moved aside."
            raise VaultError(
                f"The saved minted tokens in {path} cannot be read ({reason}), and the file "
                f"could not be moved aside ({exc.strerror or exc}). It is left as is and "
                "nothing is saved this run."
            ) from exc
        raise VaultError(
            f"The saved minted tokens could not be read ({reason}). The file was kept as "
            f"{aside}. Tokens minted earlier can no longer be logged out from here; they "
            "expire on their own."
        )

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("MintedTokenVault.load() must be called first")

    def _save(self) -> None:
        if not self.persistent:
            return
        path = self.path
        try:
            if self._key is None:
                key = secrets.token_bytes(KEY_SIZE)
                self._store.set(MINTED_TOKENS_KEY, base64.b64encode(key).decode())
                self._key = key
            blob = _encrypt(builtins.list(self._records.values()), self._key)
            ensure_dir(path.parent)
            write_private_file(path, blob)
        except SecretStoreError as exc:
            self.problem = VaultError(
                f"Minted tokens could not be saved: {exc} They are kept for this run only."
            )
            raise self.problem from exc
        except OSError as exc:
            self.problem = VaultError(
                f"Minted tokens could not be saved to {path}: {exc.strerror or exc}. "
                "They are kept for this run only."
            )
            raise self.problem from exc
        self.problem = None

    def add(
        self,
        profile_id: str,
        token: str,
        *,
        user_id: int,
        broker_names: Sequence[str],
        account_ids: Sequence[int] | None,
        is_verified: bool,
        token_id: str | None = None,
        minted_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> MintedRecord:
        """Remember a freshly minted token; the same token twice is one record.

        Without `expires_at` the record assumes the usual lifetime and says so.
        """
        if not token:
            raise ValueError("token must not be empty")
        with self._lock:
            self._require_loaded()
            for record in self._records.values():
                if record.profile_id == profile_id and record.token == token:
                    return record
            minted = _utc(minted_at) if minted_at else datetime.now(UTC)
            record = MintedRecord(
                record_id=secrets.token_hex(8),
                profile_id=profile_id,
                token=token,
                token_id=token_id,
                user_id=user_id,
                broker_names=tuple(broker_names),
                account_ids=None if account_ids is None else tuple(account_ids),
                is_verified=is_verified,
                minted_at=minted,
                expires_at=_utc(expires_at) if expires_at else minted + DEFAULT_LIFETIME,
                expiry_assumed=expires_at is None,
            )
            self._records[record.record_id] = record
            self._save()
            return record

    def list(self, profile_id: str) -> builtins.list[MintedRecord]:
        """A profile's records, newest first."""
        with self._lock:
            self._require_loaded()
            mine = [r for r in self._records.values() if r.profile_id == profile_id]
        return sorted(mine, key=lambda record: record.minted_at, reverse=True)

    def get(self, record_id: str) -> MintedRecord | None:
        with self._lock:
            self._require_loaded()
            return self._records.get(record_id)

    def known_tokens(self) -> frozenset[str]:
        """Every remembered token: what the activity log must redact."""
        with self._lock:
            self._require_loaded()
            return frozenset(record.token for record in self._records.values())

    def _update(self, record_id: str, **changes: Any) -> MintedRecord:
        with self._lock:
            self._require_loaded()
            current = self._records.get(record_id)
            if current is None:
                raise KeyError(f"no minted token with record id {record_id}")
            updated = replace(current, **changes)
            self._records[record_id] = updated
            self._save()
            return updated

    def set_introspection(
        self, record_id: str, token_id: str, expires_at: datetime | None = None
    ) -> MintedRecord:
        """Store what introspection told: the token id and, if given, the real expiry."""
        changes: dict[str, Any] = {"token_id": token_id}
        if expires_at is not None:
            changes["expires_at"] = _utc(expires_at)
            changes["expiry_assumed"] = False
        return self._update(record_id, **changes)

    def find_token_id(self, profile_id: str, token_id: str) -> MintedRecord | None:
        """The record of a token known by the id the adapter gave it."""
        with self._lock:
            self._require_loaded()
            for record in self._records.values():
                if record.profile_id == profile_id and record.token_id == token_id:
                    return record
        return None

    def mark_logged_out(
        self, record_id: str, result: str, when: datetime | None = None
    ) -> MintedRecord:
        """Note a logout attempt's outcome; the record stays so the operator sees it."""
        return self._update(
            record_id,
            logged_out_at=_utc(when) if when else datetime.now(UTC),
            logout_result=result,
        )

    def remove(self, record_id: str) -> None:
        """Forget one record; no error if it is already gone."""
        with self._lock:
            self._require_loaded()
            if self._records.pop(record_id, None) is not None:
                self._save()

    def forget_profile(self, profile_id: str) -> int:
        """Forget every record of a deleted profile; returns how many there were."""
        return self._remove_where(lambda record: record.profile_id == profile_id)

    def purge_expired(
        self, older_than: timedelta = DEFAULT_PURGE_AFTER, now: datetime | None = None
    ) -> int:
        """Forget records that expired more than `older_than` ago; returns how many."""
        limit = (_utc(now) if now else datetime.now(UTC)) - older_than
        return self._remove_where(lambda record: record.expires_at < limit)

    def _remove_where(self, doomed: Callable[[MintedRecord], bool]) -> int:
        with self._lock:
            self._require_loaded()
            gone = [rid for rid, record in self._records.items() if doomed(record)]
            for record_id in gone:
                del self._records[record_id]
            if gone:
                self._save()
            return len(gone)
