"""A private X server and programs on it, for tests that need a real window.

Xvfb picks a free display number itself and writes it to a pipe (`-displayfd`), so parallel
runs never race for `:99`. `-noreset`: by default Xvfb resets whenever its last client
disconnects, and every `xdotool` poll is a client, so a program connecting at that moment
was refused ("could not connect to display"). Every wait is bounded and every process is
stopped (SIGTERM, then SIGKILL) by whoever started it, in a `finally`.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from tests.support.keyring_env import THROWAWAY_BUS_ENV

XVFB_START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
XDOTOOL_TIMEOUT = 10.0
SCREEN = "1280x1024x24"


def missing_tools() -> list[str]:
    """The programs a real-window test needs and this machine lacks."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


def start_window_program(
    program: Path,
    env: Mapping[str, str],
    cwd: Path,
    stderr: Path,
    stdout: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A program with a window, in its own session (so `stop_process` reaches all it starts),
    stdin closed, its stderr (and stdout, if asked) written to files for a failure report."""
    with contextlib.ExitStack() as files:
        errors = files.enter_context(stderr.open("wb"))
        output = subprocess.DEVNULL if stdout is None else files.enter_context(stdout.open("wb"))
        return subprocess.Popen(
            [str(program)],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=errors,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its whole session if it lingers.

    The process must have been started with `start_new_session=True`, so that the SIGKILL
    also reaches anything it started.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


class Xvfb:
    """`Xvfb -displayfd`: started on entry, stopped on exit; `display` is ":N"."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.display = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Xvfb:
        read_end, write_end = os.pipe()
        try:
            with self.log_path.open("ab") as log:
                command = ["Xvfb", "-displayfd", str(write_end), "-noreset", "-screen", "0", SCREEN]
                self.process = subprocess.Popen(
                    [*command, "-nolisten", "tcp"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(write_end,),
                    start_new_session=True,
                )
            os.close(write_end)
            write_end = -1
            number = _read_line(read_end, XVFB_START_TIMEOUT)
        except BaseException:
            self._stop()
            raise
        finally:
            if write_end >= 0:
                os.close(write_end)
            os.close(read_end)
        if not number.isdigit():
            self._stop()
            raise RuntimeError(
                f"Xvfb gave no display number within {XVFB_START_TIMEOUT} s "
                f"(got {number!r}); its log: {self.log_path.read_text(errors='replace')}"
            )
        self.display = f":{number}"
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def _read_line(fd: int, timeout: float) -> str:
    """The first line written to `fd`, or what came before end of file or the timeout."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def xdotool(display: str, *args: str) -> str:
    """Run xdotool on `display`; its standard output, or CalledProcessError with its stderr."""
    result = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=XDOTOOL_TIMEOUT,
        check=False,
    )
    if result.returncode not in (0, 1) or (result.returncode == 1 and result.stderr):
        raise subprocess.CalledProcessError(
            result.returncode, result.args, result.stdout, result.stderr
        )
    return result.stdout


def wait_for_window(display: str, name: str, timeout: float, alive: Callable[[], bool]) -> str:
    """The id of the first visible window whose title matches `name`, polled until `timeout`.

    Gives up at once when `alive()` turns false: a program that died shows no window.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = xdotool(display, "search", "--onlyvisible", "--name", name).split()
        if found:
            return found[0]
        if not alive():
            raise RuntimeError(f"the program exited before a window named {name!r} appeared")
        time.sleep(0.2)
    raise TimeoutError(f"no visible window named {name!r} within {timeout} s")


def isolated_environment(root: Path, display: str, extra: Mapping[str, str]) -> dict[str, str]:
    """An environment in which a desktop program sees only `root`, `display` and `extra`.

    HOME and every XDG directory are under `root`, so nothing of the developer's desktop
    (settings, fonts cache, keyring configuration) leaks in or is written to. The session
    bus is the throwaway one `tests/run_with_keyring.sh` provides, or none at all: never the
    developer's, and never one D-Bus would autolaunch on the X display.
    """
    directories = {
        "HOME": root / "home",
        "XDG_CONFIG_HOME": root / "config",
        "XDG_DATA_HOME": root / "data",
        "XDG_STATE_HOME": root / "state",
        "XDG_CACHE_HOME": root / "cache",
        "XDG_RUNTIME_DIR": root / "runtime",
    }
    for directory in directories.values():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not bus or os.environ.get(THROWAWAY_BUS_ENV) != bus:
        bus = f"unix:path={root / 'no-session-bus'}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DISPLAY": display,
        "DBUS_SESSION_BUS_ADDRESS": bus,
        **{key: str(path) for key, path in directories.items()},
        **extra,
    }
