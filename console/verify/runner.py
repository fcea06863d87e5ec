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
from collections.abc import Callable
from datetime import UTC, datetime

from console.services.client import AdapterClient, AdapterUnavailable, ClientSettings
from console.verify.catalogue import Check, selected
from console.verify.context import Failed, Outcome, Recorder, RunContext, RunOptions, Skip, Target
from console.verify.masking import Masker, fingerprint
from console.verify.model import CheckResult, RunReport, Status

log = logging.getLogger(__name__)

CANCELLED = "the run was cancelled"
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
    ) -> None:
        self.target = target
        self.options = options
        self.suites = self._suites()
        self.checks = selected(self.suites, options.only)
        self.on_started = on_started
        self.on_result = on_result
        self._cancelled = False
        self.masker = Masker([target.secret])

    def _suites(self) -> tuple[str, ...]:
        suites = self.options.suites
        if not self.options.allow_trading:
            suites = tuple(suite for suite in suites if suite != "trading")
        return suites

    def cancel(self) -> None:
        """Stop after the running check (a polling check stops within one interval)."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def run(self) -> RunReport:
        recorder = Recorder(self.masker)
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
        )
        ctx = RunContext(client, self.target, self.options, recorder, lambda: self._cancelled)
        try:
            health = await client.test_connection(self.target.secret)
            if not health.reachable:
                report.aborted = health.message
                for check in self.checks:
                    self._finish(report, check, Status.ERROR, health.message, 0.0, recorder)
                return report
            report.adapter_version = await self._version(client)
            for check in self.checks:
                if self._cancelled:
                    report.aborted = CANCELLED
                    self._finish(
                        report, check, Status.SKIPPED, f"not run: {CANCELLED}", 0.0, recorder
                    )
                    continue
                await self._one(ctx, check, report)
            if self._cancelled:
                report.aborted = CANCELLED
            await self._log_out_all(ctx, report)
        except asyncio.CancelledError:
            report.aborted = CANCELLED
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._log_out_all(ctx, report), CLEAN_UP_SECONDS)
            raise
        finally:
            report.finished = _now()
            await client.aclose()
        return report

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
            self.on_started(check)
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
            log.exception("Check %s broke", check.id)
            status, actual = Status.ERROR, f"inconclusive: the check itself failed ({exc!r})"
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
            self.on_result(result)

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
