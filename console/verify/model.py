"""What a conformance run produces: checks' results, their recorded exchanges, the run report.

Everything here is already masked: an `Exchange` is built only by the `Recorder`, which
replaces the broker secret and every token before it keeps a byte.
"""

from __future__ import annotations

import shlex
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

    def suite_summary(self) -> dict[str, dict[str, int]]:
        suites: dict[str, dict[str, int]] = {}
        for check in self.checks:
            counts = suites.setdefault(check.suite, {str(s): 0 for s in STATUS_ORDER})
            counts[str(check.status)] += 1
        return suites

    @property
    def failed(self) -> bool:
        return any(check.status in FAILING for check in self.checks)

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
