"""`tv-adapter-console` as a newcomer runs it: --version, and --screenshot offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from adapter_core import __version__

CONSOLE = Path(sys.executable).parent / "tv-adapter-console"


def run_console(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "TV_ADAPTER_CONSOLE_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    return subprocess.run(
        [str(CONSOLE), *args], capture_output=True, text=True, timeout=90, env=env
    )


def test_version(console_home: Path) -> None:
    result = run_console("--version", home=console_home)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tv-adapter-console {__version__}"


@pytest.mark.parametrize("page", ["tokens", "logout", "activity"])
def test_screenshot_renders_the_page_with_the_embedded_adapter_up(
    console_home: Path, tmp_path: Path, page: str
) -> None:
    picture = tmp_path / f"{page}.png"
    result = run_console("--screenshot", str(picture), "--page", page, home=console_home)
    assert result.returncode == 0, result.stderr
    image = QImage(str(picture))
    assert not image.isNull()
    assert image.width() >= 800
    assert image.height() >= 500


def test_a_bad_page_is_refused_by_name(console_home: Path) -> None:
    result = run_console("--screenshot", "x.png", "--page", "sessionz", home=console_home)
    assert result.returncode == 2
    assert "sessionz" in result.stderr
