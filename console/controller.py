"""The application's glue: builds the pages and window, runs the embedded adapter, handles menus.

The embedded adapter reports state from its own thread; a Qt signal carries it to the GUI
thread. Long actions run as tasks and show progress; errors land in the status bar or banner.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from adapter_core.embedded import AdapterState, EmbeddedAdapter, EmbeddedAdapterError
from console.context import ConsoleContext
from console.services.activity import ActivityLog
from console.services.demo_clients import run_demo_clients
from console.services.embedded import (
    EmbeddedCredentialsError,
    embedded_data_dir,
    load_embedded_credentials,
)
from console.services.profiles import Profile, ProfileError, ProfileStore
from console.services.recent import RecentRequests
from console.services.secrets import SecretStore, SecretStoreError, SessionSecretStore
from console.services.vault import MintedTokenVault
from console.slots import async_slot
from console.views.activity_page import ActivityPage
from console.views.confirm import confirm
from console.views.logout_page import LogoutPage
from console.views.main_window import MainWindow
from console.views.profile_dialog import ProfileDialog
from console.views.sessions_page import SessionsPage
from console.views.tokens_page import TokensPage

EMBEDDED_START_TIMEOUT = 20.0


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
        self.context = ConsoleContext(secret_store, profiles, activity, vault, recent)
        self.tokens = TokensPage(self.context)
        self.logout = LogoutPage(self.context)
        self.activity = ActivityPage(activity)
        self.sessions = SessionsPage(self.context)
        pages: dict[str, QWidget] = {
            "tokens": self.tokens,
            "logout": self.logout,
            "sessions": self.sessions,
            "activity": self.activity,
        }
        self.window = MainWindow(self.context, pages, settings)
        self.embedded: EmbeddedAdapter | None = None
        self._embedded_secret: str | None = None
        self._demo_clients: asyncio.Future[None] | None = None
        self._problems: list[str] = []
        self.tokens.minted.connect(self.logout.refresh)
        self.window.profile_switch_requested.connect(self._switch_profile)
        self.context.on_profile_changed(self._profile_changed)
        self.embedded_state_changed.connect(self._show_embedded_state)
        self._build_actions()
        reason = secret_store.reason if isinstance(secret_store, SessionSecretStore) else ""
        self.window.show_keyring(secret_store.backend_name, secret_store.persistent, reason)
        self._profile_changed(self.context.active_profile())

    # Menus

    def _action(self, menu_name: str, text: str, slot: object, shortcut: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
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

    # Profiles

    def _switch_profile(self, profile_id: str) -> None:
        self.context.set_active(profile_id)

    def _profile_changed(self, profile: Profile) -> None:
        self.window.show_profile(profile)
        remote = not profile.embedded
        self.edit_action.setEnabled(remote)
        self.duplicate_action.setEnabled(remote)
        self.remove_action.setEnabled(remote)
        self.tokens.refresh_previews()
        self.tokens.show_recent()
        self.logout.refresh()
        self.sessions.start()
        self.test_connection()

    @async_slot()
    async def test_connection(self) -> None:
        profile = self.context.active_profile()
        if not profile.base_url:
            self.window.show_reachability("not running", None)
            return
        self.window.show_reachability("checking…", None)
        secret = await self.context.secret(profile)
        report = await self.context.client(profile).test_connection(secret)
        ok = report.reachable and bool(report.secret_accepted)
        latency = f" ({report.latency_ms:.0f} ms)" if report.latency_ms is not None else ""
        summary = ("reachable" if report.reachable else "unreachable") + latency
        self.window.show_reachability(summary, ok)
        self.window.statusBar().showMessage(report.message, 8000)

    def _dialog(self, existing: Profile | None, stored: str | None) -> ProfileDialog:
        recorder = self.context.recorder(existing or self.context.active_profile())
        return ProfileDialog(existing, stored, recorder, self.window)

    def _new_profile(self) -> None:
        dialog = self._dialog(None, None)
        dialog.accepted.connect(lambda: self._save_profile(dialog, is_new=True))
        dialog.open()

    @async_slot()
    async def _edit_profile(self) -> None:
        profile = self.context.active_profile()
        stored = await self.context.secret(profile)
        dialog = self._dialog(profile, stored)
        dialog.accepted.connect(lambda: self._save_profile(dialog, is_new=False))
        dialog.open()

    @async_slot(object, bool)
    async def _save_profile(self, dialog: ProfileDialog, is_new: bool) -> None:
        """Save settings and secret together: if either fails, neither is changed."""
        draft = dialog.draft
        if draft is None:
            return
        try:
            saved = await self._store_profile(draft.profile, draft.secret, is_new)
        except (ProfileError, SecretStoreError) as exc:
            self.window.statusBar().showMessage(f"The profile was not saved: {exc}", 15000)
            return
        self.context.profile_updated(saved.id)
        self.context.set_active(saved.id)
        self.window.reload_profiles()

    async def _store_profile(self, profile: Profile, secret: str | None, is_new: bool) -> Profile:
        profiles, secrets = self.context.profiles, self.context.secrets
        key = profile.secret_key
        if is_new:
            saved = profiles.add(profile)
            if secret:
                try:
                    await secrets.set(key, secret)
                except SecretStoreError:
                    profiles.remove(saved.id, self.context.secret_store)
                    raise
            return saved
        previous = await secrets.get(key) if secret else None
        if secret:
            await secrets.set(key, secret)
        try:
            return profiles.update(profile)
        except ProfileError:
            if secret:
                await (secrets.set(key, previous) if previous else secrets.delete(key))
            raise

    def _duplicate(self) -> None:
        try:
            copy = self.context.profiles.duplicate(self.context.active_profile().id)
        except ProfileError as exc:
            self.window.statusBar().showMessage(str(exc), 15000)
            return
        self.context.set_active(copy.id)
        self.window.reload_profiles()

    @async_slot()
    async def _remove(self) -> None:
        profile = self.context.active_profile()
        if not await confirm(
            self.window,
            "Remove profile?",
            f"Remove {profile.name} and its secret from the keyring? Tokens minted with it stay "
            "valid on the adapter.",
            "Remove",
        ):
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None,
                functools.partial(
                    self.context.profiles.remove, profile.id, self.context.secret_store
                ),
            )
        except ProfileError as exc:
            self.window.statusBar().showMessage(str(exc), 15000)
            return
        self.context.set_active("embedded")
        self.window.reload_profiles()

    def _import(self) -> None:
        dialog = QFileDialog(self.window, "Import profiles (no secrets are imported)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Profiles (*.json)")
        dialog.fileSelected.connect(self._import_from)
        dialog.open()

    def _import_from(self, path: str) -> None:
        try:
            report = self.context.profiles.import_(Path(path))
        except ProfileError as exc:
            self.window.statusBar().showMessage(str(exc), 15000)
            return
        self.window.reload_profiles()
        self.window.statusBar().showMessage("; ".join(report.lines()), 15000)

    def _export(self) -> None:
        dialog = QFileDialog(self.window, "Export profiles (secrets are never exported)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Profiles (*.json)")
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(self._export_to)
        dialog.open()

    def _export_to(self, path: str) -> None:
        try:
            count = self.context.profiles.export(Path(path))
        except ProfileError as exc:
            self.window.statusBar().showMessage(str(exc), 15000)
            return
        self.window.statusBar().showMessage(f"Exported {count} profiles to {path}.", 15000)

    # The embedded adapter

    async def start_embedded(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            key_ring, secret = await loop.run_in_executor(
                None, load_embedded_credentials, self.context.secret_store
            )
        except (EmbeddedCredentialsError, SecretStoreError) as exc:
            self.report_problems([str(exc)])
            self._show_embedded_state(AdapterState.FAILED.value)
            return
        self.context.note_secret(secret)
        adapter = EmbeddedAdapter(embedded_data_dir(), key_ring, secret)
        adapter.add_state_listener(self._embedded_state_listener)
        self.embedded = adapter
        self._embedded_secret = secret
        await self._run_embedded(adapter.start)

    def _embedded_state_listener(self, state: AdapterState) -> None:
        """Runs on the adapter's thread: the signal carries the state to the GUI thread."""
        self.embedded_state_changed.emit(state.value)

    async def _run_embedded(self, operation: object) -> None:
        assert callable(operation)
        adapter = self.embedded
        if adapter is None:
            await self.start_embedded()
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, functools.partial(operation, EMBEDDED_START_TIMEOUT))
        except EmbeddedAdapterError as exc:
            self.window.statusBar().showMessage(f"Embedded adapter: {exc}", 20000)
        self.context.set_embedded(adapter.url, self._embedded_secret if adapter.url else None)

    @async_slot()
    async def _start(self) -> None:
        if self.embedded is None:
            await self.start_embedded()
        else:
            await self._run_embedded(self.embedded.start)

    @async_slot()
    async def _stop(self) -> None:
        if self.embedded is not None:
            await self._run_embedded(self.embedded.stop)

    @async_slot()
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

    def report_problems(self, problems: list[str]) -> None:
        self._problems += problems
        if self._problems:
            self.window.show_problems(self._problems)

    def start_demo_clients(self, count: int) -> None:
        """Scripted TradingView tabs on the embedded adapter, so sessions are live (demos)."""
        url, secret = self.context.embedded_url(), self._embedded_secret
        if count and url and secret:
            self._demo_clients = asyncio.ensure_future(run_demo_clients(url, secret, count))

    async def screenshot(self, path: Path, settle_ms: int) -> int:
        """Let layout and paint settle, then save the window as a PNG; 0 on success."""
        await asyncio.sleep(settle_ms / 1000)
        QApplication.processEvents()
        if not self.window.grab().save(str(path)):
            print(f"tv-adapter-console: cannot write the screenshot {path}")
            return 2
        return 0

    async def shutdown(self) -> None:
        """Cancel what is still running (a connection test, a send), then close clients."""
        self.sessions.stop()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.context.close()
        if self.embedded is not None:
            self.embedded.remove_state_listener(self._embedded_state_listener)
            await asyncio.get_running_loop().run_in_executor(None, self.embedded.stop)
