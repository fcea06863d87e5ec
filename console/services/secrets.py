"""Secrets in the OS keyring, or, when there is none, in memory for this run only.

The console never writes a secret to a file. Keyring calls can block (D-Bus, an unlock
prompt), so the GUI goes through `AsyncSecrets`, which runs them in an executor.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import keyring
import keyring.backends.fail
import keyring.backends.null

SERVICE = "tv-adapter-console"
"""The keyring service name of every console secret; user names are the keys below."""


def profile_key(profile_id: str) -> str:
    """A profile's bearer secret: keyed by the stable id, never the display name."""
    return f"profile:{profile_id}"


EMBEDDED_TOKEN_KEYS = "embedded:token-keys"  # noqa: S105 (a keyring user name)
EMBEDDED_BROKER_SECRET = "embedded:broker-secret"  # noqa: S105 (a keyring user name)
MINTED_TOKENS_KEY = "console:minted-tokens-key"


class SecretStoreError(Exception):
    """The secret store refused; the message is for the operator."""


class SecretStore(Protocol):
    @property
    def backend_name(self) -> str:
        """What the status bar shows, e.g. 'SecretService' or 'memory (this run only)'."""

    @property
    def persistent(self) -> bool:
        """False when secrets last only for this run (no usable keyring)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None:
        """Remove the secret; no error if there was none."""


class KeyringSecretStore:
    """The OS keyring through the `keyring` package.

    Backends fail in their own ways (KeyringError, but also secretstorage/jeepney errors and
    OSError when the D-Bus session goes away), so every failure becomes a SecretStoreError.
    """

    def __init__(self, backend: keyring.backend.KeyringBackend) -> None:
        self._backend = backend

    @property
    def backend_name(self) -> str:
        return type(self._backend).__module__.rsplit(".", 1)[-1]

    @property
    def persistent(self) -> bool:
        return True

    def get(self, key: str) -> str | None:
        try:
            return self._backend.get_password(SERVICE, key)
        except Exception as exc:
            raise SecretStoreError(f"The keyring could not be read: {exc}") from exc

    def set(self, key: str, value: str) -> None:
        try:
            self._backend.set_password(SERVICE, key, value)
        except Exception as exc:
            raise SecretStoreError(f"The keyring refused to store the secret: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            if self._backend.get_password(SERVICE, key) is not None:
                self._backend.delete_password(SERVICE, key)
        except Exception as exc:
            raise SecretStoreError(f"The keyring refused to delete the secret: {exc}") from exc


class SessionSecretStore:
    """Secrets for this run only: what the console uses when no keyring is usable."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self._values: dict[str, str] = {}

    @property
    def backend_name(self) -> str:
        return "memory (this run only)"

    @property
    def persistent(self) -> bool:
        return False

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        self._values[key] = value

    def delete(self, key: str) -> None:
        self._values.pop(key, None)


def open_secret_store() -> SecretStore:
    """The OS keyring if one is usable, else a session store that says why."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # e.g. PYTHON_KEYRING_BACKEND names a backend that cannot work here
        return SessionSecretStore(f"the configured keyring backend cannot be used: {exc}")
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return SessionSecretStore("no usable OS keyring (Secret Service, Keychain, ...) was found")
    store = KeyringSecretStore(backend)
    try:
        store.get("console:probe")
    except SecretStoreError as exc:
        return SessionSecretStore(str(exc))
    return store


class AsyncSecrets:
    """`SecretStore` for the GUI: every call runs in an executor, never on the Qt thread."""

    def __init__(self, store: SecretStore) -> None:
        self.store = store

    async def get(self, key: str) -> str | None:
        return await asyncio.get_running_loop().run_in_executor(None, self.store.get, key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.store.set, key, value)

    async def delete(self, key: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.store.delete, key)
