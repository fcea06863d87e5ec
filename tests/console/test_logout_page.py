"""The Logout page's list of minted tokens says what it cannot list."""

from __future__ import annotations

from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from console.services.secrets import SessionSecretStore
from tests.support.console_driver import WAIT_MS, build, run


def test_without_a_keyring_an_empty_list_says_earlier_runs_are_not_listed(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller = build(console_home, SessionSecretStore("no keyring in this test"))
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
