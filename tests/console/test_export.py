"""One way to write an export: atomic, private, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from console.services.export import ExportError, spreadsheet_cell, write_csv, write_json


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_write_csv_counts_rows_and_keeps_the_file_private(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    written = write_csv(target, ["a", "b"], [[1, "x"], [2, None]])
    assert written == 2
    assert read_csv(target) == [["a", "b"], ["1", "x"], ["2", ""]]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_write_csv_takes_a_generator_and_writes_just_the_header_for_none(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    nothing: list[list[object]] = []
    assert write_csv(target, ["only"], (row for row in nothing)) == 0
    assert read_csv(target) == [["only"]]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\rcarriage", "'\rcarriage"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-5, "-5"),
        (-1.5, "-1.5"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_defused(value: object, cell: str) -> None:
    assert spreadsheet_cell(value) == cell


def test_formulas_in_any_column_and_in_the_header_are_defused(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_csv(target, ["=name"], [["=cmd|' /C calc'!A0"], ["@x"]])
    assert read_csv(target) == [["'=name"], ["'=cmd|' /C calc'!A0"], ["'@x"]]


def test_a_row_of_the_wrong_length_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("before")
    with pytest.raises(ValueError, match="row 2 has 1 cells for 2 columns"):
        write_csv(target, ["a", "b"], [[1, 2], [3]])
    assert target.read_text() == "before"


def test_a_failing_row_source_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """Atomic: the target is replaced only once every row is in hand."""
    target = tmp_path / "out.csv"
    target.write_text("before")

    def rows() -> Iterator[Sequence[object]]:
        yield [1]
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        write_csv(target, ["a"], rows())
    assert target.read_text() == "before"
    assert [path.name for path in tmp_path.iterdir()] == ["out.csv"]


def test_write_json_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o644)
    write_json(target, {"name": "café", "rows": [1, None]})
    assert json.loads(target.read_text(encoding="utf-8")) == {"name": "café", "rows": [1, None]}
    assert "café" in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_an_unwritable_target_is_an_export_error_for_the_operator(
    tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "missing" / f"out.{kind}"

    def export() -> None:
        if kind == "csv":
            write_csv(target, ["a"], [])
        else:
            write_json(target, [])

    with pytest.raises(ExportError, match=r"Could not write .*missing.*: No such file"):
        export()
