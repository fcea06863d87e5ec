"""What every packaging step must agree on: the version, the component id, the paths.

The version has one home, pyproject's `[project] version`. At run time the program reads it
from the installed distribution's metadata (`adapter_core.__version__`), and the bundle carries
that metadata, so the build reads it the same way and refuses to go on when it differs from
pyproject.toml (an editable install made before the version changed would otherwise ship the
old number inside a package named with the new one).
"""

from __future__ import annotations

import importlib.metadata
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
BUILD = ROOT / "build" / "package"
"""Everything the build writes besides dist/: icons, generated files, the .deb's tree."""
DISTRIBUTION = "tv-adapter-console"
BUNDLE_NAME = "tv-adapter-console"
"""The folder under dist/, the GUI executable in it, and the Debian package's name."""
ADAPTER_EXECUTABLE = "tv-adapter"
INSTALL_DIR = "/opt/tv-adapter-console"


class ProjectError(Exception):
    """The project's metadata disagrees with itself; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    date: str
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    version: str
    summary: str
    homepage: str
    maintainer: str
    releases: tuple[Release, ...]

    @property
    def app_id(self) -> str:
        """The reverse-DNS component id: the desktop entry's, the icon's and the metainfo's."""
        host = urllib.parse.urlsplit(self.homepage).hostname or ""
        return ".".join(reversed(host.split("."))).replace("-", "_")


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        table: dict[str, object] = tomllib.load(file)["project"]
    return table


def load() -> Project:
    """The project as the package describes it; `ProjectError` when the parts disagree."""
    pyproject = _pyproject()
    declared = str(pyproject["version"])
    try:
        installed = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ProjectError(
            f"{DISTRIBUTION} is not installed in this environment; run `make package`"
        ) from None
    if installed != declared:
        raise ProjectError(
            f"pyproject.toml says version {declared}, but the installed metadata says "
            f"{installed}; reinstall (`pip install -e .`) so both agree"
        )
    with (PACKAGING / "package.toml").open("rb") as file:
        settings = tomllib.load(file)
    releases = tuple(
        Release(str(entry["version"]), str(entry["date"]), tuple(entry["notes"]))
        for entry in settings["release"]
    )
    if not releases or releases[0].version != declared:
        raise ProjectError(
            f"packaging/package.toml has no release notes for version {declared}: add a "
            "[[release]] entry at the top"
        )
    publisher = settings["publisher"]
    return Project(
        name=str(pyproject["name"]),
        version=declared,
        summary=str(pyproject["description"]),
        homepage=str(publisher["homepage"]).rstrip("/"),
        maintainer=str(publisher["maintainer"]),
        releases=releases,
    )
