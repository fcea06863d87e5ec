"""The console driven like an operator, offscreen, against real adapters on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.profiles import Profile
from console.views.profile_dialog import ProfileDialog
from tests.support.adapter_process import AdapterProcess
from tests.support.console_driver import WAIT_MS, build, click, run


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("remote") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


@pytest.fixture
def controller(qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path) -> Iterator[Controller]:
    built = build(console_home)
    qtbot.addWidget(built.window)
    built.window.show()
    yield built
    run(qtbot, built.shutdown())


def add_remote(
    qtbot: QtBot,
    controller: Controller,
    url: str,
    secret: str | None,
    *,
    production: bool = False,
) -> Profile:
    profile = controller.workspace.profiles.add(
        Profile.create("Remote", url, production=production)
    )
    if secret is not None:
        controller.workspace.secret_store.set(profile.secret_key, secret)
    controller.workspace.profiles_imported()
    controller.workspace.set_active(profile.id)
    qtbot.waitUntil(lambda: "reachable" in controller.window.reach_label.text(), timeout=WAIT_MS)
    return profile


def fill(controller: Controller, user: str, brokers: list[str], accounts: list[str]) -> None:
    page = controller.tokens
    page.user_id.setText(user)
    page.brokers.set_tags(brokers)
    page.accounts.set_tags(accounts)
    page.is_verified.setChecked(True)
    page.refresh_previews()


def minting_requests(controller: Controller) -> int:
    """How many /generate/token requests with a body left the console (probes send `{}`)."""
    return sum(
        1
        for exchange in controller.workspace.activity.exchanges()
        if exchange.path == "/generate/token" and exchange.request_body not in ("", "{}")
    )


def send(qtbot: QtBot, controller: Controller) -> None:
    """Click Send and wait for the answer (the status line changes and Send is back)."""
    page = controller.tokens
    before = page.status.text()
    click(qtbot, page.send_button)

    def answered() -> bool:
        text = page.status.text()
        return page.send_button.isEnabled() and text != before and not text.startswith("Sending")

    qtbot.waitUntil(answered, timeout=WAIT_MS)


def test_compose_and_send_on_the_embedded_adapter(qtbot: QtBot, controller: Controller) -> None:
    run(qtbot, controller.start_embedded())
    try:
        assert controller.workspace.active.profile.base_url
        fill(controller, "14601", ["BESTBROKER"], ["137780091"])
        send(qtbot, controller)
        page = controller.tokens
        assert page.status.text().startswith("HTTP 200"), page.status.text()
        token = page.token.value()
        assert token
        assert token not in page.token.text.text()
        assert "left" in page.expiry.text()
        assert "state issued" in page.claims.text()
        records = controller.workspace.vault.list("embedded")
        assert [record.token for record in records] == [token]
        assert page.recent.count() == 1
    finally:
        run(qtbot, controller.shutdown())


def test_invalid_input_shows_inline_errors_and_sends_nothing(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess
) -> None:
    add_remote(qtbot, controller, remote.url, remote.broker_secret)
    before = minting_requests(controller)
    fill(controller, "fourteen", [], [])
    page = controller.tokens
    page.accounts.input.setText("-5")
    click(qtbot, page.send_button)
    qtbot.wait(200)
    assert page.errors["userId"].isVisible()
    assert "userId" in page.errors["userId"].text()
    assert page.errors["brokerNames"].isVisible()
    assert page.errors["ctidTraderAccountIds"].isVisible()
    assert minting_requests(controller) == before


def test_a_wrong_secret_shows_a_clear_error(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess
) -> None:
    add_remote(qtbot, controller, remote.url, "not-the-secret-not-the-secret")
    fill(controller, "14601", ["BESTBROKER"], [])
    send(qtbot, controller)
    text = controller.tokens.status.text()
    assert "401" in text
    assert "broker secret is not accepted" in text
    assert controller.tokens.token.value() == ""


def mint_on_a_remote(qtbot: QtBot, controller: Controller, remote: AdapterProcess) -> None:
    """The remote adapter as the active profile, and a token minted there from the Tokens page."""
    add_remote(qtbot, controller, remote.url, remote.broker_secret)
    fill(controller, "14601", ["BESTBROKER"], [])
    send(qtbot, controller)
    assert controller.tokens.token.value()


def test_logout_then_reuse_is_refused_by_the_adapter(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess
) -> None:
    mint_on_a_remote(qtbot, controller, remote)
    page = controller.logout
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=WAIT_MS)
    page.table.selectRow(0)
    click(qtbot, page.logout_selected)
    qtbot.waitUntil(lambda: "Logged out" in page.result.text(), timeout=WAIT_MS)
    token = controller.workspace.vault.list(controller.workspace.active_profile().id)[0].token
    page.pasted.setText(token)
    click(qtbot, page.logout_pasted)
    qtbot.waitUntil(lambda: "refused" in page.result.text(), timeout=WAIT_MS)
    assert "already been revoked" in page.result.text()
    entries = controller.workspace.activity.audit_entries()
    assert [entry.ok for entry in entries] == [True, False]


def test_a_pasted_token_minted_here_is_logged_out_as_the_listed_one(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess
) -> None:
    """Pasted or picked from the list, it is the same token: its record and the audit say so."""
    mint_on_a_remote(qtbot, controller, remote)
    vault, profile = controller.workspace.vault, controller.workspace.active_profile()
    [record] = vault.list(profile.id)
    page, activity = controller.logout, controller.workspace.activity
    for _ in range(2):  # the second is refused: already revoked
        audited = len(activity.audit_entries())
        page.pasted.setText(record.token)
        click(qtbot, page.logout_pasted)
        qtbot.waitUntil(lambda: len(activity.audit_entries()) > audited, timeout=WAIT_MS)  # noqa: B023
        if audited == 0:  # logged out: the dead token leaves the field
            qtbot.waitUntil(lambda: page.pasted.text() == "", timeout=WAIT_MS)
    assert page.pasted.text() == record.token  # refused: kept, to be read or tried again
    [marked] = vault.list(profile.id)
    assert marked.logged_out_at is not None
    assert marked.logout_result == "logged out"
    entries = activity.audit_entries()
    assert [entry.ok for entry in entries] == [True, False]
    assert [entry.token_id for entry in entries] == [record.token_id] * 2


def test_the_pasted_token_s_reveal_says_what_it_does_next(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.logout
    page.pasted.setText("a.pasted.token")
    page.reveal_pasted.click()
    assert page.pasted.echoMode() is QLineEdit.EchoMode.Normal
    assert page.reveal_pasted.text() == "Hide"
    page.reveal_pasted.click()
    assert page.pasted.echoMode() is QLineEdit.EchoMode.Password
    assert page.reveal_pasted.text() == "Reveal"


def test_production_profiles_ask_before_sending(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess
) -> None:
    add_remote(qtbot, controller, remote.url, remote.broker_secret, production=True)
    badge = controller.window.production_badge
    qtbot.waitUntil(badge.isVisible, timeout=WAIT_MS)  # the toolbar shows it on its next layout
    fill(controller, "14601", ["BESTBROKER"], [])
    before = minting_requests(controller)
    click(qtbot, controller.tokens.send_button)

    def box() -> QMessageBox | None:
        found = controller.tokens.findChild(QMessageBox, "confirmation")
        return found if isinstance(found, QMessageBox) and found.isVisible() else None

    qtbot.waitUntil(lambda: box() is not None, timeout=WAIT_MS)
    dialog = box()
    assert dialog is not None
    assert "production" in dialog.windowTitle()
    dialog.reject()
    qtbot.wait(200)
    assert minting_requests(controller) == before


def test_an_unreachable_remote_shows_an_error_and_the_gui_stays_responsive(
    qtbot: QtBot, controller: Controller
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    add_remote(qtbot, controller, f"http://127.0.0.1:{port}", "secret-secret-secret-secret")
    fill(controller, "14601", ["BESTBROKER"], [])
    send(qtbot, controller)
    assert "Cannot connect" in controller.tokens.status.text()
    controller.window.show_page("activity")
    QApplication.processEvents()
    assert controller.window.stack.currentWidget() is controller.activity


def test_no_file_the_console_wrote_holds_a_secret_or_token(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess, console_home: Path
) -> None:
    add_remote(qtbot, controller, remote.url, remote.broker_secret)
    fill(controller, "14601", ["BESTBROKER"], [])
    send(qtbot, controller)
    token = controller.tokens.token.value()
    assert token
    run(qtbot, controller.activity.export_to(console_home / "activity.json", "json"))
    run(qtbot, controller.activity.export_to(console_home / "activity.csv", "csv"))
    controller.workspace.profiles.export(console_home / "profiles-export.json")
    controller.window.close()
    written = [path for path in console_home.rglob("*") if path.is_file()]
    assert any(path.name == "activity.csv" for path in written)
    for path in written:
        content = path.read_bytes()
        for value in (remote.broker_secret, token):
            assert value.encode() not in content, path
            assert value[:24].encode() not in content, path
    shown = [
        str(exchange.request_headers) + exchange.request_body + exchange.response_body
        for exchange in controller.workspace.activity.exchanges()
    ]
    for value in (remote.broker_secret, token):
        assert not any(value in text for text in shown)


def test_a_profile_made_in_the_dialog_keeps_its_secret_in_the_keyring_only(
    qtbot: QtBot, controller: Controller, remote: AdapterProcess, console_home: Path
) -> None:
    controller._new_profile()
    dialog = controller.window.findChild(ProfileDialog)
    assert isinstance(dialog, ProfileDialog)
    dialog.name.setText("Staging")
    dialog.url.setText(remote.url)
    dialog.secret.setText(remote.broker_secret)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "accepted" in dialog.test_result.text(), timeout=WAIT_MS)
    dialog._save()
    qtbot.waitUntil(
        lambda: controller.workspace.active_profile().name == "Staging", timeout=WAIT_MS
    )
    profile = controller.workspace.active_profile()
    assert controller.workspace.secret_store.get(profile.secret_key) == remote.broker_secret
    for path in console_home.rglob("*"):
        if path.is_file():
            assert remote.broker_secret.encode() not in path.read_bytes(), path


def test_a_bad_url_in_the_dialog_is_named_and_nothing_is_saved(
    qtbot: QtBot, controller: Controller
) -> None:
    controller._new_profile()
    dialog = controller.window.findChild(ProfileDialog)
    assert isinstance(dialog, ProfileDialog)
    dialog.name.setText("Broken")
    dialog.url.setText("ftp://adapter.example")
    dialog._save()
    assert dialog.error.text().startswith("Base URL: ")
    assert dialog.isVisible()
    assert [p.name for p in controller.workspace.profiles.list()] == ["Embedded"]
    dialog.reject()
