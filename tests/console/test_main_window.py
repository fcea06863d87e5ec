"""The main window: the active profile shown without hiding the others, the PRODUCTION badge,
the embedded adapter's state only where it applies, and the log folder one click away."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from console.logs import log_dir
from console.services.profiles import Profile, builtin_embedded
from console.services.store_status import StoreStatus, decode_store
from console.views.main_window import PAGES, MainWindow
from console.views.status_bar import GAP, MARGIN, ElidingStatusBar

EMBEDDED = builtin_embedded()
STAGING = Profile.create("Staging", "https://staging.example.com", colour="#1565c0")
PROD = Profile.create("Prod", "https://prod.example.com", production=True)
PROFILES = [EMBEDDED, STAGING, PROD]


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    pages: dict[str, QWidget] = {name: QWidget() for name in PAGES}
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    built = MainWindow(pages, settings)
    qtbot.addWidget(built)
    built.reload_profiles(PROFILES, EMBEDDED)
    with qtbot.waitExposed(built):
        built.show()
    return built


def text_contrast(image: QImage, item: QRect) -> int:
    """How far the inkiest pixel of an item's text is from the item's background (its right
    edge, past any text): near 0 when text is white on light grey."""
    rect = item.intersected(image.rect())
    background = image.pixelColor(rect.right() - 1, rect.center().y()).lightness()
    return max(
        abs(image.pixelColor(x, y).lightness() - background)
        for x in range(rect.left() + 24, rect.left() + rect.width() // 2)
        for y in range(rect.top(), rect.bottom())
    )


def test_the_production_badge_shows_on_a_production_profile_only(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The toolbar lays its widgets out (and shows them) on its next layout pass."""
    badge = window.production_badge
    assert not badge.isVisible()
    window.show_profile(PROD)
    qtbot.waitUntil(badge.isVisible)
    window.show_profile(STAGING)
    qtbot.waitUntil(lambda: not badge.isVisible())
    window.reload_profiles(PROFILES, PROD)
    qtbot.waitUntil(badge.isVisible)
    assert badge.text() == "PRODUCTION"


def test_the_embedded_state_shows_on_the_embedded_profile_only(window: MainWindow) -> None:
    window.set_embedded_state("running")
    assert window.embedded_label.isVisible()
    assert window.embedded_label.text() == "Embedded: running"
    window.show_profile(STAGING)
    assert not window.embedded_label.isVisible()
    window.set_embedded_state("stopped")
    assert not window.embedded_label.isVisible()
    window.show_profile(EMBEDDED)
    assert window.embedded_label.isVisible()
    assert window.embedded_label.text() == "Embedded: stopped"


