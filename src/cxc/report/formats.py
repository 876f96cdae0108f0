"""The report and the evidence as text: pure functions from a result to a ``str``.

table (laid out by rich, for people), json, csv and markdown here; html in
:mod:`cxc.report.html`. Nothing here touches the store: the numbers come from
:mod:`cxc.report.measures`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from cxc.csvcells import safe_cell
from cxc.report.measures import Cell, Deliverable, Evidence, Period, Report

if TYPE_CHECKING:
    from rich.console import RenderableType


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


NATURAL_WIDTH = 240
"""Width a table is laid out in when not on a terminal: wide enough not to wrap."""
WIDE_TABLE = 112
"""Narrower than this, the report table folds each key under its label."""
BAR_CELLS = 10
NO_TARGET = "\N{EM DASH}"


def format_report(report: Report, fmt: OutputFormat, *, width: int | None = None,
                  color: bool = False) -> str:
    """The report as text; ``width`` and ``color`` shape only the table."""
    if fmt is OutputFormat.table:
        return _render(_report_table(report, width), width, color)
    if fmt is OutputFormat.html:
        from cxc.report.html import report_html

        return report_html(report)
    return REPORT_FORMATS[fmt](report)


def format_evidence(evidence: Evidence, fmt: OutputFormat, *, width: int | None = None,
                    color: bool = False, sheets: Mapping[str, str] | None = None) -> str:
    """The evidence as text; ``width`` and ``color`` shape only the table; ``sheets``
    (programme id -> link to its attendance sheets) only the html page."""
    if fmt is OutputFormat.table:
        return _render(_evidence_table(evidence), width, color)
    if fmt is OutputFormat.html:
        from cxc.report.html import evidence_html

        return evidence_html(evidence, sheets)
    return EVIDENCE_FORMATS[fmt](evidence)


def report_json(report: Report) -> str:
    return _json({"period": report.period.as_json(),
                  "deliverables": [d.as_json() for d in report.deliverables]})


def report_csv(report: Report) -> str:
    return _csv(("key", "label", "actual", "target"),
                [(d.key, d.label, d.actual, d.target) for d in report.deliverables])


def report_markdown(report: Report) -> str:
    lines = [f"**Deliverables**, {_scope(report.period, report.partner)}", "",
             "| Key | Deliverable | Actual | Target | Progress | Status |",
             "| :-- | :-- | --: | --: | --: | :-- |"]
    for d in report.deliverables:
        lines.append(_markdown_row((
            f"`{d.key}`", d.label, str(d.actual), _text(d.target, NO_TARGET),
            "" if d.percent is None else f"{d.percent}%", _status(d))))
    return "\n".join(lines) + "\n"


def report_table(report: Report) -> str:
    return _render(_report_table(report, None), None, False)


def evidence_json(evidence: Evidence) -> str:
    d = evidence.deliverable
    rows = [dict(zip(evidence.columns, row, strict=True)) for row in evidence.rows]
    return _json({"period": evidence.period.as_json(), **d.as_json(), "evidence": rows})


def evidence_csv(evidence: Evidence) -> str:
    return _csv(evidence.columns, evidence.rows)


def evidence_markdown(evidence: Evidence) -> str:
    d = evidence.deliverable
    heading = (f"**{d.label}** (`{d.key}`): {d.actual}, target {_text(d.target, 'none')}; "
               f"{_scope(evidence.period, evidence.partner)}")
    lines = [heading, "",
             _markdown_row(evidence.columns),
             _markdown_row(tuple("--:" if _numeric(evidence, i) else ":--"
                                 for i in range(len(evidence.columns))))]
    lines.extend(_markdown_row(tuple(_text(c, "") for c in row)) for row in evidence.rows)
    lines += ["", f"*{evidence.note}*"]
    return "\n".join(lines) + "\n"


def evidence_table(evidence: Evidence) -> str:
    return _render(_evidence_table(evidence), None, False)


REPORT_FORMATS: dict[OutputFormat, Callable[[Report], str]] = {
    OutputFormat.table: report_table,
    OutputFormat.json: report_json,
    OutputFormat.csv: report_csv,
    OutputFormat.markdown: report_markdown,
}
EVIDENCE_FORMATS: dict[OutputFormat, Callable[[Evidence], str]] = {
    OutputFormat.table: evidence_table,
    OutputFormat.json: evidence_json,
    OutputFormat.csv: evidence_csv,
    OutputFormat.markdown: evidence_markdown,
}


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_csv_cell(c) for c in header])
    writer.writerows([_csv_cell(c) for c in row] for row in rows)
    return buffer.getvalue()


def _csv_cell(cell: Cell) -> Cell:
    """A cell no spreadsheet runs: text that would start a formula gets a leading `'`."""
    return safe_cell(cell) if isinstance(cell, str) else cell


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _scope(period: Period, partner: str | None) -> str:
    return str(period) + (f", partner {partner}" if partner else "")


def _status(d: Deliverable) -> str:
    return {None: "", True: "✓ met", False: "✗ behind"}[d.met]


def _text(value: Cell, empty: str) -> str:
    return empty if value is None else str(value)


def _numeric(evidence: Evidence, column: int) -> bool:
    values = [row[column] for row in evidence.rows if row[column] is not None]
    return bool(values) and all(isinstance(v, int) for v in values)


def _bar(d: Deliverable, cells: int) -> str:
    if d.percent is None:
        return ""
    filled = min(cells, d.percent * cells // 100)
    return f"{d.percent:>3}% " + "█" * filled + "░" * (cells - filled)


def _report_table(report: Report, width: int | None) -> RenderableType:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    narrow = width is not None and width < WIDE_TABLE
    table = Table(title=f"Deliverables, {_scope(report.period, report.partner)}",
                  caption="held programmes and attended participants only; "
                          "`cxc report --explain KEY` lists what stands behind a number",
                  box=box.SIMPLE_HEAVY)
    if not narrow:
        table.add_column("Key", style="cyan", no_wrap=True)
    table.add_column("Deliverable")
    table.add_column("Actual", justify="right", min_width=6)
    table.add_column("Target", justify="right", min_width=6)
    table.add_column("Progress", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for d in report.deliverables:
        style = {None: "dim", True: "green", False: "yellow"}[d.met]
        names = ([Text.assemble(d.label, "\n", (d.key, "cyan"))] if narrow
                 else [Text(d.key), Text(d.label)])
        table.add_row(*names, Text(str(d.actual), style="bold"), Text(_text(d.target, NO_TARGET)),
                      Text(_bar(d, BAR_CELLS // 2 if narrow else BAR_CELLS), style=style),
                      Text(_status(d), style=style))
    return table


def _evidence_table(evidence: Evidence) -> RenderableType:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    d = evidence.deliverable
    table = Table(title=f"{d.key}: {d.label} = {d.actual} (target {_text(d.target, 'none')}), "
                        f"{_scope(evidence.period, evidence.partner)}",
                  caption=evidence.note, box=box.SIMPLE_HEAVY)
    for i, column in enumerate(evidence.columns):
        table.add_column(column, justify="right" if _numeric(evidence, i) else "left",
                         overflow="fold")
    for row in evidence.rows:
        table.add_row(*(Text(_text(cell, "")) for cell in row))
    return table


def _render(renderable: RenderableType, width: int | None, color: bool) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or NATURAL_WIDTH, force_terminal=color,
                      no_color=not color, color_system="auto" if color else None,
                      highlight=False, emoji=False, legacy_windows=False)
    console.print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
