"""The Verify page driven offscreen against real adapters on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from console.controller import Controller
from console.services.profiles import Profile
from console.verify.history import RunHistory
from console.verify.model import CANCELLED, Category
from console.verify.reports import CATEGORY_COLOURS
from console.views.verify_page import STATUS, VerifyPage
from tests.support.broker_only import BrokerOnlyAdapter
from tests.support.console_driver import WAIT_MS, click, run, running_console

RUN_MS = 60_000


@pytest.fixture
def controller(qtbot: QtBot, qloop: object, console_home: Path) -> Iterator[Controller]:
    with running_console(qtbot, console_home, "verify") as built:
        yield built


def quick(page: VerifyPage, *, performance: bool = False) -> None:
    """Only the suites a test needs, polling briefly."""
    page.suite_boxes["performance"].setChecked(performance)
    page.latency_tabs.setValue(2)
    page.latency_seconds.setValue(1)


def run_and_wait(qtbot: QtBot, page: VerifyPage, runs_before: int) -> None:
    qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)  # the profile's runs are read
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: not page.run_button.isEnabled(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: page.run_button.isEnabled() and page.history_choice.count() == runs_before + 1,
        timeout=RUN_MS,
    )


def run_until_polling(qtbot: QtBot, page: VerifyPage, *, seconds: int) -> None:
    """Start a run whose latency check polls for `seconds`, and wait until it polls."""
    quick(page, performance=True)
    page.latency_seconds.setValue(seconds)
    qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
    click(qtbot, page.run_button)

    def polling() -> bool:
        item = page._items.get("latency.polling")
        return item is not None and item.text(STATUS) == "running…"

    qtbot.waitUntil(polling, timeout=RUN_MS)


def statuses(page: VerifyPage) -> dict[str, str]:
    return {check_id: item.text(STATUS) for check_id, item in page._items.items()}


def add_profile(
    controller: Controller, url: str, secret: str, *, production: bool = False
) -> Profile:
    workspace = controller.workspace
    profile = workspace.profiles.add(Profile.create("Other", url, production=production))
    workspace.secret_store.set(profile.secret_key, secret)
    workspace.profiles_imported()
    workspace.set_active(profile.id)
    return profile


def test_a_run_paints_every_check_keeps_the_run_and_masks_what_it_shows(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    quick(page, performance=True)
    run_and_wait(qtbot, page, 0)
    shown = statuses(page)
    assert "latency.polling" in shown
    assert set(shown.values()) == {"passed", "skipped"}, shown
    assert shown["tls.certificate"] == "skipped"
    assert page.summary.text().startswith("PASSED")
    assert "No earlier run" in page.comparison.text()
    page.tree.setCurrentItem(page._items["mint.seed-example"])
    assert "PASSED" in page.detail.verdict.text()
    assert page.detail.exchanges.count() == 1
    text = page.detail.exchange.toPlainText()
    assert "Bearer ‹broker secret›" in text
    secret = controller._embedded_secret
    assert secret
    assert secret not in text
    click(qtbot, page.detail.copy_curl)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("curl -X POST")
    assert secret not in copied
    window = controller.window
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.height() == 700)
    least_height = window.minimumSizeHint().height()
    page.tree.setCurrentItem(page._items["latency.polling"])
    qtbot.waitUntil(lambda: page.detail._chart is not None and page.detail._chart.isVisible())
    qtbot.wait(100)  # a layout request would be handled by now
    assert (window.minimumSizeHint().height(), window.height()) == (least_height, 700)

    run_and_wait(qtbot, page, 1)
    assert page.comparison.text() == "Same results as the previous run."
    kept = RunHistory().runs("embedded")
    assert len(kept) == 2
    assert secret not in json.dumps([report.to_json() for report in kept])


def test_failed_checks_can_be_rerun_alone(qtbot: QtBot, controller: Controller) -> None:
    page = controller.verify
    with BrokerOnlyAdapter() as plain:
        add_profile(controller, plain.url, plain.secret)
        qtbot.waitUntil(lambda: "Other" in page.target.text(), timeout=WAIT_MS)
        quick(page)
        run_and_wait(qtbot, page, 0)
        shown = statuses(page)
        assert shown["mint.invalid-bodies"] == "failed"  # it takes any body with a userId
        assert shown["mint.seed-example"] == "passed"
        assert page.rerun_button.isEnabled()
        failing = {check for check, status in shown.items() if status in ("failed", "error")}
        click(qtbot, page.rerun_button)
        qtbot.waitUntil(lambda: page.history_choice.count() == 2, timeout=RUN_MS)
        assert set(page._items) == failing
        assert "(re-run of" in page.history_choice.currentText()
        assert "removed" not in page.comparison.text()  # compared on the re-run checks only
        assert "added" not in page.comparison.text()


def test_a_profile_switch_cancels_the_run_and_its_tokens_are_still_logged_out(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    run_until_polling(qtbot, page, seconds=5)
    with BrokerOnlyAdapter() as plain:
        add_profile(controller, plain.url, plain.secret)
        assert page.tree.topLevelItemCount() == 0
        qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)

        def kept() -> bool:
            return bool(RunHistory().runs("embedded"))

        qtbot.waitUntil(kept, timeout=RUN_MS)
        [report] = RunHistory().runs("embedded")
        assert report.aborted == CANCELLED
        assert report.not_logged_out == []
        assert page.history_choice.count() == 0  # the other profile's run is not shown here


def test_production_profiles_ask_first_and_never_trade(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    with BrokerOnlyAdapter() as plain:
        add_profile(controller, plain.url, plain.secret, production=True)
        qtbot.waitUntil(lambda: "PRODUCTION" in page.target.text(), timeout=WAIT_MS)
        qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
        assert not page.suite_boxes["trading"].isEnabled()
        click(qtbot, page.run_button)

        def box() -> QMessageBox | None:
            found = page.findChild(QMessageBox, "confirmation")
            return found if isinstance(found, QMessageBox) and found.isVisible() else None

        qtbot.waitUntil(lambda: box() is not None, timeout=WAIT_MS)
        dialog = box()
        assert dialog is not None
        assert "production" in dialog.windowTitle()
        dialog.reject()
        qtbot.wait(200)
        assert plain.issued == 0
        assert page.tree.topLevelItemCount() == 0


def test_an_invalid_identity_is_refused_before_anything_is_sent(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    qtbot.waitUntil(lambda: page.user_id.text() == "14601", timeout=WAIT_MS)  # identity loaded
    page.user_id.setText("fourteen")
    qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: "not a valid" in page.summary.text(), timeout=WAIT_MS)
    assert "userId" in page.summary.text()
    assert page.tree.topLevelItemCount() == 0


def test_the_shown_run_exports_without_secrets(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    page = controller.verify
    quick(page)
    page.suite_boxes["tradingview"].setChecked(False)
    run_and_wait(qtbot, page, 0)
    secret = controller._embedded_secret
    assert secret
    exports = tmp_path / "exports"
    exports.mkdir()
    for name_filter, name in (
        ("HTML report (*.html)", "report"),
        ("JSON report (*.json)", "report"),
        ("JUnit XML (*.xml)", "report"),
    ):
        run(qtbot, page.export_to(exports / name, name_filter))
    written = sorted(path.name for path in exports.iterdir())
    assert written == ["report.html", "report.json", "report.xml"]
    for path in exports.iterdir():
        assert secret not in path.read_text()
    assert "Saved the report" in page.comparison.text()
    assert json.loads((exports / "report.json").read_text())["summary"]["failed"] == 0


def test_quitting_mid_run_still_logs_the_run_s_tokens_out(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    run_until_polling(qtbot, page, seconds=30)
    ops = controller.workspace.active
    assert run(qtbot, ops.user_sessions(14601))  # the run's token is live while it polls
    run(qtbot, page.tasks.aclose())  # what quitting does to the page's tasks
    assert run(qtbot, ops.user_sessions(14601)) == []


def test_the_run_is_in_the_activity_log_masked_and_polling_as_background(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    quick(page, performance=True)
    page.suite_boxes["browser"].setChecked(False)
    run_and_wait(qtbot, page, 0)
    logged = controller.workspace.activity.exchanges()
    mints = [e for e in logged if e.path == "/generate/token" and not e.background]
    assert len(mints) >= 10  # the probe, the seed example, wrong secrets, invalid bodies...
    orders = [e for e in logged if e.path.split("?")[0].endswith("/orders")]
    assert len([e for e in orders if e.background]) >= 2  # the polling tabs
    assert len([e for e in orders if not e.background]) == 1  # orders.schema
    secret = controller._embedded_secret
    assert secret
    assert not any(secret in json.dumps(e.to_json()) for e in logged)


def test_the_same_profile_renewed_keeps_its_run(qtbot: QtBot, controller: Controller) -> None:
    page = controller.verify
    quick(page, performance=True)
    page.latency_seconds.setValue(2)
    qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: bool(page._results), timeout=RUN_MS)
    page.show_ops(controller.workspace.active)  # what an edit or an adapter restart does
    qtbot.waitUntil(lambda: page.history_choice.count() == 1, timeout=RUN_MS)
    [report] = RunHistory().runs("embedded")
    assert report.aborted is None
    assert statuses(page)["latency.polling"] == "passed"


def suite_headers(page: VerifyPage) -> dict[str, tuple[str, str]]:
    """Each suite's header row: its text and its colour."""
    headers = {}
    for index in range(page.tree.topLevelItemCount()):
        item = page.tree.topLevelItem(index)
        assert item is not None
        suite = str(item.data(STATUS, Qt.ItemDataRole.UserRole + 1))
        headers[suite] = (item.text(STATUS), item.foreground(STATUS).color().name())
    return headers


