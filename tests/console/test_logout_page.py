"""The Logout page's list of minted tokens says what it cannot list."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.activity import ActivityLog
from console.services.profiles import ProfileStore
from console.services.recent import RecentRequests
from console.services.secrets import SessionSecretStore
from console.services.vault import MintedTokenVault
from tests.support.console_driver import WAIT_MS, run


def test_without_a_keyring_an_empty_list_says_earlier_runs_are_not_listed(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    store = SessionSecretStore("no keyring in this test")
    profiles = ProfileStore()
    profiles.load()
    vault = MintedTokenVault(store)
    vault.load()
    recent = RecentRequests()
    recent.load()
    settings = QSettings(str(console_home / "test.ini"), QSettings.Format.IniFormat)
    controller = Controller(store, profiles, ActivityLog(), vault, recent, settings)
    controller.start()
    qtbot.addWidget(controller.window)
    try:
        run(qtbot, controller.start_embedded())
        page = controller.logout
        page.refresh()
        qtbot.waitUntil(lambda: "in this run" in page.minted_note.text(), timeout=WAIT_MS)
        note = page.minted_note.text()
        assert note.startswith("No token minted for Embedded in this run. ")
        assert "no OS keyring" in note
        assert "yet" not in note
    finally:
        run(qtbot, controller.shutdown())
