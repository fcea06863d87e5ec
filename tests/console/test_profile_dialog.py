"""The profile dialog offers a new profile a colour of its own, and shows it; its test result
never outlives the settings it describes, and its errors name the form's fields. Its CA bundle
picker starts where the bundle already is, else in Documents, never where the console was
launched."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from console.services.client import ConnectionReport
from console.services.profiles import PALETTE, PRODUCTION_COLOUR, Profile, builtin_embedded
from console.views.file_dialogs import documents_dir
from console.views.profile_dialog import ProfileDialog


def never_called(*_: Any) -> Any:
    raise AssertionError("the dialog must not test the connection here")


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    """The dialog's parent, held for the whole test: Qt deletes a dialog with its parent."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def dialog(parent: QWidget, existing: Profile | None, others: list[Profile]) -> ProfileDialog:
    return ProfileDialog(existing, None, never_called, parent, others=others)


def used(*colours: str) -> list[Profile]:
    return [builtin_embedded()] + [
        Profile.create(f"P{n}", "https://p.example.com", colour=colour)
        for n, colour in enumerate(colours)
    ]


def fill(form: ProfileDialog) -> None:
    form.name.setText("New")
    form.url.setText("https://new.example.com")


def test_a_new_profile_is_offered_the_first_unused_colour(parent: QWidget) -> None:
    form = dialog(parent, None, used(PALETTE[0], PALETTE[1]))
    assert form.colour.text() == PALETTE[2]
    assert PALETTE[2] in form.colour.styleSheet()
    fill(form)
    assert form.build().profile.colour == PALETTE[2]


def test_ticking_production_offers_red_until_a_colour_is_picked(parent: QWidget) -> None:
    form = dialog(parent, None, used(PALETTE[0]))
    form.production.setChecked(True)
    assert form.colour.text() == PRODUCTION_COLOUR
    form.production.setChecked(False)
    assert form.colour.text() == PALETTE[1]
    form._colour_chosen(QColor("#123456"))
    form.production.setChecked(True)
    assert form.colour.text() == "#123456"
    fill(form)
    assert form.build().profile.colour == "#123456"


def test_editing_keeps_the_profiles_colour(parent: QWidget) -> None:
    existing = Profile.create("Mine", "https://m.example.com", colour=PALETTE[4])
    form = dialog(parent, existing, used(PALETTE[0]))
    assert form.colour.text() == PALETTE[4]
    form.production.setChecked(True)
    assert form.colour.text() == PALETTE[4]


def test_a_light_colour_gets_dark_text(parent: QWidget) -> None:
    form = dialog(parent, None, [])
    form._colour_chosen(QColor("#fff59d"))
    assert "color: black" in form.colour.styleSheet()
    form._colour_chosen(QColor(PALETTE[0]))
    assert "color: white" in form.colour.styleSheet()


ACCEPTED = ConnectionReport(
    reachable=True, secret_accepted=True, latency_ms=3.0, message="Connected; secret accepted."
)