def test_a_cancelled_run_is_headlined_cancelled_never_passed(
    qtbot: QtBot, controller: Controller, tmp_path: Path
) -> None:
    page = controller.verify
    run_until_polling(qtbot, page, seconds=30)
    click(qtbot, page.cancel_button)
    qtbot.waitUntil(
        lambda: page.run_button.isEnabled() and page.history_choice.count() == 1,
        timeout=RUN_MS,
    )
    summary = page.summary.text()
    assert summary.startswith("CANCELLED — incomplete: "), summary
    assert "1 not run" in summary
    assert "PASSED" not in summary
    text, colour = suite_headers(page)["performance"]
    assert colour != CATEGORY_COLOURS[Category.PASSED], text
    assert text == "Performance: 0 of 1 passed, 1 not run"
    assert statuses(page)["latency.polling"] == "not run"
    assert "(incomplete)" in page.history_choice.currentText()
    for suite, (text, _colour) in suite_headers(page).items():
        assert "to go" not in text, suite

    run(qtbot, page.export_to(tmp_path / "report.html", "HTML report (*.html)"))
    markup = (tmp_path / "report.html").read_text("utf-8")
    assert "<title>Verify CANCELLED: " in markup
    assert "<h1>Adapter verification: CANCELLED — incomplete: " in markup
    assert "1 not run</h1>" in markup


