"""The workspace closes every profile's client it stops using, whatever the path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from console.services.profiles import Profile
from tests.support.console_driver import WAIT_MS, build, run


def test_saving_a_profile_that_is_not_active_closes_its_old_client(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller = build(console_home)
    qtbot.addWidget(controller.window)
    workspace = controller.workspace
    profile = workspace.profiles.add(Profile.create("Remote", "http://127.0.0.1:9"))
    workspace.profiles_imported()
    old = workspace.ops(profile.id)
    assert workspace.active.profile.id != profile.id
    renamed = dataclasses.replace(profile, name="Remote, renamed")
    saved = run(qtbot, workspace.save_profile(renamed, None, is_new=False))
    assert workspace.active.profile.name == saved.name == "Remote, renamed"
    assert workspace.active is not old
    qtbot.waitUntil(lambda: old.client.is_closed, timeout=WAIT_MS)
    current = workspace.active
    run(qtbot, controller.shutdown())
    assert current.client.is_closed
