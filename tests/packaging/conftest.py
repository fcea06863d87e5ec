"""Packaging tests: those on the built bundle and .deb run only under `make check-package`.

Building takes minutes, so `make test` does not build; tests that need dist/ skip there,
saying so. `make check-package` (run by .ci/run right after `make package`) sets
TV_PACKAGE_DIST, and then a missing bundle or .deb fails instead of skipping.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "packaging" / "tools"
DIST_ENV = "TV_PACKAGE_DIST"


@pytest.fixture(scope="session")
def dist() -> Path:
    """The dist/ folder `make package` filled; skips under `make test`."""
    value = os.environ.get(DIST_ENV)
    if not value:
        pytest.skip(f"checks the built package: `make check-package` runs it ({DIST_ENV} unset)")
    path = (ROOT / value).resolve()
    assert (path / "tv-adapter-console" / "tv-adapter-console").is_file(), f"no bundle in {path}"
    return path


@pytest.fixture(scope="session")
def bundle(dist: Path) -> Path:
    return dist / "tv-adapter-console"


@pytest.fixture(scope="session")
def report(dist: Path) -> dict[str, object]:
    """What packaging/tools/build.py recorded about the build (sizes, Depends)."""
    data: dict[str, object] = json.loads((ROOT / "build" / "package" / "report.json").read_text())
    return data


@pytest.fixture(scope="session")
def deb(dist: Path, report: dict[str, object]) -> Path:
    path = dist / str(report["deb"])
    assert path.is_file(), f"{path} is missing"
    return path


Tool = Callable[[str], ModuleType]


@pytest.fixture
def tool() -> Iterator[Tool]:
    """`tool("deb")`: a module of packaging/tools (they import one another by bare names, so
    their folder is on sys.path for the test)."""
    sys.path.insert(0, str(TOOLS))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(TOOLS))
