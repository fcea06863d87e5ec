"""The console's log: a rotating file in the user log directory, and stderr on a terminal.

A console started from a desktop menu has no terminal, so without a file every
`log.exception(...)` in the console and its embedded adapter would be lost. The file rotates
at 1 MiB and keeps five old ones, so it never grows without bound. Our packages log from
INFO; third-party libraries only from WARNING, because httpx logs every request line at
INFO and uvicorn its start-up chatter. No code of ours logs a request body or a secret.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from console import paths

FILE_NAME = "console.log"
MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OUR_PACKAGES = ("console", "adapter_core")
FILE_HANDLER = "tv-adapter-console.file"
STDERR_HANDLER = "tv-adapter-console.stderr"

_log = logging.getLogger(__name__)


def log_dir() -> Path:
    """Where `console.log` is kept: the platform's user log directory, or DIR/logs under
    TV_ADAPTER_CONSOLE_HOME=DIR."""
    return paths.log_dir()


def _ours(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in OUR_PACKAGES)


def _wanted(record: logging.LogRecord) -> bool:
    """INFO and up from our packages, WARNING and up from everyone.

    A filter on the handlers rather than only logger levels: uvicorn sets its own loggers to
    INFO, and their records reach the root logger's handlers whatever the root's level is.
    """
    return record.levelno >= logging.WARNING or (
        record.levelno >= logging.INFO and _ours(record.name)
    )


def configure_logging() -> None:
    """Attach the log file (and stderr, when it is a terminal) to the root logger, once.

    When the log directory cannot be made or the file opened, records go to stderr instead,
    terminal or not, and one warning says why. Calling this again changes nothing.
    """
    root = logging.getLogger()
    if any(handler.get_name() in (FILE_HANDLER, STDERR_HANDLER) for handler in root.handlers):
        return
    handlers: list[logging.Handler] = []
    problem = None
    try:
        directory = paths.ensure_dir(log_dir())
        file_handler = logging.handlers.RotatingFileHandler(
            directory / FILE_NAME, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        problem = f"cannot keep a log file in {log_dir()} ({exc}); logging to stderr only"
    else:
        file_handler.set_name(FILE_HANDLER)
        handlers.append(file_handler)
    stream = sys.stderr  # None under pythonw (a Windows GUI script)
    if stream is not None and (problem is not None or stream.isatty()):
        stderr_handler = logging.StreamHandler(stream)
        stderr_handler.set_name(STDERR_HANDLER)
        handlers.append(stderr_handler)
    formatter = logging.Formatter(FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_wanted)
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for package in OUR_PACKAGES:
        logging.getLogger(package).setLevel(logging.INFO)
    if problem is not None:
        _log.warning(problem)
