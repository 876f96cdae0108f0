"""Attendance sheets: one PDF per programme, a page (or more) per day, for people to sign.

EU grants accept an event as delivered on signed attendance lists, one per day. Each
day's page is headed with the partnership, its funding programme, the programme's
title, kind, host, city and the date, and that day's sessions; then a table of the
seat holders (by delegation, then name) with an empty box to sign, its header row
repeated on every page; every page says "page n of m" and carries a short
data-protection notice naming the host.

The PDF is made with fpdf2 (LGPL-3.0) in DejaVu Sans (Bitstream Vera licence, its
changes public domain), vendored in ``fonts/``: it covers Latin with every accent,
Greek and Cyrillic, so every European name prints as written, and nothing is
downloaded at run time. A4, black on white.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxc import model as m
from cxc.errors import ExportError, UsageError
from cxc.owner_only import make_private_dirs, write_owner_only
from cxc.plan.ready import check_ready
from cxc.store import (
    read_admitted,
    read_partners,
    read_partnership,
    read_programmes,
    read_snapshot,
)

if TYPE_CHECKING:
    import sqlite_utils

FONTS = Path(__file__).resolve().parent / "fonts"
SHEET_NAME = "attendance.pdf"

KIND_NAMES = {"study_visit": "Study visit", "cxc": "Cluster Exchange (CXC)",
              "deep_dive_day": "Deep Dive Day (D3)"}
ORG_TYPE_NAMES = {"sme": "SME", "startup": "Start-up", "large_company": "Large company",
                  "cluster": "Cluster", "research": "Research", "hospital": "Hospital",
                  "public": "Public body", "other": "Other"}

# Page geometry, in millimetres (A4 portrait).
MARGIN = 15.0
PAGE_W, PAGE_H = 210.0, 297.0
ROW_H = 11.0
HEAD_ROW_H = 7.0
FOOTER_H = 22.0
COLUMNS: tuple[tuple[str, float], ...] = (
    ("Name", 48.0), ("Organisation", 46.0), ("Type", 22.0), ("Country", 16.0),
    ("Signature", 48.0),
)


@dataclass(frozen=True)
class Row:
    """One line of a sheet: a seat holder."""

    name: str
    organisation: str
    org_type: str
    country: str
    partner: str


@dataclass(frozen=True)
class DaySheet:
    """What one day's pages hold, apart from the seat holders (the same every day)."""

    day: date
    sessions: tuple[str, ...]


@dataclass(frozen=True)
class Sheets:
    """Everything the PDF of one programme is drawn from."""

    programme: m.Programme
    partnership: str
    funding: str | None
    host: str
    host_email: str | None
    days: tuple[DaySheet, ...]
    rows: tuple[Row, ...]

    @property
    def notice(self) -> str:
        contact = f" ({self.host_email})" if self.host_email else ""
        return (f"Data protection: the names, organisations and signatures on this sheet are "
                f"collected by {self.host}{contact}, the host, only to prove attendance to the "
                f"funder of {self.partnership}, and kept as long as the grant's audit requires. "
                f"To see, correct or erase your data, write to {self.host}{contact}.")


@dataclass(frozen=True)
class SheetsSummary:
    programmes: int
    pages: int
    out: Path


def sheets_of(doc: m.ProgrammeDoc, admitted: frozenset[str], partners: dict[str, m.Partner],
              partnership: m.Partnership | None) -> Sheets:
    """The sheets of one programme: its days, their sessions, and its seat holders."""
    p = doc.programme
    holders = sorted(doc.seat_holders(admitted),
                     key=lambda h: (h.partner, h.name.casefold(), h.name, h.key))
    rows = tuple(Row(h.name, h.organisation or "", ORG_TYPE_NAMES.get(h.org_type or "", ""),
                     h.country or "", h.partner) for h in holders)
    venues = {v.id: v for v in doc.venues}
    days = []
    for offset in range((p.end - p.start).days + 1):
        day = p.start + timedelta(days=offset)
        lines = []
        for s in sorted(doc.sessions, key=lambda s: (s.start.utc, s.id)):
            if s.start.wall.date() != day:
                continue
            venue = venues.get(s.venue or "")
            lines.append(f"{s.start.wall:%H:%M}–{s.end.wall:%H:%M}  {s.title}"
                         + (f" ({venue.name})" if venue else ""))
        days.append(DaySheet(day, tuple(lines)))
    host = partners.get(p.host)
    return Sheets(
        p, partnership.name if partnership else "", partnership.funding if partnership else None,
        host.name if host else p.host,
        host.contact.email if host and host.contact else None, tuple(days), rows)


def write_sheets(db: sqlite_utils.Database, out: Path, programme: str | None = None,
                 *, now: datetime | None = None) -> SheetsSummary:
    """Write ``out/<programme-id>/attendance.pdf`` for every programme not cancelled (or
    only ``programme``).

    UsageError for an unknown ``programme``; NotReady (exit 1, nothing written) when a
    programme to write has errors or a plan that is missing or out of date. Each file is
    written to a temporary file beside it and renamed into place, owner-only.
    """
    with read_snapshot(db.conn):
        ids = sorted({pid for pid, _ in _programmes(db)})
        if programme is not None and programme not in ids:
            raise UsageError(f"no programme `{programme}` in the store "
                             f"(programmes: {', '.join(ids) or 'none'})")
        check_ready(db, [programme] if programme else None)
        partners = read_partners(db)
        partnership = read_partnership(db)
        files = [file for pid, file in _programmes(db, active=True)
                 if programme is None or pid == programme]
        made = []
        for doc in read_programmes(db, files):
            sheets = sheets_of(doc, read_admitted(db, doc.programme.id), partners, partnership)
            made.append((doc.programme.id, render_pdf(sheets, now=now)))
    pages = 0
    for pid, (data, count) in made:
        _write_private(out / pid / SHEET_NAME, data)
        pages += count
    return SheetsSummary(len(made), pages, out)


