"""The runs of each profile, kept so a run can be compared with the one before it.

One JSON report per run under `<data dir>/verify-runs/<profile id>/` (the same masked
document the JSON export writes, so history holds no secret), newest KEEP_RUNS kept.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from adapter_core.datadir import write_private_file
from console.paths import data_dir, ensure_dir
from console.verify.model import FAILING, RunReport, Status, Verdict

KEEP_RUNS = 50
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class HistoryError(Exception):
    """The history could not be read or written; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class Comparison:
    newly_failing: list[str]
    newly_passing: list[str]
    added: list[str]
    removed: list[str]

    @property
    def unchanged(self) -> bool:
        return not (self.newly_failing or self.newly_passing or self.added or self.removed)

    def sentence(self, previous: str = "the previous run") -> str:
        """What changed since `previous`, which names the run compared with."""
        if self.unchanged:
            return f"Same results as {previous}."
        parts = []
        for label, ids in (
            ("newly failing", self.newly_failing),
            ("newly passing", self.newly_passing),
            ("added", self.added),
            ("removed", self.removed),
        ):
            if ids:
                parts.append(f"{label}: {', '.join(ids)}")
        return f"Since {previous}: " + "; ".join(parts) + "."


def compare(previous: RunReport, current: RunReport) -> Comparison:
    """What changed; a re-run of some checks is compared on those checks only."""
    before = {check.id: check.status for check in previous.checks}
    after = {check.id: check.status for check in current.checks}
    if current.only is not None:
        before = {i: status for i, status in before.items() if i in after}
    passing = (Status.PASSED, Status.WARNING)
    return Comparison(
        newly_failing=[
            i for i, s in after.items() if s in FAILING and i in before and before[i] not in FAILING
        ],
        newly_passing=[i for i, s in after.items() if s in passing and before.get(i) in FAILING],
        added=[i for i in after if i not in before],
        removed=[i for i in before if i not in after],
    )


def complete(report: RunReport) -> bool:
    """Every check of the run was judged; a cancelled or incomplete run is not."""
    return report.verdict not in (Verdict.CANCELLED, Verdict.INCOMPLETE)


def comparison_sentence(report: RunReport, earlier: list[RunReport]) -> str:
    """How `report` compares with the newest complete run of `earlier` (newest first).

    Only complete runs are compared: the checks a cancelled run never reached are kept as
    skipped, so comparing it with a complete run would call fewer passes "the same".
    """
    if not earlier:
        return "No earlier run of this profile to compare with."
    if not complete(report):
        return f"This run did not complete ({report.verdict}), so it is not compared."
    previous = next((run for run in earlier if complete(run)), None)
    if previous is None:
        return "No earlier complete run of this profile to compare with."
    named = "the previous run" if previous is earlier[0] else "the previous complete run"
    return compare(previous, report).sentence(named)


class RunHistory:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else data_dir() / "verify-runs"

    def _folder(self, profile_id: str) -> Path:
        return self.root / _SAFE.sub("_", profile_id)

    def save(self, profile_id: str, report: RunReport) -> Path:
        try:
            folder = ensure_dir(self._folder(profile_id))
            stamp = re.sub(r"[^0-9T]", "", report.started)
            # Numbered after this second's highest: numbering by the count of files would
            # reuse a name once pruning holds the count at KEEP_RUNS, overwriting a kept run.
            taken = [kept.stem.rpartition("-")[2] for kept in folder.glob(f"{stamp}-*.json")]
            index = max((int(n) for n in taken if n.isdigit()), default=-1) + 1
            path = folder / f"{stamp}-{index:04d}.json"
            write_private_file(path, json.dumps(report.to_json(), ensure_ascii=False).encode())
            for old in sorted(folder.glob("*.json"))[:-KEEP_RUNS]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"Could not keep the run in {self.root}: {exc.strerror or exc}."
            ) from exc
        return path

    def forget(self, profile_id: str) -> None:
        """Delete a removed profile's runs."""
        folder = self._folder(profile_id)
        for path in folder.glob("*.json"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()

    def runs(self, profile_id: str) -> list[RunReport]:
        """The profile's kept runs, newest first; unreadable files are left out."""
        folder = self._folder(profile_id)
        found: list[RunReport] = []
        for path in sorted(folder.glob("*.json"), reverse=True):
            try:
                found.append(RunReport.from_json(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found
