"""The Activity page: polling folded away, expected answers not red, live, and let go of."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from console.models.activity_model import (
    EXPECTED_COLOUR,
    FAILURE_COLOUR,
    STATUS_COLUMN,
    SUCCESS_COLOUR,
    ActivityModel,
)
from console.services.activity import ActivityLog, Exchange
from console.services.audit import AuditTrail
from console.views.activity_page import ActivityPage
from tests.support.console_driver import run


def record(
    log: ActivityLog,
    path: str = "/generate/token",
    status: int | None = 200,
    *,
    background: bool = False,
    expected: frozenset[int] = frozenset(),
    answer: str = "",
) -> Exchange:
    return log.record(
        profile_id="p",
        profile_name="Staging",
        method="GET" if background else "POST",
        path=path,
        request_headers={},
        request_body="",
        status=status,
        response_body=answer,
        duration_ms=1.0,
        error=None if status is not None else "Cannot connect",
        secrets=[],
        background=background,
        expected_statuses=expected,
    )


def make_page(qtbot: QtBot, log: ActivityLog) -> ActivityPage:
    page = ActivityPage(log)
    qtbot.addWidget(page)
    return page


def shown_paths(page: ActivityPage) -> list[str]:
    return [exchange.path for exchange in page.visible_exchanges()]


def status_cell(page: ActivityPage, row: int, role: Qt.ItemDataRole) -> object:
    return page.proxy.index(row, STATUS_COLUMN).data(role)


def test_background_polling_is_hidden_by_default_and_counted(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/health", background=True)
    record(log, "/generate/token")
    record(log, "/admin/sessions", background=True)
    page = make_page(qtbot, log)
    assert not page.show_background.isChecked()
    assert page.show_background.text() == "Show background polling"
    assert shown_paths(page) == ["/generate/token"]
    assert page.hidden_note.text() == "2 background exchanges hidden"
    assert page.hidden_note.isVisibleTo(page)


def test_showing_background_polling_brings_it_back_in_place(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/health", background=True)
    record(log, "/generate/token")
    page = make_page(qtbot, log)
    page.show_background.setChecked(True)
    assert shown_paths(page) == ["/generate/token", "/health"]
    assert not page.hidden_note.isVisibleTo(page)
    page.show_background.setChecked(False)
    assert shown_paths(page) == ["/generate/token"]
    assert page.hidden_note.text() == "1 background exchange hidden"


def test_the_hidden_count_follows_the_live_log(qtbot: QtBot) -> None:
    log = ActivityLog(capacity=3)
    page = make_page(qtbot, log)
    assert not page.hidden_note.isVisibleTo(page)
    for _ in range(3):
        record(log, "/health", background=True)
    assert page.hidden_note.text() == "3 background exchanges hidden"
    record(log, "/generate/token")
    assert page.hidden_note.text() == "2 background exchanges hidden"
    assert shown_paths(page) == ["/generate/token"]
    log.clear()
    assert page.model.rowCount() == 0
    assert not page.hidden_note.isVisibleTo(page)


def test_the_text_filter_still_applies_to_what_is_shown(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/health", background=True)
    record(log, "/generate/token")
    record(log, "/logout")
    page = make_page(qtbot, log)
    page.filter.setText("LOGOUT")
    assert shown_paths(page) == ["/logout"]
    page.filter.setText("health")
    assert shown_paths(page) == []
    page.show_background.setChecked(True)
    assert shown_paths(page) == ["/health"]


def test_an_expected_answer_is_drawn_as_a_success_with_the_reason(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/generate/token", 400, expected=frozenset({400}))
    page = make_page(qtbot, log)
    assert status_cell(page, 0, Qt.ItemDataRole.DisplayRole) == "400 (expected)"
    colour = status_cell(page, 0, Qt.ItemDataRole.ForegroundRole)
    assert colour == EXPECTED_COLOUR
    assert colour != FAILURE_COLOUR
    assert (
        status_cell(page, 0, Qt.ItemDataRole.ToolTipRole) == "expected: this probe asks for a 400"
    )


@pytest.mark.parametrize(
    ("status", "expected", "colour"),
    [
        (200, frozenset(), SUCCESS_COLOUR),
        (302, frozenset(), SUCCESS_COLOUR),
        (404, frozenset({404}), EXPECTED_COLOUR),
        (400, frozenset(), FAILURE_COLOUR),
        (401, frozenset({400}), FAILURE_COLOUR),
        (503, frozenset({404}), FAILURE_COLOUR),
        (None, frozenset({400}), FAILURE_COLOUR),
    ],
)
def test_only_unexpected_errors_and_failed_requests_are_red(
    qtbot: QtBot, status: int | None, expected: frozenset[int], colour: QColor
) -> None:
    log = ActivityLog()
    record(log, status=status, expected=expected)
    page = make_page(qtbot, log)
    assert status_cell(page, 0, Qt.ItemDataRole.ForegroundRole) == colour


REFUSED = json.dumps({"s": "error", "errmsg": "The token has already been revoked."})


def test_a_logout_refused_with_http_200_is_drawn_as_a_failure_with_the_errmsg(
    qtbot: QtBot,
) -> None:
    """The adapter's `/logout` says no with HTTP 200: only the envelope tells."""
    log = ActivityLog()
    record(log, "/logout", 200, answer=REFUSED)
    page = make_page(qtbot, log)
    assert status_cell(page, 0, Qt.ItemDataRole.DisplayRole) == "200 · error"
    assert status_cell(page, 0, Qt.ItemDataRole.ForegroundRole) == FAILURE_COLOUR
    assert (
        status_cell(page, 0, Qt.ItemDataRole.ToolTipRole)
        == "The adapter refused: The token has already been revoked."
    )
    page.table.selectRow(0)
    assert "HTTP 200, refused: The token has already been revoked." in page.detail.toPlainText()


