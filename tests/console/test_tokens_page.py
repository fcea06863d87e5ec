"""The Tokens page as a newcomer met it: broker names read as typed in the JSON preview (and
it still says what is sent), a too-large account id is called too large, with the adapter's own
limit, and error lines come and go without moving the fields being typed in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import qasync
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from adapter_core.token_request import TokenRequestError, validate_token_request
from console.controller import Controller
from console.services.profiles import Profile
from console.views.tokens_page import TokensPage
from tests.support.console_driver import WAIT_MS, build, click, run

CYRILLIC = "Брокер"


@pytest.fixture
def controller(qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path) -> Iterator[Controller]:
    """The console on its Tokens page, the embedded adapter not started."""
    built = build(console_home)
    qtbot.addWidget(built.window)
    built.window.resize(1100, 800)
    built.window.show()
    built.window.show_page("tokens")
    yield built
    run(qtbot, built.shutdown())


@pytest.fixture
def sent_bodies(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes of every /generate/token body the console sends (probes send none, or `{}`)."""
    bodies: list[bytes] = []
    request = httpx.AsyncClient.request

    async def recording(
        client: httpx.AsyncClient, method: str, url: str, **options: Any
    ) -> httpx.Response:
        content = options.get("content")
        if url == "/generate/token" and content not in (None, b"{}"):
            bodies.append(content)
        return await request(client, method, url, **options)

    monkeypatch.setattr(httpx.AsyncClient, "request", recording)
    return bodies


def test_the_json_preview_shows_broker_names_as_typed_and_says_what_is_sent(
    qtbot: QtBot, controller: Controller, sent_bodies: list[bytes]
) -> None:
    run(qtbot, controller.start_embedded())
    page = controller.tokens
    page.user_id.setText("14601")
    page.brokers.set_tags([CYRILLIC, "BESTBROKER"])
    page.accounts.set_tags(["137780091"])
    preview = page.body_preview.toPlainText()
    assert CYRILLIC in preview
    assert "\\u04" not in preview
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: bool(sent_bodies), timeout=WAIT_MS)
    qtbot.waitUntil(page.send_button.isEnabled, timeout=WAIT_MS)
    [sent] = sent_bodies
    assert json.loads(preview) == json.loads(sent)
    curl_body = page.curl_preview.toPlainText().rsplit(" -d ", 1)[1]
    assert curl_body.strip("'").encode() == sent  # curl carries the very bytes sent


@pytest.mark.parametrize(
    "name",
    [
        "Best\u00a0Broker",  # a no-break space passes for a plain one
        "Best\u200bBroker",  # a zero-width space shows as nothing
        "Broker\u202eKO",  # a bidi override turns what follows around
        "Broker\x7f",
    ],
)
def test_characters_that_cannot_be_seen_stay_escaped(controller: Controller, name: str) -> None:
    page = controller.tokens
    page.brokers.set_tags([name, CYRILLIC])
    preview = page.body_preview.toPlainText()
    assert json.loads(preview)["brokerNames"] == [name, CYRILLIC]
    assert json.dumps(name)[1:-1] in preview
    assert CYRILLIC in preview


def largest_named(message: str) -> int:
    [number] = re.findall(r"\d{10,}", message)
    return int(number)


