"""The Verify page: run the conformance catalogue against the active profile and hand over a report.

Each check turns green, red, amber or grey as it finishes; the detail pane shows what was
expected, what happened and every exchange (masked). Runs are kept per profile so the latest
can be compared with the one before it, and the failed checks can be re-run alone. A switch
of profile cancels a running check list (its tokens are still logged out), says so, and shows
the new profile's runs only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.services.export import ExportError
from console.services.formatting import file_name_part
from console.services.operations import AdapterOps, profile_settings
from console.services.tasks import TaskOwner, off_thread
from console.services.workspace import Workspace
from console.verify.catalogue import DEFAULT_SUITES, SUITE_TITLES, SUITES, Check
from console.verify.context import LATENCY_SECONDS, LATENCY_TABS, Identity, RunOptions, Target
from console.verify.history import HistoryError, RunHistory, comparison_sentence
from console.verify.identities import IdentityError, IdentityStore, identity_from_body
from console.verify.model import FAILING, Category, CheckResult, RunReport, describe, judge, tally
from console.verify.reports import (
    CATEGORY_COLOURS,
    VERDICT_COLOURS,
    write_html_report,
    write_json_report,
    write_junit_report,
)
from console.verify.runner import Run
from console.views.confirm import confirm
from console.views.file_dialogs import save_dialog
from console.views.up_and_down import UpAndDown
from console.views.verify_detail import CheckDetail

COLUMNS = ("Status", "Check", "Title", "Time")
STATUS, CHECK, TITLE, TIME = range(len(COLUMNS))
PENDING_COLOUR = "#9e9e9e"
SUITE_RUNNING_COLOUR = "#333333"
HTML_EXPORT = "HTML report (*.html)"
EXPORTS = {
    HTML_EXPORT: ("html", write_html_report),
    "JSON report (*.json)": ("json", write_json_report),
    "JUnit XML (*.xml)": ("xml", write_junit_report),
}


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


class VerifyPage(QWidget):
    def __init__(
        self,
        workspace: Workspace,
        history: RunHistory | None = None,
        identities: IdentityStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Verify page")
        self._ops = workspace.active
        self._history = history or RunHistory()
        self._identities = identities or IdentityStore()
        self._run: Run | None = None
        self._loaded = False
        """The active profile's identity and runs have been read (Run waits for them)."""
        self._shown: RunReport | None = None
        self._runs: list[RunReport] = []
        self._items: dict[str, QTreeWidgetItem] = {}
        self._results: dict[str, CheckResult] = {}
        self._until_running = False
        """The shown problem is that the adapter is not running: it goes when it runs."""
        self._build()

    # Layout

    def _build(self) -> None:
        self.target = QLabel("", self)
        self.target.setObjectName("verifyTarget")
        self.target.setWordWrap(True)
        self.target.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLabel("", self)
        self.note.setObjectName("verifyNote")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setStyleSheet("color: #e65100;")
        self.note.hide()

        suites_box = QGroupBox("Suites", self)
        suites_layout = QVBoxLayout(suites_box)
        self.suite_boxes: dict[str, QCheckBox] = {}
        for suite in SUITES:
            box = QCheckBox(SUITE_TITLES[suite], suites_box)
            box.setChecked(suite in DEFAULT_SUITES)
            self.suite_boxes[suite] = box
            suites_layout.addWidget(box)
        self.suite_boxes["trading"].setToolTip(
            "Places a limit order far from the market and cancels it, on a demo account only"
        )
        self.latency_tabs = QSpinBox(suites_box)
        self.latency_tabs.setRange(1, 50)
        self.latency_tabs.setValue(LATENCY_TABS)
        self.latency_tabs.setSuffix(" tabs")
        self.latency_seconds = QSpinBox(suites_box)
        self.latency_seconds.setRange(1, 120)
        self.latency_seconds.setValue(int(LATENCY_SECONDS))
        self.latency_seconds.setSuffix(" s")
        latency = QHBoxLayout()
        latency.addWidget(QLabel("Polling:", suites_box))
        latency.addWidget(self.latency_tabs)
        latency.addWidget(QLabel("for", suites_box))
        latency.addWidget(self.latency_seconds)
        latency.addStretch(1)
        suites_layout.insertLayout(
            suites_layout.indexOf(self.suite_boxes["performance"]) + 1, latency
        )

        identity_box = QGroupBox("Test identity (who the run mints tokens for)", self)
        form = QFormLayout(identity_box)
        self.user_id = QLineEdit(identity_box)
        self.brokers = QLineEdit(identity_box)
        self.brokers.setPlaceholderText("comma-separated, e.g. BESTBROKER")
        self.accounts = QLineEdit(identity_box)
        self.accounts.setPlaceholderText("optional, comma-separated account ids")
        self.verified = QCheckBox("isVerified", identity_box)
        self.reset_identity = QPushButton("Use the document's example", identity_box)
        self.reset_identity.clicked.connect(lambda: self._show_identity(Identity()))
        form.addRow("userId", self.user_id)
        form.addRow("brokerNames", self.brokers)
        form.addRow("ctidTraderAccountIds", self.accounts)
        row = QHBoxLayout()
        row.addWidget(self.verified)
        row.addStretch(1)
        row.addWidget(self.reset_identity)
        form.addRow("", row)

        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("verifyRun")
        self.run_button.setToolTip("Run the ticked suites (Ctrl+R)")
        self.run_button.clicked.connect(lambda: self.start_run())
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop after the running check; minted tokens are logged out")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.rerun_button = QPushButton("Re-run failed", self)
        self.rerun_button.setToolTip("Run only the checks that failed or were inconclusive")
        self.rerun_button.setEnabled(False)
        self.rerun_button.clicked.connect(self._rerun_failed)
        self.export_button = QPushButton("Export report…", self)
        self.export_button.setToolTip(
            "Save the shown run as HTML, JSON or JUnit XML (Ctrl+Shift+S)"
        )
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export)
        QShortcut(QKeySequence("Ctrl+R"), self, self.start_run)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, self._export)

        self.history_choice = QComboBox(self)
        self.history_choice.setObjectName("verifyHistory")
        self.history_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.history_choice.currentIndexChanged.connect(self._history_chosen)

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.rerun_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Run shown:", self))
        buttons.addWidget(self.history_choice)

        options = QHBoxLayout()
        options.addWidget(suites_box)
        options.addWidget(identity_box, 1)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("verifyChecks")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for column in (STATUS, CHECK, TIME):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        self.tree.currentItemChanged.connect(self._check_chosen)
        self.detail = CheckDetail(self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(UpAndDown(self.detail))  # the latency chart made the window taller
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([680, 460])

        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v of %m checks")
        self.progress.hide()
        self.summary = QLabel("", self)
        self.summary.setObjectName("verifySummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.comparison = QLabel("", self)
        self.comparison.setObjectName("verifyComparison")
        self.comparison.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.target)
        layout.addWidget(self.note)
        layout.addLayout(options)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.comparison)

    # The profile

    def show_ops(self, ops: AdapterOps) -> None:
        """Another profile: a running check list is cancelled (a note says so, naming no
        result of it), and only the new profile's runs are shown.

        The same profile renewed (edited, or its embedded adapter restarted) keeps its run
        and what is shown; the target line changes, and a problem the renewal undid goes.
        """
        before = self._ops.profile
        same = self._loaded and ops.profile.id == before.id
        self._ops = ops
        self._show_target(ops)
        if same:
            if self._until_running and ops.running:  # renewed: the embedded adapter started
                self._show_summary(self._shown)
            return
        self._show_note("")
        if self._run is not None:
            self._run.cancel()
            self._run = None
            if before.id != ops.profile.id:
                self._show_note(
                    f"The run on {before.name} was cancelled because the active profile "
                    f"changed to {ops.profile.name}; the tokens it minted are still logged out."
                )
        self._runs = []
        self._loaded = False
        self._show_report(None)
        self.history_choice.clear()
        self.tasks.spawn(self._load(ops))

    def _show_note(self, text: str) -> None:
        """A note that outlives the summary below it (which the new profile's runs replace)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _show_target(self, ops: AdapterOps) -> None:
        profile = ops.profile
        where = profile.base_url or "the embedded adapter (not running)"
        production = (
            ' <span style="color:#c62828; font-weight:bold">PRODUCTION: a run asks first</span>'
            if profile.production
            else ""
        )
        name, where = html.escape(profile.name), html.escape(where)
        self.target.setText(
            f"Runs against <b>{name}</b> · {where}{production}<br>"
            '<span style="color:#666">Choose the profile in the toolbar. The run mints tokens '
            "with the test identity and logs every one of them out before it ends.</span>"
        )
        trading = self.suite_boxes["trading"]
        if profile.production:
            trading.setChecked(False)
            trading.setToolTip("Not on production profiles: their accounts are live")
        self._set_running(self._run is not None)

    def _same_profile(self, profile_id: str) -> bool:
        return self._ops.profile.id == profile_id

    async def _load(self, ops: AdapterOps) -> None:
        profile_id = ops.profile.id
        identity = await off_thread(self._identities.get, profile_id)
        runs = await off_thread(self._history.runs, profile_id)
        if not self._same_profile(profile_id) or self._loaded:
            return
        self._show_identity(identity)
        self._loaded = True
        self._show_history(runs)

    def forget_profile(self, profile_id: str) -> None:
        """A removed profile's runs and identity go with it (blocking: call off the GUI thread)."""
        self._history.forget(profile_id)
        self._identities.forget(profile_id)

    def _show_identity(self, identity: Identity) -> None:
        self.user_id.setText(str(identity.user_id))
        self.brokers.setText(", ".join(identity.broker_names))
        self.accounts.setText(", ".join(map(str, identity.account_ids or ())))
        self.verified.setChecked(identity.is_verified)

    def _identity(self) -> Identity:
        """The identity as typed, checked by the adapter's own /generate/token rules."""
        user = self.user_id.text().strip()
        brokers = [name.strip() for name in self.brokers.text().split(",") if name.strip()]
        accounts = [part.strip() for part in self.accounts.text().split(",") if part.strip()]
        body: dict[str, object] = {
            "userId": int(user) if user.isdigit() else user,
            "brokerNames": brokers,
            "isVerified": self.verified.isChecked(),
        }
        if accounts:
            body["ctidTraderAccountIds"] = [int(a) if a.isdigit() else a for a in accounts]
        return identity_from_body(body)

    # Running

    def _suites(self) -> tuple[str, ...]:
        return tuple(suite for suite in SUITES if self.suite_boxes[suite].isChecked())

    def start_run(self, only: frozenset[str] | None = None) -> None:
        if self._run is None:
            self.tasks.spawn(self._start(only))

    def cancel_run(self) -> None:
        if self._run is not None:
            self._run.cancel()
            self.cancel_button.setEnabled(False)
            self.summary.setText(
                "Cancelling after the running check; minted tokens are logged out…"
            )

    def _rerun_failed(self) -> None:
        report = self._shown
        if report is not None:
            failed = frozenset(c.id for c in report.checks if c.status in FAILING)
            if failed:
                self.start_run(failed)

    def _problem(self, text: str, *, until_running: bool = False) -> None:
        """Shown in red until replaced, or (`until_running`) until the adapter runs."""
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #c62828;")
        self._until_running = until_running

    async def _start(self, only: frozenset[str] | None) -> None:
        ops = self._ops
        profile = ops.profile
        try:
            identity = self._identity()
        except IdentityError as exc:
            self._problem(f"The test identity is not a valid /generate/token body: {exc}")
            return
        suites = self._suites() if only is None else tuple(SUITES)
        if not suites:
            self._problem("Tick at least one suite to run.")
            return
        if not ops.running:
            self._problem(
                "The embedded adapter is not running: start it (Adapter menu) first.",
                until_running=True,
            )
            return
        secret = await ops.secret()
        if not self._same_profile(profile.id):
            return
        if not secret:
            self._problem(f"No bearer secret is stored for {profile.name}. Edit the profile first.")
            return
        if profile.production and not await confirm(
            self,
            "Verify a production adapter?",
            f"The run mints tokens for user {identity.user_id} on {profile.name} "
            f"({profile.base_url}) and logs each of them out. No order is placed.",
            "Run",
        ):
            return
        if not self._same_profile(profile.id) or self._run is not None:
            return
        try:
            await off_thread(self._identities.set, profile.id, identity)
        except IdentityError as exc:
            self.comparison.setText(f"The identity was not kept for next time: {exc}")
        target = Target(
            profile.base_url,
            secret,
            profile_settings(profile).verify,
            profile.timeout,
            profile.name,
            profile.production,
        )
        trading = self.suite_boxes["trading"].isChecked() and not profile.production
        options = RunOptions(
            suites,
            identity,
            allow_trading=trading,
            latency_tabs=self.latency_tabs.value(),
            latency_seconds=float(self.latency_seconds.value()),
            only=only,
        )
        run = Run(target, options, also_record=ops.record_exchange)
        run.on_started = self._follow_started(run)
        run.on_result = self._follow_result(run)
        self._begin(run)
        try:
            report = await run.run()
        finally:
            self._end(run)
        try:
            await off_thread(self._history.save, profile.id, report)
        except HistoryError as exc:
            if self._same_profile(profile.id):
                self.comparison.setText(str(exc))
            return
        if not self._same_profile(profile.id):
            return
        runs = await off_thread(self._history.runs, profile.id)
        if self._same_profile(profile.id) and self._run is None:
            self._show_history(runs, report)

    def _follow_started(self, run: Run) -> Callable[[Check], None]:
        def started(check: Check) -> None:
            item = self._items.get(check.id)
            if run is self._run and item is not None:
                item.setText(STATUS, "running…")
                font = item.font(TITLE)
                font.setBold(True)
                item.setFont(TITLE, font)
                self.tree.scrollToItem(item)

        return started

    def _follow_result(self, run: Run) -> Callable[[CheckResult], None]:
        def finished(result: CheckResult) -> None:
            if run is not self._run:
                return
            self._results[result.id] = result
            self._paint(result)
            self.progress.setValue(len(self._results))
            self._summarise()
            current = self.tree.currentItem()
            if current is not None and current.data(0, Qt.ItemDataRole.UserRole) == result.id:
                self.detail.show_result(result)

        return finished

    def _end(self, run: Run) -> None:
        if self._run is run:
            self._run = None
            self._set_running(False)

    def _begin(self, run: Run) -> None:
        self._run = run
        self._shown = None
        self._results = {}
        self.detail.clear()
        self._fill(run.checks)
        self.progress.setRange(0, len(run.checks))
        self.progress.setValue(0)
        self.progress.show()
        self._show_note("")
        self.summary.setStyleSheet("")
        self._until_running = False
        self.summary.setText(f"Running {len(run.checks)} checks against {run.target.base_url}…")
        self.comparison.setText("")
        self._set_running(True)
        self.tree.setFocus()

    def _set_running(self, running: bool) -> None:
        idle = not running and self._loaded
        self.run_button.setEnabled(idle)
        self.cancel_button.setEnabled(running)
        self.history_choice.setEnabled(not running and bool(self._runs))
        shown = self._shown
        self.export_button.setEnabled(not running and shown is not None)
        failed = shown is not None and shown.failed
        self.rerun_button.setEnabled(idle and failed)
        editors = (
            self.user_id,
            self.brokers,
            self.accounts,
            self.verified,
            self.reset_identity,
            self.latency_tabs,
            self.latency_seconds,
        )
        for box in (*self.suite_boxes.values(), *editors):
            box.setEnabled(idle)
        self.suite_boxes["trading"].setEnabled(idle and not self._ops.profile.production)
        if not running:
            self.progress.hide()

    # The tree

    def _fill(self, checks: list[Check] | list[CheckResult]) -> None:
        self.tree.clear()
        self._items = {}
        suites: dict[str, QTreeWidgetItem] = {}
        for check in checks:
            parent = suites.get(check.suite)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [SUITE_TITLES.get(check.suite, check.suite)])
                font = parent.font(STATUS)
                font.setBold(True)
                parent.setFont(STATUS, font)
                parent.setFirstColumnSpanned(True)
                parent.setData(STATUS, Qt.ItemDataRole.UserRole + 1, check.suite)
                suites[check.suite] = parent
            item = QTreeWidgetItem(parent, ["pending", check.id, check.title, ""])
            item.setData(0, Qt.ItemDataRole.UserRole, check.id)
            item.setForeground(STATUS, QBrush(QColor(PENDING_COLOUR)))
            item.setToolTip(TITLE, check.title)
            self._items[check.id] = item
        self.tree.expandAll()

    def _paint(self, result: CheckResult) -> None:
        item = self._items.get(result.id)
        if item is None:
            return
        colour = QColor(CATEGORY_COLOURS[result.category])
        item.setText(STATUS, str(result.category))
        item.setText(TIME, f"{result.duration_ms:.0f} ms")
        item.setForeground(STATUS, QBrush(colour))
        font = QFont(item.font(TITLE))
        font.setBold(False)
        item.setFont(TITLE, font)
        bold = QFont(font)
        bold.setBold(True)
        item.setFont(STATUS, bold)
        item.setToolTip(STATUS, result.actual)
        parent = item.parent()
        if parent is not None:
            self._paint_suite(parent)

    def _paint_suite(self, parent: QTreeWidgetItem) -> None:
        """Counted in the rows' own categories and coloured by the run's verdict rules, so a
        header never calls inconclusive checks failing, nor a suite with checks not run green."""
        children = [parent.child(i) for i in range(parent.childCount())]
        ids = [str(child.data(0, Qt.ItemDataRole.UserRole)) for child in children if child]
        counts = tally(self._results[i] for i in ids if i in self._results)
        to_go = parent.childCount() - sum(counts.values())
        suite = str(parent.data(STATUS, Qt.ItemDataRole.UserRole + 1))
        passed = counts[Category.PASSED]
        others: dict[Category, int] = {
            category: n for category, n in counts.items() if category != Category.PASSED
        }
        text = f"{SUITE_TITLES.get(suite, suite)}: {passed} of {parent.childCount()} passed"
        if any(others.values()):
            text += f", {describe(others)}"
        if to_go:
            text += f" ({to_go} to go)"
        parent.setText(STATUS, text)
        colour = VERDICT_COLOURS[judge(counts)] if not to_go else SUITE_RUNNING_COLOUR
        parent.setForeground(STATUS, QBrush(QColor(colour)))

    def _summarise(self) -> None:
        if self._results:
            self.summary.setText(describe(tally(self._results.values())))
        else:
            self.summary.setText("No check has finished yet.")

    def _check_chosen(self, item: QTreeWidgetItem | None, _previous: object = None) -> None:
        check_id = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        self.detail.show_result(self._results.get(str(check_id)) if check_id else None)

    # History

    def _show_history(self, runs: list[RunReport], latest: RunReport | None = None) -> None:
        self._runs = runs
        if self._run is not None:
            return
        self.history_choice.blockSignals(True)
        self.history_choice.clear()
        for index, report in enumerate(runs):
            label = "Latest run" if index == 0 else "Run"
            if report.only is not None:
                label = f"{label} (re-run of {len(report.only)})"
            cancelled = " (incomplete)" if report.aborted else ""
            self.history_choice.addItem(
                f"{label} of {_when(report.started)}{cancelled}: {describe(report.tally())}"
            )
        self.history_choice.blockSignals(False)
        self.history_choice.setEnabled(bool(runs))
        if runs:
            self.history_choice.setCurrentIndex(0)
            self._show_report(runs[0])
        elif latest is not None:
            self._show_report(latest)
        else:
            self._show_report(None)

    def _history_chosen(self, index: int) -> None:
        if 0 <= index < len(self._runs) and self._run is None:
            self._show_report(self._runs[index])

    def _show_report(self, report: RunReport | None) -> None:
        current = self.tree.currentItem()
        chosen = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        self._shown = report
        self._results = {c.id: c for c in report.checks} if report is not None else {}
        self.detail.clear()
        self._show_summary(report)
        if report is None:
            self.tree.clear()
            self._items = {}
            self.comparison.setText("")
            self._set_running(self._run is not None)
            return
        self._fill(report.checks)
        for result in report.checks:
            self._paint(result)
        if chosen in self._items:
            self.tree.setCurrentItem(self._items[str(chosen)])
        index = self._runs.index(report) if report in self._runs else -1
        earlier = self._runs[index + 1 :] if index >= 0 else []
        self.comparison.setText(comparison_sentence(report, earlier))
        self._set_running(self._run is not None)

    def _show_summary(self, report: RunReport | None) -> None:
        """The shown run's headline, or how to make one; it replaces any problem shown."""
        self.summary.setStyleSheet("")
        self._until_running = False
        if report is None:
            self.summary.setText(
                "No run yet for this profile. Tick the suites and press Run (Ctrl+R)."
            )
            return
        note = f" · {report.aborted}" if report.aborted else ""
        leftover = (
            f" · could not log out {len(report.not_logged_out)} token(s): "
            + ", ".join(report.not_logged_out)
            if report.not_logged_out
            else ""
        )
        self.summary.setText(
            f"{report.headline()} · {_when(report.started)} against {report.target}{note}{leftover}"
        )

    # Export

    def _export(self) -> None:
        report = self._shown
        if report is None or self._run is not None:
            return
        name = f"verify-{file_name_part(self._ops.profile.name)}-{report.started[:10]}.html"
        dialog = save_dialog(self, "Export the verification report", name)
        dialog.setNameFilters(list(EXPORTS))
        dialog.fileSelected.connect(
            lambda path: self.tasks.spawn(self.export_to(Path(path), dialog.selectedNameFilter()))
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    async def export_to(self, path: Path, name_filter: str) -> None:
        report = self._shown
        if report is None:
            return
        by_suffix = {suffix: (suffix, write) for suffix, write in EXPORTS.values()}
        typed = path.suffix.lower().lstrip(".")
        suffix, write = by_suffix.get(typed) or EXPORTS.get(name_filter, EXPORTS[HTML_EXPORT])
        if not path.suffix:
            path = path.with_suffix(f".{suffix}")
        try:
            await off_thread(write, report, path)
        except ExportError as exc:
            self._problem(str(exc))
            return
        self.comparison.setText(f"Saved the report to {path} (secrets and tokens masked).")
