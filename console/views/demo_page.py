"""The Demo page: the integration flow acted out live, cases A, B and C, for onboarding demos.

Next (Space) acts out one stage for real against the active profile's adapter (its demo CRM
and TradingView API): the stage list highlights it, the narration says what happens, the
sequence diagram draws each exchange as it happens, the client area takes the trader's input
and the Trading Panel preview shows what TradingView would. Either side can end the session.
Before the first stage the page asks the adapter whether it offers the demo CRM, and says up
front why the demo cannot run where it does not, rather than offer a Next that can only fail.
"""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.demo.flow import Arrow, DemoError, DemoFlow
from console.demo.handout import transcript_html
from console.demo.panel import PanelSession
from console.demo.stages import CASE_TITLES, STAGES, Case, Stage
from console.services.client import AdapterUnavailable
from console.services.export import ExportError, write_text
from console.services.operations import AdapterOps
from console.services.tasks import TaskOwner, off_thread
from console.services.workspace import Workspace
from console.slots import task_slot
from console.views.client_area import ClientArea
from console.views.file_dialogs import save_dialog
from console.views.sequence_diagram import SequenceDiagram
from console.views.trading_panel import TradingPanel
from console.views.up_and_down import UpAndDown
from console.views.verify_detail import exchange_text

_log = logging.getLogger(__name__)
CURRENT_COLOUR = "#fff3c4"
SKIPPED_COLOUR = "#9e9e9e"


