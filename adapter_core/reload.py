"""Pick up rotated token keys and broker secrets from their files without a restart.

The files are polled (one stat per file every few seconds): it needs no signals, works the
same in a container, and a bad edit keeps the last good state instead of taking the adapter
down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is rewritten or replaced; None while it is missing."""
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size, status.st_ino)


class FileReloader:
    """Calls `apply(path)` whenever the file's modification stamp changes."""

    def __init__(self, path: Path, apply: Callable[[Path], None], what: str) -> None:
        self._path = path
        self._apply = apply
        self._what = what
        self._stamp = self._read_stamp()

    def _read_stamp(self) -> tuple[int, int, int] | None:
        return file_stamp(self._path)

    def check(self) -> bool:
        """Reload if changed; True when a new version was applied."""
        stamp = self._read_stamp()
        if stamp == self._stamp or stamp is None:
            return False
        self._stamp = stamp
        try:
            self._apply(self._path)
        except Exception as exc:
            log.error("kept the previous %s: %s", self._what, exc)
            return False
        log.info("reloaded the %s from %s", self._what, self._path)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.check()
