"""The .deb (after `make package`; see conftest): its control fields, a lintian-like look at its
contents, Depends as read off the bundle, and, as root, a real install, run and removal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT, Tool

PACKAGE = "tv-adapter-console"
INSTALL_DIR = "/opt/tv-adapter-console"
ALLOWED = (
    "./opt/tv-adapter-console/",
    "./usr/bin/",
    "./usr/share/applications/",
    "./usr/share/icons/hicolor/",
    "./usr/share/metainfo/",
    "./usr/share/doc/tv-adapter-console/",
)
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _app_id(tool: Tool) -> str:
    app_id: str = tool("project").load().app_id
    return app_id


def _control(deb: Path) -> dict[str, str]:
    text = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def _contents(deb: Path) -> list[list[str]]:
    """`dpkg-deb --contents` rows: mode, owner/group, size, date, time, path[, ->, target]."""
    text = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    return [line.split() for line in text.splitlines()]


def test_the_control_fields(deb: Path, report: dict[str, object]) -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    fields = _control(deb)
    assert fields["Package"] == PACKAGE
    assert fields["Version"] == version
    architecture = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fields["Architecture"] == architecture
    assert fields["Depends"] == report["depends"]
    assert re.fullmatch(r".+ <[^@\s]+@[^@\s]+>", fields["Maintainer"])
    assert int(fields["Installed-Size"]) > 50_000
    assert deb.name == f"{PACKAGE}_{version}_{fields['Architecture']}.deb"


def test_depends_names_installed_packages_with_libc_versioned(deb: Path) -> None:
    depends = [entry.strip() for entry in _control(deb)["Depends"].split(",")]
    names = [entry.split(" ", 1)[0] for entry in depends]
    assert names == sorted(names)
    assert re.fullmatch(r"libc6 \(>= 2\.\d+\)", depends[names.index("libc6")])
    for expected in ("libfontconfig1", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"):
        assert expected in names, f"{expected}: the xcb platform plugin needs it"
    for name in names:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        ).stdout
        assert status == "install ok installed", f"{name} came from nowhere: {status}"


def test_the_contents_are_where_debian_wants_them(deb: Path, tool: Tool) -> None:
    app_id = _app_id(tool)
    rows = _contents(deb)
    paths = {row[5] for row in rows}
    for row in rows:
        mode, owner, path = row[0], row[1], row[5]
        assert owner == "root/root", row
        assert path == "./" or any(
            path.startswith(prefix) or prefix.startswith(path) for prefix in ALLOWED
        ), path
        assert mode.startswith("l") or mode[8] != "w", f"{path} is world-writable"
        if mode.startswith("d"):
            assert mode == "drwxr-xr-x", row
        elif mode.startswith("-") and ".so" in path.rsplit("/", 1)[-1]:
            assert mode == "-rw-r--r--", f"{path}: shared libraries are not executable"
    for program in ("tv-adapter-console", "tv-adapter"):
        assert f".{INSTALL_DIR}/{program}" in paths
        [link] = [row for row in rows if row[5] == f"./usr/bin/{program}"]
        assert link[0].startswith("l"), link
        assert link[-1] == f"{INSTALL_DIR}/{program}", link
    assert f"./usr/share/applications/{app_id}.desktop" in paths
    assert f"./usr/share/metainfo/{app_id}.metainfo.xml" in paths
    assert f"./usr/share/icons/hicolor/scalable/apps/{app_id}.svg" in paths
    for size in SIZES:
        assert f"./usr/share/icons/hicolor/{size}x{size}/apps/{app_id}.png" in paths
    assert f"./usr/share/doc/{PACKAGE}/copyright" in paths


def _installed() -> bool:
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True
    ).stdout
    return "installed" in status


@pytest.mark.skipif(os.geteuid() != 0, reason="installing a .deb needs root (CI runs as root)")
def test_it_installs_runs_from_the_menus_command_and_removes_cleanly(
    deb: Path, tool: Tool, tmp_path: Path
) -> None:
    if _installed():
        pytest.skip(f"{PACKAGE} is installed on this machine already; left alone")
    app_id = _app_id(tool)
    install = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True)
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        assert Path(f"/usr/share/applications/{app_id}.desktop").is_file()
        command = shutil.which("tv-adapter-console", path="/usr/bin")
        assert command == "/usr/bin/tv-adapter-console"
        result = subprocess.run(
            [command, "--self-test"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        served = subprocess.run(
            ["/usr/bin/tv-adapter", "--version"], capture_output=True, text=True, timeout=60
        )
        assert served.returncode == 0, served.stderr
    finally:
        removal = subprocess.run(["dpkg", "-r", PACKAGE], capture_output=True, text=True)
    assert removal.returncode == 0, removal.stdout + removal.stderr
    assert not _installed()
    for gone in (
        INSTALL_DIR,
        "/usr/bin/tv-adapter-console",
        "/usr/bin/tv-adapter",
        f"/usr/share/applications/{app_id}.desktop",
        f"/usr/share/metainfo/{app_id}.metainfo.xml",
        f"/usr/share/icons/hicolor/256x256/apps/{app_id}.png",
    ):
        assert not os.path.lexists(gone), f"{gone} is left after dpkg -r"
