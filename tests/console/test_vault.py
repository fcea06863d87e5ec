"""The minted-token vault: encrypted at rest under a keyring key, never on disk without one."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapter_core.token_request import TokenRequest
from console.paths import HOME_ENV, data_dir
from console.services.activity import ActivityLog, export_csv, export_json
from console.services.recent import RecentRequests
from console.services.redaction import mask
from console.services.secrets import MINTED_TOKENS_KEY, SecretStoreError, SessionSecretStore
from console.services.vault import (
    DEFAULT_LIFETIME,
    VAULT_FILE,
    MintedRecord,
    MintedTokenVault,
    VaultError,
    set_aside,
)

MINTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class MemoryKeyring:
    """A SecretStore double that claims persistence, as a real keyring does."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.fail_get = False
        self.fail_set = False

    @property
    def backend_name(self) -> str:
        return "test keyring"

    @property
    def persistent(self) -> bool:
        return True

    def get(self, key: str) -> str | None:
        if self.fail_get:
            raise SecretStoreError("The keyring could not be read: locked")
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        if self.fail_set:
            raise SecretStoreError("The keyring refused to store the secret: locked")
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(path))
    return path


@pytest.fixture
def keyring() -> MemoryKeyring:
    return MemoryKeyring()


def new_token() -> str:
    return secrets.token_urlsafe(48)


def opened(store: MemoryKeyring | SessionSecretStore) -> MintedTokenVault:
    vault = MintedTokenVault(store)
    vault.load()
    return vault


