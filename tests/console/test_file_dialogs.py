"""Exports start in the operator's Documents folder with a name proposed, never in the
directory the console happened to be started from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.views.file_dialogs import documents_dir
from tests.support.console_driver import WAIT_MS, running_console


@pytest.fixture
def controller(
    qtbot: QtBot, qloop: object, console_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Controller]:
    monkeypatch.chdir(tmp_path)  # a launch directory nobody would save into
    with running_console(qtbot, console_home) as built:
        yield built


def shown_dialog(qtbot: QtBot, owner: QWidget) -> QFileDialog:
    found: list[QFileDialog] = []

    def shown() -> bool:
        found[:] = [d for d in owner.findChildren(QFileDialog) if d.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    return found[0]


def test_the_sessions_export_starts_in_documents_with_a_dated_name(
    qtbot: QtBot, controller: Controller
) -> None:
    controller.sessions._export()
    dialog = shown_dialog(qtbot, controller.sessions)
    try:
        assert os.path.samefile(dialog.directory().absolutePath(), documents_dir())
        [chosen] = dialog.selectedFiles()
        assert Path(chosen).name.startswith("sessions-")
        assert Path(chosen).suffix == ".csv"
    finally:
        dialog.reject()


def test_the_profiles_export_proposes_a_name_in_documents(
    qtbot: QtBot, controller: Controller
) -> None:
    controller._export()
    dialog = shown_dialog(qtbot, controller.window)
    try:
        [chosen] = dialog.selectedFiles()
        assert Path(chosen) == Path(documents_dir()) / "profiles.json"
    finally:
        dialog.reject()


def test_the_activity_export_proposes_a_dated_name_in_documents(
    qtbot: QtBot, controller: Controller
) -> None:
    controller.activity._export("json")
    dialog = shown_dialog(qtbot, controller.activity)
    try:
        [chosen] = dialog.selectedFiles()
        assert Path(chosen).parent == Path(documents_dir())
        assert Path(chosen).name.startswith("activity-")
        assert Path(chosen).suffix == ".json"
    finally:
        dialog.reject()
