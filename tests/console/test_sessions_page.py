"""The Sessions page end to end, offscreen: live rows from real adapters, logouts from the page."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.exceptions import TimeoutError
from pytestqt.qtbot import QtBot
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapter_core.admin.sessions_view import TokenState
from console.controller import Controller
from console.services.profiles import Profile
from console.services.session_columns import INSTANCE_COLUMN, column_index
from console.services.session_rows import FeedStatus, SessionRow
from tests.support.adapter_process import AdapterProcess
from tests.support.broker_only import BrokerOnlyAdapter
from tests.support.console_driver import WAIT_MS, click, run, running_console, send_token_request
from tests.support.redis_server import RedisServer
from tests.support.tradingview_client import TradingViewClient, mint

ACCOUNT = "137780091"


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    with running_console(qtbot, console_home, "sessions") as built:
        yield built


def embedded(controller: Controller) -> tuple[str, str]:
    url = controller.workspace.active.profile.base_url
    secret = controller._embedded_secret
    assert url
    assert secret
    return url, secret


def row_state(controller: Controller, token_id: str) -> str | None:
    row = controller.sessions.model.row_for(token_id)
    return None if row is None or row.state is None else row.state.value


def token_id(url: str, secret: str, token: str) -> str:
    answer = httpx.post(
        f"{url}/admin/tokens/introspect",
        json={"token": token},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    ).json()
    found: str = answer["d"]["token"]["tokenId"]
    return found


def select(controller: Controller, token_ids: list[str]) -> None:
    page = controller.sessions
    selection = page.table.selectionModel()
    selection.clearSelection()
    keys = [row.key for row in page.model.visible_rows()]
    for wanted in token_ids:
        index = page.model.index(keys.index(wanted), 0)
        selection.select(
            index,
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def accept_confirmation(qtbot: QtBot, controller: Controller) -> str:
    def box() -> QMessageBox | None:
        found = controller.sessions.findChild(QMessageBox, "confirmation")
        return found if isinstance(found, QMessageBox) and found.isVisible() else None

    qtbot.waitUntil(lambda: box() is not None, timeout=WAIT_MS)
    dialog = box()
    assert dialog is not None
    text = dialog.text()
    accept = next(b for b in dialog.buttons() if b.text() == "Log out")
    assert isinstance(accept, QPushButton)
    click(qtbot, accept)
    return text


def wait_live(qtbot: QtBot, controller: Controller) -> None:
    page = controller.sessions

    def live() -> bool:
        return page.live.text() == f"● {FeedStatus.LIVE.value}"

    try:
        qtbot.waitUntil(live, timeout=WAIT_MS)
    except TimeoutError:
        raise AssertionError(f"{page.live.text()}: {page.live.toolTip()}") from None


def test_rows_appear_update_and_turn_revoked_on_logout(
    qtbot: QtBot, controller: Controller
) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    wait_live(qtbot, controller)
    token = mint(url, secret)
    trader = TradingViewClient(url, token)
    try:
        trader.ok("GET", f"/accounts/{ACCOUNT}/orders")
        wanted = token_id(url, secret, token)
        qtbot.waitUntil(lambda: row_state(controller, wanted) == "active", timeout=WAIT_MS)
        row = page.model.row_for(wanted)
        assert row is not None
        first_count = row.request_count
        for _ in range(3):
            trader.ok("GET", f"/accounts/{ACCOUNT}/positions")

        def counted() -> bool:
            current = page.model.row_for(wanted)
            return current is not None and current.request_count > first_count

        qtbot.waitUntil(counted, timeout=WAIT_MS)
        select(controller, [wanted])
        click(qtbot, page.logout_selected)
        text = accept_confirmation(qtbot, controller)
        assert wanted[:12] in text
        qtbot.waitUntil(lambda: row_state(controller, wanted) == "revoked", timeout=WAIT_MS)
        revoked = page.model.row_for(wanted)
        assert revoked is not None
        assert revoked.request_count > first_count  # a logged-out token keeps its activity
        assert [s.closed_at is not None for s in revoked.trader_sessions] == [True]
        assert revoked.trader_sessions[0].client_address == "127.0.0.1"
        assert trader.call("GET", f"/accounts/{ACCOUNT}/orders").status_code == 401
        assert page.results.count() == 1
        entries = controller.workspace.activity.audit_entries()
        assert entries[-1].token_id == wanted
        assert entries[-1].ok
    finally:
        trader.close()


def test_a_bulk_logout_of_three_reports_three_results(qtbot: QtBot, controller: Controller) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    tokens = [mint(url, secret, userId=14602, brokerNames=["BESTBROKER"]) for _ in range(3)]
    ids = [token_id(url, secret, token) for token in tokens]
    qtbot.waitUntil(lambda: all(row_state(controller, i) == "issued" for i in ids), timeout=WAIT_MS)
    select(controller, ids)
    assert page.logout_selected.text() == "Log out 3 selected"
    click(qtbot, page.logout_selected)
    text = accept_confirmation(qtbot, controller)
    assert "these 3 tokens" in text
    qtbot.waitUntil(lambda: page.results.count() == 3, timeout=WAIT_MS)
    assert all(page.results.item(i).text().startswith("✔") for i in range(3))
    qtbot.waitUntil(
        lambda: all(row_state(controller, i) == "revoked" for i in ids), timeout=WAIT_MS
    )


def test_filter_and_state_filter_find_sessions(qtbot: QtBot, controller: Controller) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    mine = token_id(url, secret, mint(url, secret, userId=14603, brokerNames=["BESTBROKER"]))
    other = token_id(url, secret, mint(url, secret, userId=14602, brokerNames=["BESTBROKER"]))
    qtbot.waitUntil(lambda: page.model.row_for(other) is not None, timeout=WAIT_MS)
    page.filter.setText(mine[:10])
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    page.filter.clear()
    page.state.setCurrentIndex(page.state.findData(TokenState.REVOKED))
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(page.empty_note.isVisible, timeout=WAIT_MS)
    assert page.empty_note.text() == "No token in state revoked."
    page.state.setCurrentIndex(0)
    page.filter.setText("BESTBROKER-EU")
    qtbot.waitUntil(
        lambda: page.empty_note.text() == "No token matches “BESTBROKER-EU”.", timeout=WAIT_MS
    )
    page.filter.clear()
    qtbot.waitUntil(lambda: not page.empty_note.isVisible(), timeout=WAIT_MS)


def shown_ids(controller: Controller) -> set[str]:
    return {row.key for row in controller.sessions.model.visible_rows()}


def test_the_find_box_finds_by_account_user_prefix_broker_and_token_id(
    qtbot: QtBot, controller: Controller
) -> None:
    """What the issue's acceptance lists, against the live feed, and `q=` gives the same."""
    url, secret = embedded(controller)
    page = controller.sessions
    wait_live(qtbot, controller)
    alex = token_id(url, secret, mint(url, secret, userId=14601, ctidTraderAccountIds=[137780091]))
    priya = token_id(url, secret, mint(url, secret, userId=14602, ctidTraderAccountIds=[137780412]))
    tomasz = token_id(url, secret, mint(url, secret, userId=14603, brokerNames=["BESTBROKER-EU"]))
    everyone = {alex, priya, tomasz}
    qtbot.waitUntil(lambda: everyone <= shown_ids(controller), timeout=WAIT_MS)
    expected = {
        "1377": {alex, priya},
        "137780091": {alex},
        "146": everyone,
        "BESTBROKER-EU": {tomasz},
        alex[:8]: {alex},
    }
    for text, wanted in expected.items():
        page.filter.setText(text)

        def found(wanted: set[str] = wanted) -> bool:
            return shown_ids(controller) & everyone == wanted

        qtbot.waitUntil(found, timeout=WAIT_MS)
        qtbot.wait(300)  # the adapter's answer to q= replaces the local match: still the same
        assert shown_ids(controller) & everyone == wanted, text
        listed = httpx.get(
            f"{url}/admin/sessions",
            params={"q": text, "limit": "500"},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        ).json()["d"]["rows"]
        assert {row["tokenId"] for row in listed} & everyone == wanted, text


