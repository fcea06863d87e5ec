"""Files an operator exports (CSV, JSON): written one safe way, whichever page asks.

Exports leave the console: they are mailed around and opened in spreadsheets. So every export
replaces its target atomically and privately (mode 0600, via `write_private_file`): a failed
write never leaves half a file, and what was redacted stays readable by the owner only. CSV
cells come from adapters' answers, which are untrusted, so text a spreadsheet would run as a
formula is defused.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from adapter_core.datadir import write_private_file

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
(OWASP's "CSV injection" list)."""


class ExportError(Exception):
    """The export file could not be written; the message is for the operator."""


def spreadsheet_cell(value: object) -> str:
    """One CSV cell: None is empty, booleans are `true`/`false` as in JSON exports, numbers stay
    numbers, and text that would be a formula is prefixed with `'` so a spreadsheet shows it
    instead of running it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value if isinstance(value, str) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write `header` and `rows` as CSV (atomic, mode 0600, formula-safe); the rows written.

    A row whose length differs from the header's is a programming error (a column added in
    one place only) and raises ValueError before anything is written.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_cell(name) for name in header])
    written = 0
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {written + 1} has {len(row)} cells for {len(header)} columns")
        writer.writerow([spreadsheet_cell(value) for value in row])
        written += 1
    _write(path, buffer.getvalue().encode())
    return written


def write_json(path: Path, document: object) -> None:
    """Write `document` as indented UTF-8 JSON (atomic, mode 0600)."""
    _write(path, json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n")


def write_text(path: Path, text: str) -> None:
    """Write a report (HTML, XML) as UTF-8 (atomic, mode 0600)."""
    _write(path, text.encode())


def _write(path: Path, content: bytes) -> None:
    try:
        write_private_file(path, content)
    except OSError as exc:
        raise ExportError(f"Could not write {path}: {exc.strerror or exc}.") from exc
