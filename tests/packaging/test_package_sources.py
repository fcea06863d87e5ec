"""What `make package` is made from, checked without building: the desktop entry and metainfo
validate, the version comes from pyproject alone, the icons render, the bundle's rules hold."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from adapter_core import __version__
from tests.packaging.conftest import ROOT, Tool


def _metainfo(path: Path) -> ElementTree.Element:
    """Our own generated file, not untrusted input."""
    return ElementTree.parse(path).getroot()  # noqa: S314


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


@pytest.fixture
def linux_files(tool: Tool, tmp_path: Path) -> tuple[Path, Path]:
    project = tool("project").load()
    desktop, metainfo = tool("linux_files").write(project, tmp_path)
    return desktop, metainfo


def _validator(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: {package}; .ci/run installs it)")
    return path


def test_the_version_has_one_source(tool: Tool, linux_files: tuple[Path, Path]) -> None:
    version = _pyproject_version()
    assert __version__ == version
    assert tool("project").load().version == version
    release = _metainfo(linux_files[1]).find("releases/release")
    assert release is not None
    assert release.get("version") == version


def test_the_desktop_entry_validates(linux_files: tuple[Path, Path], tool: Tool) -> None:
    desktop = linux_files[0]
    result = subprocess.run(
        [_validator("desktop-file-validate", "desktop-file-utils"), str(desktop)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert not result.stdout.strip(), result.stdout
    entry = dict(line.split("=", 1) for line in desktop.read_text().splitlines() if "=" in line)
    app_id = tool("project").load().app_id
    assert desktop.name == f"{app_id}.desktop"
    assert entry["Icon"] == app_id
    assert entry["Exec"] == "tv-adapter-console"
    assert entry["StartupWMClass"] == tool("linux_files").WM_CLASS


def test_the_metainfo_validates_pedantically_without_a_single_hint(
    linux_files: tuple[Path, Path],
) -> None:
    result = subprocess.run(
        [
            _validator("appstreamcli", "appstream"),
            "validate",
            "--no-net",
            "--pedantic",
            "--explain",
            str(linux_files[1]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation was successful" in result.stdout
    assert not any(line[:2] in ("E:", "W:", "I:", "P:") for line in result.stdout.splitlines()), (
        result.stdout
    )


def test_every_screenshot_is_one_the_project_ships(
    linux_files: tuple[Path, Path], tool: Tool
) -> None:
    homepage = tool("project").load().homepage
    images = [image.text or "" for image in _metainfo(linux_files[1]).iter("image")]
    assert images
    for url in images:
        assert url.startswith(f"{homepage}/screenshots/"), url
        assert (ROOT / "resources" / "screenshots" / url.rsplit("/", 1)[1]).is_file(), url


def test_release_notes_are_required_for_the_version(
    tool: Tool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tool("project")
    settings = (ROOT / "packaging" / "package.toml").read_text()
    (tmp_path / "package.toml").write_text(settings.replace('version = "', 'version = "9', 1))
    monkeypatch.setattr(project, "PACKAGING", tmp_path)
    with pytest.raises(project.ProjectError, match="no release notes for version"):
        project.load()


def test_the_icons_render_at_every_hicolor_size(
    tool: Tool, tmp_path: Path, qapp: QApplication
) -> None:
    icons = tool("icons")
    written = icons.render(tmp_path, "org.example.app")
    for size in icons.SIZES:
        image = QImage(
            str(tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "org.example.app.png")
        )
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255
        assert image.pixelColor(0, 0).alpha() == 0, "the corners stay transparent"
    assert tmp_path / "hicolor" / "scalable" / "apps" / "org.example.app.svg" in written


@pytest.mark.parametrize(
    ("destination", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", True),
    ],
)
def test_only_the_desktop_qt_plugins_are_kept(tool: Tool, destination: str, kept: bool) -> None:
    assert tool("bundle_rules").wanted_qt_plugin(destination) is kept


def test_system_libraries_stay_out_but_python_itself_travels(tool: Tool) -> None:
    rules = tool("bundle_rules")
    system = "/usr/lib/x86_64-linux-gnu"
    assert rules.is_system_library(("libssl.so.3", f"{system}/libssl.so.3", "BINARY"))
    assert rules.is_system_library(("libX11.so.6", f"{system}/libX11.so.6", "BINARY"))
    assert not rules.is_system_library(
        ("libpython3.11.so.1.0", f"{system}/libpython3.11.so.1.0", "BINARY")
    )
    assert not rules.is_system_library(
        ("python3.11/lib-dynload/_ssl.so", "/usr/lib/python3.11/lib-dynload/_ssl.so", "EXTENSION")
    )
    assert not rules.is_system_library(
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/v/PySide6/Qt/lib/libQt6Gui.so.6", "BINARY")
    )


def test_qt_libraries_only_dropped_plugins_needed_go_with_them(tool: Tool) -> None:
    rules = tool("bundle_rules")
    entries = [
        ("PySide6/QtGui.abi3.so", "/w/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/w/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/w/libQt6Core.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", "/w/libEglFS.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6", "/w/libKms.so.6", "BINARY"),
        ("libQt6EglFsKmsSupport.so.6", "PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6", "SYMLINK"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
    ]
    needs = {
        "/w/QtGui.abi3.so": ["libQt6Gui.so.6"],
        "/w/libQt6Gui.so.6": ["libQt6Core.so.6"],
        "/w/libEglFS.so.6": ["libQt6EglFsKmsSupport.so.6", "libQt6Gui.so.6"],
    }
    kept = rules.without_orphans(entries, lambda source: needs.get(source, []))
    present = {entry[0] for entry in kept if entry[2] != "SYMLINK"}
    kept = rules.without_dangling_links(kept, present)
    assert [entry[0] for entry in kept] == [
        "PySide6/QtGui.abi3.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "libQt6Gui.so.6",
    ]


def test_only_the_modules_the_console_imports_are_kept(tool: Tool) -> None:
    excluded = tool("bundle_rules").excluded_qt_modules(
        ["QtCore", "QtGui", "QtWidgets", "QtSvg", "QtOpenGL", "QtOpenGLWidgets", "QtQml", "QtTest"]
    )
    assert excluded == ["PySide6.QtQml", "PySide6.QtTest"]
