"""A real `tv-adapter serve` process on 127.0.0.1 for tests: start, stop, SIGTERM, kill -9.

Bounded everywhere: start-up waits at most `START_TIMEOUT` seconds for the banner line, and
stopping escalates to SIGKILL after `STOP_TIMEOUT`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import resource
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
_BANNER = " listening on "


class AdapterProcess:
    """One adapter server over a data directory that outlives it (for restart tests)."""

    def __init__(
        self, data_dir: Path, extra_args: Sequence[str] = (), descriptor_limit: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.descriptor_limit = descriptor_limit
        """The server's RLIMIT_NOFILE soft limit, for tests of running short of descriptors."""
        self.secret_file = data_dir.parent / f"{data_dir.name}-broker-secret"
        if not self.secret_file.exists():
            self.secret_file.write_text(secrets.token_urlsafe(48) + "\n")
            self.secret_file.chmod(0o600)
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []
        self.stderr_path = data_dir.parent / f"{data_dir.name}-stderr.log"

    @property
    def broker_secret(self) -> str:
        return self.secret_file.read_text().splitlines()[0]

    def start(self) -> AdapterProcess:
        command = [
            sys.executable,
            "-m",
            "adapter_core.cli",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--broker-secret-file",
            str(self.secret_file),
            *self.extra_args,
        ]
        env = {key: value for key, value in os.environ.items() if key != "TV_ADAPTER_BROKER_SECRET"}
        stderr = self.stderr_path.open("a")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            preexec_fn=self._limit_descriptors if self.descriptor_limit else None,
        )
        stderr.close()
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.process is not None
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                self.kill()
                raise RuntimeError(f"adapter did not start within {START_TIMEOUT}s") from None
            if line is None:
                self.kill()
                raise RuntimeError(f"adapter exited during start-up: {self.stderr_text()}")
            if _BANNER in line:
                self.url = line.split(_BANNER, 1)[1].strip()
                return self

    def _limit_descriptors(self) -> None:
        assert self.descriptor_limit is not None
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.descriptor_limit, hard))

    def stderr_text(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def terminate(self) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            raise
        finally:
            self._release_pipe()

    def kill(self) -> None:
        """SIGKILL: nothing gets to flush or clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        self._release_pipe()

    def _release_pipe(self) -> None:
        """Let the reader reach end of file, then close our end of the stdout pipe."""
        self._pump.join(STOP_TIMEOUT)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> AdapterProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate()