class FakeAdapter:
    """Answers Test connection with ACCEPTED once `answer` is set, and records what was tried."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.tried: list[tuple[str, str | None]] = []

    async def test(self, profile: Profile, secret: str | None) -> ConnectionReport:
        self.tried.append((profile.base_url, secret))
        await self.answer.wait()
        return ACCEPTED


def after_a_test(qtbot: QtBot, parent: QWidget, adapter: FakeAdapter) -> ProfileDialog:
    """A filled dialog whose connection test has answered."""
    form = ProfileDialog(None, None, adapter.test, parent)
    fill(form)
    form.secret.setText("secret-one")
    adapter.answer.set()
    form.test_button.click()
    qtbot.waitUntil(lambda: form.test_result.text() == ACCEPTED.message)
    return form


@pytest.mark.parametrize(
    "edit",
    [
        lambda form: form.url.setText("https://other.example.com"),
        lambda form: form.secret.setText("secret-two"),
        lambda form: form.tls.setCurrentIndex(form.tls.findData("insecure")),
        lambda form: form.timeout.setValue(30),
    ],
    ids=["url", "secret", "tls", "timeout"],
)
def test_editing_what_was_tested_clears_the_result(
    qtbot: QtBot, qloop: object, parent: QWidget, edit: Callable[[ProfileDialog], None]
) -> None:
    form = after_a_test(qtbot, parent, FakeAdapter())
    edit(form)
    assert form.test_result.text() == ""


def test_editing_what_the_test_ignores_keeps_the_result(
    qtbot: QtBot, qloop: object, parent: QWidget
) -> None:
    form = after_a_test(qtbot, parent, FakeAdapter())
    form.name.setText("Renamed")
    form.production.setChecked(True)
    assert form.test_result.text() == ACCEPTED.message


def test_a_result_for_settings_edited_during_the_test_is_not_shown(
    qtbot: QtBot, qloop: object, parent: QWidget
) -> None:
    adapter = FakeAdapter()
    form = ProfileDialog(None, None, adapter.test, parent)
    fill(form)
    form.test_button.click()
    qtbot.waitUntil(lambda: adapter.tried == [("https://new.example.com", None)])
    form.url.setText("https://other.example.com")
    adapter.answer.set()
    qtbot.waitUntil(form.test_button.isEnabled)
    assert form.test_result.text() == ""


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", "Base URL: must not be empty"),
        ("ftp://x.example.com", "Base URL: 'ftp://x.example.com' must start with http://"),
    ],
)
def test_an_address_error_names_the_fields_label(parent: QWidget, url: str, error: str) -> None:
    form = dialog(parent, None, [])
    form.name.setText("New")
    form.url.setText(url)
    buttons = form.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert form.error.text().startswith(error)
    assert "base_url" not in form.error.text()
    assert form.draft is None


def test_an_empty_form_names_the_missing_name_first(parent: QWidget) -> None:
    form = dialog(parent, None, [])
    buttons = form.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert form.error.text() == "Name: must not be empty"
    assert form.draft is None


def test_test_connection_names_the_fields_label_too(
    qtbot: QtBot, qloop: object, parent: QWidget
) -> None:
    form = dialog(parent, None, [])
    form.name.setText("New")
    form.url.setText("no-scheme.example.com")
    form.test_button.click()
    qtbot.waitUntil(lambda: form.error.text() != "")
    assert form.error.text().startswith("Base URL: 'no-scheme.example.com' must start with")


def browsed_ca(qtbot: QtBot, form: ProfileDialog) -> QFileDialog:
    """Choose "Verify with this CA bundle", click Browse… beside the bundle; the file dialog it
    opens."""
    form.tls.setCurrentIndex(form.tls.findData("ca"))
    [browse] = [b for b in form.findChildren(QPushButton) if b.text() == "Browse…"]
    browse.click()
    found: list[QFileDialog] = []

    def shown() -> bool:
        found[:] = [d for d in form.findChildren(QFileDialog) if d.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown)
    return found[0]


@pytest.fixture
def launched_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A launch directory nobody keeps a CA bundle in: Qt's dialog would start there."""
    launch = tmp_path / "launch"
    launch.mkdir()
    monkeypatch.chdir(launch)


@pytest.mark.usefixtures("launched_elsewhere")
def test_the_ca_picker_starts_in_documents_and_offers_pem_files(
    qtbot: QtBot, parent: QWidget
) -> None:
    form = dialog(parent, None, [])
    picker = browsed_ca(qtbot, form)
    try:
        assert os.path.samefile(picker.directory().absolutePath(), documents_dir())
        assert picker.nameFilters()[0].startswith("PEM certificates (*.pem")
        assert picker.fileMode() == QFileDialog.FileMode.ExistingFile
    finally:
        picker.reject()


@pytest.mark.usefixtures("launched_elsewhere")
@pytest.mark.parametrize("name", ["ca.pem", "ca-bundle"])
def test_the_ca_picker_starts_at_the_bundle_already_chosen(
    qtbot: QtBot, parent: QWidget, tmp_path: Path, name: str
) -> None:
    bundle = tmp_path / "certs" / name
    bundle.parent.mkdir()
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    form = dialog(parent, None, [])
    form.ca_file.setText(str(bundle))
    picker = browsed_ca(qtbot, form)
    try:
        assert os.path.samefile(picker.directory().absolutePath(), bundle.parent)
        assert [Path(chosen) for chosen in picker.selectedFiles()] == [bundle]
        if name == "ca-bundle":  # not hidden by the PEM filter
            assert picker.selectedNameFilter() == "All files (*)"
    finally:
        picker.reject()


def test_browse_for_a_ca_bundle_is_offered_only_where_one_is_used(parent: QWidget) -> None:
    form = dialog(parent, None, [])
    for mode in ("verify", "insecure", "ca"):
        form.tls.setCurrentIndex(form.tls.findData(mode))
        assert form.browse_ca.isEnabled() is form.ca_file.isEnabled() is (mode == "ca")
