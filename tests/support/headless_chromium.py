"""Headless Chromium opening one page, every connection through a `ConnectProxy` on loopback.

The browser trusts exactly one server key (`--ignore-certificate-errors-spki-list`), not
every certificate: a server presenting another key is refused as in real life. For that key
Chromium waives the other checks (chain, host name), so a test checks those with its own
client. What the browser fetches in the background (component updates, account checks) goes
to the proxy too, which refuses what it does not route: nothing leaves loopback. The profile
and HOME live in the test's temporary directory. `--no-sandbox` is added only when running as root,
where Chromium refuses to start with its sandbox.

Chromium and the processes it forks run in a session of their own, so `close()` ends exactly
them (SIGTERM to that process group, SIGKILL after `STOP_TIMEOUT`) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

EXECUTABLE = "chromium"
STOP_TIMEOUT = 10.0


def chromium_path() -> str | None:
    """The Chromium on PATH (Debian's `chromium` package), or None."""
    return shutil.which(EXECUTABLE)


class HeadlessChromium:
    def __init__(self, folder: Path, proxy_url: str, spki_pin: str) -> None:
        executable = chromium_path()
        if executable is None:
            raise RuntimeError(f"{EXECUTABLE} is not on PATH")
        self.folder = folder
        self.log_file = folder / "chromium.log"
        self.arguments = [
            executable,
            "--headless=new",
            f"--user-data-dir={folder / 'profile'}",
            f"--proxy-server={proxy_url}",
            # Name resolution happens in the proxy; the browser itself resolves nothing, so
            # no lookup can leave loopback (127.0.0.1 is the proxy's literal address).
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--ignore-certificate-errors-spki-list={spki_pin}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-gpu",
            "--password-store=basic",
            "--use-mock-keychain",
        ]
        if os.geteuid() == 0:
            self.arguments.append("--no-sandbox")
        self.process: subprocess.Popen[bytes] | None = None

    def open(self, url: str) -> Self:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.arguments, url],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "HOME": str(self.folder)},  # no trace in the real home
            )
        return self

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def close(self) -> None:
        process = self.process
        if process is None:
            return
        self._signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal_group(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
        # Children that outlived the browser (a renderer, the zygote) go with the group.
        self._signal_group(process.pid, signal.SIGKILL)

    @staticmethod
    def _signal_group(group: int, number: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, number)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
