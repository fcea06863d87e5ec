"""The composition root: builds the workspace, pages and window, runs the embedded adapter.

Workflows live in `console.services` (the `Workspace` and each profile's `AdapterOps`); this
module only connects them to the window: menus, the status bar, the embedded adapter's
lifecycle and shutdown. The embedded adapter reports state from its own thread; a Qt signal
carries it to the GUI thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from adapter_core.embedded import AdapterState, EmbeddedAdapter, EmbeddedAdapterError
from console.services.activity import ActivityLog
from console.services.demo_clients import run_demo_clients
from console.services.embedded import (
    EmbeddedCredentialsError,
    embedded_data_dir,
    load_embedded_credentials,
)
from console.services.formatting import local_time
from console.services.health import HealthMonitor
from console.services.operations import AdapterOps, HealthReport
from console.services.profiles import Profile, ProfileError, ProfileStore
from console.services.recent import RecentRequests
from console.services.secrets import SecretStore, SecretStoreError, SessionSecretStore
from console.services.tasks import TaskOwner, off_thread
from console.services.vault import MintedTokenVault
from console.services.workspace import Workspace
from console.slots import task_slot
from console.verify.history import HistoryError
from console.verify.identities import IdentityError
from console.views.activity_page import ActivityPage
from console.views.confirm import confirm
from console.views.demo_page import DemoPage
from console.views.file_dialogs import open_dialog, save_dialog
from console.views.logout_page import LogoutPage
from console.views.main_window import MainWindow
from console.views.panel_window import PanelWindow
from console.views.profile_dialog import ProfileDialog
from console.views.sessions_page import SessionsPage
from console.views.tokens_page import TokensPage
from console.views.verify_page import VerifyPage

EMBEDDED_START_TIMEOUT = 20.0
MESSAGE_MS = 15_000
"""How long a status-bar message stays."""
DEMO_TRADERS = 3
"""How many demo traders Adapter › Start demo traders runs."""


class Controller(QObject):
    embedded_state_changed = Signal(str)

    def __init__(
        self,
        secret_store: SecretStore,
        profiles: ProfileStore,
        activity: ActivityLog,
        vault: MintedTokenVault,
        recent: RecentRequests,
        settings: QSettings,
    ) -> None:
        super().__init__()
        self.tasks = TaskOwner("the console")
        self.workspace = Workspace(secret_store, profiles, activity, vault, recent)
        self.health = HealthMonitor(self.workspace)
        self.tokens = TokensPage(self.workspace)
        self.logout = LogoutPage(self.workspace)
        self.activity = ActivityPage(activity)
        self.sessions = SessionsPage(self.workspace)
        self.verify = VerifyPage(self.workspace)
        self.demo = DemoPage(self.workspace)
        self.panels: list[PanelWindow] = []
        """Trading Panel previews open for tokens (closed with the console)."""
        self.tokens.open_panel = self.open_panel
        self.sessions.open_panel = self.open_panel
        pages: dict[str, QWidget] = {
            "tokens": self.tokens,
            "logout": self.logout,
            "sessions": self.sessions,
            "verify": self.verify,
            "demo": self.demo,
            "activity": self.activity,
        }
        self.window = MainWindow(pages, settings)
        self.embedded: EmbeddedAdapter | None = None
        self._embedded_secret: str | None = None
        self._demo_clients: asyncio.Task[None] | None = None
        self._problems: list[str] = []
        self.window.profile_switch_requested.connect(self.workspace.set_active)
        self._store_source: AdapterOps | None = None
        """The operations whose `store_changed` the status bar follows: the active profile's."""
        self.workspace.active_changed.connect(self._active_changed)
        self.workspace.profiles_changed.connect(self._show_profiles)
        self.health.checking.connect(self._health_checking)
        self.health.changed.connect(self._show_health)
        self.embedded_state_changed.connect(self._show_embedded_state)
        self.window.closed.connect(self._window_closed)
        self._build_actions()
        reason = secret_store.reason if isinstance(secret_store, SessionSecretStore) else ""
        self.window.show_keyring(secret_store.backend_name, secret_store.persistent, reason)
        self._show_profiles()

    def start(self) -> None:
        """Show the active profile everywhere and start watching it (network work starts)."""
        self._active_changed(self.workspace.active)

    # Menus

    def _action(
        self, menu_name: str, text: str, slot: Callable[[], None], shortcut: str = ""
    ) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        menu = self.window.profiles_menu if menu_name == "profiles" else self.window.adapter_menu
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        self._action("profiles", "&New profile…", self._new_profile, "Ctrl+N")
        self.edit_action = self._action("profiles", "&Edit profile…", self._edit_profile, "Ctrl+E")
        self.duplicate_action = self._action("profiles", "&Duplicate profile", self._duplicate)
        self.remove_action = self._action("profiles", "&Remove profile…", self._remove)
        self.window.profiles_menu.addSeparator()
        self._action("profiles", "&Test connection", self.test_connection, "Ctrl+T")
        self.window.profiles_menu.addSeparator()
        self._action("profiles", "&Import profiles…", self._import)
        self._action("profiles", "E&xport profiles…", self._export)
        self.start_action = self._action("adapter", "&Start embedded adapter", self._start)
        self.stop_action = self._action("adapter", "S&top embedded adapter", self._stop)
        self.restart_action = self._action("adapter", "&Restart embedded adapter", self._restart)
        self.window.adapter_menu.addSeparator()
        self.demo_clients_action = self._action(
            "adapter", "Start &demo traders", self._toggle_demo_clients
        )

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, MESSAGE_MS)

    # Profiles

    def _show_profiles(self) -> None:
        self.window.reload_profiles(self.workspace.profile_list(), self.workspace.active_profile())

    def _active_changed(self, ops: AdapterOps) -> None:
        """Every page drops what it showed and starts over from the new profile's operations."""
        profile = ops.profile
        self.window.show_profile(profile)
        remote = not profile.embedded
        self.edit_action.setEnabled(remote)
        self.duplicate_action.setEnabled(remote)
        self.remove_action.setEnabled(remote)
        for page in (self.tokens, self.logout, self.sessions, self.verify, self.demo):
            page.show_ops(ops)
        if self._store_source is not None:
            self._store_source.store_changed.disconnect(self.window.show_store)
        ops.store_changed.connect(self.window.show_store)
        self._store_source = ops
        self.window.show_store(None)  # the last profile's store is not this one's
        self.health.start()

    def _health_checking(self, ops: AdapterOps) -> None:
        if self.health.last is None:
            self.window.show_reachability("checking…", None)

    def _show_health(self, ops: AdapterOps, report: HealthReport) -> None:
        detail = f"{report.report.message} (checked {local_time(report.checked_at)})"
        self.window.show_reachability(report.summary, report.ok, detail)

    def test_connection(self) -> None:
        self.tasks.spawn(self._test_connection())

    async def _test_connection(self) -> None:
        report = await self.health.check_now()
        self._message(report.report.message)

    def _dialog(self, existing: Profile | None, stored: str | None) -> ProfileDialog:
        return ProfileDialog(
            existing,
            stored,
            self.workspace.test_draft,
            self.window,
            others=self.workspace.profile_list(),
        )

    def _new_profile(self) -> None:
        dialog = self._dialog(None, None)
        dialog.accepted.connect(lambda: self._save_profile(dialog, is_new=True))
        dialog.open()

    @task_slot
    async def _edit_profile(self) -> None:
        profile = self.workspace.active_profile()
        stored = await self.workspace.stored_secret(profile.id)
        dialog = self._dialog(profile, stored)
        dialog.accepted.connect(lambda: self._save_profile(dialog, is_new=False))
        dialog.open()

    @task_slot
    async def _save_profile(self, dialog: ProfileDialog, is_new: bool) -> None:
        """Save settings and secret together: if either fails, neither is changed."""
        draft = dialog.draft
        if draft is None:
            return
        try:
            await self.workspace.save_profile(draft.profile, draft.secret, is_new=is_new)
        except (ProfileError, SecretStoreError) as exc:
            self._message(f"The profile was not saved: {exc}")

    @task_slot
    async def _duplicate(self) -> None:
        original = self.workspace.active_profile()
        try:
            copy = await self.workspace.duplicate_profile(original.id)
        except ProfileError as exc:
            self._message(str(exc))
            return
        self._message(
            f"{copy.name} is a copy of {original.name} without its secret (a copy usually points "
            "at another adapter): Profiles › Edit profile (Ctrl+E) sets its address and secret."
        )

    @task_slot
    async def _remove(self) -> None:
        profile = self.workspace.active_profile()
        if not await confirm(
            self.window,
            "Remove profile?",
            f"Remove {profile.name} and its secret from the keyring? Tokens minted with it stay "
            "valid on the adapter.",
            "Remove",
        ):
            return
        try:
            await self.workspace.remove_profile(profile.id)
        except ProfileError as exc:
            self._message(str(exc))
            return
        try:
            await off_thread(self.verify.forget_profile, profile.id)
        except (HistoryError, IdentityError, OSError) as exc:
            self._message(f"The profile was removed, but not its verification runs: {exc}")

    def _import(self) -> None:
        dialog = open_dialog(self.window, "Import profiles (no secrets are imported)")
        dialog.setNameFilter("Profiles (*.json)")
        dialog.fileSelected.connect(self._import_from)
        dialog.open()

    @task_slot
    async def _import_from(self, path: str) -> None:
        try:
            report = await self.workspace.import_profiles(Path(path))
        except ProfileError as exc:
            self._message(str(exc))
            return
        self._message("; ".join(report.lines()))

    def _export(self) -> None:
        dialog = save_dialog(
            self.window, "Export profiles (secrets are never exported)", "profiles.json"
        )
        dialog.setNameFilter("Profiles (*.json)")
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(self._export_to)
        dialog.open()

    @task_slot
    async def _export_to(self, path: str) -> None:
        try:
            count = await self.workspace.export_profiles(Path(path))
        except ProfileError as exc:
            self._message(str(exc))
            return
        self._message(f"Exported {count} profiles to {path}.")

    # The embedded adapter

    async def start_embedded(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            key_ring, secret = await loop.run_in_executor(
                None, load_embedded_credentials, self.workspace.secret_store
            )
        except (EmbeddedCredentialsError, SecretStoreError) as exc:
            self.report_problems([str(exc)])
            self._show_embedded_state(AdapterState.FAILED.value)
            return
        adapter = EmbeddedAdapter(embedded_data_dir(), key_ring, secret)
        adapter.add_state_listener(self._embedded_state_listener)
        self.embedded = adapter
        self._embedded_secret = secret
        await self._run_embedded(adapter.start)

    def _embedded_state_listener(self, state: AdapterState) -> None:
        """Runs on the adapter's thread: the signal carries the state to the GUI thread."""
        self.embedded_state_changed.emit(state.value)

    async def _run_embedded(self, operation: Callable[[float], object]) -> None:
        adapter = self.embedded
        if adapter is None:
            await self.start_embedded()
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, functools.partial(operation, EMBEDDED_START_TIMEOUT))
        except EmbeddedAdapterError as exc:
            self._message(f"Embedded adapter: {exc}")
        else:
            if adapter.port_note:
                self._message(f"Embedded adapter: {adapter.port_note}")
        if self.tasks.closed:  # the window closed while the adapter started: nothing to show
            return
        url = adapter.url
        self.workspace.set_embedded(url, self._embedded_secret if url else None)

    @task_slot
    async def _start(self) -> None:
        if self.embedded is None:
            await self.start_embedded()
        else:
            await self._run_embedded(self.embedded.start)

    @task_slot
    async def _stop(self) -> None:
        if self.embedded is not None:
            await self._run_embedded(self.embedded.stop)

    @task_slot
    async def _restart(self) -> None:
        if self.embedded is not None:
            await self._run_embedded(self.embedded.restart)

    def _show_embedded_state(self, state: str) -> None:
        running = state == AdapterState.RUNNING.value
        busy = state in (AdapterState.STARTING.value, AdapterState.STOPPING.value)
        self.start_action.setEnabled(not running and not busy)
        self.stop_action.setEnabled(running)
        self.restart_action.setEnabled(running)
        self.window.set_embedded_state(state)

    # Problems, screenshots, shutdown

    def open_panel(self, ops: AdapterOps, token: str) -> None:
        """A Trading Panel preview for `token` on the profile of `ops`, in its own window."""
        for closed in [panel for panel in self.panels if panel.closed]:
            self.panels.remove(closed)
            closed.deleteLater()
        panel = PanelWindow(ops, token, self.window)
        self.panels.append(panel)
        panel.show()

    def _window_closed(self) -> None:
        """Nothing may update the window once it is closed: its tasks and polling stop now."""
        for panel in self.panels:
            panel.close()
        pages = (self.tokens, self.logout, self.sessions, self.verify, self.demo, self.activity)
        for owner in (*(page.tasks for page in pages), self.demo.panel.tasks, self.tasks):
            owner.close()
        self.health.tasks.close()

    def report_problems(self, problems: list[str]) -> None:
        self._problems += problems
        if self._problems:
            self.window.show_problems(self._problems)

    def start_demo_clients(self, count: int) -> None:
        """Scripted TradingView tabs that poll and trade on the embedded adapter (demos)."""
        adapter, secret = self.embedded, self._embedded_secret
        if not count or adapter is None or not secret or self._demo_clients is not None:
            return

        def url() -> str | None:
            return adapter.url if adapter.running else None

        self._demo_clients = self.tasks.spawn(run_demo_clients(url, secret, count, self._message))
        self._demo_clients.add_done_callback(self._demo_clients_ended)
        self._show_demo_clients()

    def _demo_clients_ended(self, _: object) -> None:
        self._demo_clients = None
        self._show_demo_clients()

    def _toggle_demo_clients(self) -> None:
        if self._demo_clients is not None:
            self.tasks.cancel(self._demo_clients)
        else:
            self.start_demo_clients(DEMO_TRADERS)
            self._message(f"{DEMO_TRADERS} demo traders poll and trade on the embedded adapter.")

    def _show_demo_clients(self) -> None:
        running = self._demo_clients is not None
        self.demo_clients_action.setText("Stop &demo traders" if running else "Start &demo traders")

    async def screenshot(self, path: Path, settle_ms: int) -> int:
        """Let layout and paint settle, then save the window as a PNG; 0 on success.

        Never `processEvents()` here: inside a qasync step it runs the step's own zero-delay
        timer again, re-entering the task, and left tasks unwoken so the exit hung.
        """
        await asyncio.sleep(settle_ms / 1000)  # the loop lays out and paints meanwhile
        if not self.window.grab().save(str(path)):
            print(f"tv-adapter-console: cannot write the screenshot {path}")
            return 2
        return 0

    async def shutdown(self) -> None:
        """Each owner cancels its own tasks; then clients close and the embedded adapter stops."""
        for page in (
            self.tokens,
            self.logout,
            self.sessions,
            self.verify,
            self.demo,
            self.activity,
        ):
            await page.tasks.aclose()
        await self.demo.panel.tasks.aclose()
        await self.demo.aclose()
        for panel in self.panels:
            await panel.tasks.aclose()
        await self.health.aclose()
        await self.tasks.aclose()
        await self.workspace.aclose()
        if self.embedded is not None:
            self.embedded.remove_state_listener(self._embedded_state_listener)
            await asyncio.get_running_loop().run_in_executor(None, self.embedded.stop)