def test_a_revoked_row_cannot_be_logged_out_again(qtbot: QtBot, controller: Controller) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    wait_live(qtbot, controller)
    token = mint(url, secret, userId=14602, brokerNames=["BESTBROKER"])
    wanted = token_id(url, secret, token)
    qtbot.waitUntil(lambda: row_state(controller, wanted) == "issued", timeout=WAIT_MS)
    httpx.post(f"{url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    qtbot.waitUntil(lambda: row_state(controller, wanted) == "revoked", timeout=WAIT_MS)
    select(controller, [wanted])
    assert not page.logout_selected.isEnabled()


def test_switching_profiles_clears_the_page(qtbot: QtBot, controller: Controller) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    wait_live(qtbot, controller)
    mint(url, secret, userId=14602, brokerNames=["BESTBROKER"])
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=WAIT_MS)
    page.filter.setText("146")
    with BrokerOnlyAdapter() as plain:
        profile = controller.workspace.profiles.add(Profile.create("Broker only", plain.url))
        controller.workspace.secret_store.set(profile.secret_key, plain.secret)
        controller.workspace.profiles_imported()
        controller.workspace.set_active(profile.id)
        assert page.filter.text() == ""
        assert page.model.total_rows() == 0
        assert page.updated.text() == ""
        qtbot.waitUntil(lambda: "no admin API" in page.notice.text(), timeout=WAIT_MS)
        assert "0 tokens minted from this console" in page.notice.text()


