"""Where the console keeps its files: the platform's config, data and log directories.

TV_ADAPTER_CONSOLE_HOME moves all three under one directory (tests, portable installs), so a test
can scan every file the console wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "tv-adapter-console"
HOME_ENV = "TV_ADAPTER_CONSOLE_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value) if value else None


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME))


def ensure_dir(path: Path) -> Path:
    """Create a private directory (0700) if needed."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
