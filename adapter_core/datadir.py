"""The adapter's data directory: private files written atomically, one adapter at a time.

Keys and secrets live here in headless mode, so files are created 0600 from the start (never
chmod-ed after being written) and replaced by rename, so a crash leaves the old or the new
file, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "tv-adapter"
KEYS_FILE = "token-keys.json"
SECRET_FILE = "broker-secret"  # noqa: S105 (a file name)
STORE_FILE = "adapter.sqlite3"
LOCK_FILE = "adapter.lock"

log = logging.getLogger(__name__)


class DataDirError(RuntimeError):
    """The data directory cannot be used; the message is meant for the operator."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """The directory, created 0700; an existing one that others may read is tightened to 0700
    (it holds the token store and keys), and the log says so at the default level."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o700)
            log.info("tightened the data directory %s from %04o to 0700", path, mode)
    except OSError as exc:
        raise DataDirError(f"cannot create the data directory {path}: {exc.strerror}") from exc
    return path


def write_private_file(path: Path, content: bytes) -> None:
    """Replace `path` atomically with `content`, readable by the owner only."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def create_private_file(path: Path, content: bytes) -> bool:
    """Write `path` only if it does not exist yet; True if this call created it."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return True


class DataDirLock:
    """A lock so two adapters never share one revocation list unknowingly.

    An adapter on the SQLite store holds it exclusively; adapters sharing a Redis store hold
    it shared, so any number of them may use one data directory (its keys and secret), but
    never together with one whose revocations live in the directory's SQLite file.
    flock is released by the kernel when the process dies, even by `kill -9`.
    """

    def __init__(self, data_dir: Path, *, shared: bool = False) -> None:
        self._path = data_dir / LOCK_FILE
        self._shared = shared
        self._descriptor: int | None = None

    def acquire(self) -> None:
        descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(
                descriptor, (fcntl.LOCK_SH if self._shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
            )
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip()
            os.close(descriptor)
            who = (
                f"another adapter (pid {holder}) is"
                if holder
                else "adapters sharing a Redis store are"
            )
            raise DataDirError(f"{who} using the data directory {self._path.parent}") from None
        if not self._shared:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, str(os.getpid()).encode())
        self._descriptor = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
