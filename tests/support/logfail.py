"""Fail a test on any warning or error it did not expect to be logged (qutebrowser's logfail).

In the console a failure is often caught, logged with `log.exception(...)` and survived: the
window carries on, and a test that looks only at the window passes. So every record at
WARNING or above from our packages, from uvicorn's server log and from asyncio (a task that
failed and was never awaited, a callback that raised) fails the test that was running,
unless the test declared it with `expect_log(logger, message)` or
`@pytest.mark.expect_log(logger, message)`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

WATCHED_LOGGERS = ("adapter_core", "console", "uvicorn.error", "asyncio")
"""None is an ancestor of another, so a record reaches the handler once. uvicorn's loggers are
watched where they are, not at the root: a uvicorn run with its default logging configuration
does not propagate to the root logger."""
_REPORT_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


@dataclass(frozen=True, slots=True)
class ExpectedLog:
    """Records of `logger` (or a logger below it) whose message contains `message`."""

    logger: str
    message: str

    def matches(self, record: logging.LogRecord) -> bool:
        in_logger = record.name == self.logger or record.name.startswith(f"{self.logger}.")
        return in_logger and self.message in record.getMessage()


class LogFail(logging.Handler):
    """Collects the watched records of one test; `unexpected()` is what fails it.

    An expectation allows matching records; it does not demand one, because some records
    depend on timing (a stream that breaks before or after the test looks).
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.expected: list[ExpectedLog] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def expect(self, logger: str, message: str) -> None:
        """Allow records of `logger` whose message contains `message` in this test."""
        self.expected.append(ExpectedLog(logger, message))

    def unexpected(self) -> list[logging.LogRecord]:
        return [
            record
            for record in self.records
            if not any(expected.matches(record) for expected in self.expected)
        ]

    def report(self, records: list[logging.LogRecord]) -> str:
        listed = "\n".join(_REPORT_FORMAT.format(record) for record in records)
        return (
            f"{len(records)} unexpected log record(s) at WARNING or above; if the test "
            "provokes them on purpose, declare them with "
            "expect_log(logger, message) or @pytest.mark.expect_log(logger, message):\n"
            f"{listed}"
        )

    @contextmanager
    def attached(self) -> Iterator[LogFail]:
        loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)
