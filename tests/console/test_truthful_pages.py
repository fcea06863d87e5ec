"""What the console shows is never older than the adapter's last word, nor another profile's.

Each test is one finding of the issue "A console that tells the truth and never crashes",
driven offscreen against real adapters on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.logouts import LogoutTarget
from console.services.profiles import Profile
from tests.support.broker_only import BrokerOnlyAdapter
from tests.support.console_driver import WAIT_MS, click, run, running_console, send_token_request


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    with running_console(qtbot, console_home) as built:
        yield built


def switch_to_broker_only(controller: Controller, plain: BrokerOnlyAdapter) -> Profile:
    workspace = controller.workspace
    profile = workspace.profiles.add(Profile.create("Broker only", plain.url))
    workspace.secret_store.set(profile.secret_key, plain.secret)
    workspace.profiles_imported()
    workspace.set_active(profile.id)
    return profile


def test_a_profile_switch_clears_the_last_answer(qtbot: QtBot, controller: Controller) -> None:
    send_token_request(qtbot, controller)
    page = controller.tokens
    assert page.token.value()
    page.user_id.setText("x")  # a request half composed, with its problem shown
    assert page.errors["userId"].text()
    with BrokerOnlyAdapter() as plain:
        switch_to_broker_only(controller, plain)
        assert page.token.value() == ""
        assert page.raw.toPlainText() == ""
        assert page.claims.text() == ""
        assert page.status.text() == "No answer shown: send a request to Broker only."
        assert (page.user_id.text(), page.brokers.tags()) == ("", [])
        assert not any(label.text() for label in page.errors.values())


def test_a_failed_send_leaves_no_earlier_token_beside_it(
    qtbot: QtBot, controller: Controller
) -> None:
    send_token_request(qtbot, controller)
    page = controller.tokens
    assert page.token.value()
    run(qtbot, _stop(controller))
    send_token_request(qtbot, controller)
    assert "The embedded adapter is not running" in page.status.text()  # not "no secret"
    assert page.token.value() == ""
    assert 's":"ok' not in page.raw.toPlainText()
    assert page.expiry.text() == ""


async def _stop(controller: Controller) -> None:
    adapter = controller.embedded
    assert adapter is not None
    await controller._run_embedded(adapter.stop)


def test_an_expiry_the_adapter_never_told_is_labelled_an_assumption(
    qtbot: QtBot, controller: Controller
) -> None:
    with BrokerOnlyAdapter() as plain:
        switch_to_broker_only(controller, plain)
        send_token_request(qtbot, controller)
        page = controller.tokens
        assert page.token.value()
        assert "assumed" in page.expiry.text()
        assert "left" not in page.expiry.text()  # no countdown presented as a fact
        assert "no introspection" in page.claims.text()
        logout = controller.logout
        qtbot.waitUntil(lambda: logout.table.rowCount() == 1, timeout=WAIT_MS)
        expires = logout.table.item(0, 4)
        assert expires is not None
        assert "(assumed)" in expires.text()


def test_field_errors_show_as_typed_and_go_when_fixed(qtbot: QtBot, controller: Controller) -> None:
    page = controller.tokens
    page.user_id.setText("fourteen")
    assert page.errors["userId"].isVisible()
    page.user_id.setText("14601")
    assert not page.errors["userId"].isVisible()
    page.accounts.input.setText("-5")
    click(qtbot, page.send_button)
    qtbot.waitUntil(page.errors["ctidTraderAccountIds"].isVisible, timeout=WAIT_MS)
    page.accounts.input.clear()
    page.accounts.set_tags(["137780091"])
    assert not page.errors["ctidTraderAccountIds"].isVisible()


def test_copying_says_so(qtbot: QtBot, controller: Controller) -> None:
    page = controller.tokens
    page.user_id.setText("14601")
    click(qtbot, page.copy_body)
    assert page.copy_body.text() == "Copied ✓"
    assert '"userId": 14601' in QGuiApplication.clipboard().text()
    qtbot.waitUntil(lambda: page.copy_body.text() == "Copy JSON body", timeout=WAIT_MS)


def test_the_status_bar_follows_the_adapter_without_a_manual_test(
    qtbot: QtBot, controller: Controller
) -> None:
    reach = controller.window.reach_label
    qtbot.waitUntil(lambda: reach.text().startswith("reachable"), timeout=WAIT_MS)
    run(qtbot, _stop(controller))
    qtbot.waitUntil(lambda: reach.text() == "unreachable", timeout=WAIT_MS)
    adapter = controller.embedded
    assert adapter is not None
    run(qtbot, controller._run_embedded(adapter.start))
    qtbot.waitUntil(lambda: reach.text().startswith("reachable"), timeout=WAIT_MS)


def test_a_profile_without_a_secret_is_not_said_to_have_one_refused(
    qtbot: QtBot, controller: Controller
) -> None:
    with BrokerOnlyAdapter() as plain:
        workspace = controller.workspace
        profile = workspace.profiles.add(Profile.create("No secret yet", plain.url))
        workspace.profiles_imported()
        workspace.set_active(profile.id)
        reach = controller.window.reach_label
        qtbot.waitUntil(lambda: reach.text().startswith("no secret stored"), timeout=WAIT_MS)
        assert "no secret is stored" in reach.toolTip()


def test_the_embedded_adapter_keeps_its_port_across_restarts(
    qtbot: QtBot, controller: Controller
) -> None:
    first = controller.workspace.active_profile().base_url
    adapter = controller.embedded
    assert adapter is not None
    run(qtbot, controller._run_embedded(adapter.restart))
    assert controller.workspace.active_profile().base_url == first


def test_a_logout_from_the_sessions_page_shows_on_the_logout_page(
    qtbot: QtBot, controller: Controller
) -> None:
    send_token_request(qtbot, controller, "14602")
    logout = controller.logout
    qtbot.waitUntil(lambda: logout.table.rowCount() == 1, timeout=WAIT_MS)
    ops = controller.workspace.active
    [row] = run(qtbot, ops.user_sessions(14602))
    [result] = run(qtbot, ops.logout([LogoutTarget.for_row(row)]))
    assert result.ok

    def revoked_there() -> bool:
        item = logout.table.item(0, 5)
        return item is not None and item.text() == "revoked"

    qtbot.waitUntil(revoked_there, timeout=WAIT_MS)


def test_text_left_in_a_tag_field_is_sent_and_shown_in_the_preview(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.tokens
    page.user_id.setText("14601")
    page.brokers.input.setText("BESTBROKER")  # typed, Enter not pressed
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: page.status.text().startswith("HTTP 200"), timeout=WAIT_MS)
    assert page.brokers.tags() == ["BESTBROKER"]
    assert page.brokers.input.text() == ""
    assert '"BESTBROKER"' in page.body_preview.toPlainText()
