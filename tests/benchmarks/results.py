"""Benchmark figures: printed as a table and written to .bench/results.json.

Every figure carries the baseline it was measured against in the same run, so a ratio never
compares numbers from different machines or moments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_FILE = Path(".bench/results.json")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    goal: str
    """The target in words, e.g. 'ratio <= 3' (printed, not enforced)."""
    note: str = ""
    extra: Mapping[str, float] = field(default_factory=dict)
    """Counts a reader needs next to the value (the tabs held, the connections held...),
    written to the results file beside it."""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


def write_results(figures: list[Figure], path: Path = RESULTS_FILE) -> None:
    """Merge into the results file so separate benchmark groups can each add their figures."""
    existing = json.loads(path.read_text()) if path.exists() else {}
    for figure in figures:
        existing[figure.name] = {
            "value": round(figure.value, 4),
            "unit": figure.unit,
            "baseline": round(figure.baseline, 4),
            "ratio": round(figure.ratio, 4),
            **{name: round(value, 4) for name, value in figure.extra.items()},
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def print_table(figures: list[Figure]) -> None:
    width = max(len(figure.name) for figure in figures)
    print(f"{'figure':<{width}}  {'value':>12}  {'baseline':>12}  {'ratio':>7}  goal")
    for figure in figures:
        print(
            f"{figure.name:<{width}}  {figure.value:>12.3f}  {figure.baseline:>12.3f}  "
            f"{figure.ratio:>7.2f}  {figure.goal} [{figure.unit}]"
        )
        if figure.extra:
            counts = ", ".join(f"{name} {value:g}" for name, value in figure.extra.items())
            print(f"{'':<{width}}  {counts}")
        if figure.note:
            print(f"{'':<{width}}  {figure.note}")
