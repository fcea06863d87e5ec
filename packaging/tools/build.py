"""`make package`: the bundle, the Linux desktop files and the .deb, with what they measure.

    .venv/bin/python packaging/tools/build.py [--no-baseline]

Writes dist/tv-adapter-console/ (the onedir bundle: tv-adapter-console and tv-adapter; on
Windows and macOS that, and the macOS .app, is all it builds),
dist/tv-adapter-console_VERSION_ARCH.deb, dist/screenshots/ (the metainfo's screenshots, for
whoever publishes the package to upload to the homepage), and build/package/report.json (sizes,
build time, Depends), which tests/benchmarks/package.py turns into benchmark figures.

Unless --no-baseline is given, the bundle is also built a second time keeping every Qt piece
PyInstaller collects by default (into build/package/keep-qt/), so the report says what the Qt
exclusions save, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import deb
import icons
import linux_files
from project import BUILD, BUNDLE_NAME, DIST, PACKAGING, ROOT, ProjectError, load

SPEC = PACKAGING / "pyinstaller" / "tv-adapter-console.spec"
REPORT = BUILD / "report.json"
MB = 1_000_000


def size_of(path: Path) -> int:
    """Bytes in the files under `path` (or of the file), symbolic links not followed."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.lstat().st_size for item in path.rglob("*") if not item.is_dir())


def strip_debug_info(bundle: Path) -> None:
    """Remove the debugging sections from the ELF files that carry them.

    They are most of uvloop's and of a pyenv-built libpython's size. PyInstaller's own
    `strip=True` strips every binary instead, and numpy's OpenBLAS (patched by auditwheel)
    then no longer loads: "ELF load command address/offset not page-aligned". Files without
    debugging sections are not touched at all.
    """
    for elf in deb.elf_files(bundle):
        sections = subprocess.run(
            ["readelf", "-S", "-W", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        if ".debug_info" in sections:
            subprocess.run(["strip", "--strip-debug", str(elf)], check=True)


def pyinstaller(dist: Path, work: Path, *, keep_qt: bool) -> float:
    """Run the spec and strip debugging sections (on Linux); the seconds it took."""
    environment = {**os.environ, "TV_PACKAGE_KEEP_QT": "1" if keep_qt else "0"}
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    command += ["--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT, env=environment)
    if sys.platform.startswith("linux"):
        strip_debug_info(dist / BUNDLE_NAME)
    return time.monotonic() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="packaging/tools/build.py")
    parser.add_argument("--no-baseline", action="store_true", help="skip the keep-Qt build")
    args = parser.parse_args(argv)
    try:
        project = load()
    except ProjectError as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 2
    print(f"make package: {project.name} {project.version} ({project.app_id})", flush=True)
    icon_dir = BUILD / "icons"
    icons.render(icon_dir, project.app_id)
    build_seconds = pyinstaller(DIST, BUILD / "pyinstaller", keep_qt=False)
    bundle = DIST / BUNDLE_NAME
    report: dict[str, object] = {
        "version": project.version,
        "app_id": project.app_id,
        "build_seconds": round(build_seconds, 1),
        "bundle_bytes": size_of(bundle),
    }
    kept_qt_bytes = None
    if not args.no_baseline:
        keep = BUILD / "keep-qt"
        seconds = pyinstaller(keep / "dist", keep / "work", keep_qt=True)
        kept_qt_bytes = size_of(keep / "dist" / BUNDLE_NAME)
        report |= {
            "keep_qt_build_seconds": round(seconds, 1),
            "keep_qt_bundle_bytes": kept_qt_bytes,
        }
    if not sys.platform.startswith("linux"):  # the .deb and the desktop files are Linux's
        print(f"make package: {bundle.relative_to(ROOT)} {size_of(bundle) / MB:.0f} MB")
        return 0
    linux = BUILD / "linux"
    linux_files.write(project, linux)
    for old in DIST.glob(f"{BUNDLE_NAME}_*.deb"):
        old.unlink()
    try:
        package, depends = deb.build(project, bundle, icon_dir, linux, BUILD / "deb", DIST)
    except deb.DebError as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 2
    shutil.copytree(ROOT / "resources" / "screenshots", DIST / "screenshots", dirs_exist_ok=True)
    report |= {
        "deb": package.name,
        "deb_bytes": size_of(package),
        "depends": depends.field(),
        "libraries": {name: sorted(libraries) for name, libraries in depends.packages.items()},
    }
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"make package: {bundle.relative_to(ROOT)}/ {size_of(bundle) / MB:.0f} MB, built in "
          f"{build_seconds:.0f} s")  # fmt: skip
    if kept_qt_bytes is not None:
        print(f"make package: keeping all of Qt it would be {kept_qt_bytes / MB:.0f} MB")
    print(f"make package: {package.relative_to(ROOT)} {size_of(package) / MB:.0f} MB")
    print(f"make package: Depends: {depends.field()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
