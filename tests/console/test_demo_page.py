"""The Demo page driven offscreen against the console's own embedded adapter: the stage list,
the live sequence diagram, the Trading Panel preview fed with the minted token, logging out
from either side, restarting, exporting, and `--screenshot --page demo`."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import keyring
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFontInfo, QImage
from PySide6.QtWidgets import QFileDialog, QGraphicsSimpleTextItem, QTableWidget, QWidget
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.demo.flow import DemoFlow
from console.demo.stages import STAGES, Actor, Case
from console.services.client import Answer
from console.services.profiles import Profile
from console.services.secrets import EMBEDDED_BROKER_SECRET, KeyringSecretStore
from console.views.demo_page import CURRENT_COLOUR, SKIPPED_COLOUR, DemoPage
from console.views.file_dialogs import documents_dir
from console.views.sequence_diagram import ArrowItem
from tests.support.broker_only import BrokerOnlyAdapter
from tests.support.console_driver import WAIT_MS, build, click, run

LIVE, DEMO = 137780091, 137792301
"""User 14601's accounts with BESTBROKER (its BESTBROKER-EU account is never granted)."""
AWKWARD = '/+="\\&%?#'
"""Characters that JSON-escaping or percent-encoding spell differently."""
CONSOLE = Path(sys.executable).parent / "tv-adapter-console"
EMPTY = "—"


def _stored_secret() -> str:
    """The embedded adapter's broker secret, chosen so each way of spelling it differs."""
    secret = f"page-{secrets.token_urlsafe(24)}{AWKWARD}"
    KeyringSecretStore(keyring.get_keyring()).set(EMBEDDED_BROKER_SECRET, secret)
    return secret


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    _stored_secret()
    built = build(console_home)
    qtbot.addWidget(built.window)
    built.window.show()
    run(qtbot, built.start_embedded())
    built.window.show_page("demo")
    yield built
    run(qtbot, built.shutdown())


def choose(page: DemoPage, case: Case) -> None:
    page.case.setCurrentIndex(page.case.findData(str(case)))
    assert page.case.currentData() == str(case)


def play(qtbot: QtBot, controller: Controller, case: Case, stage: int = len(STAGES)) -> DemoFlow:
    page = controller.demo
    choose(page, case)
    run(qtbot, page.play_to(stage))
    flow = page._flow
    assert flow is not None, page.note.text()
    assert flow.position == stage, page.note.text()
    return flow


def secret_of(controller: Controller) -> str:
    secret = controller._embedded_secret
    assert secret
    assert secret.endswith(AWKWARD)
    return secret


def spellings(value: str) -> set[str]:
    return {
        value,
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }


def assert_hidden(text: str, *values: str | None) -> None:
    for value in values:
        assert value
        for spelling in spellings(value):
            assert spelling not in text


def highlighted(page: DemoPage) -> list[int]:
    """The stage numbers drawn as the current one (bold on the highlight colour)."""
    rows = []
    for row in range(page.stages.count()):
        item = page.stages.item(row)
        current = item.background().color().name() == CURRENT_COLOUR
        assert current == item.font().bold()
        if current:
            rows.append(row + 1)
    return rows


def greyed(page: DemoPage) -> list[int]:
    return [
        row + 1
        for row in range(page.stages.count())
        if page.stages.item(row).foreground().color().name() == SKIPPED_COLOUR
    ]


def panel_accounts(page: DemoPage) -> list[int]:
    combo = page.panel.account
    return sorted(int(combo.itemData(index)) for index in range(combo.count()))


