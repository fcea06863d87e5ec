"""The profile dialog offers a new profile a colour of its own, and shows it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from console.services.profiles import PALETTE, PRODUCTION_COLOUR, Profile, builtin_embedded
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
