"""Shared fixtures: a real adapter server on loopback and a broker client for it, and logfail:
a test fails when our code logs a warning or error the test did not declare expected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.logfail import LogFail


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expect_log(logger, message): the test may log a warning or error of `logger` (or "
        "below it) whose message contains `message` (see tests/support/logfail.py)",
    )


@pytest.fixture(autouse=True)
def _logfail(request: pytest.FixtureRequest) -> Iterator[LogFail]:
    """Fail the test, at teardown and listing them, on unexpected warnings and errors logged
    by our packages, uvicorn or asyncio (including those of the test's own teardown)."""
    handler = LogFail()
    for marker in request.node.iter_markers("expect_log"):
        handler.expect(*marker.args)
    with handler.attached():
        yield handler
    unexpected = handler.unexpected()
    if unexpected:
        pytest.fail(handler.report(unexpected), pytrace=False)


@pytest.fixture
def expect_log(_logfail: LogFail) -> Callable[[str, str], None]:
    """`expect_log("console.services.session_feed", "A session feed callback failed")`: this
    test may log such a record (logger or a logger below it, message containing the text)."""
    return _logfail.expect


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    """One `tv-adapter serve` per test module (start-up costs about half a second)."""
    data_dir: Path = tmp_path_factory.mktemp("adapter") / "data"
    with AdapterProcess(data_dir) as process:
        yield process


@pytest.fixture
def client(adapter: AdapterProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=adapter.url, timeout=10) as http:
        yield http
