"""Packaging figures, run by `make package` after the build: sizes and the bundle's cold start.

- `bundle_size_mb`: dist/tv-adapter-console/, against the same bundle built in the same
  `make package` run keeping every Qt piece PyInstaller collects by default (the ratio is what
  the Qt exclusions leave; packaging/tools/bundle_rules.py lists them).
- `deb_size_mb`: the .deb, against the bundle it compresses.
- `frozen_cold_start_ms`: from starting the program to its main window visible on an X
  server (Xvfb, xcb platform, so the real window path and not the offscreen one), the bundle
  against `.venv/bin/tv-adapter-console` in the same run, alternating, median of each. The
  operating system's file cache is warm for both after the first round; "cold" is the
  program's own start (no process of it running), as an operator starts it from the menu.

Sizes are read from build/package/report.json, written by packaging/tools/build.py. Without
Xvfb and xdotool the cold start is left out, saying why.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.results import RESULTS_FILE, Figure, print_table, write_results
from tests.support.xvfb import (
    Xvfb,
    isolated_environment,
    missing_tools,
    start_window_program,
    stop_process,
    xdotool,
)

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "package" / "report.json"
BUNDLE = ROOT / "dist" / "tv-adapter-console" / "tv-adapter-console"
VENV_CONSOLE = Path(sys.executable).parent / "tv-adapter-console"
ROUNDS = 5
WINDOW_TITLE = "TradingView Adapter Console"
WINDOW_TIMEOUT = 60.0
POLL_SECONDS = 0.01
MB = 1_000_000


def _window_after(program: Path, display: str) -> float:
    """Seconds from starting `program` to its main window being visible; then it is ended."""
    with tempfile.TemporaryDirectory(prefix="tv-console-cold-start-") as temporary:
        root = Path(temporary)
        env = isolated_environment(
            root,
            display,
            {
                "TV_ADAPTER_CONSOLE_HOME": str(root / "console-home"),
                "QT_QPA_PLATFORM": "xcb",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            },
        )
        errors = root / "stderr.txt"
        started = time.perf_counter()
        process = start_window_program(program, env, root, errors)
        try:
            while time.perf_counter() - started < WINDOW_TIMEOUT:
                if xdotool(display, "search", "--onlyvisible", "--name", WINDOW_TITLE).split():
                    return time.perf_counter() - started
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{program} exited with status {process.returncode} before showing a "
                        f"window:\n{errors.read_text(errors='replace')}"
                    )
                time.sleep(POLL_SECONDS)
            raise TimeoutError(f"{program} showed no window within {WINDOW_TIMEOUT} s")
        finally:
            stop_process(process)


def cold_start() -> Figure | None:
    missing = missing_tools()
    if missing:
        print(f"frozen_cold_start_ms left out: {' and '.join(missing)} not installed")
        return None
    frozen: list[float] = []
    venv: list[float] = []
    with (
        tempfile.TemporaryDirectory() as logs,
        Xvfb(Path(logs) / "xvfb.log") as server,
    ):
        for _ in range(ROUNDS):
            frozen.append(_window_after(BUNDLE, server.display))
            venv.append(_window_after(VENV_CONSOLE, server.display))
    return Figure(
        "frozen_cold_start_ms",
        statistics.median(frozen) * 1000,
        "ms",
        statistics.median(venv) * 1000,
        "ratio <= 1.2",
        f"start to visible main window under Xvfb, median of {ROUNDS}; bundle "
        f"{', '.join(f'{s * 1000:.0f}' for s in frozen)} ms, venv "
        f"{', '.join(f'{s * 1000:.0f}' for s in venv)} ms",
    )


def measure() -> list[Figure]:
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    bundle = report["bundle_bytes"] / MB
    figures = [
        Figure(
            "bundle_size_mb",
            bundle,
            "MB",
            report.get("keep_qt_bundle_bytes", report["bundle_bytes"]) / MB,
            "smaller than the bundle keeping all of Qt",
            f"baseline: the bundle keeping every Qt piece; built in {report['build_seconds']} s",
        ),
        Figure(
            "deb_size_mb",
            report["deb_bytes"] / MB,
            "MB",
            bundle,
            "compressed",
            f"baseline: the bundle it holds; Depends: {len(report['libraries'])} packages",
        ),
    ]
    started = cold_start()
    return figures if started is None else [*figures, started]


def main() -> None:
    figures = measure()
    print()
    print_table(figures)
    write_results(figures)
    print(f"\nwritten to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
