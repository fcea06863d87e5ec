"""Start the console: QApplication, the qasync loop, the services, the embedded adapter.

`--screenshot FILE [--page NAME]` renders the window once the embedded adapter is up and
exits; it works offscreen (QT_QPA_PLATFORM=offscreen).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from adapter_core import __version__
from console import paths
from console.controller import Controller
from console.services.activity import ActivityLog
from console.services.profiles import ProfileError, ProfileStore
from console.services.recent import RecentError, RecentRequests
from console.services.secrets import SecretStore, open_secret_store
from console.services.vault import MintedTokenVault, VaultError
from console.views.main_window import PAGES, icon

SCREENSHOT_SETTLE_MS = 400
DEMO_CLIENTS_SETTLE_MS = 3000
"""Demo tabs mint, open their sessions and poll a few times before the picture."""


DEMO_SCREENSHOT_STAGE = 21
"""The Demo page is pictured with the Trading Panel connected: every part of it shows."""


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tv-adapter-console",
        description="Operator console for TradingView adapters. "
        "'tv-adapter-console profile --help' manages profiles without a window; "
        "'tv-adapter-console --self-test' checks this installation and exits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="render to a PNG and exit")
    parser.add_argument("--page", choices=PAGES, default=None, help="the page to show first")
    parser.add_argument(
        "--demo-clients",
        type=int,
        default=0,
        metavar="N",
        help="run N scripted TradingView tabs on the embedded adapter (demos, screenshots)",
    )
    return parser.parse_args(argv)


async def _open_stores(
    secret_store: SecretStore, problems: list[str]
) -> tuple[ProfileStore, MintedTokenVault, RecentRequests]:
    """Load what the console keeps; each problem is reported, none stops the console."""
    loop = asyncio.get_running_loop()
    profiles = ProfileStore()
    try:
        await loop.run_in_executor(None, profiles.load)
    except ProfileError as exc:
        problems.append(f"{exc}. Profiles are read-only until the file is fixed.")
        profiles = ProfileStore(Path(tempfile.mkdtemp(prefix="tv-console-")) / "profiles.json")
        await loop.run_in_executor(None, profiles.load)
    vault = MintedTokenVault(secret_store)
    try:
        await loop.run_in_executor(None, vault.load)
    except VaultError as exc:
        problems.append(str(exc))
    recent = RecentRequests()
    try:
        await loop.run_in_executor(None, recent.load)
    except RecentError as exc:
        problems.append(str(exc))
    return profiles, vault, recent


@contextlib.contextmanager
def _quit_on_signals(loop: asyncio.AbstractEventLoop, quitting: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT end the console as File › Quit does.

    Qt's loop runs in C++, so Python would see a signal only at its next Python call; the
    wake-up descriptor, watched by the loop, makes it notice at once.
    """
    receiver, sender = socket.socketpair()
    receiver.setblocking(False)
    sender.setblocking(False)
    previous_fd = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}

    def drain() -> None:
        with contextlib.suppress(OSError):
            receiver.recv(512)

    loop.add_reader(receiver.fileno(), drain)
    for number in previous:
        signal.signal(number, lambda *_: loop.call_soon_threadsafe(quitting.set))
    try:
        yield
    finally:
        loop.remove_reader(receiver.fileno())
        for number, handler in previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(previous_fd)
        receiver.close()
        sender.close()


async def _main(app: QApplication, args: argparse.Namespace) -> int:
    quitting = asyncio.Event()
    app.setQuitOnLastWindowClosed(False)
    with _quit_on_signals(asyncio.get_running_loop(), quitting):
        return await _run_console(args, quitting)


async def _run_console(args: argparse.Namespace, quitting: asyncio.Event) -> int:
    settings = QSettings(
        str(paths.ensure_dir(paths.config_dir()) / "console.ini"), QSettings.Format.IniFormat
    )
    problems: list[str] = []
    loop = asyncio.get_running_loop()
    secret_store = await loop.run_in_executor(None, open_secret_store)
    profiles, vault, recent = await _open_stores(secret_store, problems)
    controller = Controller(secret_store, profiles, ActivityLog(), vault, recent, settings)
    controller.report_problems(problems)
    if args.page:
        controller.window.show_page(args.page)
    controller.window.closed.connect(quitting.set)
    controller.window.show()
    controller.start()
    code = 0
    try:
        await controller.start_embedded()
        controller.start_demo_clients(args.demo_clients)
        if args.screenshot is not None:
            settle = SCREENSHOT_SETTLE_MS + (DEMO_CLIENTS_SETTLE_MS if args.demo_clients else 0)
            if args.page == "demo":
                await controller.demo.play_to(DEMO_SCREENSHOT_STAGE)
            code = await controller.screenshot(args.screenshot, settle)
        else:
            await quitting.wait()
    finally:
        await controller.shutdown()
    return code


def run_gui(argv: list[str]) -> int:
    args = _arguments(argv)
    app = QApplication.instance() or QApplication(["tv-adapter-console"])
    assert isinstance(app, QApplication)
    app.setApplicationName("TradingView Adapter Console")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setWindowIcon(icon("app"))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result: int = loop.run_until_complete(_main(app, args))
    QTimer.singleShot(0, app.quit)
    return result
