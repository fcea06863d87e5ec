"""The console in a real X window (Xvfb), ended the three ways an operator ends it.

The offscreen tests never load the xcb platform plugin, never get a window from an X server
and never see a key press come from outside the process; this does all three, as
`tv-adapter-console` runs on a desktop: Ctrl+Q, SIGTERM (a logout or `kill`) and SIGINT
(Ctrl+C in the terminal that started it) must each end it with status 0 and a clean stderr.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.xvfb import (
    Xvfb,
    isolated_environment,
    missing_tools,
    start_window_program,
    stop_process,
    wait_for_window,
    xdotool,
)

CONSOLE = Path(sys.executable).parent / "tv-adapter-console"
WINDOW_TIMEOUT = 30.0
SETTLE_SECONDS = 2.0
EXIT_TIMEOUT = 20.0
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)
"""console/logs.py's format: the only lines the console may write to stderr."""
End = Callable[[str, str, "subprocess.Popen[bytes]"], None]
"""How the operator ends it: (display, window id, process)."""

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"{' and '.join(missing_tools())} not installed (Debian: xvfb, xdotool)",
)


@pytest.fixture(scope="module")
def display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    with Xvfb(log) as server:
        yield server.display


def _quit_with_ctrl_q(display: str, window: str, process: subprocess.Popen[bytes]) -> None:
    xdotool(display, "windowfocus", "--sync", window, "key", "ctrl+q")


def _send_sigterm(display: str, window: str, process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)


def _send_sigint(display: str, window: str, process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)


@pytest.mark.parametrize(
    ("end", "settle"),
    [
        (_quit_with_ctrl_q, SETTLE_SECONDS),
        (_quit_with_ctrl_q, 0.0),
        (_send_sigterm, SETTLE_SECONDS),
        (_send_sigint, SETTLE_SECONDS),
    ],
    ids=["ctrl+q", "ctrl+q before the adapter is up", "SIGTERM", "SIGINT"],
)
def test_the_console_ends_cleanly(display: str, tmp_path: Path, end: End, settle: float) -> None:
    assert CONSOLE.exists(), f"{CONSOLE} is missing; install the project into this venv"
    console_home = tmp_path / "console-home"
    env = isolated_environment(
        tmp_path,
        display,
        {
            "TV_ADAPTER_CONSOLE_HOME": str(console_home),
            "QT_QPA_PLATFORM": "xcb",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        },
    )
    stdout_path, stderr_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    process = start_window_program(CONSOLE, env, tmp_path, stderr_path, stdout_path)
    try:
        try:
            window = wait_for_window(
                display, "TradingView", WINDOW_TIMEOUT, lambda: process.poll() is None
            )
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}\n--- stderr ---\n{stderr_path.read_text(errors='replace')}")
        time.sleep(settle)
        end(display, window, process)
        try:
            status: int | None = process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
    finally:
        stop_process(process)
    errors = stderr_path.read_text(errors="replace")
    assert status is not None, f"still running {EXIT_TIMEOUT} s later\n--- stderr ---\n{errors}"
    assert status == 0, f"exit status {status}\n--- stderr ---\n{errors}"
    assert "Traceback" not in errors, errors
    foreign = [line for line in errors.splitlines() if not LOG_LINE.match(line)]
    assert not foreign, "stderr holds more than the console's log lines:\n" + errors
    log = (console_home / "logs" / "console.log").read_text(errors="replace")
    assert "Traceback" not in log, log
    assert not re.search(r" (ERROR|CRITICAL) ", log), log
