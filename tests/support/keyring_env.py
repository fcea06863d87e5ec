"""Keyrings for tests: a throwaway real Secret Service when there is one, memory otherwise.

Tests must never read or write the developer's own keyring (an unlock prompt, or test entries
left in a real login keyring). `tests/run_with_keyring.sh` starts gnome-keyring on a private
D-Bus session and exports `THROWAWAY_BUS_ENV` = that bus's address; the real-keyring tests run
only on exactly that bus, and skip with the reason everywhere else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import keyring
import keyring.backend
import keyring.backends.SecretService
import pytest
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from console.services.secrets import SERVICE

THROWAWAY_BUS_ENV = "TV_ADAPTER_TEST_KEYRING_BUS"
"""Set by tests/run_with_keyring.sh to the address of the bus its gnome-keyring serves."""
PROBE_KEY = "tests:probe"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring in a dict, for tests that need a persistent-looking store and no real one.

    Priority -1 (like keyring's null backend) so keyring never picks it on its own.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.values: dict[tuple[str, str], str] = {}

    @properties.classproperty
    def priority(cls) -> float:
        return -1

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.values.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


def secretservice_skip_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the real-keyring tests cannot run here, or None when they can.

    Nothing is asked of any Secret Service unless it is the throwaway one; that one is then
    probed with a read (the backend's own availability check, then one lookup).
    """
    environ = os.environ if environ is None else environ
    bus = environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not bus or environ.get(THROWAWAY_BUS_ENV) != bus:
        return (
            "no throwaway Secret Service on this D-Bus session; run the tests through "
            "tests/run_with_keyring.sh (make test does) to exercise a real keyring"
        )
    backend_class = keyring.backends.SecretService.Keyring
    try:
        backend_class.priority  # noqa: B018 (raises RuntimeError when the service is unusable)
        backend_class().get_password(SERVICE, PROBE_KEY)  # type: ignore[no-untyped-call]
    except Exception as exc:
        return f"the throwaway Secret Service does not answer: {exc}"
    return None


def secretservice_available() -> bool:
    return secretservice_skip_reason() is None


def secret_tool() -> str | None:
    """libsecret's command line client, to look into the keyring from outside Python."""
    return shutil.which("secret-tool")


@contextmanager
def secret_service_keyring() -> Iterator[keyring.backends.SecretService.Keyring]:
    """Fixture body: skip unless the throwaway Secret Service answers, else make it keyring's
    backend for the test (whatever conftest chose) and put the previous one back after."""
    reason = secretservice_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    previous = keyring.get_keyring()
    backend = keyring.backends.SecretService.Keyring()  # type: ignore[no-untyped-call]
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@contextmanager
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Fixture body: an in-memory backend for the test, the previous one restored after."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def subprocess_env(home: str, *, backend: str | None = None) -> dict[str, str]:
    """The environment for a console subprocess: its files under `home`, keyring chosen here.

    `backend=None` lets keyring pick (SecretService on the throwaway bus); XDG_CONFIG_HOME
    points into `home` so a developer's keyringrc.cfg cannot choose for it.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["TV_ADAPTER_CONSOLE_HOME"] = home
    env["XDG_CONFIG_HOME"] = os.path.join(home, "xdg-config")
    if backend is not None:
        env["PYTHON_KEYRING_BACKEND"] = backend
    return env