def test_an_expected_answer_stays_a_success_even_with_an_error_envelope(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/generate/token", 400, expected=frozenset({400}), answer=REFUSED)
    record(log, "/logout", 200, answer=json.dumps({"s": "ok"}))
    page = make_page(qtbot, log)
    assert status_cell(page, 0, Qt.ItemDataRole.DisplayRole) == "200"
    assert status_cell(page, 0, Qt.ItemDataRole.ForegroundRole) == SUCCESS_COLOUR
    assert status_cell(page, 1, Qt.ItemDataRole.DisplayRole) == "400 (expected)"
    assert status_cell(page, 1, Qt.ItemDataRole.ForegroundRole) == EXPECTED_COLOUR


def test_the_detail_says_expected_and_background(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/admin/info", 404, background=True, expected=frozenset({404}))
    page = make_page(qtbot, log)
    page.show_background.setChecked(True)
    page.table.selectRow(0)
    text = page.detail.toPlainText()
    assert "HTTP 404 (expected: this probe asks for a 404), background polling" in text


def test_the_model_passes_qts_model_checks(qtmodeltester: ModelTester) -> None:
    log = ActivityLog(capacity=4)
    model = ActivityModel()
    log.recorded.connect(model.prepend)
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    for n in range(6):
        record(log, f"/r{n}", background=n % 2 == 0)
    assert model.rowCount() == 4
    assert model.background_count == 2
    assert [model.exchange(row).path for row in range(4)] == ["/r5", "/r4", "/r3", "/r2"]


def test_exports_write_what_the_table_shows(qtbot: QtBot, qloop: object, tmp_path: Path) -> None:
    log = ActivityLog()
    record(log, "/health", background=True)
    record(log, "/generate/token", 400, expected=frozenset({400}))
    page = make_page(qtbot, log)
    run(qtbot, page.export_to(tmp_path / "shown.json", "json"))
    rows = json.loads((tmp_path / "shown.json").read_text())
    assert [(r["path"], r["expected"]) for r in rows] == [("/generate/token", True)]
    assert "Hidden background polling is not included." in page.export_note.text()
    page.show_background.setChecked(True)
    run(qtbot, page.export_to(tmp_path / "all.csv", "csv"))
    with (tmp_path / "all.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["path"], r["background"]) for r in table] == [
        ("/generate/token", "false"),
        ("/health", "true"),
    ]
    assert page.export_note.text() == f"Exported 2 exchanges (redacted) to {tmp_path / 'all.csv'}."


def test_a_failed_export_is_shown_on_the_page(qtbot: QtBot, qloop: object, tmp_path: Path) -> None:
    page = make_page(qtbot, ActivityLog())
    run(qtbot, page.export_to(tmp_path / "missing" / "a.csv", "csv"))
    assert page.export_note.text().startswith("Could not write")


def test_the_audit_table_stays_as_short_as_the_trail(qtbot: QtBot) -> None:
    log = ActivityLog(audit_trail=AuditTrail(capacity=2))
    page = make_page(qtbot, log)
    for n in range(3):
        log.audit(
            profile_id="p",
            profile_name="P",
            token=f"token-{n}-" + "x" * 20,
            token_id=f"{n:02d}" * 16,
            ok=True,
            result=f"logged out {n}",
        )
    assert page.audit.rowCount() == 2
    answers = [page.audit.model().index(row, 4).data() for row in range(2)]
    assert answers == ["logged out 2", "logged out 1"]


def test_a_destroyed_page_lets_go_of_the_log(qtbot: QtBot) -> None:
    """The log outlives its views: recording after a page is gone must neither raise nor
    reach the dead widgets."""
    log = ActivityLog()
    page = ActivityPage(log)
    assert len(log.recorded) == len(log.cleared) == len(log.audit_trail.added) == 1
    shiboken6.delete(page)
    assert len(log.recorded) == len(log.cleared) == len(log.audit_trail.added) == 0
    record(log)
    log.audit(profile_id="p", profile_name="P", token="t", token_id=None, ok=True, result="")
    log.clear()


def highlighted_and_detail(page: ActivityPage) -> tuple[list[str], str]:
    """The paths of the highlighted rows and the detail's first line (its method and path)."""
    rows = page.table.selectionModel().selectedRows()
    paths = [page.visible_exchanges()[index.row()].path for index in rows]
    detail = page.detail.toPlainText().split("  (", 1)[0]
    return paths, detail


def four_exchanges_page(qtbot: QtBot) -> tuple[ActivityLog, ActivityPage]:
    """A page showing /b/four, /a/three, /b/two, /a/one (newest first), /a/three selected."""
    log = ActivityLog()
    for path in ("/a/one", "/b/two", "/a/three", "/b/four"):
        record(log, path)
    page = make_page(qtbot, log)
    page.table.selectRow(1)
    assert highlighted_and_detail(page) == (["/a/three"], "POST /a/three")
    return log, page


def test_a_filter_keeps_the_selected_exchange_selected_and_shown(qtbot: QtBot) -> None:
    log, page = four_exchanges_page(qtbot)
    page.filter.setText("/a")
    assert highlighted_and_detail(page) == (["/a/three"], "POST /a/three")
    record(log, "/a/five")
    page.filter.setText("/a/")
    assert highlighted_and_detail(page) == (["/a/three"], "POST /a/three")
    page.filter.clear()
    assert highlighted_and_detail(page) == (["/a/three"], "POST /a/three")


def test_a_filter_hiding_the_selected_exchange_clears_highlight_and_detail(
    qtbot: QtBot,
) -> None:
    _, page = four_exchanges_page(qtbot)
    page.filter.setText("/b")
    assert highlighted_and_detail(page) == ([], "")
    assert not page.table.selectionModel().currentIndex().isValid()
    page.filter.clear()
    assert highlighted_and_detail(page) == ([], "")


def test_showing_background_polling_keeps_the_selected_exchange(qtbot: QtBot) -> None:
    log = ActivityLog()
    record(log, "/generate/token")
    for _ in range(3):
        record(log, "/health", background=True)
    page = make_page(qtbot, log)
    page.table.selectRow(0)
    page.show_background.setChecked(True)
    assert highlighted_and_detail(page) == (["/generate/token"], "POST /generate/token")
    page.show_background.setChecked(False)
    assert highlighted_and_detail(page) == (["/generate/token"], "POST /generate/token")


def test_clearing_the_log_clears_the_detail_of_the_selected_exchange(qtbot: QtBot) -> None:
    log, page = four_exchanges_page(qtbot)
    log.clear()
    assert highlighted_and_detail(page) == ([], "")