class DemoPage(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Demo page")
        self._endings = TaskOwner("the Demo page's abandoned runs")
        """Never cancelled (cut short, an ending could leave its run's token live): `aclose`
        waits for those in `_ending` instead."""
        self._ending: set[asyncio.Task[None]] = set()
        self._ops = workspace.active
        self._flow: DemoFlow | None = None
        self._ready = False
        """The adapter was asked and offers what the demo needs."""
        self._runs = 0
        """Counts resets: a run set up across one is no longer the page's (see `_new_flow`)."""
        self._busy = False
        self._autoplay: asyncio.Task[None] | None = None
        self._presenting = False
        self._build()
        self._reset()

    # Layout

    def _build(self) -> None:
        self.case = QComboBox(self)
        self.case.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.case.setMinimumContentsLength(22)
        for case in Case:
            self.case.addItem(CASE_TITLES[case], str(case))
        self.case.currentIndexChanged.connect(lambda _: self.restart())
        self.next_button = QPushButton("Next ▶", self)
        self.next_button.setToolTip("Act out the next stage (Space)")
        self.next_button.clicked.connect(self.next_stage)
        self.back_button = QPushButton("◀ Back", self)
        self.back_button.setToolTip("Read the previous stage again (nothing is undone)")
        self.back_button.clicked.connect(self._back)
        self.autoplay = QCheckBox("Auto-play", self)
        self.autoplay.toggled.connect(self._autoplay_toggled)
        self.speed = QSpinBox(self)
        self.speed.setRange(1, 20)
        self.speed.setValue(3)
        self.speed.setSuffix(" s")
        self.speed.setToolTip("Seconds between stages in auto-play")
        self.restart_button = QPushButton("Restart", self)
        self.restart_button.clicked.connect(self.restart)
        self.logout_tv = QPushButton("Log out in TradingView", self)
        self.logout_tv.clicked.connect(lambda: self._logout("tradingview"))
        self.logout_crm = QPushButton("CRM forces logout", self)
        self.logout_crm.setToolTip("The broker's CRM sends /logout with the trader's token")
        self.logout_crm.clicked.connect(lambda: self._logout("crm"))
        self.present = QPushButton("Present (F11)", self)
        self.present.setToolTip("Presenter mode: larger type, full screen")
        self.present.setCheckable(True)
        self.present.toggled.connect(self.set_presenting)
        self.export = QComboBox(self)
        self.export.addItems(["Export…", "Diagram as PNG", "Diagram as SVG", "Transcript (HTML)"])
        self.export.activated.connect(self._export)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.next_stage)
        QShortcut(QKeySequence(Qt.Key.Key_F11), self, self.present.toggle)

        bar = QHBoxLayout()
        for widget in (QLabel("Case:", self), self.case, self.back_button, self.next_button):
            bar.addWidget(widget)
        bar.addWidget(self.autoplay)
        bar.addWidget(self.speed)
        bar.addWidget(self.restart_button)
        bar.addStretch(1)
        ending = QHBoxLayout()
        ending.addWidget(QLabel("End the session:", self))
        for widget in (self.logout_tv, self.logout_crm):
            ending.addWidget(widget)
        ending.addStretch(1)
        for widget in (self.present, self.export):
            ending.addWidget(widget)

        self.stages = QListWidget(self)
        self.stages.setObjectName("demoStages")
        self.stages.setWordWrap(True)
        self.stages.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stages.installEventFilter(self)
        self.narration = QLabel("", self)
        self.narration.setObjectName("demoNarration")
        self.narration.setWordWrap(True)
        self.narration.setTextFormat(Qt.TextFormat.RichText)
        self.narration.setMinimumHeight(64)
        self.diagram = SequenceDiagram(self)
        self.diagram.arrow_clicked.connect(self._arrow_clicked)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("demoExchange")
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Click an arrow to see its request and answer (masked).")
        self.client_area = ClientArea(self)
        self.panel = TradingPanel(self)
        self.panel.connect_requested.connect(self.next_stage)
        self.panel.logout_requested.connect(lambda: self._logout("tradingview"))
        self.panel.reconnect_requested.connect(self.restart)
        self.panel.order_requested.connect(self._order)

        centre = QSplitter(Qt.Orientation.Vertical, self)
        narration_box = QWidget(self)
        narration_layout = QVBoxLayout(narration_box)
        narration_layout.setContentsMargins(0, 0, 0, 0)
        narration_layout.addWidget(self.narration)
        narration_layout.addWidget(self.diagram, 1)
        centre.addWidget(narration_box)
        centre.addWidget(self.detail)
        centre.setStretchFactor(0, 4)
        centre.setStretchFactor(1, 1)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(UpAndDown(self.client_area))
        right.addWidget(UpAndDown(self.panel))
        right.setStretchFactor(1, 3)
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(self.stages)
        body.addWidget(centre)
        body.addWidget(right)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 4)
        body.setStretchFactor(2, 2)
        body.setSizes([200, 560, 400])
        self.stages.setMinimumWidth(170)
        self.note = QLabel("", self)
        self.note.setObjectName("demoNote")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(ending)
        layout.addWidget(body, 1)
        layout.addWidget(self.note)

    # The profile

    def show_ops(self, ops: AdapterOps) -> None:
        """The demo belongs to one adapter: another profile (or a restart of it) starts over."""
        self._ops = ops
        self.restart()

    async def aclose(self) -> None:
        """Shutdown: the panel's polling and the runs (their tokens, their HTTP clients) end
        before the loop does, the one shown and those abandoned before."""
        self.panel.stop()
        flow, self._flow = self._flow, None
        if flow is not None:
            self._end(flow)
        if self._ending:
            await asyncio.wait(set(self._ending))

    def _end(self, flow: DemoFlow) -> None:
        task = self._endings.spawn(self._abandon(flow))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _abandon(self, flow: DemoFlow) -> None:
        """The one way this page ends a run, so no abandoned run leaves a live demo token on
        the adapter; a failed logout only leaves a note, never stops what comes next."""
        try:
            await flow.abandon()
        except DemoError as exc:
            _log.warning("An abandoned demo run's token could not be logged out: %s", exc)
            if not self.tasks.closed:  # closed with the window, whose widgets may be gone
                self._problem(f"The last run's token could not be logged out: {exc}")

    # Running the flow

    def _selected_case(self) -> Case:
        return Case(str(self.case.currentData()))

    def restart(self) -> None:
        """Drop the run at once; its token is logged out meanwhile (see `_abandon`)."""
        if self._autoplay is not None:
            self.autoplay.setChecked(False)
        flow, self._flow = self._flow, None
        if flow is not None:
            self._end(flow)
        self._reset()

    def _reset(self) -> None:
        self._runs += 1
        case = self._selected_case()
        self.panel.stop()
        self.panel.show_brokers()
        self.diagram.clear()
        self.detail.clear()
        self.client_area.show_case(case)
        self.client_area.lock(False)
        self.stages.clear()
        for stage in STAGES:
            item = QListWidgetItem(f"{stage.number}. {stage.title}", self.stages)
            if not stage.applies(case):
                item.setForeground(QBrush(QColor(SKIPPED_COLOUR)))
                item.setToolTip(f"Does not apply to case {case}: {stage.skipped_because}.")
            else:
                item.setToolTip(stage.narration)
        self._viewing = 0
        self._ready = False
        self.narration.setText(
            f"<b>Case {CASE_TITLES[case]}</b><br>Asking {html.escape(self._ops.profile.name)}'s "
            "adapter whether it can act out the demo…"
        )
        self.note.setText("")
        self._enable()
        if not self.tasks.closed:  # closed with the window: nobody would read the answer
            self.tasks.spawn(self._check(self._ops, case))

    async def _check(self, ops: AdapterOps, case: Case) -> None:
        """Say up front what Next will do on this profile, or why the demo cannot run here."""
        reason = await self._why_not(ops)
        if ops is not self._ops or case is not self._selected_case() or self._flow is not None:
            return  # the page has moved on: a later check speaks for it
        intro = f"<b>Case {CASE_TITLES[case]}</b><br>"
        name = html.escape(ops.profile.name)
        if reason is not None:
            self.narration.setText(f"{intro}The demo cannot run on {name}. {html.escape(reason)}")
            return
        self._ready = True
        self.narration.setText(
            f"{intro}Press Next (Space) to act out stage 1. Every step runs for real against "
            f"{name}: its demo CRM stands in for the broker's systems and cTrader, its "
            "/generate/token mints the trader's token, and the token is logged out when the run "
            "ends."
        )
        self._enable()

    async def _why_not(self, ops: AdapterOps) -> str | None:
        """Why the demo cannot run against `ops`' adapter, or None when it can."""
        if not ops.running or not await ops.secret():
            return ops.no_secret_reason()
        if "demo-crm" in await ops.capabilities():
            return None
        if not ops.capabilities_known:
            return "Its adapter did not answer when asked what it offers. Restart asks again."
        return (
            "Its adapter does not offer the demo CRM: the demo runs on the embedded adapter, or "
            "on one started with `tv-adapter serve --demo`."
        )

    def _enable(self) -> None:
        flow = self._flow
        position = flow.position if flow is not None else 0
        token = flow is not None and flow.token is not None and flow.logged_out_by is None
        startable = self._ready if flow is None else not flow.finished
        self.next_button.setEnabled(not self._busy and startable)
        self.back_button.setEnabled(not self._busy and self._viewing > 1)
        self.logout_tv.setEnabled(not self._busy and token and position >= 16)
        self.logout_crm.setEnabled(not self._busy and token)

    @task_slot
    async def next_stage(self) -> None:
        await self._advance()

    async def _advance(self) -> bool:
        """One stage; False when nothing more can be done."""
        if self._busy:
            return True
        flow = self._flow
        if flow is not None and flow.finished:
            return False
        self._busy = True
        self._enable()
        try:
            if flow is None:
                flow = await self._new_flow()
                if flow is None:
                    return False
            stage = flow.next_stage()
            if stage is not None and stage.number == 8:
                form = self.client_area.form()
                if flow.case is Case.C and not form.link:
                    # An empty choice means "all of them" to the flow: never for an unticked form.
                    self._problem("Nothing to link: tick at least one account in the client area.")
                    return False
                flow.form = form
            stage = await flow.advance()
        except DemoError as exc:
            if flow is None or flow is self._flow:  # not a run abandoned meanwhile
                self._problem(str(exc))
            return False
        finally:
            self._busy = False
            self._enable()
        if flow is not self._flow:
            return False
        await self._show_stage(flow, stage)
        self._enable()
        return not flow.finished

    async def _new_flow(self) -> DemoFlow | None:
        ops = self._ops
        reason = await self._why_not(ops)
        if reason is not None:
            self._problem(f"The demo cannot run on {ops.profile.name}. {reason}")
            return None
        secret = await ops.secret()
        if not secret or ops is not self._ops:
            self._problem(f"No bearer secret is stored for {ops.profile.name}.")
            return None
        flow = DemoFlow(
            ops.profile.base_url,
            secret,
            self._selected_case(),
            form=self.client_area.form(),
            on_arrow=self._arrow_added,
            on_exchange=ops.record_exchange,
        )
        runs = self._runs
        try:
            await flow.prepare()
        except BaseException:
            self._end(flow)  # closes its client; case B's set-up has minted nothing yet
            raise
        if runs != self._runs:  # restarted (or another case, profile) while it was set up
            self._end(flow)
            return None
        self._flow = flow
        return flow

    def _arrow_added(self, arrow: Arrow) -> None:
        self.diagram.add(arrow)

    async def _show_stage(self, flow: DemoFlow, stage: Stage) -> None:
        self._viewing = stage.number
        self._highlight(stage.number)
        self._narrate(stage, flow.case)
        number = stage.number
        if number == 3:
            self.panel.show_brokers()
        elif number == 4:
            self.panel.show_brokers(selected=True)
        elif number == 5:
            self.panel.show_connect()
        elif number == 6:
            self.panel.show_waiting("Continue in BESTBROKER's client area →")
        elif number == 7 and flow.case is Case.C:
            self.client_area.show_accounts(flow.available)
        elif number == 8:
            self.client_area.lock(True)
        elif number == 16:
            self.panel.show_waiting("Token received. Connecting to BESTBROKER…")
        elif number == 21:
            await self._connect_panel(flow)

    def _highlight(self, number: int) -> None:
        for row in range(self.stages.count()):
            item = self.stages.item(row)
            font = QFont(item.font())
            font.setBold(row == number - 1)
            item.setFont(font)
            item.setBackground(QBrush(QColor(CURRENT_COLOUR if row == number - 1 else "#00000000")))
        self._scroll_to_current()

    def _scroll_to_current(self) -> None:
        """The presenter and the room follow the stage being shown, wherever it is listed."""
        if self._viewing:
            self.stages.scrollToItem(self.stages.item(self._viewing - 1))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Present mode resizes the stage list after the fact (full screen comes from the
        window manager, later): the current stage is scrolled back into sight then."""
        if watched is self.stages and event.type() == QEvent.Type.Resize and self._presenting:
            self._scroll_to_current()
        return super().eventFilter(watched, event)

    def _narrate(self, stage: Stage, case: Case) -> None:
        if stage.applies(case):
            text = stage.narration
        else:
            text = f"<i>Does not apply to case {case}: {stage.skipped_because}.</i>"
        self.narration.setText(
            f"<b>Stage {stage.number} of {len(STAGES)}: {stage.title}</b><br>{text}"
        )

    def _back(self) -> None:
        if self._viewing > 1:
            self._viewing -= 1
            self._highlight(self._viewing)
            self._narrate(STAGES[self._viewing - 1], self._selected_case())
            self._enable()

    async def _connect_panel(self, flow: DemoFlow) -> None:
        if flow.token is None:
            return
        session = PanelSession(
            flow.client,
            flow.token,
            flow.panel.config,
            on_update=self.panel.show_update,
            on_ended=self._session_ended,
            on_problem=self.panel.problem,
        )
        account = str(flow.panel.accounts[0].get("id"))
        try:
            instruments = await session.get(f"/accounts/{account}/instruments")
        except AdapterUnavailable as exc:
            self._problem(str(exc))
            instruments = []
        if flow is self._flow:
            self.panel.start(
                session, flow.panel.accounts, [i for i in instruments if isinstance(i, dict)]
            )

    def _session_ended(self, reason: str) -> None:
        self.panel.session_ended(reason)
        self._enable()

    def _problem(self, text: str) -> None:
        self.note.setText(text)
        self.note.setStyleSheet("color: #c62828;")

    # Auto-play

    def _autoplay_toggled(self, on: bool) -> None:
        if on and self._autoplay is None:
            self._autoplay = self.tasks.spawn(self._play())
        elif not on and self._autoplay is not None:
            self.tasks.cancel(self._autoplay)
            self._autoplay = None

    async def _play(self) -> None:
        """One stage, a pause of the chosen length, the next: until the flow is complete."""
        try:
            going = await self._advance()
            while going:
                await asyncio.sleep(self.speed.value())
                going = await self._advance()
        finally:
            self._autoplay = None
            self.autoplay.setChecked(False)

    async def play_to(self, number: int) -> None:
        """Act out the stages up to `number` (screenshots, tests)."""
        while self._flow is None or self._flow.position < number:
            if not await self._advance():
                return

    # Logging out, trading

    @task_slot
    async def _logout(self, by: str) -> None:
        flow = self._flow
        if flow is None or self._busy:
            return
        self._busy = True
        self._enable()
        try:
            answer = await flow.logout(by)
        except DemoError as exc:
            self._problem(str(exc))
            return
        finally:
            self._busy = False
            self._enable()
        who = "the trader in TradingView" if by == "tradingview" else "the broker's CRM"
        self.narration.setText(
            f"<b>Logout by {who}</b><br>POST /logout invalidated the token. TradingView's next "
            f"call answered HTTP {answer.status}: the Trading Panel shows the session ended and "
            "offers to reconnect."
        )
        self._session_ended(f"HTTP {answer.status} after the logout")

    @task_slot
    async def _order(self, account: str, side: str, kind: str, qty: float, limit: object) -> None:
        flow = self._flow
        if flow is None:
            return
        price = float(limit) if isinstance(limit, int | float) else None
        try:
            order_id = await flow.place_order(
                account, self.panel.instrument(), side, kind, qty, price
            )
        except DemoError as exc:
            self.panel.problem(str(exc))
            return
        self.panel.problem(
            f"Order {order_id} placed: it shows in Orders, and in Positions once filled."
        )

    # The diagram

    def _arrow_clicked(self, arrow: Arrow) -> None:
        if arrow.exchange is None:
            inside = "simulated" in arrow.label
            what = (
                "work inside the adapter's simulated cTrader backend."
                if inside
                else "a step of the trader or an actor on its own."
            )
            self.detail.setPlainText(
                f"Stage {arrow.stage}: {arrow.label}\n\nNot an HTTP exchange: {what}"
            )
            return
        self.detail.setPlainText(exchange_text(arrow.exchange))

    # Presenting and exporting

    def set_presenting(self, on: bool) -> None:
        """Larger type everywhere on the page and the window full screen (F11 again leaves)."""
        self._presenting = on
        self.narration.setStyleSheet("font-size: 20px;" if on else "")
        self.stages.setStyleSheet("font-size: 16px;" if on else "")
        self._scroll_to_current()  # the larger rows push it down the list
        self.diagram.set_presenting(on)
        window = self.window()
        if on:
            window.showFullScreen()
        else:
            window.showNormal()

    def _export(self, index: int) -> None:
        self.export.setCurrentIndex(0)
        if index == 0:
            return
        kinds = {1: ("png", "PNG image (*.png)"), 2: ("svg", "SVG image (*.svg)"),
                 3: ("html", "HTML page (*.html)")}  # fmt: skip
        suffix, name_filter = kinds[index]
        name = f"tradingview-flow-case-{self._selected_case()}.{suffix}"
        dialog = save_dialog(self, "Export the demo", name)
        dialog.setNameFilter(name_filter)
        dialog.setDefaultSuffix(suffix)
        dialog.fileSelected.connect(lambda path: self.tasks.spawn(self.export_to(Path(path))))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    async def export_to(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix == ".png":
            done = self.diagram.save_png(path)
        elif suffix == ".svg":
            done = self.diagram.save_svg(path)
        else:
            flow = self._flow
            if flow is None:
                self._problem("Nothing to export yet: act out a stage first.")
                return
            try:
                await off_thread(write_text, path, transcript_html(flow.transcript()))
                done = True
            except ExportError as exc:
                self._problem(str(exc))
                return
        if done:
            self.note.setStyleSheet("")
            self.note.setText(f"Saved {path} (secrets and tokens masked).")
        else:
            self._problem(f"Could not write {path}.")
