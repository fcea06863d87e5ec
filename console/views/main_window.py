"""The main window: sidebar of pages, the active profile in the toolbar, state in the status bar.

The active profile is impossible to miss: its colour marks the toolbar, a strip beside the
profile drop-down and each profile's swatch, and a production profile adds a red PRODUCTION
badge. The drop-down itself keeps the palette's colours: painting the whole box in the
profile's colour also painted its popup, which made the other profiles unreadable. Geometry
and the last page are remembered.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QIcon,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from adapter_core import __version__
from adapter_core.resources import resource_path
from console.logs import log_dir
from console.paths import ensure_dir
from console.services.profiles import Profile
from console.services.store_status import StoreStatus
from console.views.elided_label import ElidedLabel
from console.views.status_bar import ElidingStatusBar

PAGES = ("tokens", "logout", "sessions", "verify", "demo", "activity")
PAGE_TITLES = {
    "tokens": "Tokens",
    "logout": "Logout",
    "sessions": "Sessions",
    "verify": "Verify",
    "demo": "Demo",
    "activity": "Activity",
}
BANNER_STYLE = (
    "background: #fff3cd; color: #5c4400; padding: 6px 10px; border-bottom: 1px solid #e0c36c;"
)
PRODUCTION_STYLE = (
    "background: #c62828; color: white; font-weight: bold; padding: 2px 8px; border-radius: 3px;"
)
STATUS_MESSAGE_MS = 15000
SWATCH_SIZE = 14
STRIP_WIDTH = 6
STORE_COLOURS = {"error": "#c62828", "warning": "#b26a00", "ok": "palette(text)"}
FIRST_SIZE = QSize(1180, 760)
TITLE_BAR_ALLOWANCE = 40
"""Height the window manager's title bar may add: the first size leaves room for it."""
"""The status bar's store label by `StoreStatus.severity`."""


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(SWATCH_SIZE, SWATCH_SIZE)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class MainWindow(QMainWindow):
    profile_switch_requested = Signal(str)
    closed = Signal()
    """The window was closed (File › Quit, Ctrl+Q, the title bar): the console shuts down."""

    def __init__(
        self,
        pages: dict[str, QWidget],
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._pages = pages
        self._keyring_note = ""
        self._problems: list[str] = []
        self.setWindowTitle("TradingView Adapter Console")
        self.setWindowIcon(icon("app"))
        self._build_central()
        self._build_toolbar()
        self._build_status_bar()
        self._build_menus()
        self._restore()

    # Building

    def _build_central(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.banner = QLabel(central)
        self.banner.setObjectName("keyringBanner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.hide()
        outer.addWidget(self.banner)
        body = QHBoxLayout()
        body.setContentsMargins(6, 6, 6, 6)
        self.sidebar = QListWidget(central)
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(150)
        self.stack = QStackedWidget(central)
        for name in PAGES:
            QListWidgetItem(icon(name), PAGE_TITLES[name], self.sidebar)
            self.stack.addWidget(self._pages[name])
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        body.addWidget(self.sidebar)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Profile", self)
        self.toolbar.setObjectName("profileToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(QLabel(" Profile: ", self.toolbar))
        # The strip is the box's coloured left edge: one widget, so no toolbar gap between.
        picker = QWidget(self.toolbar)
        row = QHBoxLayout(picker)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.profile_strip = QFrame(picker)
        self.profile_strip.setObjectName("profileStrip")
        self.profile_strip.setFixedWidth(STRIP_WIDTH)
        self.profile_box = QComboBox(picker)
        self.profile_box.setMinimumWidth(220)
        self.profile_box.setIconSize(QSize(SWATCH_SIZE, SWATCH_SIZE))
        self.profile_box.activated.connect(self._profile_chosen)
        row.addWidget(self.profile_strip)
        row.addWidget(self.profile_box)
        self.toolbar.addWidget(picker)
        self.production_badge = QLabel("PRODUCTION", self.toolbar)
        self.production_badge.setStyleSheet(PRODUCTION_STYLE)
        # A widget in a toolbar is shown and hidden through its action, never setVisible.
        self._production_action = self.toolbar.addWidget(self.production_badge)
        self._production_action.setVisible(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

    def _build_status_bar(self) -> None:
        bar = ElidingStatusBar(self)
        self.setStatusBar(bar)
        self.url_label = ElidedLabel("", bar)
        self.reach_label = QLabel("", bar)
        self.store_label = ElidedLabel("", bar)
        self.store_label.setObjectName("storeLabel")
        self.store_label.hide()
        self.keyring_label = ElidedLabel("", bar)
        self.embedded_label = QLabel("Embedded: starting", bar)
        bar.addWidget(self.url_label, 1)
        bar.addPermanentWidget(self.embedded_label)
        bar.addPermanentWidget(self.reach_label)
        bar.addPermanentWidget(self.store_label)
        bar.addPermanentWidget(self.keyring_label)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.quit_action = QAction(
            "&Quit", self, shortcut=QKeySequence(QKeySequence.StandardKey.Quit)
        )
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        self.profiles_menu = menu.addMenu("&Profiles")
        self.adapter_menu = menu.addMenu("&Adapter")
        view = menu.addMenu("&View")
        for row, name in enumerate(PAGES):
            action = QAction(
                icon(name), PAGE_TITLES[name], self, shortcut=QKeySequence(f"Ctrl+{row + 1}")
            )
            action.triggered.connect(lambda _=False, row=row: self.sidebar.setCurrentRow(row))
            view.addAction(action)
        help_menu = menu.addMenu("&Help")
        self.log_folder_action = QAction("Open &log folder", self)
        self.log_folder_action.triggered.connect(self.open_log_folder)
        help_menu.addAction(self.log_folder_action)
        about = QAction("&About", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def open_log_folder(self) -> None:
        """Show the console's logs in the file manager (created first, so there is a folder to
        open even before anything was logged); say in the status bar if that is impossible."""
        folder = log_dir()
        try:
            ensure_dir(folder)
        except OSError as exc:
            self.statusBar().showMessage(
                f"Could not create the log folder {folder}: {exc.strerror or exc}.",
                STATUS_MESSAGE_MS,
            )
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.statusBar().showMessage(
                f"Could not open the log folder: no file manager answered. It is {folder}.",
                STATUS_MESSAGE_MS,
            )

    def _about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About",
            f"TradingView Adapter Console {__version__}\n\n"
            "Mint TradingView tokens, watch sessions and log them out, on the embedded "
            "adapter or a remote one. Bearer secrets stay in the OS keyring.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()

    # Profiles

    def reload_profiles(self, profiles: list[Profile], active: Profile) -> None:
        """List `profiles` in the drop-down and show `active` as the current one."""
        self.profile_box.clear()
        for profile in profiles:
            label = f"{profile.name}  (production)" if profile.production else profile.name
            self.profile_box.addItem(swatch(profile.colour), label, profile.id)
        self.show_profile(active)

    def _profile_chosen(self, index: int) -> None:
        self.profile_switch_requested.emit(self.profile_box.itemData(index))

    def show_profile(self, profile: Profile) -> None:
        """Mark the window with `profile`: its colour, the badge if production, and the
        embedded adapter's state only when that is the adapter being talked to. The
        drop-down shows it too: a profile just added becomes active after the list was
        reloaded, and the list must not keep naming the one before."""
        self.profile_box.setCurrentIndex(max(self.profile_box.findData(profile.id), 0))
        self._production_action.setVisible(profile.production)
        self.embedded_label.setVisible(profile.embedded)
        self.toolbar.setStyleSheet(
            f"QToolBar#profileToolbar {{ border-bottom: 3px solid {profile.colour}; }}"
        )
        self.profile_strip.setStyleSheet(
            f"QFrame#profileStrip {{ background: {profile.colour}; border-radius: 2px; }}"
        )
        self.profile_strip.setToolTip(f"{profile.name}'s colour")
        url = profile.base_url or "(embedded adapter not running)"
        self.url_label.setText(f"{profile.name}: {url}")
        self.url_label.setToolTip(self.url_label.text())

    def show_reachability(self, text: str, ok: bool | None, detail: str = "") -> None:
        """`text` is the short state; `detail`, the whole health message, is its tooltip."""
        colour = {True: "#2e7d32", False: "#c62828", None: "palette(text)"}[ok]
        self.reach_label.setText(text)
        self.reach_label.setToolTip(detail)
        self.reach_label.setStyleSheet(f"color: {colour};")

    def show_store(self, store: StoreStatus | None) -> None:
        """The adapter's token store and its health, as it last said; nothing when it did not
        say (no admin API, not reachable, or another profile's answer not in yet)."""
        if store is None:
            self.store_label.clear()
            self.store_label.setToolTip("")
            self.store_label.hide()
            return
        self.store_label.setText(store.summary)
        self.store_label.setToolTip(store.detail)
        self.store_label.setStyleSheet(f"color: {STORE_COLOURS[store.severity]};")
        self.store_label.show()

    def show_keyring(self, backend: str, persistent: bool, reason: str = "") -> None:
        self.keyring_label.setText(f"Secrets: {backend}")
        self.keyring_label.setToolTip(self.keyring_label.text())
        self._keyring_note = (
            ""
            if persistent
            else f"Secrets you enter are kept for this run only, never written to a file: "
            f"{reason}. Install and unlock a keyring to keep them between runs."
        )
        self._show_banner()

    def show_problems(self, problems: list[str]) -> None:
        self._problems = list(problems)
        self._show_banner()

    def _show_banner(self) -> None:
        lines = [line for line in (self._keyring_note, *self._problems) if line]
        self.banner.setText("\n".join(lines))
        self.banner.setVisible(bool(lines))

    def set_embedded_state(self, state: str) -> None:
        colour = {"running": "#2e7d32", "failed": "#c62828"}.get(state, "palette(text)")
        self.embedded_label.setText(f"Embedded: {state}")
        self.embedded_label.setStyleSheet(f"color: {colour};")

    # Pages and geometry

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))

    def _restore(self) -> None:
        geometry = self._settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(self._first_size())
        page = self._settings.value("window/page", "tokens")
        self.show_page(page if page in PAGES else "tokens")

    def _first_size(self) -> QSize:
        """FIRST_SIZE, or less where the screen is smaller (a 1280 × 720 projector): the
        window opens whole on the screen, title bar included."""
        room = self.screen().availableGeometry().size() - QSize(0, TITLE_BAR_ALLOWANCE)
        return FIRST_SIZE.boundedTo(room)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/page", PAGES[max(self.sidebar.currentRow(), 0)])
        self._settings.sync()
        super().closeEvent(event)
        self.closed.emit()
