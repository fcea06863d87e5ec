"""The Debian package: the bundle under /opt, its commands, menu entry, icons and metainfo.

`Depends` is read off the bundle, not written by hand: every ELF file's own NEEDED libraries
(objdump) that the bundle does not hold are located as the dynamic linker would (ldd) and
mapped to the package that installed them (`dpkg -S`). libc6 also gets the lowest version
that has every GLIBC_x.y symbol version the files ask for. A library this machine lacks stops
the build: the package could not say what to depend on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from project import ADAPTER_EXECUTABLE, BUNDLE_NAME, INSTALL_DIR, Project

ELF_MAGIC = b"\x7fELF"
_NEEDED = re.compile(r"^\s*NEEDED\s+(\S+)$", re.MULTILINE)
_LDD = re.compile(r"^\s*(?:(\S+) => )?(.+?)(?: \(0x[0-9a-f]+\))?$", re.MULTILINE)
"""`libX.so.1 => /path/libX.so.1 (0x...)`, `libX.so.1 => not found`, or, for the dynamic
linker itself, `/lib64/ld-linux-x86-64.so.2 (0x...)`."""
_GLIBC = re.compile(r"\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?\b")
_LIB_DIRS = ("/usr/lib/", "/lib/")


class DebError(Exception):
    """The package cannot be built as it should be; the message says why."""


@dataclass(frozen=True, slots=True)
class Dependencies:
    packages: dict[str, set[str]]
    """Debian package -> the libraries of it that the bundle needs."""
    glibc: tuple[int, ...]

    def field(self) -> str:
        """The `Depends` value, sorted by package name."""
        versions = {"libc6": f" (>= {'.'.join(map(str, self.glibc))})"} if self.glibc else {}
        return ", ".join(f"{name}{versions.get(name, '')}" for name in sorted(self.packages))


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def elf_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                if file.read(4) == ELF_MAGIC:
                    found.append(path)
    return found


def _needed(path: Path) -> list[str]:
    result = _run("objdump", "-p", str(path))
    if result.returncode != 0:
        raise DebError(f"objdump cannot read {path}: {result.stderr.strip()}")
    return _NEEDED.findall(result.stdout)


def _located(path: Path) -> dict[str, str]:
    """What ldd says each library `path` loads resolves to ("not found" when it does not)."""
    environment = {key: value for key, value in os.environ.items() if key != "LD_LIBRARY_PATH"}
    result = subprocess.run(
        ["ldd", str(path)], capture_output=True, text=True, check=False, env=environment
    )
    return {name or Path(path).name: path for name, path in _LDD.findall(result.stdout)}


def _glibc_versions(path: Path) -> set[tuple[int, ...]]:
    result = _run("objdump", "-T", str(path))
    return {tuple(int(part) for part in match if part) for match in _GLIBC.findall(result.stdout)}


def _spellings(path: str) -> list[str]:
    """`path`, its real path, and each with /lib and /usr/lib swapped (merged /usr)."""
    candidates = []
    for candidate in (path, os.path.realpath(path)):
        candidates.append(candidate)
        for first, second in (_LIB_DIRS, reversed(_LIB_DIRS)):
            if candidate.startswith(first):
                candidates.append(second + candidate.removeprefix(first))
    return list(dict.fromkeys(candidates))


def owner(path: str) -> str:
    """The Debian package that installed the library at `path`."""
    for candidate in _spellings(path):
        result = _run("dpkg", "-S", candidate)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    raise DebError(f"no Debian package owns {path}: dpkg -S found none of {_spellings(path)}")


def dependencies(bundle: Path) -> Dependencies:
    """The system packages whose libraries the bundle's ELF files load directly."""
    bundled = {path.name for path in bundle.rglob("*")}
    packages: dict[str, set[str]] = {}
    owners: dict[str, str] = {}
    glibc: set[tuple[int, ...]] = set()
    for elf in elf_files(bundle):
        glibc |= _glibc_versions(elf)
        outside = [name for name in _needed(elf) if name not in bundled]
        if not outside:
            continue
        located = _located(elf)
        for name in outside:
            path = located.get(name, "not found")
            if path == "not found":
                raise DebError(
                    f"{elf.relative_to(bundle)} needs {name}, which this machine does not have; "
                    "install the package that provides it and build again"
                )
            if path not in owners:
                owners[path] = owner(path)
            packages.setdefault(owners[path], set()).add(name)
    return Dependencies(packages, max(glibc) if glibc else ())