def granted_by_token(controller: Controller, token: str | None) -> list[int]:
    """What the adapter itself says the token grants (GET /accounts as TradingView)."""
    assert token is not None
    assert controller.embedded is not None
    url = controller.embedded.url
    assert url is not None
    answer = httpx.get(
        f"{url}/accounts",
        params={"locale": "en"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return sorted(int(account["id"]) for account in answer.json()["d"])


def token_status(controller: Controller, token: str | None) -> int:
    assert token is not None
    assert controller.embedded is not None
    answer = httpx.get(
        f"{controller.embedded.url}/accounts",
        params={"locale": "en"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return answer.status_code


def click_arrow(qtbot: QtBot, page: DemoPage, label: str) -> None:
    """Click the diagram's arrow with this label where it is drawn, as a presenter would."""
    items = [item for item in page.diagram.arrow_items() if item.arrow.label == label]
    assert items, [item.arrow.label for item in page.diagram.arrow_items()]
    item: ArrowItem = items[0]
    middle = item.mapToScene(item.path().boundingRect().center())
    page.diagram.centerOn(middle)  # scrolled to, as a presenter would where the diagram is narrow
    point: QPoint = page.diagram.mapFromScene(middle)
    assert page.diagram.viewport().rect().contains(point)
    qtbot.mouseClick(  # type: ignore[no-untyped-call]
        page.diagram.viewport(), Qt.MouseButton.LeftButton, pos=point
    )


def rows(table: QTableWidget) -> list[list[str]]:
    def text(row: int, column: int) -> str:
        item = table.item(row, column)
        return item.text() if item is not None else ""

    return [
        [text(row, column) for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


# One definition of the stages


def test_the_stage_list_is_the_one_definition(qtbot: QtBot, controller: Controller) -> None:
    page = controller.demo
    for case in Case:
        choose(page, case)
        page._reset()
        assert page.stages.count() == len(STAGES)
        texts = [page.stages.item(row).text() for row in range(page.stages.count())]
        assert texts == [f"{stage.number}. {stage.title}" for stage in STAGES]
        skipped = [stage.number for stage in STAGES if not stage.applies(case)]
        assert greyed(page) == skipped
        for stage in STAGES:
            tip = page.stages.item(stage.number - 1).toolTip()
            if stage.applies(case):
                assert tip == stage.narration
            else:
                assert tip.startswith(f"Does not apply to case {case}")
        assert highlighted(page) == []


# Before the first stage


def test_a_profile_without_the_demo_crm_says_so_before_next(
    qtbot: QtBot, controller: Controller
) -> None:
    """No Next that can only fail: the page asks the adapter first and says why not."""
    page, workspace = controller.demo, controller.workspace
    qtbot.waitUntil(page.next_button.isEnabled, timeout=WAIT_MS)
    assert "runs for real against Embedded" in page.narration.text()
    with BrokerOnlyAdapter() as plain:
        profile = workspace.profiles.add(Profile.create("Broker only", plain.url))
        workspace.secret_store.set(profile.secret_key, plain.secret)
        workspace.profiles_imported()
        workspace.set_active(profile.id)
        qtbot.waitUntil(lambda: "cannot run" in page.narration.text(), timeout=WAIT_MS)
        text = page.narration.text()
        assert text.startswith("<b>Case A")
        assert "The demo cannot run on Broker only" in text
        assert "does not offer the demo CRM" in text
        assert "runs for real" not in text
        assert not page.next_button.isEnabled()
        run(qtbot, page._advance())  # Space, which a disabled button does not stop
        assert page._flow is None
        assert plain.issued == 0
        assert "The demo cannot run on Broker only" in page.note.text()
        workspace.set_active(workspace.profile_list()[0].id)
    qtbot.waitUntil(page.next_button.isEnabled, timeout=WAIT_MS)
    assert "runs for real against Embedded" in page.narration.text()


def test_an_adapter_that_does_not_answer_is_not_said_to_lack_the_demo_crm(
    qtbot: QtBot, controller: Controller
) -> None:
    page, workspace = controller.demo, controller.workspace
    profile = workspace.profiles.add(Profile.create("Nobody there", "http://127.0.0.1:9"))
    workspace.secret_store.set(profile.secret_key, "s" * 40)
    workspace.profiles_imported()
    workspace.set_active(profile.id)
    qtbot.waitUntil(lambda: "cannot run" in page.narration.text(), timeout=WAIT_MS)
    assert "did not answer when asked" in page.narration.text()
    assert "does not offer" not in page.narration.text()
    assert not page.next_button.isEnabled()


def test_a_run_still_being_set_up_when_the_page_restarts_is_dropped_and_closed(
    qtbot: QtBot, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = controller.demo
    qtbot.waitUntil(page.next_button.isEnabled, timeout=WAIT_MS)
    release = asyncio.Event()
    set_up: list[DemoFlow] = []

    async def slow_prepare(flow: DemoFlow) -> None:
        set_up.append(flow)
        await release.wait()

    monkeypatch.setattr(DemoFlow, "prepare", slow_prepare)
    advancing = asyncio.ensure_future(page._advance())
    qtbot.waitUntil(lambda: bool(set_up), timeout=WAIT_MS)
    page.restart()
    release.set()
    qtbot.waitUntil(advancing.done, timeout=WAIT_MS)
    assert advancing.result() is False
    assert page._flow is None
    qtbot.waitUntil(lambda: set_up[0].client.is_closed, timeout=WAIT_MS)
    assert page.diagram.arrows == []


def test_a_stopped_embedded_adapter_is_said_before_next(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.demo
    adapter = controller.embedded
    assert adapter is not None
    run(qtbot, controller._run_embedded(adapter.stop))
    qtbot.waitUntil(lambda: "cannot run" in page.narration.text(), timeout=WAIT_MS)
    assert "not running" in page.narration.text()
    assert not page.next_button.isEnabled()


# Acting the flow out


@pytest.mark.parametrize("case", list(Case))
def test_playing_to_the_end_draws_the_flow_and_connects_the_panel(
    qtbot: QtBot, controller: Controller, case: Case
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, case)
    secret = secret_of(controller)
    assert highlighted(page) == [21]
    assert page.narration.text().startswith(f"<b>Stage 21 of {len(STAGES)}")
    assert greyed(page) == ([9, 10, 11, 12] if case is Case.C else [])

    assert page.diagram.arrows == flow.arrows
    assert len(page.diagram.arrow_items()) == len(flow.arrows)
    drawn_stages = {arrow.stage for arrow in page.diagram.arrows}
    assert drawn_stages == {stage.number for stage in STAGES if stage.applies(case)}

    click_arrow(qtbot, page, "POST /generate/token")
    shown = page.detail.toPlainText()
    assert "POST" in shown
    assert "/generate/token" in shown
    assert "Bearer ‹broker secret›" in shown
    assert "‹token " in shown
    assert_hidden(shown, secret, flow.token)
    click_arrow(qtbot, page, "200 accounts")
    shown = page.detail.toPlainText()
    assert "Bearer ‹token " in shown
    assert "HTTP 200" in shown
    assert_hidden(shown, secret, flow.token)
    click_arrow(qtbot, page, "store the token")
    assert "Not an HTTP exchange" in page.detail.toPlainText()

    granted = granted_by_token(controller, flow.token)
    assert panel_accounts(page) == granted
    if case is Case.C:
        assert granted == [LIVE, DEMO]
    else:
        assert granted == flow.account_ids
        assert granted not in ([LIVE], [DEMO], [LIVE, DEMO])

    balance = page.panel.summary["balance"]
    qtbot.waitUntil(lambda: balance.text() != EMPTY, timeout=WAIT_MS)
    sign = str(flow.panel.accounts[0].get("currencySign") or "")
    assert balance.text() == f"{sign}{flow.panel.state['balance']:,.2f}"
    if case is not Case.C:
        assert balance.text() == "$10,000.00"
    qtbot.waitUntil(lambda: page.panel.summary["equity"].text() != EMPTY, timeout=WAIT_MS)


def test_the_diagram_draws_the_stages_top_to_bottom_in_order(
    qtbot: QtBot, controller: Controller
) -> None:
    """Stage 12's confirmations come with Next at stage 12, below stage 11's arrow, not with
    their requests at stage 10; likewise the token at 14 and TradingView's data at 20."""
    page = controller.demo
    play(qtbot, controller, Case.A, 11)
    assert 12 not in {arrow.stage for arrow in page.diagram.arrows}
    run(qtbot, page.play_to(12))
    confirmations = [arrow.label for arrow in page.diagram.arrows if arrow.stage == 12]
    assert confirmations == ["200 user", "200 account", "200 linked"]
    run(qtbot, page.play_to(len(STAGES)))
    rows = sorted(page.diagram.arrow_items(), key=lambda item: item.sceneBoundingRect().top())
    stages = [item.arrow.stage for item in rows]
    assert stages == sorted(stages)
    numbers = sorted(
        (item.scenePos().y(), int(item.text()))
        for item in page.diagram.scene().items()
        if isinstance(item, QGraphicsSimpleTextItem) and item.text().strip().isdigit()
    )
    assert [number for _, number in numbers] == stages  # the numbers written beside the rows


def test_the_window_fits_a_720_pixel_projector_with_the_panel_filled(
    qtbot: QtBot, controller: Controller
) -> None:
    """The client area and the Trading Panel scroll up and down instead of making the window
    taller (its least height was 698–730 px before the title bar); they are never cut sideways."""
    page, window = controller.demo, controller.window
    play(qtbot, controller, Case.A)
    qtbot.waitUntil(lambda: page.panel.summary["balance"].text() != EMPTY, timeout=WAIT_MS)
    title_bar = 30
    assert window.minimumSizeHint().height() + title_bar <= 720
    window.resize(window.minimumSizeHint())

    def wide_enough() -> bool:
        shown: list[QWidget] = [page.panel, page.client_area]
        return all(widget.width() >= widget.minimumSizeHint().width() for widget in shown)

    qtbot.waitUntil(wide_enough)


def test_case_c_links_only_what_the_trader_ticks(qtbot: QtBot, controller: Controller) -> None:
    page = controller.demo
    flow = play(qtbot, controller, Case.C, 7)
    offered = {account: box for box, account in page.client_area.link_checks}
    assert sorted(offered) == [LIVE, DEMO, 137800001]
    assert not offered[137800001].isEnabled()  # BESTBROKER-EU: not this broker's
    for box in offered.values():
        box.setChecked(False)
    run(qtbot, page.play_to(len(STAGES)))
    assert flow.position == 7  # nothing ticked: nothing is linked, nothing minted
    assert flow.token is None
    assert "tick" in page.note.text()
    offered[DEMO].setChecked(True)
    run(qtbot, page.play_to(len(STAGES)))
    assert flow.finished
    assert flow.account_ids == [DEMO]
    assert granted_by_token(controller, flow.token) == [DEMO]
    assert panel_accounts(page) == [DEMO]


def test_an_order_from_the_ticket_shows_in_orders_or_positions(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.demo
    play(qtbot, controller, Case.A)
    panel = page.panel
    qtbot.waitUntil(lambda: panel.summary["balance"].text() != EMPTY, timeout=WAIT_MS)
    assert rows(panel.orders) == []
    assert rows(panel.positions) == []
    assert panel.symbol.count() > 0
    symbol = panel.symbol.currentText()
    panel.kind.setCurrentText("market")
    panel.quantity.setValue(0.3)
    click(qtbot, panel.sell)
    click(qtbot, panel.place)

    def shown() -> bool:
        table = rows(panel.orders) + rows(panel.positions)
        return any(symbol in row and "sell" in row for row in table)

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    assert panel.ticket_note.text().startswith("Order ")
    order_id = panel.ticket_note.text().split()[1]
    ordered = [row for row in rows(panel.orders) if row[0] == order_id]
    held = [row for row in rows(panel.positions) if row[1] == symbol]
    assert ordered or held
    for row in ordered:
        assert row[1:5] == [symbol, "sell", "market", "0.3"]
    for row in held:
        assert row[2:4] == ["sell", "0.3"]


def test_a_demo_s_calls_are_in_the_activity_log_masked(
    qtbot: QtBot, controller: Controller
) -> None:
    flow = play(qtbot, controller, Case.A)
    assert flow.token is not None
    exchanges = controller.workspace.activity.exchanges()
    paths = {exchange.path.split("?")[0] for exchange in exchanges}
    assert {"/generate/token", "/accounts"} <= paths
    assert any(path.startswith("/demo/") for path in paths)
    texts = [f"{e.request_headers} {e.request_body} {e.response_body}" for e in exchanges]
    assert not any(flow.token in text or secret_of(controller) in text for text in texts)


def test_a_new_run_shows_no_message_of_the_one_before(qtbot: QtBot, controller: Controller) -> None:
    page = controller.demo
    play(qtbot, controller, Case.A)
    panel = page.panel
    qtbot.waitUntil(lambda: panel.account_id() is not None, timeout=WAIT_MS)
    click(qtbot, panel.place)
    qtbot.waitUntil(lambda: panel.ticket_note.text().startswith("Order "), timeout=WAIT_MS)
    click(qtbot, page.restart_button)
    assert panel.ticket_note.text() == ""
    play(qtbot, controller, Case.A)
    qtbot.waitUntil(lambda: panel.summary["balance"].text() != EMPTY, timeout=WAIT_MS)
    assert panel.ticket_note.text() == ""


@pytest.mark.parametrize(
    ("case", "button", "by", "actor"),
    [
        (Case.A, "logout_tv", "tradingview", Actor.TRADINGVIEW),
        (Case.B, "logout_crm", "crm", Actor.CLIENT_AREA),
        (Case.C, "panel", "tradingview", Actor.TRADINGVIEW),
    ],
)
def test_each_logout_button_ends_the_session(
    qtbot: QtBot, controller: Controller, case: Case, button: str, by: str, actor: Actor
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, case)
    panel = page.panel
    qtbot.waitUntil(lambda: panel.summary["balance"].text() != EMPTY, timeout=WAIT_MS)
    assert not panel.ended.isVisible()
    assert token_status(controller, flow.token) == 200
    pressed = panel.logout_button if button == "panel" else getattr(page, button)
    assert pressed.isEnabled()
    click(qtbot, pressed)
    qtbot.waitUntil(panel.ended.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(flow.logout_exchanges) == 2, timeout=WAIT_MS)
    assert panel.ended.text().startswith("Session ended")
    assert "logged out" in panel.ended.text()
    assert panel.reconnect.isVisible()
    assert not panel.place.isEnabled()
    assert not page.logout_tv.isEnabled()
    assert not page.logout_crm.isEnabled()
    assert flow.logged_out_by == by
    assert [exchange.status for exchange in flow.logout_exchanges] == [200, 401]
    logouts = [arrow for arrow in page.diagram.arrows if arrow.label == "POST /logout"]
    assert [(arrow.source, arrow.target) for arrow in logouts] == [(actor, Actor.ADAPTER)]
    assert token_status(controller, flow.token) == 401


def test_restart_and_a_new_case_start_over(qtbot: QtBot, controller: Controller) -> None:
    page = controller.demo
    play(qtbot, controller, Case.C)
    assert page.diagram.arrows
    assert highlighted(page) == [21]
    click_arrow(qtbot, page, "POST /generate/token")
    assert page.detail.toPlainText()
    click(qtbot, page.restart_button)
    assert page._flow is None
    assert page.diagram.arrows == []
    assert page.diagram.arrow_items() == []
    assert highlighted(page) == []
    assert page.detail.toPlainText() == ""
    assert page.panel.pages.currentIndex() == 0  # back to TradingView's broker list
    assert greyed(page) == [9, 10, 11, 12]

    flow = play(qtbot, controller, Case.C, 7)
    assert page.diagram.arrows
    assert highlighted(page) == [7]
    choose(page, Case.A)
    assert page._flow is None
    assert page.diagram.arrows == []
    assert page.diagram.arrow_items() == []
    assert highlighted(page) == []
    assert greyed(page) == []
    assert page.narration.text().startswith("<b>Case A")

    again = play(qtbot, controller, Case.A, 10)
    assert again is not flow
    assert again.case is Case.A
    assert {arrow.stage for arrow in page.diagram.arrows} >= {1, 10}
    assert highlighted(page) == [10]


# An abandoned run leaves no live token


def test_restart_logs_out_the_abandoned_run_s_token(qtbot: QtBot, controller: Controller) -> None:
    flow = play(qtbot, controller, Case.A)
    assert token_status(controller, flow.token) == 200
    click(qtbot, controller.demo.restart_button)
    qtbot.waitUntil(lambda: flow.client.is_closed, timeout=WAIT_MS)
    assert token_status(controller, flow.token) == 401
    assert controller.demo.note.text() == ""


class LateAnswer:
    """Holds back the answer to a run's request for `path` (the adapter has acted on it)
    until released, as a slow network would."""

    def __init__(self, flow: DemoFlow, path: str) -> None:
        self.path = path
        self.answered = asyncio.Event()
        self.release = asyncio.Event()
        self.data: Any = None
        self._send = flow.client.request

    async def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        answer = await self._send(method, path, **kwargs)
        if path == self.path:
            self.data = answer.data
            self.answered.set()
            await self.release.wait()
        return answer


def answer_late(
    qtbot: QtBot, controller: Controller, monkeypatch: pytest.MonkeyPatch, stage: int, path: str
) -> tuple[DemoFlow, LateAnswer]:
    """Case A played up to `stage`, which is started: the adapter has acted on its request for
    `path`, and the answer waits for `LateAnswer.release`."""
    flow = play(qtbot, controller, Case.A, stage - 1)
    late = LateAnswer(flow, path)
    monkeypatch.setattr(flow.client, "request", late.request)
    controller.demo.next_stage()
    qtbot.waitUntil(late.answered.is_set, timeout=WAIT_MS)
    return flow, late


async def quit_page(page: DemoPage) -> None:
    """As `Controller.shutdown` does it: the page's tasks are cancelled, then the page closes."""
    await page.tasks.aclose()
    await page.aclose()


@pytest.mark.parametrize("how", ["restart", "quit", "restart, then quit"])
def test_a_token_minted_as_the_run_is_abandoned_is_logged_out(
    qtbot: QtBot, controller: Controller, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    page = controller.demo
    flow, late = answer_late(qtbot, controller, monkeypatch, 13, "/generate/token")
    if how.startswith("restart"):
        click(qtbot, page.restart_button)
    closing = asyncio.ensure_future(quit_page(page)) if how.endswith("quit") else None
    qtbot.wait(100)
    late.release.set()
    qtbot.waitUntil(lambda: flow.client.is_closed, timeout=WAIT_MS)
    if closing is not None:
        qtbot.waitUntil(closing.done, timeout=WAIT_MS)
    assert token_status(controller, str(late.data)) == 401
    calls = [(e.method, e.path, e.status) for e in controller.workspace.activity.exchanges()]
    minted = calls.index(("POST", "/generate/token", 200))
    assert ("POST", "/logout", 200) in calls[minted:]
    if how == "restart":
        assert page.diagram.arrows == []  # the abandoned run draws nothing on the new one
        assert page.note.text() == ""


def test_a_run_abandoned_mid_stage_leaves_no_message_on_the_next(
    qtbot: QtBot, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage 17 makes three calls; abandoned after the first, the rest cannot be made, and
    that is no problem of the new run's."""
    page = controller.demo
    flow, late = answer_late(qtbot, controller, monkeypatch, 17, "/config")
    click(qtbot, page.restart_button)
    qtbot.waitUntil(lambda: flow.client.is_closed, timeout=WAIT_MS)
    late.release.set()
    qtbot.wait(200)
    assert flow.position == 16
    assert page.note.text() == ""
    assert page.diagram.arrows == []


@pytest.mark.parametrize("how", ["case", "profile", "close"])
def test_switching_case_or_profile_or_closing_logs_out_the_run_s_token(
    qtbot: QtBot, controller: Controller, how: str
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, Case.B, 15)
    assert token_status(controller, flow.token) == 200
    if how == "case":
        choose(page, Case.C)
    elif how == "profile":
        page.show_ops(controller.workspace.active)
    else:
        run(qtbot, page.aclose())
    assert page._flow is None
    qtbot.waitUntil(lambda: flow.client.is_closed, timeout=WAIT_MS)
    assert token_status(controller, flow.token) == 401


def test_a_run_logged_out_by_itself_is_not_logged_out_again(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, Case.A)
    click(qtbot, page.logout_crm)
    qtbot.waitUntil(lambda: len(flow.logout_exchanges) == 2, timeout=WAIT_MS)
    exchanges = controller.workspace.activity.exchanges
    logouts = len([e for e in exchanges() if e.path.startswith("/logout")])
    click(qtbot, page.restart_button)
    qtbot.waitUntil(lambda: flow.client.is_closed, timeout=WAIT_MS)
    assert len([e for e in exchanges() if e.path.startswith("/logout")]) == logouts
    assert page.note.text() == ""


@pytest.mark.expect_log("console.views.demo_page", "token could not be logged out")
def test_a_failed_logout_of_an_abandoned_run_does_not_stop_the_restart(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, Case.A, 15)
    flow.client.close_unused()  # as if the adapter could no longer be reached
    click(qtbot, page.restart_button)
    assert page._flow is None
    assert highlighted(page) == []
    qtbot.waitUntil(lambda: "could not be logged out" in page.note.text(), timeout=WAIT_MS)
    assert page.next_button.isEnabled()
    assert flow.client.is_closed


# Presenting


def test_leaving_present_mode_restores_the_narration_s_size(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.demo
    before = page.narration.fontInfo().pixelSize()
    click(qtbot, page.present)
    assert page.narration.fontInfo().pixelSize() > before
    click(qtbot, page.present)
    assert not page.present.isChecked()
    assert page.narration.fontInfo().pixelSize() == before


def test_present_mode_scrolls_the_current_stage_into_sight(
    qtbot: QtBot, controller: Controller
) -> None:
    """Stage 21 fits the list at the normal size; Present's larger rows push it out of sight
    unless the list follows it."""
    page, window = controller.demo, controller.window
    window.resize(window.screen().availableGeometry().size())

    def in_sight(number: int) -> bool:
        shown = page.stages.visualItemRect(page.stages.item(number - 1))
        return shown.intersects(page.stages.viewport().rect())

    play(qtbot, controller, Case.A)
    assert page.stages.verticalScrollBar().maximum() == 0  # all stages fit at the normal size
    click(qtbot, page.present)
    assert page.stages.verticalScrollBar().maximum() > 0  # the larger rows overflow the list
    qtbot.waitUntil(lambda: in_sight(len(STAGES)), timeout=WAIT_MS)
    for _ in range(len(STAGES) - 1):
        click(qtbot, page.back_button)
    assert highlighted(page) == [1]
    qtbot.waitUntil(lambda: in_sight(1), timeout=WAIT_MS)
    click(qtbot, page.restart_button)
    run(qtbot, page.play_to(len(STAGES)))
    qtbot.waitUntil(lambda: in_sight(len(STAGES)), timeout=WAIT_MS)


def test_present_mode_enlarges_the_diagram_s_labels(qtbot: QtBot, controller: Controller) -> None:
    page = controller.demo
    play(qtbot, controller, Case.A, 13)

    def on_screen() -> float:
        """How tall the first arrow's label is drawn where the view shows it."""
        [first] = [i for i in page.diagram.arrow_items() if i.arrow.label == "sign in"]
        children = list(first.childItems())
        while not isinstance(children[0], QGraphicsSimpleTextItem):
            children = children[1:] + children[0].childItems()
        return QFontInfo(children[0].font()).pixelSize() * page.diagram.transform().m11()

    before = on_screen()
    click(qtbot, page.present)
    qtbot.waitUntil(lambda: on_screen() > 1.2 * before, timeout=WAIT_MS)
    click(qtbot, page.present)
    qtbot.waitUntil(lambda: on_screen() == before, timeout=WAIT_MS)


def test_the_export_dialog_starts_in_documents_with_a_name(
    qtbot: QtBot, controller: Controller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a launch directory nobody would save into
    page = controller.demo
    page._export(1)
    found: list[QFileDialog] = []

    def shown() -> bool:
        found[:] = [d for d in page.findChildren(QFileDialog) if d.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    dialog = found[0]
    try:
        [chosen] = dialog.selectedFiles()
        assert Path(chosen) == Path(documents_dir()) / "tradingview-flow-case-A.png"
        assert os.path.samefile(dialog.directory().absolutePath(), documents_dir())
    finally:
        dialog.reject()


def test_exports_hold_no_secret_and_no_token(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    page = controller.demo
    flow = play(qtbot, controller, Case.B)
    click(qtbot, page.logout_crm)
    qtbot.waitUntil(page.panel.ended.isVisible, timeout=WAIT_MS)
    secret = secret_of(controller)
    written: dict[str, bytes] = {}
    for suffix in ("png", "svg", "html"):
        path = tmp_path / f"flow.{suffix}"
        run(qtbot, page.export_to(path))
        assert page.note.text() == f"Saved {path} (secrets and tokens masked)."
        written[suffix] = path.read_bytes()
    image = QImage(str(tmp_path / "flow.png"))
    assert not image.isNull()
    assert image.width() >= 800
    assert image.height() >= 34 * len(flow.arrows)
    svg = written["svg"].decode("utf-8")
    assert "<svg" in svg
    html = written["html"].decode("utf-8")
    assert all(stage.title.replace("'", "&#x27;") in html for stage in STAGES)
    assert "/generate/token" in html
    assert "‹broker secret›" in html
    assert "Logout by the broker" in html
    for data in written.values():
        assert_hidden(data.decode("utf-8", "replace"), secret, flow.token)
        for value in (secret, flow.token):
            assert value is not None
            assert value.encode() not in data


def test_the_screenshot_of_the_demo_page(console_home: Path, tmp_path: Path) -> None:
    """`tv-adapter-console --screenshot FILE --page demo` plays the flow to its end first."""
    picture = tmp_path / "demo.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "TV_ADAPTER_CONSOLE_HOME": str(console_home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    result = subprocess.run(
        [str(CONSOLE), "--screenshot", str(picture), "--page", "demo"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    image = QImage(str(picture))
    assert not image.isNull()
    assert image.width() >= 800
    assert image.height() >= 500
    colours = {
        image.pixelColor(x, y).name()
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    }
    assert QColor(CURRENT_COLOUR).name() in colours  # a stage is highlighted: the flow ran