def add(
    vault: MintedTokenVault, profile: str = "p1", token: str | None = None, **extra: object
) -> MintedRecord:
    return vault.add(
        profile,
        token or new_token(),
        user_id=7,
        broker_names=("demo",),
        account_ids=(1, 2),
        is_verified=True,
        minted_at=extra.pop("minted_at", MINTED),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_records_survive_a_restart_encrypted_and_private(
    home: Path, keyring: MemoryKeyring
) -> None:
    vault = opened(keyring)
    token = new_token()
    record = add(vault, token=token)
    path = data_dir() / VAULT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert token.encode() not in path.read_bytes()
    assert len(base64.b64decode(keyring.values[MINTED_TOKENS_KEY])) == 32
    assert vault.persistent
    assert str(path) in vault.status_message
    again = opened(keyring)
    assert again.list("p1") == [record]
    assert again.get(record.record_id) == record


def test_every_write_uses_a_fresh_nonce(home: Path, keyring: MemoryKeyring) -> None:
    vault = opened(keyring)
    record = add(vault)
    first = (data_dir() / VAULT_FILE).read_bytes()
    vault.set_introspection(record.record_id, "ab" * 16)
    vault.set_introspection(record.record_id, "ab" * 16)
    second = (data_dir() / VAULT_FILE).read_bytes()
    assert first[6:18] != second[6:18]


def test_a_record_never_shows_its_token_in_repr(keyring: MemoryKeyring, home: Path) -> None:
    record = add(opened(keyring))
    assert record.token not in repr(record)
    assert record.token_hint == mask(record.token)


def test_list_is_per_profile_newest_first_and_duplicates_are_one_record(
    home: Path, keyring: MemoryKeyring
) -> None:
    vault = opened(keyring)
    old = add(vault, minted_at=MINTED)
    new = add(vault, minted_at=MINTED + timedelta(hours=1))
    other = add(vault, profile="p2")
    assert add(vault, token=old.token) == old
    assert vault.list("p1") == [new, old]
    assert vault.list("p2") == [other]
    assert vault.known_tokens() == {old.token, new.token, other.token}


def test_expiry_defaults_to_thirty_days_and_introspection_corrects_it(
    home: Path, keyring: MemoryKeyring
) -> None:
    vault = opened(keyring)
    record = add(vault)
    assert record.expires_at == MINTED + DEFAULT_LIFETIME
    real_expiry = MINTED + timedelta(days=1)
    updated = vault.set_introspection(record.record_id, "cd" * 16, real_expiry)
    assert (updated.token_id, updated.expires_at) == ("cd" * 16, real_expiry)
    assert opened(keyring).list("p1") == [updated]


def test_logout_outcomes_are_kept(home: Path, keyring: MemoryKeyring) -> None:
    vault = opened(keyring)
    record = add(vault)
    when = MINTED + timedelta(days=2)
    updated = vault.mark_logged_out(record.record_id, "revoked", when)
    assert (updated.logged_out_at, updated.logout_result) == (when, "revoked")
    assert opened(keyring).list("p1") == [updated]
    with pytest.raises(KeyError, match="no minted token"):
        vault.mark_logged_out("missing", "revoked")


def test_remove_forget_profile_and_purge(home: Path, keyring: MemoryKeyring) -> None:
    vault = opened(keyring)
    gone = add(vault)
    vault.remove(gone.record_id)
    vault.remove(gone.record_id)
    add(vault, profile="p2")
    add(vault, profile="p2")
    assert vault.forget_profile("p2") == 2
    long_expired = add(vault, expires_at=MINTED - timedelta(days=8))
    recently_expired = add(vault, expires_at=MINTED - timedelta(days=6))
    assert vault.purge_expired(timedelta(days=7), now=MINTED) == 1
    assert vault.list("p1") == [recently_expired]
    assert long_expired.token not in opened(keyring).known_tokens()


def test_times_must_carry_a_zone(home: Path, keyring: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="time zone"):
        add(opened(keyring), minted_at=datetime(2026, 1, 1))


def test_use_before_load_is_a_programming_error(keyring: MemoryKeyring) -> None:
    with pytest.raises(RuntimeError, match="load"):
        MintedTokenVault(keyring).list("p1")


def test_without_a_keyring_nothing_is_written(home: Path) -> None:
    store = SessionSecretStore("no keyring in this test")
    vault = opened(store)
    record = add(vault)
    vault.mark_logged_out(record.record_id, "revoked")
    assert vault.list("p1")[0].logout_result == "revoked"
    assert not vault.persistent
    assert "this run only" in vault.status_message
    assert files_under(home) == []
    assert store.get(MINTED_TOKENS_KEY) is None


def test_without_a_keyring_an_old_file_is_left_alone(home: Path, keyring: MemoryKeyring) -> None:
    add(opened(keyring))
    path = data_dir() / VAULT_FILE
    before = path.read_bytes()
    vault = opened(SessionSecretStore("no keyring"))
    assert vault.list("p1") == []
    add(vault)
    assert path.read_bytes() == before
    assert len(files_under(home)) == 1


def unreadable_files(home: Path) -> list[Path]:
    return [path for path in files_under(home) if ".unreadable-" in path.name]


@pytest.mark.parametrize("damage", ["lost key", "other key", "bad key", "flipped bit", "garbage"])
def test_an_unreadable_vault_is_kept_aside_and_reported(
    home: Path, keyring: MemoryKeyring, damage: str
) -> None:
    add(opened(keyring))
    path = data_dir() / VAULT_FILE
    if damage == "lost key":
        keyring.values.clear()
    elif damage == "other key":
        keyring.values[MINTED_TOKENS_KEY] = base64.b64encode(secrets.token_bytes(32)).decode()
    elif damage == "bad key":
        keyring.values[MINTED_TOKENS_KEY] = "not base64!"
    elif damage == "flipped bit":
        blob = bytearray(path.read_bytes())
        blob[-1] ^= 1
        path.write_bytes(bytes(blob))
    else:
        path.write_bytes(b"{}")
    before = path.read_bytes()
    vault = MintedTokenVault(keyring)
    with pytest.raises(VaultError, match="could not be read") as caught:
        vault.load()
    assert vault.problem is caught.value
    [aside] = unreadable_files(home)
    assert str(aside) in str(caught.value)
    assert aside.read_bytes() == before
    assert vault.list("p1") == []
    fresh = add(vault)
    assert opened(keyring).list("p1") == [fresh]
    assert aside.read_bytes() == before


def test_a_locked_keyring_leaves_the_file_untouched_and_writes_nothing(
    home: Path, keyring: MemoryKeyring
) -> None:
    add(opened(keyring))
    path = data_dir() / VAULT_FILE
    before = path.read_bytes()
    keyring.fail_get = True
    vault = MintedTokenVault(keyring)
    with pytest.raises(VaultError, match="left untouched"):
        vault.load()
    assert not vault.persistent
    add(vault)
    assert path.read_bytes() == before
    assert unreadable_files(home) == []


def test_a_keyring_refusing_the_new_key_keeps_the_token_in_memory_only(
    home: Path, keyring: MemoryKeyring
) -> None:
    keyring.fail_set = True
    vault = opened(keyring)
    with pytest.raises(VaultError, match="this run only"):
        add(vault)
    assert len(vault.list("p1")) == 1
    assert files_under(home) == []


def test_set_aside_never_overwrites_an_earlier_copy(tmp_path: Path) -> None:
    first = tmp_path / "file"
    first.write_text("one")
    one = set_aside(first)
    first.write_text("two")
    two = set_aside(first)
    assert one != two
    assert (one.read_text(), two.read_text()) == ("one", "two")


def test_no_secret_or_token_reaches_any_file(home: Path, keyring: MemoryKeyring) -> None:
    """Write everything the console writes, then look for the secrets in every byte of it."""
    broker_secret = "broker-" + secrets.token_urlsafe(24)
    tokens = [new_token() for _ in range(3)]
    log = ActivityLog()
    for token in tokens:
        log.record(
            profile_id="p1",
            profile_name="Prod",
            method="POST",
            path="/generate/token",
            request_headers={"Authorization": f"Bearer {broker_secret}"},
            request_body=json.dumps({"userId": 7, "brokerNames": ["demo"], "isVerified": True}),
            status=200,
            response_body=json.dumps({"s": "ok", "d": token}),
            duration_ms=5.0,
            error=None,
            secrets=[broker_secret],
        )
        log.record(
            profile_id="p1",
            profile_name="Prod",
            method="POST",
            path="/admin/tokens/introspect",
            request_headers={"Authorization": f"Bearer {broker_secret}"},
            request_body=json.dumps({"token": token}),
            status=200,
            response_body=json.dumps({"s": "ok", "d": {"valid": True}}),
            duration_ms=5.0,
            error=None,
            secrets=[broker_secret],
        )
        log.record(
            profile_id="p1",
            profile_name="Prod",
            method="POST",
            path="/logout",
            request_headers={"Authorization": f"Bearer {token}"},
            request_body="",
            status=None,
            response_body="",
            duration_ms=5.0,
            error=f"Cannot connect while sending {token} with {broker_secret}",
            secrets=[broker_secret],
        )
        log.audit(
            profile_id="p1",
            profile_name="Prod",
            token=token,
            token_id=None,
            ok=True,
            result=f"revoked {token}",
        )
    exports = home / "exports"
    exports.mkdir(parents=True)
    export_json(exports / "activity.json", log.exchanges())
    export_csv(exports / "activity.csv", log.exchanges())
    vault = opened(keyring)
    for token in tokens:
        add(vault, token=token)
    recent = RecentRequests()
    recent.load()
    recent.remember("p1", TokenRequest(7, ("demo",), None, True))

    vault_key = keyring.values[MINTED_TOKENS_KEY]
    needles = [broker_secret, *tokens, vault_key]
    needles += [needle[:24] for needle in needles]
    written = files_under(home)
    assert {path.name for path in written} >= {
        "activity.json",
        "activity.csv",
        VAULT_FILE,
        "recent-token-requests.json",
    }
    for path in written:
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{path.name} holds a secret"
        assert base64.b64decode(vault_key) not in content