def test_without_an_admin_api_the_page_shows_the_tokens_minted_here(
    qtbot: QtBot, controller: Controller
) -> None:
    with BrokerOnlyAdapter() as plain:
        profile = controller.workspace.profiles.add(Profile.create("Broker only", plain.url))
        controller.workspace.secret_store.set(profile.secret_key, plain.secret)
        controller.workspace.profiles_imported()
        controller.workspace.set_active(profile.id)
        tokens = controller.tokens
        send_token_request(qtbot, controller)
        assert tokens.token.value()
        page = controller.sessions
        qtbot.waitUntil(lambda: page.model.total_rows() == 1, timeout=WAIT_MS)
        assert "no admin API" in page.notice.text()
        assert "the 1 token minted from this console" in page.notice.text()
        row = page.model.row_at(0)
        assert row.state is TokenState.ISSUED
        assert row.token_id is None  # the adapter never told it: no made-up id is shown
        select(controller, [row.key])
        click(qtbot, page.logout_selected)
        accept_confirmation(qtbot, controller)
        qtbot.waitUntil(lambda: page.results.count() == 1, timeout=WAIT_MS)
        assert page.results.item(0).text().startswith("✔")
        assert tokens.token.value() in plain.revoked
        qtbot.waitUntil(lambda: page.model.row_at(0).state is TokenState.REVOKED, timeout=WAIT_MS)
        logout = controller.logout

        def logged_out_there() -> bool:
            item = logout.table.item(0, 5)
            return logout.table.rowCount() == 1 and item is not None and "revoked" in item.text()

        qtbot.waitUntil(logged_out_there, timeout=WAIT_MS)
        tokens.user_id.setText("14602")
        click(qtbot, tokens.send_button)
        qtbot.waitUntil(lambda: page.model.total_rows() == 2, timeout=WAIT_MS)