def _programmes(db: sqlite_utils.Database, *, active: bool = False) -> list[tuple[str, str]]:
    """(id, file) of the first file of each programme id, in id order."""
    from cxc.store import programme_files

    seen: set[str] = set()
    found = []
    for pid, file in programme_files(db, active=active):
        if pid not in seen:
            seen.add(pid)
            found.append((pid, file))
    return found


def _write_private(target: Path, data: bytes) -> None:
    """``data`` at ``target``, atomically (a temporary file beside it, then a rename),
    owner-only; missing folders are made owner-only too."""
    try:
        make_private_dirs(target.parent)
        if not target.parent.is_dir():
            raise ExportError(f"{target.parent}: cannot write: not a folder")
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".cxc-", suffix=".tmp")
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from None
    try:
        try:
            write_owner_only(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- drawing ------------------------------------------------------------------


def render_pdf(sheets: Sheets, *, now: datetime | None = None) -> tuple[bytes, int]:
    """The PDF of a programme's sheets, and its number of pages."""
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(now or datetime(2000, 1, 1))
    pdf.set_producer("cxc")
    p = sheets.programme
    pdf.set_title(f"Attendance sheets: {p.title}")
    pdf.set_author(sheets.host)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_draw_color(0)
    pdf.set_text_color(0)
    for day in sheets.days:
        _day_pages(pdf, sheets, day)
    return bytes(pdf.output()), pdf.page_no()


def _day_pages(pdf: Any, sheets: Sheets, day: DaySheet) -> None:
    rows: Sequence[Row] = sheets.rows
    first = True
    index = 0
    while first or index < len(rows):
        _new_page(pdf, sheets, day, continued=not first)
        first = False
        _table_header(pdf)
        bottom = PAGE_H - MARGIN - FOOTER_H
        while index < len(rows) and pdf.get_y() + ROW_H <= bottom:
            _table_row(pdf, rows[index])
            index += 1
        if not rows:
            pdf.set_font("DejaVu", "", 9)
            pdf.cell(0, ROW_H, "No seat holders.", new_x="LMARGIN", new_y="NEXT")


def _new_page(pdf: Any, sheets: Sheets, day: DaySheet, *, continued: bool) -> None:
    p = sheets.programme
    pdf.add_page()
    width = PAGE_W - 2 * MARGIN
    pdf.set_font("DejaVu", "B", 9)
    funding = f", funded by {sheets.funding}" if sheets.funding else ""
    pdf.multi_cell(width, 4.5, f"{sheets.partnership}{funding}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(width, 6.5, "Attendance sheet", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(width, 5.5, p.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    where = ", ".join(x for x in (p.city, p.country) if x)
    pdf.multi_cell(width, 4.5, f"{KIND_NAMES.get(p.kind, p.kind)} hosted by {sheets.host}, "
                               f"{where}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(width, 6, f"{day.day:%A} {day.day.day} {day.day:%B %Y}"
                             + (" (continued)" if continued else ""),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    for line in day.sessions or ("No sessions this day.",):
        pdf.multi_cell(width, 4.2, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _footer(pdf, sheets)


def _footer(pdf: Any, sheets: Sheets) -> None:
    y = pdf.get_y()
    width = PAGE_W - 2 * MARGIN
    pdf.set_xy(MARGIN, PAGE_H - MARGIN - FOOTER_H + 4)
    pdf.set_font("DejaVu", "", 7)
    pdf.multi_cell(width, 3.3, sheets.notice, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.set_xy(MARGIN, PAGE_H - MARGIN - 4)
    pdf.cell(width, 4, f"{sheets.programme.id}, page {pdf.page_no()} of {{nb}}", align="R")
    pdf.set_xy(MARGIN, y)


def _table_header(pdf: Any) -> None:
    pdf.set_font("DejaVu", "B", 9)
    pdf.set_line_width(0.3)
    for title, width in COLUMNS:
        pdf.cell(width, HEAD_ROW_H, title, border=1)
    pdf.ln(HEAD_ROW_H)


def _table_row(pdf: Any, row: Row) -> None:
    pdf.set_line_width(0.2)
    cells = (row.name, row.organisation, row.org_type, row.country, "")
    for (_, width), text in zip(COLUMNS, cells, strict=True):
        size = 9.0
        pdf.set_font("DejaVu", "", size)
        while text and pdf.get_string_width(text) > width - 2 and size > 6:
            size -= 0.5
            pdf.set_font("DejaVu", "", size)
        pdf.cell(width, ROW_H, _fit(pdf, text, width - 2), border=1)
    pdf.ln(ROW_H)


def _fit(pdf: Any, text: str, width: float) -> str:
    """``text``, cut with an ellipsis if even the smallest size does not fit ``width``."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
