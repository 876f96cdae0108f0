"""Reading form exports: CSV (UTF-8 with or without BOM, UTF-16; `,` `;` or tab) and XLSX.

A table is its rows of text cells, each with its number as a spreadsheet shows it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from cxc.errors import UsageError

MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    """(row number, 1-based as a spreadsheet numbers it; the cells' text, stripped)."""


def read_table(path: Path, shown: str) -> Table:
    """The rows of a CSV or XLSX export (the first sheet of a workbook)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UsageError(f"{shown}: larger than 64 MiB; is this a form export?")
        head = path.open("rb").read(4)
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, shown)
    return _read_csv(path.read_bytes(), shown)


def _decode(raw: bytes, shown: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{shown}: not UTF-8 or UTF-16 text (byte {exc.start + 1}); "
                         "export the form as CSV UTF-8 or as XLSX") from None


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first = max(text.splitlines()[:10] or [""], key=lambda line: len(line))
        return max(",;\t", key=first.count)


def _read_csv(raw: bytes, shown: str) -> Table:
    text = _decode(raw, shown)
    if "\x00" in text:
        raise UsageError(f"{shown}: holds NUL characters: not a CSV export")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        rows = tuple((number, tuple(cell.strip() for cell in row))
                     for number, row in enumerate(reader, start=1))
    except csv.Error as exc:
        raise UsageError(f"{shown}:{reader.line_num}: not a readable CSV row: {exc}") from None
    return Table(rows)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(path: Path, shown: str) -> Table:
    import zipfile

    from openpyxl import load_workbook  # only `cxc import` needs it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise UsageError(f"{shown}: not a readable XLSX workbook ({exc}); "
                         "save it again from the spreadsheet, or export CSV") from None
    try:
        if not book.worksheets:
            raise UsageError(f"{shown}: the workbook has no sheet")
        sheet = book.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            rows.append((number, tuple(_text(v) for v in values)))
    finally:
        book.close()
    return Table(tuple(rows))
