"""The secret store against a real Secret Service (gnome-keyring), and its fallbacks.

The `keyring` tests need tests/run_with_keyring.sh (make test uses it): they run against its
throwaway gnome-keyring and skip, saying why, anywhere else.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.SecretService
import pytest

from console.services.secrets import (
    SERVICE,
    AsyncSecrets,
    KeyringSecretStore,
    SecretStoreError,
    SessionSecretStore,
    open_secret_store,
)
from tests.support.keyring_env import (
    MemoryKeyring,
    secret_service_keyring,
    secret_tool,
    subprocess_env,
)

REPO = Path(__file__).resolve().parents[2]
PICK = (
    "from console.services.secrets import open_secret_store; "
    "store = open_secret_store(); print(store.backend_name, store.persistent)"
)


@pytest.fixture
def secret_service() -> Iterator[keyring.backends.SecretService.Keyring]:
    with secret_service_keyring() as backend:
        yield backend


@pytest.fixture
def key(secret_service: keyring.backends.SecretService.Keyring) -> Iterator[str]:
    """A fresh user name for the test, deleted from the keyring afterwards."""
    name = f"tests:{uuid.uuid4().hex}"
    yield name
    KeyringSecretStore(secret_service).delete(name)


class ThreadRecorder:
    """A SecretStore that notes which thread each call ran on (the GUI thread must not block)."""

    def __init__(self, store: KeyringSecretStore) -> None:
        self.store = store
        self.threads: list[int] = []

    @property
    def backend_name(self) -> str:
        return self.store.backend_name

    @property
    def persistent(self) -> bool:
        return self.store.persistent

    def get(self, key: str) -> str | None:
        self.threads.append(threading.get_ident())
        return self.store.get(key)

    def set(self, key: str, value: str) -> None:
        self.threads.append(threading.get_ident())
        self.store.set(key, value)

    def delete(self, key: str) -> None:
        self.threads.append(threading.get_ident())
        self.store.delete(key)


@pytest.mark.keyring
def test_round_trip_through_the_secret_service(
    secret_service: keyring.backends.SecretService.Keyring, key: str
) -> None:
    store = KeyringSecretStore(secret_service)
    assert (store.backend_name, store.persistent) == ("SecretService", True)
    assert store.get(key) is None
    store.set(key, "first-secret")
    assert store.get(key) == "first-secret"
    unusual = "ünïcødé secret with spaces & symbols !#%"
    store.set(key, unusual)
    assert store.get(key) == unusual
    other_connection = keyring.backends.SecretService.Keyring()  # type: ignore[no-untyped-call]
    assert KeyringSecretStore(other_connection).get(key) == unusual
    store.delete(key)
    assert store.get(key) is None
    store.delete(key)  # deleting what is not there is not an error


@pytest.mark.keyring
def test_libsecret_sees_the_service_and_user_name_the_console_uses(
    secret_service: keyring.backends.SecretService.Keyring, key: str
) -> None:
    tool = secret_tool()
    if tool is None:
        pytest.skip("secret-tool (Debian: libsecret-tools) is not installed")
    KeyringSecretStore(secret_service).set(key, "seen-from-outside")
    found = subprocess.run(
        [tool, "lookup", "service", SERVICE, "username", key],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (found.returncode, found.stdout) == (0, "seen-from-outside")


@pytest.mark.keyring
def test_async_secrets_round_trip_off_the_loop_thread(
    secret_service: keyring.backends.SecretService.Keyring, key: str
) -> None:
    recorder = ThreadRecorder(KeyringSecretStore(secret_service))
    secrets = AsyncSecrets(recorder)

    async def scenario() -> tuple[str | None, str | None, int]:
        await secrets.set(key, "async-secret")
        got = await secrets.get(key)
        await secrets.delete(key)
        return got, await secrets.get(key), threading.get_ident()

    got, after_delete, loop_thread = asyncio.run(scenario())
    assert (got, after_delete) == ("async-secret", None)
    assert len(recorder.threads) == 4
    assert loop_thread not in recorder.threads


@pytest.mark.keyring
def test_open_secret_store_picks_the_secret_service_by_itself(
    secret_service: keyring.backends.SecretService.Keyring, tmp_path: Path
) -> None:
    """In a fresh process with no backend configured, keyring's own choice is SecretService."""
    picked = subprocess.run(
        [sys.executable, "-c", PICK],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(tmp_path / "home")),
    )
    assert picked.returncode == 0, picked.stderr
    assert picked.stdout.split() == ["SecretService", "True"]


@pytest.mark.keyring
def test_open_secret_store_uses_the_secret_service_in_process(
    secret_service: keyring.backends.SecretService.Keyring, key: str
) -> None:
    store = open_secret_store()
    assert isinstance(store, KeyringSecretStore)
    assert store.persistent
    store.set(key, "in-process")
    assert KeyringSecretStore(secret_service).get(key) == "in-process"


# Without a usable keyring (these run everywhere)


def test_no_keyring_means_a_session_store_that_says_why() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        store = open_secret_store()
    finally:
        keyring.set_keyring(previous)
    assert isinstance(store, SessionSecretStore)
    assert not store.persistent
    assert "no usable OS keyring" in store.reason


def test_a_configured_backend_that_cannot_work_falls_back_to_the_session(tmp_path: Path) -> None:
    env = subprocess_env(str(tmp_path / "home"), backend="keyring.backends.SecretService.Keyring")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    picked = subprocess.run(
        [sys.executable, "-c", PICK + "; print(store.reason)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert picked.returncode == 0, picked.stderr
    first, reason = picked.stdout.splitlines()
    assert first == "memory (this run only) False"
    assert "the configured keyring backend cannot be used" in reason


class BrokenKeyring(MemoryKeyring):
    """Fails the way a Secret Service does when its D-Bus session disappears."""

    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionResetError(104, "Connection reset by peer")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")


def test_any_backend_failure_becomes_a_secret_store_error() -> None:
    store = KeyringSecretStore(BrokenKeyring())
    with pytest.raises(SecretStoreError, match=r"could not be read: .*Connection reset"):
        store.get("k")
    with pytest.raises(SecretStoreError, match="refused to store"):
        store.set("k", "v")
    with pytest.raises(SecretStoreError, match="refused to delete"):
        store.delete("k")
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        fallback = open_secret_store()
    finally:
        keyring.set_keyring(previous)
    assert isinstance(fallback, SessionSecretStore)
    assert "Connection reset" in fallback.reason
