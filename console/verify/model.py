"""What a conformance run produces: checks' results, their recorded exchanges, the run report.

Everything here is already masked: an `Exchange` is built only by the `Recorder`, which
replaces the broker secret and every token before it keeps a byte.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    ERROR = "error"
    """Inconclusive: the network or the run itself failed, not the adapter's conformance."""


STATUS_ORDER = (Status.PASSED, Status.FAILED, Status.WARNING, Status.SKIPPED, Status.ERROR)
FAILING = frozenset({Status.FAILED, Status.ERROR})

CANCELLED = "the run was cancelled"
NOT_RUN = "not run"
"""How the `actual` of a check begins when the run ended before the check could be judged.
The report format keeps such a check as `skipped`; everything shown counts it as not run."""


class Category(StrEnum):
    """How a check is shown and counted everywhere: the page's rows and suite headers, the
    headline and the reports all use these, so no count can disagree with a row."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    INCONCLUSIVE = "inconclusive"
    NOT_RUN = "not run"


_CATEGORY_OF = {
    Status.PASSED: Category.PASSED,
    Status.FAILED: Category.FAILED,
    Status.WARNING: Category.WARNING,
    Status.SKIPPED: Category.SKIPPED,
    Status.ERROR: Category.INCONCLUSIVE,
}


class Verdict(StrEnum):
    """What a run, or one suite of it, amounts to; decided by `judge` alone, so the page, the
    reports and the CLI's exit status cannot disagree."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"
    """Nothing failed, but some check could not tell (the network or the run failed)."""
    SKIPPED = "SKIPPED"
    """Every check was skipped: nothing was shown to work, and nothing to fail."""
    CANCELLED = "CANCELLED"
    INCOMPLETE = "INCOMPLETE"
    """The run could not be made, or checks were not run: what passed proves too little."""


def tally(checks: Iterable[CheckResult]) -> dict[Category, int]:
    """Checks per category, every category present."""
    counts = dict.fromkeys(Category, 0)
    for check in checks:
        counts[check.category] += 1
    return counts


def describe(counts: dict[Category, int]) -> str:
    """The non-zero counts in category order, e.g. "25 passed, 2 skipped, 1 not run"."""
    parts = [f"{n} {category}" for category, n in counts.items() if n]
    return ", ".join(parts) or "no checks"


def judge(counts: dict[Category, int], aborted: str | None = None) -> Verdict:
    """The one verdict of a run or a suite. A run that did not complete, or a suite with a
    check that did not run, is never PASSED: incompleteness comes before any other verdict."""
    if aborted == CANCELLED:
        return Verdict.CANCELLED
    if aborted is not None or counts[Category.NOT_RUN]:
        return Verdict.INCOMPLETE
    if counts[Category.FAILED]:
        return Verdict.FAILED
    if counts[Category.INCONCLUSIVE]:
        return Verdict.INCONCLUSIVE
    if not counts[Category.PASSED] and not counts[Category.WARNING]:
        return Verdict.SKIPPED
    return Verdict.PASSED


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, masked."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    duration_ms: float
    error: str | None = None

    def curl(self) -> str:
        """The request as a curl command line (masked like everything else here)."""
        parts = ["curl", "-X", self.method, self.url]
        for name, value in self.request_headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.request_body:
            parts += ["--data-raw", self.request_body]
        return " ".join(shlex.quote(part) for part in parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Exchange:
        return cls(**document)


@dataclass(slots=True)
class CheckResult:
    id: str
    suite: str
    title: str
    status: Status
    expected: str
    actual: str
    duration_ms: float
    exchanges: list[Exchange] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """Figures a check measured (latency per endpoint), for charts and the JSON report."""

    @property
    def category(self) -> Category:
        """A check the run never reached, or stopped, is `not run`, though stored as skipped."""
        if self.status is Status.SKIPPED and self.actual.startswith(f"{NOT_RUN}:"):
            return Category.NOT_RUN
        return _CATEGORY_OF[self.status]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "suite": self.suite,
            "title": self.title,
            "status": str(self.status),
            "expected": self.expected,
            "actual": self.actual,
            "duration_ms": round(self.duration_ms, 1),
            "exchanges": [exchange.to_json() for exchange in self.exchanges],
            "details": self.details,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CheckResult:
        return cls(
            id=str(document["id"]),
            suite=str(document["suite"]),
            title=str(document["title"]),
            status=Status(document["status"]),
            expected=str(document["expected"]),
            actual=str(document["actual"]),
            duration_ms=float(document["duration_ms"]),
            exchanges=[Exchange.from_json(item) for item in document.get("exchanges", [])],
            details=dict(document.get("details", {})),
        )


@dataclass(slots=True)
class RunReport:
    """A whole run. `to_json` is the documented report format (see docs/verify-report.md)."""

    target: str
    started: str
    finished: str
    checks: list[CheckResult]
    profile: str | None = None
    adapter_version: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    suites: list[str] = field(default_factory=list)
    not_logged_out: list[str] = field(default_factory=list)
    """Fingerprints of tokens the run minted and could not log out."""
    aborted: str | None = None
    """Why the run could not be made (target unreachable), or was cancelled."""
    only: list[str] | None = None
    """The check ids a re-run was limited to (the failed ones of an earlier run)."""

    def summary(self) -> dict[str, int]:
        counts = {str(status): 0 for status in STATUS_ORDER}
        for check in self.checks:
            counts[str(check.status)] += 1
        return counts

    @property
    def failed(self) -> bool:
        return any(check.status in FAILING for check in self.checks)

    def tally(self) -> dict[Category, int]:
        return tally(self.checks)

    def suite_tallies(self) -> dict[str, dict[Category, int]]:
        return {
            suite: tally(c for c in self.checks if c.suite == suite)
            for suite in dict.fromkeys(check.suite for check in self.checks)
        }

    @property
    def verdict(self) -> Verdict:
        return judge(self.tally(), self.aborted)

    def headline(self) -> str:
        """The verdict and the counts, as the page, the reports and the CLI all show them."""
        verdict = self.verdict
        if verdict is Verdict.CANCELLED:
            verdict_text = f"{verdict} — incomplete"
        elif verdict is Verdict.INCOMPLETE:
            verdict_text = f"{verdict} — the run did not complete"
        else:
            verdict_text = str(verdict)
        return f"{verdict_text}: {describe(self.tally())}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "tv-adapter-console verify report 1",
            "target": self.target,
            "profile": self.profile,
            "adapter_version": self.adapter_version,
            "started": self.started,
            "finished": self.finished,
            "identity": self.identity,
            "suites": self.suites,
            "aborted": self.aborted,
            "only": self.only,
            "summary": self.summary(),
            "not_logged_out": self.not_logged_out,
            "checks": [check.to_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> RunReport:
        return cls(
            target=str(document["target"]),
            started=str(document["started"]),
            finished=str(document["finished"]),
            checks=[CheckResult.from_json(item) for item in document["checks"]],
            profile=document.get("profile"),
            adapter_version=document.get("adapter_version"),
            identity=dict(document.get("identity") or {}),
            suites=list(document.get("suites") or []),
            not_logged_out=list(document.get("not_logged_out") or []),
            aborted=document.get("aborted"),
            only=document.get("only"),
        )