def _normalise_modes(root: Path, executables: Iterable[Path]) -> None:
    """0755 for directories and the two programs, 0644 for everything else (shared libraries
    included: dlopen needs no execute bit)."""
    programs = set(executables)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        path.chmod(0o755 if path.is_dir() or path in programs else 0o644)
    root.chmod(0o755)


def _control(project: Project, architecture: str, depends: str, size_kib: int) -> str:
    summary = project.summary.rstrip(".")
    return (
        f"Package: {BUNDLE_NAME}\n"
        f"Version: {project.version}\n"
        f"Architecture: {architecture}\n"
        f"Maintainer: {project.maintainer}\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {depends}\n"
        "Section: misc\n"
        "Priority: optional\n"
        f"Homepage: {project.homepage}\n"
        f"Description: {summary}\n"
        " A desktop console for broker operators who connect cTrader accounts to\n"
        " TradingView: mint and log out TradingView tokens, watch live trader sessions\n"
        " and verify an adapter, with every bearer secret in the system keyring.\n"
        " .\n"
        " It bundles its own Python and Qt under /opt/tv-adapter-console, and installs\n"
        " tv-adapter, the same adapter as a headless HTTP server.\n"
    )


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tv-adapter-console
Comment: /opt/tv-adapter-console bundles Python, Qt for Python (PySide6, LGPL-3.0) and the
 Python packages the program uses, each under its own licence; the licence files that ship
 with them are kept in /opt/tv-adapter-console/_internal.

Files: *
Copyright: the TradingView Adapter Console maintainers
License: proprietary
 All rights reserved.
"""


def build(
    project: Project, bundle: Path, icons: Path, linux: Path, stage: Path, out: Path
) -> tuple[Path, Dependencies]:
    """Lay out the package's tree in `stage` and build it into `out`: the .deb, its Depends."""
    deps = dependencies(bundle)
    if stage.exists():
        shutil.rmtree(stage)
    install = stage / INSTALL_DIR.lstrip("/")
    shutil.copytree(bundle, install, symlinks=True)
    share = stage / "usr" / "share"
    shutil.copytree(icons / "hicolor", share / "icons" / "hicolor")
    (share / "applications").mkdir(parents=True)
    shutil.copy(linux / f"{project.app_id}.desktop", share / "applications")
    (share / "metainfo").mkdir(parents=True)
    shutil.copy(linux / f"{project.app_id}.metainfo.xml", share / "metainfo")
    doc = share / "doc" / BUNDLE_NAME
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")
    programs = [install / BUNDLE_NAME, install / ADAPTER_EXECUTABLE]
    _normalise_modes(stage, programs)
    commands = stage / "usr" / "bin"
    commands.mkdir(parents=True)
    for program in programs:
        (commands / program.name).symlink_to(f"{INSTALL_DIR}/{program.name}")
    size_kib = sum(
        (path.lstat().st_size + 1023) // 1024 for path in stage.rglob("*") if not path.is_dir()
    )
    architecture = _run("dpkg", "--print-architecture").stdout.strip()
    control = stage / "DEBIAN"
    control.mkdir(mode=0o755)
    (control / "control").write_text(
        _control(project, architecture, deps.field(), size_kib), encoding="utf-8"
    )
    (control / "control").chmod(0o644)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{BUNDLE_NAME}_{project.version}_{architecture}.deb"
    result = _run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb))
    if result.returncode != 0:
        raise DebError(f"dpkg-deb failed: {result.stderr.strip()}")
    return deb, deps
