"""One conformance run: health first, then each selected check in catalogue order, then the
logout of every token the run minted. Results are reported as each check finishes.

A check's exceptions decide its status: `Skip` → skipped (a prerequisite failed, or the
adapter does not offer that API), `Failed` → failed, `AdapterUnavailable` or any other
exception → error (inconclusive: the network or the run failed, not the adapter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from console.services.client import (
    AdapterClient,
    AdapterUnavailable,
    ClientSettings,
    RawExchange,
)
from console.verify.catalogue import Check, selected
from console.verify.context import (
    Failed,
    Outcome,
    Recorder,
    RunContext,
    RunOptions,
    Skip,
    Target,
    envelope,
)
from console.verify.masking import MIN_SECRET_LENGTH, Masker, fingerprint
from console.verify.model import CANCELLED, NOT_RUN, CheckResult, RunReport, Status

log = logging.getLogger(__name__)
T = TypeVar("T")

CLEAN_UP_SECONDS = 3.0
"""When the run's task is cancelled (the console quits), how long its logouts may take."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Run:
    """A run that a page can follow (`on_started`, `on_result`) and cancel between checks."""

    def __init__(
        self,
        target: Target,
        options: RunOptions,
        *,
        on_started: Callable[[Check], None] | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
        also_record: Callable[[RawExchange], None] | None = None,
    ) -> None:
        """`also_record` receives every exchange too, masked by the run (the activity log)."""
        self.target = target
        self.options = options
        self.checks = selected(self._suites(), options.only)
        self.suites = self._suites() if options.only is None else self._suites_of(self.checks)
        self.on_started = on_started
        self.on_result = on_result
        self._also_record = also_record
        self._cancelled = False
        self._stop = asyncio.Event()
        self.masker = Masker([target.secret])

    def _suites(self) -> tuple[str, ...]:
        suites = self.options.suites
        if not self.options.allow_trading:
            suites = tuple(suite for suite in suites if suite != "trading")
        return suites

    @staticmethod
    def _suites_of(checks: list[Check]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(check.suite for check in checks))

    def cancel(self) -> None:
        """Stop after the running check (a polling check stops within one interval)."""
        self._cancelled = True
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def run(self) -> RunReport:
        recorder = Recorder(self.masker, self._also_record)
        settings = ClientSettings(
            self.target.base_url.rstrip("/"), self.target.verify, self.target.timeout
        )
        client = AdapterClient(settings, recorder.record)
        report = RunReport(
            target=self.masker.text(self.target.base_url),
            started=_now(),
            finished="",
            checks=[],
            profile=self.target.profile,
            identity=self.options.identity.to_json(),
            suites=list(self.suites),
            only=sorted(self.options.only) if self.options.only is not None else None,
        )
        ctx = RunContext(client, self.target, self.options, recorder, self._stop)
        try:
            problem = await self._preflight(ctx)
            if problem is not None:
                report.aborted = self.masker.text(problem)
                for check in self.checks:
                    self._finish(report, check, Status.ERROR, report.aborted, 0.0, recorder)
                await self._log_out_all(ctx, report)
                return report
            report.adapter_version = await self._version(client)
            for check in self.checks:
                if self._cancelled:
                    report.aborted = CANCELLED
                    self._finish(
                        report, check, Status.SKIPPED, f"{NOT_RUN}: {CANCELLED}", 0.0, recorder
                    )
                    continue
                await self._one(ctx, check, report)
            if self._cancelled:
                report.aborted = CANCELLED
            await self._log_out_all(ctx, report)
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            report.aborted = CANCELLED if cancelled else "the run itself failed"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._log_out_all(ctx, report), CLEAN_UP_SECONDS)
            raise
        finally:
            report.finished = _now()
            await client.aclose()
        return report

    async def _preflight(self, ctx: RunContext) -> str | None:
        """Why the run cannot be made (no check would mean anything), or None.

        The probe is the console's connection test: an empty body that a conforming adapter
        refuses as invalid (400) once it accepts the secret. Should an adapter mint a token
        for it anyway, the token is kept and logged out with the others.
        """
        if len(self.target.secret) < MIN_SECRET_LENGTH:
            return (
                f"the broker secret is shorter than {MIN_SECRET_LENGTH} characters, so reports "
                "could not mask it; nothing was sent"
            )
        try:
            answer = await ctx.client.request(
                "POST",
                "/generate/token",
                bearer=self.target.secret,
                json_body={},
                expected=frozenset({400}),
            )
        except AdapterUnavailable as exc:
            return str(exc)
        ctx.keep(answer)
        if answer.status in (401, 403):
            return (
                f"the adapter refuses this broker secret (HTTP {answer.status}); "
                "nothing was checked"
            )
        if answer.status in (404, 405):
            return (
                f"POST /generate/token answered HTTP {answer.status}: "
                f"{self.target.base_url} is not the adapter's base URL"
            )
        if answer.status == 400 and envelope(answer) is None:
            return (
                "POST /generate/token answered HTTP 400 without the JSON error envelope: the "
                "request did not reach an adapter (a proxy, or a header the server refused)"
            )
        return None

    async def _version(self, client: AdapterClient) -> str | None:
        """The adapter's version where its admin API says it (not part of any check)."""
        try:
            answer = await client.admin_info(self.target.secret)
        except AdapterUnavailable:
            return None
        data = answer.data if answer.ok and isinstance(answer.data, dict) else {}
        version = data.get("version")
        return str(version) if version else None

    async def _one(self, ctx: RunContext, check: Check, report: RunReport) -> None:
        if self.on_started is not None:
            self._tell(self.on_started, check)
        ctx.recorder.begin()
        started = time.perf_counter()
        details: dict[str, object] = {}
        try:
            outcome: Outcome = await check.run(ctx)
            status, actual, details = outcome.status, outcome.actual, outcome.details
        except Skip as exc:
            status, actual = Status.SKIPPED, str(exc)
        except Failed as exc:
            status, actual, details = Status.FAILED, str(exc), exc.details
        except AdapterUnavailable as exc:
            status, actual = Status.ERROR, f"inconclusive: {exc}"
        except Exception as exc:
            broke = self.masker.text(f"{type(exc).__name__}: {exc}")
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("Check %s broke (%s) at\n%s", check.id, broke, frames)
            status, actual = Status.ERROR, f"inconclusive: the check itself failed ({broke})"
        duration = (time.perf_counter() - started) * 1000
        self._finish(report, check, status, actual, duration, ctx.recorder, details)

    def _finish(
        self,
        report: RunReport,
        check: Check,
        status: Status,
        actual: str,
        duration_ms: float,
        recorder: Recorder,
        details: dict[str, object] | None = None,
    ) -> None:
        result = CheckResult(
            id=check.id,
            suite=check.suite,
            title=check.title,
            status=status,
            expected=check.expected,
            actual=self.masker.text(actual),
            duration_ms=duration_ms,
            exchanges=recorder.end(),
            details=dict(details or {}),
        )
        report.checks.append(result)
        if self.on_result is not None:
            self._tell(self.on_result, result)

    @staticmethod
    def _tell(callback: Callable[[T], None], value: T) -> None:
        """A follower's failure (a closed pipe, a broken view) must not end the run early:
        the run still has tokens to log out."""
        try:
            callback(value)
        except Exception as exc:
            log.error("A follower of the verify run failed: %s", type(exc).__name__)

    async def _log_out_all(self, ctx: RunContext, report: RunReport) -> None:
        """Log out every token the run minted and has not logged out; list the failures."""
        for token in ctx.minted:
            if token in ctx.logged_out:
                continue
            try:
                answer = await ctx.logout(token)
            except AdapterUnavailable:
                answer = None
            if answer is None or not answer.ok:
                report.not_logged_out.append(fingerprint(token))
