"""The workspace closes every profile's client it stops using, whatever the path."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.client import CLOSED, AdapterUnavailable
from console.services.profiles import Profile
from tests.support.console_driver import WAIT_MS, build, run


def with_a_remote(qtbot: QtBot, console_home: Path) -> tuple[Controller, Profile]:
    """A console with one remote profile besides Embedded (active), nothing listening there."""
    controller = build(console_home)
    qtbot.addWidget(controller.window)
    profile = controller.workspace.profiles.add(Profile.create("Remote", "http://127.0.0.1:9"))
    controller.workspace.profiles_imported()
    return controller, profile


def test_saving_a_profile_that_is_not_active_closes_its_old_client(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller, profile = with_a_remote(qtbot, console_home)
    workspace = controller.workspace
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


def test_operations_asked_for_after_the_workspace_closed_send_nothing_and_leak_nothing(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    """A late signal while the console quits may still ask for a profile's operations."""
    controller, profile = with_a_remote(qtbot, console_home)
    workspace = controller.workspace
    active = workspace.active
    run(qtbot, controller.shutdown())
    assert workspace.active is active
    late = workspace.ops(profile.id)
    assert late.client.is_closed
    with pytest.raises(AdapterUnavailable) as refused:
        run(qtbot, late.client.request("GET", "/healthz"))
    assert str(refused.value) == CLOSED
    assert workspace.activity.exchanges()[-1].error == CLOSED  # recorded, as any refusal


def test_a_profile_just_added_or_duplicated_is_the_one_the_toolbar_names(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller = build(console_home)
    qtbot.addWidget(controller.window)
    workspace, chooser = controller.workspace, controller.window.profile_box
    added = Profile.create("Remote", "http://127.0.0.1:9")
    saved = run(qtbot, workspace.save_profile(added, None, is_new=True))
    assert workspace.active.profile.id == saved.id
    assert (chooser.currentData(), chooser.currentText()) == (saved.id, "Remote")
    copy = run(qtbot, workspace.duplicate_profile(saved.id))
    assert chooser.currentData() == copy.id
    run(qtbot, controller.shutdown())


def test_the_log_keeps_what_was_done_to_profiles_and_never_a_secret(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="console.services.workspace")
    controller = build(console_home)
    qtbot.addWidget(controller.window)
    workspace = controller.workspace
    secret = "a-secret-that-must-never-reach-the-log-0123456789"
    added = Profile.create("Remote", "http://127.0.0.1:9")
    saved = run(qtbot, workspace.save_profile(added, secret, is_new=True))
    copy = run(qtbot, workspace.duplicate_profile(saved.id))
    exported = console_home / "profiles.json"
    run(qtbot, workspace.export_profiles(exported))
    run(qtbot, workspace.remove_profile(copy.id))
    workspace.set_active(saved.id)
    run(qtbot, workspace.import_profiles(exported))
    run(qtbot, controller.shutdown())
    lines = [r.getMessage() for r in caplog.records if r.name == "console.services.workspace"]
    assert lines[:8] == [
        "profile Remote added",
        "active profile: Remote",
        f"profile {copy.name} added as a copy of Remote",
        f"active profile: {copy.name}",
        f"exported 2 profiles to {exported}",
        f"profile {copy.name} removed, with its secret",
        "active profile: Embedded",
        "active profile: Remote",
    ]
    assert lines[8].startswith(f"imported profiles from {exported}: ")
    assert not any(secret in record.getMessage() for record in caplog.records)


def test_a_duplicated_profile_says_its_secret_was_not_copied(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller, profile = with_a_remote(qtbot, console_home)
    controller.workspace.set_active(profile.id)
    controller.duplicate_action.trigger()
    bar = controller.window.statusBar()
    qtbot.waitUntil(lambda: "without its secret" in bar.currentMessage(), timeout=WAIT_MS)
    assert bar.currentMessage().startswith("Remote copy is a copy of Remote without its secret")
    run(qtbot, controller.shutdown())
