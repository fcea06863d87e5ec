"""console.logs: the rotating log file under the console home, stderr only on a terminal."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs
import pytest

from console import logs


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put the root logger and ours back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in (*logs.OUR_PACKAGES, "uvicorn.error")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, previous in levels.items():
        logging.getLogger(name).setLevel(previous)


def ours() -> list[logging.Handler]:
    names = (logs.FILE_HANDLER, logs.STDERR_HANDLER)
    return [handler for handler in logging.getLogger().handlers if handler.get_name() in names]


def test_the_log_is_console_log_under_the_console_home(console_home: Path) -> None:
    assert logs.log_dir() == console_home / "logs"


def test_without_a_console_home_the_log_is_in_the_platform_log_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TV_ADAPTER_CONSOLE_HOME")
    assert logs.log_dir() == Path(platformdirs.user_log_dir("tv-adapter-console"))


def test_our_info_and_everyone_s_warnings_are_written_in_the_format(
    console_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    logs.configure_logging()
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # as the embedded adapter's does
    logging.getLogger("console.services.embedded").info("generated a key ring")
    logging.getLogger("adapter_core.embedded").info("adapter up")
    logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/generate/token")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("httpx").warning("a third-party warning")
    lines = (console_home / "logs" / "console.log").read_text().splitlines()
    assert [line.split(" ", 3)[2:] for line in lines] == [
        ["INFO", "console.services.embedded: generated a key ring"],
        ["INFO", "adapter_core.embedded: adapter up"],
        ["WARNING", "httpx: a third-party warning"],
    ]
    assert all(line[:4].isdigit() and line[4] == "-" for line in lines)
    assert (console_home / "logs").stat().st_mode & 0o077 == 0


def test_stderr_gets_the_log_only_when_it_is_a_terminal(
    console_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    logs.configure_logging()
    logging.getLogger("console.controller").info("to the file only")
    assert pipe.getvalue() == ""
    assert [handler.get_name() for handler in ours()] == [logs.FILE_HANDLER]

    for handler in ours():
        logging.getLogger().removeHandler(handler)
        handler.close()
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    logs.configure_logging()
    logging.getLogger("console.controller").info("to the terminal too")
    assert terminal.getvalue().endswith(" INFO console.controller: to the terminal too\n")


def test_a_second_call_adds_no_handler(console_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", Terminal())
    logs.configure_logging()
    first = ours()
    logs.configure_logging()
    assert ours() == first
    assert len(first) == 2
    logging.getLogger("console").info("once")
    assert (console_home / "logs" / "console.log").read_text().count("once") == 1


def test_the_file_rotates_and_keeps_five_old_ones(
    console_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(logs, "MAX_BYTES", 1000)
    logs.configure_logging()
    for number in range(200):
        logging.getLogger("console.test").info("line %03d %s", number, "x" * 40)
    directory = console_home / "logs"
    names = sorted(path.name for path in directory.iterdir())
    assert names == ["console.log", *(f"console.log.{n}" for n in range(1, 6))]
    assert all(path.stat().st_size <= 1000 for path in directory.iterdir())
    assert "line 199" in (directory / "console.log").read_text()


def test_without_a_usable_log_directory_it_logs_to_stderr_and_says_so_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    expect_log: Callable[[str, str], None],
) -> None:
    expect_log("console.logs", "cannot keep a log file")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TV_ADAPTER_CONSOLE_HOME", str(blocker))
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    logs.configure_logging()
    logs.configure_logging()
    logging.getLogger("console.controller").info("still written")
    lines = pipe.getvalue().splitlines()
    assert len([line for line in lines if "cannot keep a log file" in line]) == 1
    assert str(blocker / "logs") in lines[0]
    assert lines[-1].endswith(" INFO console.controller: still written")
