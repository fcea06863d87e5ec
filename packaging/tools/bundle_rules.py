"""What the PyInstaller spec leaves out of the bundle, and why; plain data and filters.

Kept apart from the spec (which PyInstaller executes with its own globals) so that it is linted
and type-checked like the rest of the project. Entries are PyInstaller's TOC tuples:
(destination in the bundle, source path, type code).

Three kinds of things are left out:

- Qt that the console never loads: every PySide6 module but those in QT_MODULES_USED
  (pyqtgraph tries QtTest and does without it), the plugins of platforms other
  than a desktop's (eglfs, linuxfb, vnc...), SQL drivers, QML tooling, image formats other
  than SVG (PNG is built into QtGui), and Qt's translations (the console is in English). The
  Qt libraries only those pieces needed go with them.
- The system's own shared libraries (libc, libX11, libfontconfig, libssl...): on Linux they
  come from the distribution, where they get its security updates and match its
  configuration files; the .deb declares them in `Depends` (packaging/tools/deb.py).
- Development tools that happen to be installed next to the program (pytest, hypothesis...),
  and optional parts of libraries that the adapter never uses (EXCLUDED_PYTHON_MODULES).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import PurePath

TocEntry = tuple[str, str, str]

PYQTGRAPH_QT_MODULES = ("QtOpenGL", "QtOpenGLWidgets")
"""What pyqtgraph imports unguarded, by names built at run time (graphicsItems/PColorMeshItem.py,
Qt/OpenGLHelpers.py), when the latency chart first loads it: invisible to PyInstaller."""
QT_MODULES_USED = frozenset({"QtCore", "QtGui", "QtWidgets", "QtSvg", *PYQTGRAPH_QT_MODULES})
"""The PySide6 modules the console imports (console/**/*.py), and pyqtgraph's."""

HIDDEN_IMPORTS = ("adapter_core.http_protocol", "uvloop", "httptools")
"""Imported by names PyInstaller cannot see: uvicorn's protocol (the adapter's own subclass,
named in its config), its loop and its HTTP parser, chosen at run time. The GUI adds
PYQTGRAPH_QT_MODULES."""

EXCLUDED_PYTHON_MODULES = (
    "tkinter",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "schemathesis",
    "mypy",
    "IPython",
    "matplotlib",
    "scipy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "OpenGL",
    "pyqtgraph.examples",
    "pyqtgraph.opengl",
    "pyqtgraph.jupyter",
    # httpx's command line (rich, pygments), uvicorn's YAML log configuration and file-watching
    # reloader, and a WSGI toolkit some hook drags in: none runs inside the adapter.
    "rich",
    "pygments",
    "markdown_it",
    "yaml",
    "watchfiles",
    "werkzeug",
    "jinja2",
    "uvloop._testbase",
)

ALL = re.compile(r".*")
KEPT_QT_PLUGINS: dict[str, re.Pattern[str]] = {
    "platforms": re.compile(r"q(xcb|wayland(-.*)?|offscreen|minimal|windows|cocoa)"),
    "platformthemes": re.compile(r"qxdgdesktopportal"),
    "platforminputcontexts": re.compile(r"(compose|ibus)platforminputcontextplugin"),
    "iconengines": re.compile(r"qsvgicon"),
    "imageformats": re.compile(r"qsvg"),
    "xcbglintegrations": ALL,
    "wayland-decoration-client": ALL,
    "wayland-graphics-integration-client": ALL,
    "wayland-shell-integration": ALL,
}
"""Plugin directory -> the plugins kept (file names without `lib` and the extension); a
directory not listed is left out whole. `styles` is among those: the console sets Fusion."""

SYSTEM_LIBRARY_DIRS = frozenset(
    {
        "/lib",
        "/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    }
)


def excluded_qt_modules(available: Iterable[str]) -> list[str]:
    """`PySide6.X` for every module X of the installed wheel the console does not import."""
    return sorted(f"PySide6.{name}" for name in set(available) - QT_MODULES_USED)


def _plugin_name(file_name: str) -> str:
    stem = file_name.split(".", 1)[0]
    return stem.removeprefix("lib")


def _qt_plugin(destination: str) -> tuple[str, str] | None:
    """(plugin directory, plugin name) if `destination` is a Qt plugin, else None."""
    parts = PurePath(destination).parts
    if "plugins" not in parts or "PySide6" not in parts:
        return None
    index = parts.index("plugins")
    if len(parts) != index + 3:
        return None
    return parts[index + 1], _plugin_name(parts[index + 2])


def wanted_qt_plugin(destination: str) -> bool:
    plugin = _qt_plugin(destination)
    if plugin is None:
        return True
    kept = KEPT_QT_PLUGINS.get(plugin[0])
    return kept is not None and kept.fullmatch(plugin[1]) is not None


def is_system_library(entry: TocEntry) -> bool:
    """A shared library from the distribution's library directories, except Python's own.

    libpython always travels with the bundle: it is the interpreter, and Debian's python3.11
    package does not even ship it as a shared library.
    """
    destination, source, kind = entry
    if kind != "BINARY" or PurePath(destination).name.startswith("libpython"):
        return False
    return str(PurePath(source).parent) in SYSTEM_LIBRARY_DIRS


def is_qt_translation(entry: TocEntry) -> bool:
    parts = PurePath(entry[0]).parts
    return "PySide6" in parts and "translations" in parts


def _is_qt_library(entry: TocEntry) -> bool:
    """A shared library of the PySide6 wheel (Qt's, ICU's, pyside's), loaded only as a
    dependency: plugins and extension modules are loaded by name, so they never are."""
    destination, _, kind = entry
    return kind == "BINARY" and destination.startswith("PySide6") and not _qt_plugin(destination)


def without_orphans(
    binaries: list[TocEntry], needed_by: Callable[[str], Iterable[str]]
) -> list[TocEntry]:
    """Drop the Qt libraries that nothing left in `binaries` needs, until none is dropped.

    `needed_by(source)` names the libraries a file links against (its ELF NEEDED entries).
    Only the wheel's libraries are candidates (see `_is_qt_library`). Linux only: elsewhere
    the bundle keeps whatever PyInstaller collected.
    """
    files = [entry for entry in binaries if entry[2] != "SYMLINK"]
    needed = {entry[1]: {PurePath(name).name for name in needed_by(entry[1])} for entry in files}
    kept = files
    while True:
        wanted = set().union(*(needed[entry[1]] for entry in kept))
        remaining = [
            entry
            for entry in kept
            if not _is_qt_library(entry) or PurePath(entry[0]).name in wanted
        ]
        if len(remaining) == len(kept):
            break
        kept = remaining
    links = [entry for entry in binaries if entry[2] == "SYMLINK"]
    return kept + links


def without_dangling_links(entries: list[TocEntry], present: set[str]) -> list[TocEntry]:
    """`entries` less the symbolic links (PyInstaller's SYMLINK entries: destination, target
    relative to the link) whose target is not among the `present` destinations."""

    def target(entry: TocEntry) -> str:
        return posixpath.normpath(posixpath.join(posixpath.dirname(entry[0]), entry[1]))

    return [entry for entry in entries if entry[2] != "SYMLINK" or target(entry) in present]
