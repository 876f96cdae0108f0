"""Findings for people (rich) and for scripts (JSON): pure formatting, no decisions."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import repeat
from typing import Any

from cxc.errors import EXIT_FINDINGS, EXIT_OK, Finding, plural

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}


def counts(findings: Sequence[Finding]) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.severity == "error")
    return errors, len(findings) - errors


def exit_code(findings: Sequence[Finding], strict: bool) -> int:
    errors, warnings = counts(findings)
    return EXIT_FINDINGS if errors or (strict and warnings) else EXIT_OK


def findings_payload(findings: Sequence[Finding]) -> dict[str, Any]:
    errors, warnings = counts(findings)
    return {"findings": [f.as_json() for f in findings], "errors": errors, "warnings": warnings}


def findings_json(findings: Sequence[Finding]) -> str:
    return json.dumps(findings_payload(findings), indent=2, ensure_ascii=False)


def summary_line(findings: Sequence[Finding]) -> str:
    errors, warnings = counts(findings)
    if not findings:
        return "no problems found"
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"


def location(f: Finding) -> str:
    """Where a finding points, compiler style: ``file:line:col``, as much of it as is known.

    A finding with no file is placed by its programme (or nowhere: an empty string).
    """
    return str(f.at) if f.at is not None else f.programme or ""


def display_order(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then warnings; each by file and line (findings with no file last)."""
    return sorted(findings, key=lambda f: (
        f.severity != "error", f.file is None, f.file or "", f.line or 0, f.programme or "",
        f.rule, f.message))


def finding_line(f: Finding) -> str:
    """``file:line: error rule-id: message``: the place first, where editors look for it."""
    where = location(f)
    return (f"{where}: " if where else "") + f"{f.severity} {f.rule}: {f.message}"


def print_findings(console: Any, findings: Sequence[Finding]) -> None:
    """One line a finding, the place first, errors before warnings; then the summary line.

    The place is never wrapped: off a terminal the console does not wrap at all, and on one
    it is the start of the line, so only the message wraps.
    """
    from rich.text import Text

    for f in display_order(findings):
        where = location(f)
        line = Text()
        if where:
            line.append(where, style="bold")
            line.append(": ")
        line.append(f.severity, style=SEVERITY_STYLE.get(f.severity, ""))
        line.append(" ")
        line.append(f.rule, style="cyan")
        line.append(": ")
        line.append(f.message)
        console.print(line)
    errors, _ = counts(findings)
    style = "bold red" if errors else ("yellow" if findings else "green")
    console.print(Text(summary_line(findings), style=style))


# -- the plan -----------------------------------------------------------------


def plan_payload(plans: Sequence[Any], findings: Sequence[Finding]) -> dict[str, Any]:
    """The brief's plan JSON, plus who moved since the last plan."""
    payload: dict[str, Any] = {
        "programmes": [
            {
                "id": plan.programme,
                "sessions": [
                    {"id": fill.session, "slot": fill.slot, "capacity": fill.capacity,
                     "attendees": list(fill.attendees)}
                    for fill in plan.sessions
                ],
                "moved": [
                    {"email": move.email, "slot": move.slot, "from": move.from_session,
                     "to": move.to_session}
                    for move in plan.moved
                ],
                "admitted": list(plan.admitted),
                "waiting": list(plan.waiting),
            }
            for plan in plans
        ],
    }
    payload.update(findings_payload(findings))
    return payload