def test_the_profile_colour_marks_the_box_without_painting_its_popup(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The whole box once had the profile's background and white text, popup included: the
    other profiles were white on light grey there."""
    window.reload_profiles(PROFILES, PROD)
    box = window.profile_box
    view = box.view()
    box.showPopup()
    qtbot.waitUntil(view.isVisible)
    popup = view.viewport().grab().toImage()
    box.hidePopup()
    for row, profile in enumerate(PROFILES):
        if profile is not PROD:  # the current row is drawn in the highlight colours
            assert text_contrast(popup, view.visualRect(box.model().index(row, 0))) > 120
    strip = window.profile_strip.grab().toImage()
    assert strip.pixelColor(strip.width() // 2, strip.height() // 2) == QColor(PROD.colour)


def test_each_profile_in_the_list_carries_its_swatch(window: MainWindow) -> None:
    box = window.profile_box
    assert [box.itemData(row) for row in range(box.count())] == [p.id for p in PROFILES]
    for row, profile in enumerate(PROFILES):
        image = box.itemIcon(row).pixmap(box.iconSize()).toImage()
        assert image.pixelColor(image.width() // 2, image.height() // 2) == QColor(profile.colour)
    assert box.itemText(2) == "Prod  (production)"


def test_reachability_carries_the_whole_message_as_its_tooltip(window: MainWindow) -> None:
    window.show_reachability("unreachable", False, "Cannot connect to https://x: nothing answers.")
    assert window.reach_label.text() == "unreachable"
    assert window.reach_label.toolTip() == "Cannot connect to https://x: nothing answers."
    window.show_reachability("checking…", None)
    assert window.reach_label.toolTip() == ""


def test_the_status_bar_shows_the_adapters_store_and_its_health(window: MainWindow) -> None:
    label = window.store_label
    assert label.isHidden()  # nothing said yet
    window.show_store(decode_store({"store": {"kind": "sqlite", "healthy": True}}))
    assert (label.text(), label.isVisible()) == ("store: sqlite", True)
    healthy = StoreStatus(
        "redis", True, "redis://10.0.0.5:6379/0", "web-1-a1b2c3", None, ("web-1-a1b2c3", "web-2")
    )
    window.show_store(healthy)
    assert label.text() == "store: redis (healthy)"
    assert "redis://10.0.0.5:6379/0" in label.toolTip()
    assert "web-1-a1b2c3, web-2" in label.toolTip()
    full = StoreStatus(
        "redis",
        True,
        problem="Redis is full (maxmemory) and refuses writes: no token can be minted and no "
        "logout recorded",
    )
    window.show_store(full)
    assert label.text() == (
        "store: redis — Redis is full (maxmemory) and refuses writes: no token can be minted "
        "and no logout recorded"
    )
    assert "#b26a00" in label.styleSheet()
    assert "problem: Redis is full" in label.toolTip()
    sick = StoreStatus("redis", False, problem="Redis is unreachable (connection refused)")
    window.show_store(sick)
    assert label.text() == "store: redis — unhealthy: Redis is unreachable (connection refused)"
    assert "#c62828" in label.styleSheet()
    window.show_store(None)  # not asked yet, or another profile's adapter
    assert (label.text(), label.isVisible()) == ("", False)


@pytest.mark.parametrize(
    "info",
    [None, "text", {}, {"store": None}, {"store": {"kind": "redis"}}, {"store": {"healthy": 1}}],
)
def test_an_adapter_that_says_nothing_readable_of_its_store_has_no_store_status(
    info: object,
) -> None:
    assert decode_store(info) is None


def test_help_opens_the_log_folder_creating_it_first(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    [help_menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
    assert isinstance(help_menu, QMenu)
    assert window.log_folder_action in help_menu.actions()
    assert window.log_folder_action.text() == "Open &log folder"
    assert not log_dir().exists()
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        """The desktop's file manager, which must find the folder already there."""
        opened.append(url)
        return log_dir().is_dir()

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    window.log_folder_action.trigger()
    assert opened == [QUrl.fromLocalFile(str(log_dir()))]
    assert window.statusBar().currentMessage() == ""


def test_a_log_folder_that_cannot_be_made_is_reported(
    window: MainWindow, console_home: Path
) -> None:
    console_home.mkdir(parents=True, exist_ok=True)
    log_dir().write_text("a file where the folder should be")
    window.open_log_folder()
    message = window.statusBar().currentMessage()
    assert message.startswith(f"Could not create the log folder {log_dir()}")


def test_a_log_folder_nothing_can_show_is_reported(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    window.open_log_folder()
    message = window.statusBar().currentMessage()
    assert message == (
        f"Could not open the log folder: no file manager answered. It is {log_dir()}."
    )


def test_a_long_profile_address_is_elided_and_whole_in_its_tooltip_without_widening_the_window(
    window: MainWindow,
) -> None:
    narrowest = window.minimumSizeHint().width()
    far = Profile.create("Far", "https://tradingview-adapter." + "region-" * 30 + "example.com")
    window.reload_profiles([*PROFILES, far], far)
    window.show_profile(far)
    window.show_keyring("memory (this run only)", False, "no keyring")
    assert window.minimumSizeHint().width() == narrowest
    for label in (window.url_label, window.keyring_label):
        assert label.toolTip() == label.text()
    assert far.base_url in window.url_label.text()
    shown = window.url_label
    assert shown.minimumSizeHint().width() < shown.width() < shown.sizeHint().width()


def test_the_first_window_opens_whole_on_a_screen_smaller_than_its_usual_size(
    window: MainWindow,
) -> None:
    room = window.screen().availableGeometry()
    assert room.width() < 1180  # the offscreen screen: smaller than the usual first size
    assert window.height() + 40 <= room.height()
    assert window.width() <= room.width()


def test_a_long_status_message_ends_in_an_ellipsis_short_of_the_right_hand_texts(
    window: MainWindow,
) -> None:
    bar = window.statusBar()
    assert isinstance(bar, ElidingStatusBar)
    window.show_keyring("memory (this run only)", False, "no keyring")
    long = "The profile was not saved: " + "the keyring refused the secret, " * 12 + "try again."
    bar.showMessage(long)
    window.resize(900, window.height())
    QApplication.processEvents()
    first_right = min(w.x() for w in (window.embedded_label, window.reach_label) if w.isVisible())
    shown = bar.shown_message()
    assert shown.endswith("…")
    assert long.startswith(shown[:-1])
    assert MARGIN + bar.fontMetrics().horizontalAdvance(shown) <= first_right - GAP
    assert bar.toolTip() == long
    bar.showMessage("Saved.")
    assert bar.shown_message() == "Saved." == bar.toolTip()
    bar.clearMessage()
    assert bar.toolTip() == ""