def test_suite_headers_count_an_unreachable_adapter_s_checks_as_inconclusive(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    add_profile(controller, f"http://127.0.0.1:{port}", "a-secret-nobody-checks")
    qtbot.waitUntil(lambda: "Other" in page.target.text(), timeout=WAIT_MS)
    quick(page)
    run_and_wait(qtbot, page, 0)
    headers = suite_headers(page)
    assert set(headers) == {"broker", "tradingview", "browser"}
    for index, (text, colour) in enumerate(headers.values()):
        suite = page.tree.topLevelItem(index)
        assert suite is not None
        total = suite.childCount()
        assert text.endswith(f": 0 of {total} passed, {total} inconclusive"), text
        assert colour == CATEGORY_COLOURS[Category.INCONCLUSIVE]
    assert set(statuses(page).values()) == {"inconclusive"}
    assert page.summary.text().startswith("INCOMPLETE")


def test_a_cancelled_run_is_not_called_the_same_as_the_complete_one_before(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    quick(page, performance=True)
    run_and_wait(qtbot, page, 0)
    assert page.summary.text().startswith("PASSED")
    run_until_polling(qtbot, page, seconds=30)
    click(qtbot, page.cancel_button)
    qtbot.waitUntil(
        lambda: page.run_button.isEnabled() and page.history_choice.count() == 2,
        timeout=RUN_MS,
    )
    assert page.summary.text().startswith("CANCELLED")
    assert page.comparison.text() == (
        "This run did not complete (CANCELLED), so it is not compared."
    )


def test_a_run_cancelled_by_a_profile_switch_says_so_on_the_new_profile_s_page(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    assert page.note.isHidden()
    run_until_polling(qtbot, page, seconds=30)
    with BrokerOnlyAdapter() as plain:
        add_profile(controller, plain.url, plain.secret)
        qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
        assert not page.note.isHidden()
        assert page.note.text() == (
            "The run on Embedded was cancelled because the active profile changed to Other; "
            "the tokens it minted are still logged out."
        )
        assert page.history_choice.count() == 0  # none of Embedded's results are shown
        assert page.tree.topLevelItemCount() == 0
        quick(page)
        run_and_wait(qtbot, page, 0)
        assert page.note.isHidden()  # the next run makes the note old news


def test_the_adapter_started_drops_the_not_running_problem(
    qtbot: QtBot, controller: Controller
) -> None:
    page = controller.verify
    workspace = controller.workspace
    url, secret = workspace._embedded_url, workspace._embedded_secret
    qtbot.waitUntil(page.run_button.isEnabled, timeout=WAIT_MS)
    workspace.set_embedded(None, None)
    qtbot.waitUntil(lambda: "(not running)" in page.target.text(), timeout=WAIT_MS)
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: "not running" in page.summary.text(), timeout=WAIT_MS)
    assert "c62828" in page.summary.styleSheet()
    workspace.set_embedded(url, secret)
    qtbot.waitUntil(lambda: "(not running)" not in page.target.text(), timeout=WAIT_MS)
    assert page.summary.text().startswith("No run yet for this profile")
    assert page.summary.styleSheet() == ""
