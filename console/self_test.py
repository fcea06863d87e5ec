"""`tv-adapter-console --self-test`: prove that an installation works, in seconds, with no desktop.

Written for the frozen bundle above all: a module PyInstaller missed, a Qt plugin left out,
keyring's entry points or the demo data set not found each fail a step here, on the operator's
machine, instead of surfacing later in front of a broker. It runs from a source checkout just
the same. Everything happens in a temporary directory with throw-away secrets: keyring is set
to its null backend, so the console falls back to secrets held in memory for this run, and the
operator's keyring, profiles and logs are never read or written.

One line per step. The first step that fails is named, the run stops there and exits 1. No
token or secret is printed: lines say how long they are, and every line also goes through the
console's redaction with the run's secrets before it is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.backends.null

from adapter_core import __version__
from adapter_core.embedded import EmbeddedAdapter
from adapter_core.resources import resource_path
from adapter_core.token_request import TokenRequest
from adapter_core.tokens.keyring import KeyRing
from console import paths
from console.services.client import AdapterClient, Answer, ClientSettings
from console.services.embedded import load_embedded_credentials
from console.services.redaction import redact_text
from console.services.secrets import SessionSecretStore

EXIT_PASSED, EXIT_FAILED = 0, 1
EXAMPLE = TokenRequest(
    user_id=14601,
    broker_names=("BESTBROKER",),
    account_ids=(137780091, 137792301),
    is_verified=True,
)
"""The source document's example request (how-tradingview-integration-works.txt)."""
NATIVE_KEYRING = {"linux": "SecretService", "darwin": "macOS", "win32": "Windows"}
"""The backend each platform's console uses: its entry point must be found in the bundle."""
MIN_WINDOW = (800, 500)
HTTP_TIMEOUT = 10.0


class StepFailed(Exception):
    """A step's check did not hold; the message says what was seen instead."""


@dataclass
class _Run:
    """What the steps hand on to each other; `secrets` are masked in every printed line."""

    home: Path
    secrets: list[str] = field(default_factory=list)
    key_ring: KeyRing | None = None
    broker_secret: str = ""
    adapter: EmbeddedAdapter | None = None
    url: str = ""
    token: str = ""


def _expect(answer: Answer, status: int, what: str) -> None:
    if answer.status != status or (status == 200 and not answer.ok):
        reason = f": {answer.errmsg}" if answer.errmsg else ""
        raise StepFailed(f"{what} answered HTTP {answer.status}{reason} (expected {status})")


def _version(run: _Run) -> str:
    if __version__.startswith("0.0.0"):
        raise StepFailed("no installed metadata for tv-adapter-console: the version is unknown")
    kind = "bundle" if getattr(sys, "frozen", False) else "source"
    return f"tv-adapter-console {__version__} ({kind}, Python {platform.python_version()})"


def _keyring_backends(run: _Run) -> str:
    found = []
    for entry in importlib.metadata.entry_points(group="keyring.backends"):
        try:
            entry.load()
        except Exception:  # noqa: S112 (a backend that cannot load here is not this platform's)
            continue
        found.append(entry.name)
    native = next((name for key, name in NATIVE_KEYRING.items() if sys.platform == key), None)
    if native is not None and native not in found:
        raise StepFailed(f"keyring's {native} backend is not found (found: {found or 'none'})")
    return ", ".join(sorted(found)) + " found through their entry points"


def _secrets(run: _Run) -> str:
    """The embedded adapter's credentials, made as on a first start, in a store in memory.

    keyring's null backend makes the console itself (the main window step) fall back to its
    own memory store as well, as it does on a machine with no usable keyring.
    """
    keyring.set_keyring(keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]
    store = SessionSecretStore("the self-test keeps nothing")
    run.key_ring, run.broker_secret = load_embedded_credentials(store)
    run.secrets.append(run.broker_secret)
    return (
        f"token key ring ({len(run.key_ring.keys)} key) and broker secret "
        f"({len(run.broker_secret)} characters) generated into memory"
    )


def _start_adapter(run: _Run) -> str:
    data = resource_path("demo-backend.json")
    if not data.is_file():
        raise StepFailed(f"the demo data set is missing: {data}")
    assert run.key_ring is not None
    run.adapter = EmbeddedAdapter(
        run.home / "adapter", run.key_ring, run.broker_secret, log_level="warning"
    )
    run.url = run.adapter.start()
    return f"listening on {run.url} with the demo data set"


def _client(run: _Run) -> AdapterClient:
    return AdapterClient(ClientSettings(run.url, True, HTTP_TIMEOUT), lambda _: None)


async def _mint(run: _Run, client: AdapterClient) -> str:
    answer = await client.generate_token(run.broker_secret, EXAMPLE)
    _expect(answer, 200, "POST /generate/token")
    if not isinstance(answer.data, str) or not answer.data:
        raise StepFailed("POST /generate/token answered without a token")
    run.token = answer.data
    run.secrets.append(run.token)
    accounts = " and ".join(str(number) for number in EXAMPLE.account_ids or ())
    return (
        f"userId {EXAMPLE.user_id}, {', '.join(EXAMPLE.broker_names)}, accounts {accounts}, "
        f"verified: a token of {len(run.token)} characters"
    )


async def _accounts(run: _Run, client: AdapterClient) -> str:
    answer = await client.request("GET", "/accounts", bearer=run.token, params={"locale": "en"})
    _expect(answer, 200, "GET /accounts")
    seen = sorted(str(account.get("id")) for account in answer.data or [])
    wanted = sorted(str(number) for number in EXAMPLE.account_ids or ())
    if seen != wanted:
        raise StepFailed(f"GET /accounts listed {seen}, not the token's accounts {wanted}")
    return f"GET /accounts with the token lists {', '.join(seen)}"


