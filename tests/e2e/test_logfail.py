"""logfail end to end: a pytest run of a few small tests under this suite's own fixtures.

If logfail silently stopped failing tests, every test of a logged error would pass for the
wrong reason; this is the test that notices.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-rA",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
]
TESTS = """
import logging

import pytest


def test_an_unexpected_error_fails():
    logging.getLogger("console.services.x").error("boom %d", 1)


def test_one_declared_with_the_fixture_passes(expect_log):
    expect_log("console.services", "boom")
    logging.getLogger("console.services.x").error("boom 2")


@pytest.mark.expect_log("adapter_core", "is gone")
def test_one_declared_with_the_marker_passes():
    logging.getLogger("adapter_core.store").warning("the file is gone")


def test_a_declaration_allows_only_its_message(expect_log):
    expect_log("console", "boom")
    logging.getLogger("console.views").warning("bang")


def test_info_and_third_party_errors_pass():
    logging.getLogger("console.views").info("fine")
    logging.getLogger("httpx").error("not ours")


def test_uvicorn_fails_even_when_it_does_not_propagate():
    logger = logging.getLogger("uvicorn.error")
    logger.propagate = False
    try:
        logger.error("Exception in ASGI application")
    finally:
        logger.propagate = True


def test_asyncio_fails():
    logging.getLogger("asyncio").error("Task exception was never retrieved")
"""


def test_logfail_fails_exactly_the_tests_with_undeclared_warnings(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import _logfail, expect_log, pytest_configure  # noqa: F401\n"
    )
    (tmp_path / "test_logged.py").write_text(TESTS)
    result = subprocess.run(
        [*PYTEST, "--strict-markers", "test_logged.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.findall(
        r"^(PASSED|ERROR|FAILED) test_logged\.py::(\w+)", result.stdout, re.MULTILINE
    )
    outcomes = {name: outcome for outcome, name in found}
    assert outcomes == {
        "test_an_unexpected_error_fails": "ERROR",
        "test_one_declared_with_the_fixture_passes": "PASSED",
        "test_one_declared_with_the_marker_passes": "PASSED",
        "test_a_declaration_allows_only_its_message": "ERROR",
        "test_info_and_third_party_errors_pass": "PASSED",
        "test_uvicorn_fails_even_when_it_does_not_propagate": "ERROR",
        "test_asyncio_fails": "ERROR",
    }, result.stdout + result.stderr
    assert "ERROR console.services.x: boom 1" in result.stdout
    assert "WARNING console.views: bang" in result.stdout