def test_a_too_large_account_id_is_called_too_large_with_the_adapters_limit(
    controller: Controller,
) -> None:
    page = controller.tokens
    page.accounts.input.setText("99999999999999999999")
    assert not page.accounts.commit_pending()
    message = page.errors["ctidTraderAccountIds"].text()
    assert "too large" in message.lower()
    assert "not an account id" not in message
    largest = largest_named(message)
    # the console and the adapter agree: the limit named is the adapter's own
    validate_token_request({"userId": 1, "brokerNames": ["B"], "ctidTraderAccountIds": [largest]})
    with pytest.raises(TokenRequestError):
        validate_token_request(
            {"userId": 1, "brokerNames": ["B"], "ctidTraderAccountIds": [largest + 1]}
        )
    page.accounts.input.setText(str(largest))
    assert page.accounts.commit_pending()
    assert page.accounts.tags() == [str(largest)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9" * 5000, "too large"),  # past int()'s 4300 digits: refused, not a crash
        ("0" * 5000 + "7", None),  # leading zeros do not make an id larger
        ("0", "not an account id"),
        ("-5", "not an account id"),
        ("١٢٣", "not an account id"),  # digits, but not ASCII ones
    ],
    ids=["5000-nines", "zero-padded", "zero", "negative", "arabic-indic"],
)
def test_each_bad_account_id_is_told_what_is_wrong(
    controller: Controller, typed: str, expected: str | None
) -> None:
    page = controller.tokens
    page.accounts.input.setText(typed)
    assert page.accounts.commit_pending() is (expected is None)
    message = page.errors["ctidTraderAccountIds"].text()
    if expected is None:
        assert page.document()["ctidTraderAccountIds"] == [int(typed.lstrip("0"))]
    else:
        assert expected in message.lower()


def test_the_adapter_names_its_largest_account_id_too() -> None:
    largest = 2**63 - 1
    with pytest.raises(TokenRequestError) as refused:
        validate_token_request(
            {"userId": 1, "brokerNames": ["B"], "ctidTraderAccountIds": [largest + 1]}
        )
    [problem] = refused.value.problems
    assert problem.field == "ctidTraderAccountIds"
    assert largest_named(problem.message) == largest


def settled() -> None:
    """Let Qt run the layout requests a shown or hidden label posted."""
    for _ in range(3):
        QApplication.processEvents()


def places(page: TokensPage) -> list[QPoint]:
    settled()
    watched: list[QWidget] = [
        page.user_id,
        page.brokers,
        page.accounts,
        page.is_verified,
        page.send_button,
    ]
    return [widget.mapTo(page, QPoint(0, 0)) for widget in watched]


def test_error_lines_come_and_go_without_moving_the_fields(controller: Controller) -> None:
    page = controller.tokens
    before = places(page)
    page.user_id.setText("fourteen")
    assert page.errors["userId"].isVisible()
    assert places(page) == before
    page.user_id.setText("14601")
    assert not page.errors["userId"].isVisible()
    assert places(page) == before
    page.brokers.input.setText("B" * 65)
    assert not page.brokers.commit_pending()
    page.accounts.input.setText("99999999999999999999")
    assert not page.accounts.commit_pending()
    assert page.errors["brokerNames"].isVisible()
    assert page.errors["ctidTraderAccountIds"].isVisible()
    assert places(page) == before
    long_value = "not-a-number " * 40  # a message many lines long at any width
    page.accounts.input.setText(long_value.strip())
    assert not page.accounts.commit_pending()
    label = page.errors["ctidTraderAccountIds"]
    assert places(page) == before
    assert label.text() == label.toolTip()
    assert long_value.strip() in label.toolTip()  # cut short on screen, whole in the tooltip
    page.clear()
    assert not any(label.isVisible() for label in page.errors.values())
    assert places(page) == before


def test_a_production_profile_with_no_secret_says_so_without_asking_to_send(
    qtbot: QtBot, controller: Controller
) -> None:
    """No "This mints a real token…" question for a request that cannot be sent at all."""
    workspace = controller.workspace
    profile = workspace.profiles.add(
        Profile.create("Live", "https://live.example.com", production=True)
    )
    workspace.profiles_imported()
    workspace.set_active(profile.id)
    page = controller.tokens
    page.user_id.setText("14601")
    page.brokers.set_tags(["BESTBROKER"])
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: "secret" in page.status.text(), timeout=WAIT_MS)
    assert page.findChild(QMessageBox, "confirmation") is None
    assert page.status.text().startswith("No bearer secret")