async def _logout(run: _Run, client: AdapterClient) -> str:
    _expect(await client.logout(run.token), 200, "POST /logout")
    return "POST /logout with the token: done"


async def _refused(run: _Run, client: AdapterClient) -> str:
    answer = await client.request("GET", "/accounts", bearer=run.token, params={"locale": "en"})
    _expect(answer, 401, "GET /accounts after the logout")
    return f"GET /accounts with the logged-out token: HTTP 401 ({answer.errmsg})"


def _stop_adapter(run: _Run) -> str:
    if run.adapter is not None:
        run.adapter.stop()
    return "stopped"


def _main_window(run: _Run) -> str:
    from PySide6.QtGui import QIcon, QImage, QImageReader

    from console.app import run_gui

    picture = run.home / "window.png"
    code = run_gui(["--screenshot", str(picture)])
    if code != 0:
        raise StepFailed(f"the console exited with status {code}")
    image = QImage(str(picture))
    if image.isNull() or image.width() < MIN_WINDOW[0] or image.height() < MIN_WINDOW[1]:
        raise StepFailed(f"the window picture is missing or smaller than {MIN_WINDOW}")
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)
    }
    if len(colours) < 4:
        raise StepFailed("the window was rendered blank")
    if b"svg" not in QImageReader.supportedImageFormats():
        raise StepFailed("Qt cannot read SVG: the svg image format plugin is missing")
    icon = QIcon(str(resource_path("icons", "app.svg"))).pixmap(64, 64).toImage()
    if icon.isNull() or icon.pixelColor(32, 32).alpha() == 0:
        raise StepFailed("the application icon did not render")
    platform_name = os.environ.get("QT_QPA_PLATFORM", "")
    return (
        f"{image.width()}x{image.height()} rendered ({platform_name}) with the embedded "
        "adapter running, SVG icons drawn"
    )


def _latency_chart(run: _Run) -> str:
    """The one lazily imported part of the GUI (pyqtgraph and numpy), loaded for real."""
    import numpy
    import pyqtgraph  # type: ignore[import-untyped]

    from console.views.latency_chart import LatencyChart

    chart = LatencyChart()
    chart.resize(480, 240)
    samples = [(0.0, 12.0), (1.0, 15.0), (2.0, 11.0)]
    chart.show_figures(
        {"endpoints": {"orders": {"samples": samples, "p99": 15.0, "interval_ms": 14}}}
    )
    if chart.grab().isNull():
        raise StepFailed("the latency chart did not render")
    chart.deleteLater()
    return f"drawn with pyqtgraph {pyqtgraph.__version__} and numpy {numpy.__version__}"


Step = Callable[[_Run], str]
AsyncStep = Callable[[_Run, AdapterClient], Awaitable[str]]


def _over_http(step: AsyncStep) -> Step:
    """An HTTP step runs on its own event loop with its own client, closed afterwards."""

    def run_step(run: _Run) -> str:
        async def go() -> str:
            client = _client(run)
            try:
                return await step(run, client)
            finally:
                await client.aclose()

        return asyncio.run(go())

    return run_step


STEPS: tuple[tuple[str, Step], ...] = (
    ("version", _version),
    ("keyring backends", _keyring_backends),
    ("throw-away secrets", _secrets),
    ("embedded adapter", _start_adapter),
    ("mint the example token", _over_http(_mint)),
    ("accounts", _over_http(_accounts)),
    ("logout", _over_http(_logout)),
    ("refused after logout", _over_http(_refused)),
    ("stop the adapter", _stop_adapter),
    ("main window", _main_window),
    ("latency chart", _latency_chart),
)


def _say(run: _Run, text: str, *, error: bool = False) -> None:
    print(redact_text(text, run.secrets), file=sys.stderr if error else sys.stdout, flush=True)


def _isolate(home: Path) -> None:
    """Offscreen Qt, a UTF-8 locale and a console home inside the temporary directory.

    `env -i` leaves no locale at all; Qt would then warn and switch to C.UTF-8 itself.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ[paths.HOME_ENV] = str(home / "console-home")
    if not any(os.environ.get(name) for name in ("LC_ALL", "LC_CTYPE", "LANG")):
        os.environ["LC_CTYPE"] = "C.UTF-8"


def run_steps(run: _Run, steps: tuple[tuple[str, Step], ...] = STEPS) -> int:
    """Each step in turn, one line each; stops at the first failure. The exit status."""
    started = time.monotonic()
    total = len(steps)
    try:
        for number, (name, step) in enumerate(steps, 1):
            try:
                detail = step(run)
            except Exception as exc:
                reason = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
                _say(run, f"[{number:2}/{total}] FAIL {name}: {reason}")
                _say(run, f"self-test failed at step {number} ({name})", error=True)
                return EXIT_FAILED
            _say(run, f"[{number:2}/{total}] ok   {name}: {detail}")
    finally:
        if run.adapter is not None:
            run.adapter.stop()
    _say(run, f"self-test passed: {total} steps in {time.monotonic() - started:.1f} s")
    return EXIT_PASSED


def self_test_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tv-adapter-console --self-test",
        description="Check this installation: the embedded adapter, a token's life and the "
        "window, offscreen, in a temporary directory with throw-away secrets.",
    )
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tv-adapter-console-self-test-") as temporary:
        home = Path(temporary)
        _isolate(home)
        print(f"tv-adapter-console self-test in {home}", flush=True)
        return run_steps(_Run(home))