def test_the_view_exports_as_csv_without_a_token(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    url, secret = embedded(controller)
    page = controller.sessions
    token = mint(url, secret, userId=14603, brokerNames=["BESTBROKER"])
    wanted = token_id(url, secret, token)
    qtbot.waitUntil(lambda: page.model.row_for(wanted) is not None, timeout=WAIT_MS)
    page.filter.setText("14603")
    qtbot.waitUntil(lambda: shown_ids(controller) == {wanted}, timeout=WAIT_MS)
    target = tmp_path / "sessions.csv"
    run(qtbot, page.export_to(target))
    text = target.read_text()
    header, row = text.splitlines()
    assert header.startswith("Token id,User,Brokers")
    assert row.startswith(f"{wanted},14603,BESTBROKER")
    assert token not in text
    assert target.stat().st_mode & 0o777 == 0o600
    assert "Exported 1 row to" in page.notice.text()


def test_the_csv_export_keeps_full_token_ids_and_absolute_utc_times(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    """The view shortens ids and says "2 min ago"; the file must mean the same once saved."""
    url, secret = embedded(controller)
    page = controller.sessions
    wait_live(qtbot, controller)
    token = mint(url, secret)
    trader = TradingViewClient(url, token)
    try:
        trader.ok("GET", f"/accounts/{ACCOUNT}/orders")
    finally:
        trader.close()
    wanted = token_id(url, secret, token)
    qtbot.waitUntil(lambda: row_state(controller, wanted) == "active", timeout=WAIT_MS)
    page.filter.setText(wanted[:10])
    qtbot.waitUntil(lambda: shown_ids(controller) == {wanted}, timeout=WAIT_MS)
    row = page.model.row_at(0)
    assert page.model.index(0, 0).data() == f"{wanted[:12]}…"  # the view keeps its short form
    target = tmp_path / "sessions.csv"
    run(qtbot, page.export_to(target))
    text = target.read_text()
    assert token not in text
    (exported,) = list(csv.DictReader(text.splitlines()))
    assert exported["Token id"] == wanted
    times = {"Issued": row.issued_at, "Expires": row.expires_at, "Last activity": row.last_activity}
    for title, timestamp in times.items():
        assert timestamp is not None
        assert exported[title].endswith("Z"), title
        written = datetime.fromisoformat(exported[title])
        assert written.utcoffset() is not None
        assert written.utcoffset() == datetime.fromtimestamp(0, UTC).utcoffset()
        assert abs(written.timestamp() - timestamp) < 1, title
    assert exported["Requests"] == str(row.request_count)


class NoAccountsAdapter(BrokerOnlyAdapter):
    """A broker-only adapter that does not serve TradingView's `GET /accounts` (404)."""

    async def _accounts(self, request: Request) -> Response:
        return JSONResponse({"s": "error", "errmsg": "Not Found"}, 404)


class CountingAdapter(BrokerOnlyAdapter):
    """A broker-only adapter that counts the `GET /accounts` probes it answered."""

    probes = 0

    async def _accounts(self, request: Request) -> Response:
        self.probes += 1
        return await super()._accounts(request)


def use_broker_only(controller: Controller, plain: BrokerOnlyAdapter) -> None:
    profile = controller.workspace.profiles.add(Profile.create("Broker only", plain.url))
    controller.workspace.secret_store.set(profile.secret_key, plain.secret)
    controller.workspace.profiles_imported()
    controller.workspace.set_active(profile.id)


def console_row_of(controller: Controller, user_id: int) -> SessionRow | None:
    rows = controller.sessions.model.visible_rows()
    return next((row for row in rows if row.user_id == user_id), None)


def test_without_an_admin_api_the_selection_survives_the_periodic_refresh(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.sessions
    counting = CountingAdapter()
    with counting as plain:
        use_broker_only(controller, plain)
        send_token_request(qtbot, controller, "14601")
        kept_token = controller.tokens.token.value()
        send_token_request(qtbot, controller, "14602")
        other_token = controller.tokens.token.value()
        qtbot.waitUntil(lambda: page.model.total_rows() == 2, timeout=WAIT_MS)
        kept = console_row_of(controller, 14601)
        assert kept is not None
        select(controller, [kept.key])
        qtbot.waitUntil(lambda: "User" in page.detail.toPlainText(), timeout=WAIT_MS)
        detail = page.detail.toPlainText()
        httpx.post(
            f"{plain.url}/logout", headers={"Authorization": f"Bearer {other_token}"}, timeout=10
        ).raise_for_status()
        probes = counting.probes
        page._reprobe.timeout.emit()  # what the 30 s timer does

        def other_revoked() -> bool:
            other = console_row_of(controller, 14602)
            return other is not None and other.state is TokenState.REVOKED

        qtbot.waitUntil(other_revoked, timeout=WAIT_MS)
        assert counting.probes > probes
        assert [row.key for row in page.selected_rows()] == [kept.key]
        assert page.detail.toPlainText() == detail
        assert page.logout_selected.isEnabled()
        click(qtbot, page.logout_selected)
        text = accept_confirmation(qtbot, controller)
        assert "user 14601" in text
        qtbot.waitUntil(lambda: page.results.count() == 1, timeout=WAIT_MS)
        assert kept_token in plain.revoked


@pytest.mark.parametrize(
    ("adapter", "state", "basis"),
    [
        (BrokerOnlyAdapter, "issued", "GET /accounts with it answered 200"),
        (NoAccountsAdapter, "issued (assumed)", "answered 404: this adapter does not serve it"),
    ],
)
def test_without_an_admin_api_assumptions_say_so_and_unknown_counts_are_unknown(
    qtbot: QtBot,
    controller: Controller,
    tmp_path: Path,
    adapter: type[BrokerOnlyAdapter],
    state: str,
    basis: str,
) -> None:
    page = controller.sessions
    with adapter() as plain:
        use_broker_only(controller, plain)
        send_token_request(qtbot, controller)
        qtbot.waitUntil(lambda: page.model.total_rows() == 1, timeout=WAIT_MS)

        def cell(title: str, role: int = Qt.ItemDataRole.DisplayRole) -> str:
            text = page.model.index(0, column_index(title)).data(role)
            assert isinstance(text, str), title
            return text

        assert cell("State") == state
        assert basis in cell("State", Qt.ItemDataRole.ToolTipRole)
        assert cell("Expires").endswith(" (assumed)")
        assert "(an assumption)" in cell("Expires", Qt.ItemDataRole.ToolTipRole)
        for title in ("Last activity", "Requests", "Trader sessions", "Positions"):
            assert cell(title) == "—", title
            assert "does not tell" in cell(title, Qt.ItemDataRole.ToolTipRole), title
        select(controller, [page.model.row_at(0).key])
        qtbot.waitUntil(lambda: "State" in page.detail.toPlainText(), timeout=WAIT_MS)
        detail = page.detail.toPlainText()
        assert f"State\n{state}\nState from\n" in detail
        assert basis in detail
        assert "the usual 30 days (an assumption)" in detail
        assert "Requests\nnot reported (an adapter without an admin API does not tell it)" in detail
        target = tmp_path / "sessions.csv"
        run(qtbot, page.export_to(target))
        (exported,) = list(csv.DictReader(target.read_text().splitlines()))
        assert exported["Token id"] == ""  # never told: not made up
        assert exported["Expires"].endswith("Z (assumed)")
        assert exported["Requests"] == exported["Positions"] == ""
        [minted] = run(qtbot, controller.workspace.active.minted_tokens())
        assert minted.state_text == state  # as the Logout page words it


def open_session(process: AdapterProcess, user_id: int) -> tuple[str, str]:
    """A token minted and used on `process`: its id, and the id of the instance holding it."""
    token = mint(process.url, process.broker_secret, userId=user_id, brokerNames=["BESTBROKER"])
    trader = TradingViewClient(process.url, token)
    try:
        trader.ok("GET", f"/accounts/{ACCOUNT if user_id == 14601 else 137792301}/orders")
    finally:
        trader.close()
    headers = {"Authorization": f"Bearer {process.broker_secret}"}
    info = httpx.get(f"{process.url}/admin/info", headers=headers, timeout=10).json()["d"]
    return token_id(process.url, process.broker_secret, token), info["store"]["instance"]


def test_against_several_instances_the_page_says_which_holds_each_session(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    page, window = controller.sessions, controller.window
    with RedisServer(tmp_path / "redis") as redis:
        arguments = ["--demo", "--store", redis.url]
        data_dir = tmp_path / "cluster"
        with AdapterProcess(data_dir, arguments) as a, AdapterProcess(data_dir, arguments) as b:
            workspace = controller.workspace
            profile = workspace.profiles.add(Profile.create("Cluster", b.url))
            workspace.secret_store.set(profile.secret_key, b.broker_secret)
            workspace.profiles_imported()
            workspace.set_active(profile.id)
            wait_live(qtbot, controller)
            on_a, a_id = open_session(a, 14601)
            on_b, b_id = open_session(b, 14601)

            def instances_shown() -> dict[str, str]:
                if not page.model.instance_column_shown:
                    return {}
                return {
                    page.model.row_at(r).key: page.model.index(r, INSTANCE_COLUMN).data()
                    for r in range(page.model.rowCount())
                }

            expected = {on_a: a_id, on_b: b_id}
            qtbot.waitUntil(lambda: instances_shown() == expected, timeout=WAIT_MS)
            header = page.model.headerData(INSTANCE_COLUMN, Qt.Orientation.Horizontal)
            assert header == "Instance"
            assert page.table.horizontalHeader().visualIndex(INSTANCE_COLUMN) == 1  # by Token
            store = window.store_label
            qtbot.waitUntil(lambda: store.text() == "store: redis (healthy)", timeout=WAIT_MS)
            assert redis.url in store.toolTip()
            select(controller, [on_a])

            def detail() -> str:
                return page.detail.toPlainText()

            qtbot.waitUntil(lambda: f"on instance {a_id}" in detail(), timeout=WAIT_MS)
            assert f"held by instance {a_id}" in detail()  # B lists it; A holds its caches
            redis.kill()
            controller.test_connection()
            qtbot.waitUntil(lambda: "unhealthy" in store.text(), timeout=WAIT_MS)
            assert store.text().startswith("store: redis — unhealthy: ")
            embedded_profile = next(p for p in workspace.profile_list() if p.embedded)
            workspace.set_active(embedded_profile.id)
            assert not page.model.instance_column_shown  # nothing of the cluster stays
            assert store.isHidden()
            qtbot.waitUntil(lambda: store.text() == "store: sqlite", timeout=WAIT_MS)
            wait_live(qtbot, controller)
            assert not page.model.instance_column_shown
            # Removed while its adapters still run, so its connections close before they go.
            removal = asyncio.ensure_future(workspace.remove_profile(profile.id))
            qtbot.waitUntil(removal.done, timeout=WAIT_MS)
            removal.result()


def single_row_buttons(controller: Controller) -> tuple[bool, bool]:
    page = controller.sessions
    return page.logout_user.isEnabled(), page.copy_id.isEnabled()


def select_a_fresh_token(qtbot: QtBot, controller: Controller) -> str:
    """A token minted on the embedded adapter, shown live and selected (the single-row
    buttons enabled); its id."""
    url, secret = embedded(controller)
    wait_live(qtbot, controller)
    wanted = token_id(url, secret, mint(url, secret, userId=14602, brokerNames=["BESTBROKER"]))
    qtbot.waitUntil(lambda: row_state(controller, wanted) == "issued", timeout=WAIT_MS)
    select(controller, [wanted])
    assert single_row_buttons(controller) == (True, True)
    return wanted


def test_after_an_adapter_restart_the_buttons_follow_the_dropped_selection(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.sessions
    wanted = select_a_fresh_token(qtbot, controller)
    adapter = controller.embedded
    assert adapter is not None
    run(qtbot, controller._run_embedded(adapter.stop))
    run(qtbot, controller._run_embedded(adapter.start))
    wait_live(qtbot, controller)
    qtbot.waitUntil(lambda: page.model.row_for(wanted) is not None, timeout=WAIT_MS)
    assert page.selected_rows() == []
    assert single_row_buttons(controller) == (False, False)
    assert not page.logout_selected.isEnabled()


def test_a_feed_reset_that_drops_the_selection_disables_the_buttons(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.sessions
    select_a_fresh_token(qtbot, controller)
    page._on_reset(page.model.visible_rows(), page.model.rowCount())
    assert page.selected_rows() == []
    assert single_row_buttons(controller) == (False, False)


def test_a_filter_hiding_the_selected_row_disables_the_buttons(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.sessions
    select_a_fresh_token(qtbot, controller)
    page.filter.setText("99999")
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=WAIT_MS)
    qtbot.wait(200)  # the feed answers the new query with a reset of its own
    assert single_row_buttons(controller) == (False, False)
    assert not page.logout_selected.isEnabled()