def plan_json(plans: Sequence[Any], findings: Sequence[Finding]) -> str:
    return json.dumps(plan_payload(plans, findings), indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class PlanTable:
    """What showing one programme's plan needs, taken from its data as planning read it: the
    header, the table's cells (a list a day), and with ``--people`` who is in each group (the
    lines of :func:`_people_lines`: the programme itself is not kept)."""

    programme: Any
    days: list[list[tuple[tuple[str, ...], bool]]]
    people: list[tuple[str, str, str]] | None = None


def plan_table(doc: Any, plan: Any, *, people: bool = False) -> PlanTable:
    """The cells of one programme's plan table: day, time, slot, session, venue, fill, mix
    (and whether the fill is over capacity)."""
    sessions = {s.id: s for s in doc.sessions}
    venues = {v.id: v.name for v in doc.venues}
    partner_of = {r.key: r.partner for r in doc.registrations}
    days: list[list[tuple[tuple[str, ...], bool]]] = []
    day = None
    for fill in plan.sessions:
        session = sessions[fill.session]
        this_day = _day_label(session.start.wall)
        if this_day != day:
            days.append([])
        seats = "∞" if fill.capacity is None else str(fill.capacity)
        count = len(fill.attendees)
        days[-1].append(((
            this_day if this_day != day else "",
            _times_label(session.start.wall, session.end.wall),
            fill.slot or "",
            session.title,
            venues.get(session.venue or "", session.venue or ""),
            f"{count}/{seats}",
            "everyone" if fill.slot is None
            else _mix(map(partner_of.get, fill.attendees, repeat("?"))),
        ), fill.capacity is not None and count > fill.capacity))
        day = this_day
    return PlanTable(doc.programme, days, _people_lines(doc, plan) if people else None)


@lru_cache(maxsize=1 << 12)
def _day_label(wall: datetime) -> str:
    """A day as the plan table heads it; the sessions of a day share it (and a slot its times)."""
    return f"{wall:%a %d %b %Y}"


@lru_cache(maxsize=1 << 12)
def _times_label(start: datetime, end: datetime) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def print_plan(console: Any, table_of: Callable[[str], PlanTable | None], plans: Sequence[Any],
               findings: Sequence[Finding], *, people: bool = False) -> None:
    """Per programme one table, a section a day: time, slot, session, venue, fill and mix.

    One table keeps the columns the same width on every day; a plenary session has a blank
    slot. With ``people``, who is in each parallel group follows the table. The findings and
    their summary line come first, as ``cxc validate`` prints them: a long plan does not
    push them out of sight, and ``cxc plan | head`` shows them. ``table_of`` gives the
    :class:`PlanTable` of an id, made while planning read the programme (the programmes
    themselves are not kept: a plan can be large).
    """
    from rich.markup import escape
    from rich.table import Table

    print_findings(console, findings)
    for plan in plans:
        shown = table_of(plan.programme)
        if shown is None:
            continue
        p, days = shown.programme, shown.days
        if console.is_terminal:
            console.print(f"\n[bold]{escape(p.id)}[/bold]  {escape(p.title)}  "
                          f"[dim]{escape(p.city or '')} {p.start} to {p.end}, {p.status}[/dim]")
        else:  # the same line, without rich's markup and layout (a tenth of the time)
            console.file.write(f"\n{p.id}  {p.title}  {p.city or ''} {p.start} to {p.end}, "
                               f"{p.status}\n")
        if console.is_terminal or not _print_plain(console, PLAN_COLUMNS, days):
            table = Table(show_edge=False, pad_edge=False)
            for column in PLAN_COLUMNS:
                table.add_column(column, no_wrap=column in ("day", "time", "slot", "fill"))
            for n, rows in enumerate(days):
                if n:
                    table.add_section()
                for cells, over in rows:
                    *text, fill_cell, mix = (escape(cell) for cell in cells)
                    table.add_row(*text, f"[red]{fill_cell}[/red]" if over else fill_cell,
                                  "[dim]everyone[/dim]" if not cells[2] else mix)
            if console.is_terminal:
                console.print(table)
            else:
                _print_unwrapped(console, table)
        if plan.admitted:
            console.print(f"  admitted from the waitlist ({len(plan.admitted)}): "
                          + escape(", ".join(plan.admitted)))
        if plan.waiting:
            console.print(f"  still waiting ({len(plan.waiting)}): "
                          + escape(", ".join(plan.waiting)))
        for move in plan.moved:
            to = move.to_session or "nowhere (no seat left)"
            console.print(f"  moved: {escape(move.email)} in {escape(move.slot)}: "
                          f"{escape(move.from_session)} -> {escape(to)}")
        if people and shown.people:
            _print_people(console, shown.people)


PLAN_COLUMNS = ("day", "time", "slot", "session", "venue", "fill", "mix")


def _print_plain(console: Any, columns: Sequence[str],
                 sections: Sequence[Sequence[tuple[tuple[str, ...], bool]]]) -> bool:
    """A table off a terminal, the lines :func:`_print_unwrapped` gives for rich's table of
    these cells, without rich's measuring (most of a plan's time at a thousand programmes).
    False, printing nothing, for a cell with a line break or control character: rich lays
    those out itself."""
    rows = [cells for section in sections for cells, _ in section]
    if any(not cell.isprintable() for cells in rows for cell in cells):
        return False
    from rich.cells import cell_len

    # rich gives a printable ASCII character one column
    measured = [[len(cell) if cell.isascii() else cell_len(cell) for cell in cells]
                for cells in [columns, *rows]]
    widths = [max(column) for column in zip(*measured, strict=True)]
    lengths = iter(measured)  # in the order the lines are made: the header, then the rows

    def line(cells: Sequence[str], bar: str) -> str:
        padded = (cell + " " * (w - n)
                  for cell, n, w in zip(cells, next(lengths), widths, strict=True))
        return f" {bar} ".join(padded).rstrip()

    def rule(fill: str, cross: str) -> str:
        return cross.join(fill * (w + (1 if i in (0, len(widths) - 1) else 2))
                          for i, w in enumerate(widths))

    lines = [line(columns, "┃"), rule("━", "╇")]
    for n, section in enumerate(sections):
        if n:
            lines.append(rule("─", "┼"))
        lines.extend(line(cells, "│") for cells, _ in section)
    console.file.write("\n".join(lines) + "\n")
    return True


def _print_unwrapped(console: Any, table: Any) -> None:
    """A table off a terminal (a file, a pipe): as wide as its content, never cut to the
    console's 80 columns, and without the padding that would end its lines in spaces."""
    from rich.measure import Measurement
    from rich.text import Text

    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    options = console.options.update_width(max(natural, 1))
    for segments in console.render_lines(table, options, pad=False):
        line = Text.assemble(*((s.text, s.style) for s in segments if not s.control))
        line.rstrip()
        console.print(line)


def _print_people(console: Any, lines: Sequence[tuple[str, str, str]]) -> None:
    """Who is in each parallel group: a line a session, by slot, names sorted."""
    from rich.text import Text

    if not console.is_terminal and all(head.isprintable() and tail.isprintable()
                                       for head, tail, _ in lines):
        # the lines rich prints off a terminal, without its rendering (most of --people's time)
        console.file.write("\nwho is in each group\n"
                           + "".join(head + tail + "\n" for head, tail, _ in lines))
        return
    console.print(Text("\nwho is in each group", style="bold"))
    for head, tail, style in lines:
        line = Text(head, style=style if not tail else "")
        if tail:
            line.append(tail, style=style)
        console.print(line)


def _people_lines(doc: Any, plan: Any) -> list[tuple[str, str, str]]:
    """The lines of :func:`_print_people` after its heading, each as (text, its end, the end's
    style): a slot's line is all bold text; a session's ends in its names, or a dim nobody."""
    sessions = {s.id: s for s in doc.sessions}
    person = {r.key: r for r in doc.registrations}
    by_slot: dict[str, list[Any]] = defaultdict(list)
    for fill in plan.sessions:
        if fill.slot is not None:
            by_slot[fill.slot].append(fill)
    lines = []
    for slot, fills in by_slot.items():
        first = sessions[fills[0].session]
        lines.append((f"  {slot}, {first.start.wall:%a %d %b %Y}", "", "bold"))
        for fill in fills:
            session = sessions[fill.session]
            names = sorted(
                (f"{person[e].name} ({person[e].partner})" if e in person else e
                 for e in fill.attendees), key=str.casefold)
            lines.append((f"    {session.start.wall:%H:%M}-{session.end.wall:%H:%M} "
                          f"{session.title} ({len(fill.attendees)}): ",
                          ", ".join(names) if names else "nobody", "" if names else "dim"))
    return lines


def _mix(partners: Iterable[str]) -> str:
    counted = Counter(partners)
    return " · ".join(f"{name} {n}" for name, n in sorted(counted.items(), key=lambda x: (-x[1], x[0])))
