"""The Trading Panel preview for a token the console holds, from the Tokens and Sessions pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.profiles import Profile
from tests.support.console_driver import WAIT_MS, click, running_console, send_token_request


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    with running_console(qtbot, console_home) as built:
        yield built


def mint(qtbot: QtBot, controller: Controller) -> None:
    send_token_request(qtbot, controller)
    qtbot.waitUntil(controller.tokens.open_panel_button.isEnabled, timeout=WAIT_MS)


def test_the_tokens_page_opens_what_tradingview_would_show_and_a_logout_ends_it(
    qtbot: QtBot, controller: Controller
) -> None:
    mint(qtbot, controller)
    click(qtbot, controller.tokens.open_panel_button)
    [window] = controller.panels
    panel = window.panel
    qtbot.waitUntil(lambda: panel.account.count() == 2, timeout=WAIT_MS)
    names = {panel.account.itemData(i) for i in range(panel.account.count())}
    assert names == {"137780091", "137792301"}  # BESTBROKER only, not BESTBROKER-EU
    qtbot.waitUntil(lambda: panel.summary["balance"].text() != "—", timeout=WAIT_MS)
    assert panel.summary["balance"].text().startswith("$")
    secret = controller._embedded_secret
    assert secret
    assert secret not in window.windowTitle()
    [record] = controller.workspace.vault.list(controller.workspace.active.profile.id)
    assert record.token_id
    assert window.windowTitle().endswith(f"token id {record.token_id[:12]}…")  # as elsewhere
    click(qtbot, panel.logout_button)
    qtbot.waitUntil(panel.ended.isVisible, timeout=WAIT_MS)
    assert "Session ended" in panel.ended.text()
    assert not panel.place.isEnabled()


def test_a_refusal_is_told_as_the_adapter_s_answer_not_as_silence(
    qtbot: QtBot, controller: Controller
) -> None:
    """A user with no account linked to the broker: /accounts answers, and refuses."""
    send_token_request(qtbot, controller, user="999001")
    qtbot.waitUntil(controller.tokens.open_panel_button.isEnabled, timeout=WAIT_MS)
    click(qtbot, controller.tokens.open_panel_button)
    [window] = controller.panels
    waiting = window.panel.waiting
    qtbot.waitUntil(lambda: "/accounts" in waiting.text(), timeout=WAIT_MS)
    assert waiting.text().startswith("The adapter refused /accounts: ")
    assert "could not be asked" not in waiting.text()


def test_the_sessions_page_offers_the_preview_only_for_tokens_the_console_holds(
    qtbot: QtBot, controller: Controller
) -> None:
    mint(qtbot, controller)
    controller.window.show_page("sessions")
    page = controller.sessions
    qtbot.waitUntil(lambda: page.model.rowCount() >= 1, timeout=WAIT_MS)
    page.table.selectRow(0)
    qtbot.waitUntil(page.panel_button.isEnabled, timeout=WAIT_MS)
    click(qtbot, page.panel_button)
    qtbot.waitUntil(lambda: len(controller.panels) == 1, timeout=WAIT_MS)
    panel = controller.panels[0].panel
    qtbot.waitUntil(lambda: panel.account.count() == 2, timeout=WAIT_MS)


def test_on_a_production_profile_the_preview_says_so_and_asks_before_an_order_or_a_logout(
    qtbot: QtBot, controller: Controller
) -> None:
    mint(qtbot, controller)
    token = controller.tokens.token.value()
    workspace = controller.workspace
    embedded = workspace.active.profile
    production = workspace.profiles.add(
        Profile.create("Live desk", embedded.base_url, production=True)
    )
    controller.open_panel(workspace.ops(production.id), token)
    window = controller.panels[-1]
    panel = window.panel
    assert "PRODUCTION" in window.windowTitle()
    assert "production adapter" in window.note.text()
    qtbot.waitUntil(lambda: panel.account_id() is not None, timeout=WAIT_MS)

    def refused_confirmation() -> str:
        box: list[QMessageBox] = []

        def shown() -> bool:
            found = window.findChild(QMessageBox, "confirmation")
            if isinstance(found, QMessageBox) and found.isVisible():
                box.append(found)
            return bool(box)

        qtbot.waitUntil(shown, timeout=WAIT_MS)
        text = box[0].text()
        box[0].reject()
        return text

    def sent(path_end: str) -> int:
        return sum(
            1
            for exchange in workspace.activity.exchanges()
            if exchange.method == "POST" and exchange.path.split("?")[0].endswith(path_end)
        )

    click(qtbot, panel.place)
    assert "A real market order" in refused_confirmation()
    click(qtbot, panel.logout_button)
    assert "will stop working on Live desk" in refused_confirmation()
    qtbot.wait(200)
    assert (sent("/orders"), sent("/logout")) == (0, 0)
    assert not panel.ended.isVisible()
