"""Driving the console in a test as an operator would: build it, click, wait on its loop.

Shared by the GUI test modules, so that one of them never imports another's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import keyring
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.activity import ActivityLog
from console.services.profiles import ProfileStore
from console.services.recent import RecentRequests
from console.services.secrets import KeyringSecretStore, SecretStore
from console.services.vault import MintedTokenVault

WAIT_MS = 15_000
T = TypeVar("T")


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """A left click, as pytest-qt's (untyped) mouseClick does it."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]


def run(qtbot: QtBot, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the test's qasync loop by spinning Qt until it is done."""
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


@contextlib.contextmanager
def running_console(
    qtbot: QtBot, console_home: Path, page: str | None = None
) -> Iterator[Controller]:
    """The console shown with its embedded adapter started (and `page` open); shut down after.

    A controller fixture yields inside this: pytest resumes the fixture normally after a
    failed test, so the shutdown runs either way."""
    built = build(console_home)
    qtbot.addWidget(built.window)
    built.window.show()
    run(qtbot, built.start_embedded())
    if page is not None:
        built.window.show_page(page)
    yield built
    run(qtbot, built.shutdown())


def send_token_request(qtbot: QtBot, controller: Controller, user: str = "14601") -> str:
    """Fill in and send the Tokens page's request (`user` under BESTBROKER) as an operator
    would; the status it ends with. The status is cleared first, so the last answer's text
    never passes for this one's."""
    page = controller.tokens
    page.user_id.setText(user)
    page.brokers.set_tags(["BESTBROKER"])
    page.status.clear()
    click(qtbot, page.send_button)

    def answered() -> bool:
        text = page.status.text()
        return page.send_button.isEnabled() and bool(text) and not text.startswith("Sending")

    qtbot.waitUntil(answered, timeout=WAIT_MS)
    return page.status.text()


def build(console_home: Path, store: SecretStore | None = None) -> Controller:
    """The console as `main` builds it, on the keyring unless another `store` is given."""
    store = store or KeyringSecretStore(keyring.get_keyring())
    profiles = ProfileStore()
    profiles.load()
    vault = MintedTokenVault(store)
    vault.load()
    recent = RecentRequests()
    recent.load()
    settings = QSettings(str(console_home / "test.ini"), QSettings.Format.IniFormat)
    controller = Controller(store, profiles, ActivityLog(), vault, recent, settings)
    controller.start()
    return controller
