"""`tv-adapter-console --self-test` from the source tree: every step passes, nothing leaks, nothing
of the operator's is touched; a failing step is named, stops the run and sets the status."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adapter_core import __version__
from console.self_test import EXIT_FAILED, STEPS, StepFailed, _Run, run_steps
from console.services.redaction import TOKEN_LIKE

CONSOLE = Path(sys.executable).parent / "tv-adapter-console"
STEP_LINE = re.compile(r"^\[\s?(\d+)/(\d+)\] (ok  |FAIL) ([^:]+): (.+)$")


def test_the_self_test_passes_from_source_and_touches_nothing_of_the_operators(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # fontconfig may build a cache: not ours
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        [str(CONSOLE), "--self-test"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    steps = [STEP_LINE.match(line) for line in lines[1:-1]]
    assert all(steps), lines
    assert [(m[3], m[4]) for m in steps if m] == [("ok  ", name) for name, _ in STEPS]
    assert f"tv-adapter-console {__version__} (source," in lines[1]
    assert lines[-1].startswith(f"self-test passed: {len(STEPS)} steps")
    assert not TOKEN_LIKE.search(result.stdout + result.stderr), "a token-like string was printed"
    assert not any(home.iterdir()), "the self-test wrote into the operator's home"
    assert not any(tmp_path.glob("tv-adapter-console-self-test-*")), "its directory was left"


def test_a_failing_step_is_named_stops_the_run_and_never_prints_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "a-broker-secret-that-must-never-be-printed-0123456789"
    ran: list[str] = []

    def first(run: _Run) -> str:
        run.secrets.append(secret)
        ran.append("first")
        return "fine"

    def second(run: _Run) -> str:
        ran.append("second")
        raise StepFailed(f"the adapter refused {secret}")

    def third(run: _Run) -> str:
        ran.append("third")
        return "never reached"

    status = run_steps(_Run(tmp_path), (("first", first), ("second", second), ("third", third)))
    out, err = capsys.readouterr()
    assert status == EXIT_FAILED
    assert ran == ["first", "second"]
    assert out.splitlines()[0] == "[ 1/3] ok   first: fine"
    assert out.splitlines()[1].startswith("[ 2/3] FAIL second: the adapter refused ")
    assert err.strip() == "self-test failed at step 2 (second)"
    assert secret not in out + err


def test_an_unexpected_error_is_reported_with_its_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(run: _Run) -> str:
        raise ModuleNotFoundError("No module named 'PySide6.QtOpenGL'")

    assert run_steps(_Run(tmp_path), (("latency chart", broken),)) == EXIT_FAILED
    out, _ = capsys.readouterr()
    assert "FAIL latency chart: ModuleNotFoundError: No module named 'PySide6.QtOpenGL'" in out


def test_extra_arguments_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CONSOLE), "--self-test", "--page", "tokens"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TV_ADAPTER_CONSOLE_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "unrecognized arguments: --page tokens" in result.stderr
