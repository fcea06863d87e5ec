"""packaging/check-system-libraries.sh, which `make run` runs before the console.

A missing library is simulated with a stand-in `ldd` first on PATH that prints what ldd prints
on such a machine; the table itself is checked against `dpkg -S` on this one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

SCRIPT = Path(__file__).parents[2] / "packaging" / "check-system-libraries.sh"
BASE_PACKAGES = {
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "zlib1g",
    "libzstd1",
    "liblz4-1",
    "liblzma5",
    "libsystemd0",
    "libcap2",
    "libgcrypt20",
    "libgpg-error0",
    "libmd0",
    "libpcre2-8-0",
}
"""In every Debian base system (dependencies of apt and the Essential packages)."""

LDD_XCB_PLUGIN = """\
\tlinux-vdso.so.1 (0x00007ffd5a1f0000)
\tlibQt6XcbQpa.so.6 => {qt}/libQt6XcbQpa.so.6 (0x00007f0a1c000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f0a1bf00000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f0a1be00000)
\tlibxcb-keysyms.so.1 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0a1ba00000)
"""


def run_check(tmp_path: Path, ldd_output: str | None) -> subprocess.CompletedProcess[str]:
    """The script with this venv's python; `ldd_output` is what a stand-in ldd prints for
    every file (None: the real ldd)."""
    env = dict(os.environ)
    if ldd_output is not None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "ldd.out").write_text(ldd_output)
        fake = bin_dir / "ldd"
        fake.write_text(f'#!/bin/sh\ncat "{bin_dir / "ldd.out"}"\n')
        fake.chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", str(SCRIPT), sys.executable],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def script_table() -> dict[str, str]:
    return dict(re.findall(r"^\s+\[([^\]]+)\]=(\S+)$", SCRIPT.read_text(), re.MULTILINE))


def test_missing_libraries_are_named_as_one_apt_get_line(tmp_path: Path) -> None:
    result = run_check(tmp_path, LDD_XCB_PLUGIN)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "make: the console needs these system libraries: "
        "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n"
    )


def test_a_library_missing_from_several_files_is_named_once(tmp_path: Path) -> None:
    output = "\tlibxkbcommon.so.0 => not found\n\tlibgthread-2.0.so.0 => not found\n"
    output += "\tlibglib-2.0.so.0 => not found\n"
    result = run_check(tmp_path, output)
    assert result.returncode == 1
    assert result.stderr.endswith("sudo apt-get install libglib2.0-0 libxkbcommon0\n")


def test_a_library_the_table_does_not_know_is_still_named(tmp_path: Path) -> None:
    output = "\tlibxcb-icccm.so.4 => not found\n\tlibfuture-qt-dep.so.3 => not found\n"
    result = run_check(tmp_path, output)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith("sudo apt-get install libxcb-icccm4")
    assert "libfuture-qt-dep.so.3" in lines[1]


def test_nothing_missing_passes_silently(tmp_path: Path) -> None:
    result = run_check(tmp_path, LDD_XCB_PLUGIN.replace("not found", "/lib/x.so (0x1)"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd here (not Linux)")
def test_this_machine_has_every_library_so_the_check_is_silent(tmp_path: Path) -> None:
    result = run_check(tmp_path, None)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.skipif(
    shutil.which("ldd") is None or shutil.which("dpkg") is None,
    reason="needs ldd and dpkg (Debian or Ubuntu)",
)
def test_the_table_names_the_package_dpkg_names_for_every_library_qt_uses() -> None:
    """Every system library the checked files resolve to, outside a base system, is in the
    table with the package that holds it here: a new PySide6 needing a new library, or a typo
    in a package name, fails this."""
    checked = re.search(r"^checked=\((.*?)^\)", SCRIPT.read_text(), re.MULTILINE | re.DOTALL)
    assert checked is not None
    pyside = Path(PySide6.__file__).parent
    resolved: dict[str, str] = {}
    for name in checked.group(1).split():
        output = subprocess.run(
            ["ldd", str(pyside / name)], capture_output=True, text=True, check=True
        ).stdout
        for soname, path in re.findall(r"^\s+(\S+) => (/\S+)", output, re.MULTILINE):
            if not Path(path).resolve().is_relative_to(pyside.parent):
                resolved[soname] = path
    assert resolved
    owners = _dpkg_owners({Path(path) for path in resolved.values()})
    expected = {
        soname: owners[Path(path)]
        for soname, path in resolved.items()
        if owners[Path(path)] not in BASE_PACKAGES
    }
    assert script_table() == expected


def _dpkg_owners(paths: set[Path]) -> dict[Path, str]:
    """The package holding each path, whichever of /lib and /usr/lib (merged) dpkg knows it
    by; one `dpkg -S` for all, as each call reads the whole database."""
    candidates: dict[Path, Path] = {}
    for path in paths:
        for known in (path, path.resolve()):
            candidates[known] = path
            if known.is_relative_to("/usr"):
                candidates[Path("/") / known.relative_to("/usr")] = path
            else:
                candidates[Path("/usr") / known.relative_to("/")] = path
    output = subprocess.run(
        ["dpkg", "-S", *map(str, candidates)], capture_output=True, text=True, check=False
    ).stdout
    owners: dict[Path, str] = {}
    for line in output.splitlines():
        package, _, found = line.partition(": ")
        owners[candidates[Path(found)]] = package.split(":", 1)[0]
    assert set(owners) == paths, f"no package holds {paths - set(owners)}"
    return owners
