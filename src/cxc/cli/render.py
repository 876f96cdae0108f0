"""Findings for people (rich) and for scripts (JSON): pure formatting, no decisions."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from cxc.errors import EXIT_FINDINGS, EXIT_OK, Finding

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
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def print_findings(console: Any, findings: Sequence[Finding]) -> None:
    """Findings grouped by programme, coloured by severity, then a summary line."""
    from rich.markup import escape

    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[f.programme or "partnership"].append(f)
    for programme in sorted(groups):
        console.print(f"[bold]{escape(programme)}[/bold]")
        for f in groups[programme]:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            style = SEVERITY_STYLE.get(f.severity, "")
            console.print(
                f"  [{style}]{f.severity:<7}[/{style}] [cyan]{f.rule}[/cyan] "
                f"{escape(f.message)}" + (f"  [dim]{escape(where)}[/dim]" if where else ""))
    errors, _ = counts(findings)
    style = "bold red" if errors else ("yellow" if findings else "green")
    console.print(f"[{style}]{summary_line(findings)}[/{style}]")


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


def print_plan(console: Any, doc_of: Callable[[str], Any], plans: Sequence[Any],
               findings: Sequence[Finding]) -> None:
    """Per programme and day: time, session, venue, fill and the mix of delegations.

    ``doc_of`` reads the planned programme of an id (one at a time: a plan can be large).
    """
    from rich.markup import escape
    from rich.table import Table

    for plan in plans:
        doc = doc_of(plan.programme)
        if doc is None:
            continue
        p = doc.programme
        console.print(f"\n[bold]{escape(p.id)}[/bold]  {escape(p.title)}  "
                      f"[dim]{escape(p.city or '')} {p.start} to {p.end}, {p.status}[/dim]")
        sessions = {s.id: s for s in doc.sessions}
        venues = {v.id: v.name for v in doc.venues}
        partner_of = {r.key: r.partner for r in doc.participants}
        by_day: dict[str, list[Any]] = defaultdict(list)
        for fill in plan.sessions:
            session = sessions[fill.session]
            by_day[f"{session.start.wall:%A %d %B %Y}"].append((session, fill))
        for day, rows in by_day.items():
            table = Table(title=day, title_justify="left", show_edge=False, pad_edge=False)
            for column in ("time", "session", "venue", "fill", "mix"):
                table.add_column(column, no_wrap=column in ("time", "fill"))
            for session, fill in rows:
                seats = "∞" if fill.capacity is None else str(fill.capacity)
                count = len(fill.attendees)
                over = fill.capacity is not None and count > fill.capacity
                table.add_row(
                    f"{session.start.wall:%H:%M}-{session.end.wall:%H:%M}",
                    escape(session.title) + (f" [dim]({escape(fill.slot)})[/dim]"
                                             if fill.slot else " [dim](plenary)[/dim]"),
                    escape(venues.get(session.venue or "", session.venue or "")),
                    f"[red]{count}/{seats}[/red]" if over else f"{count}/{seats}",
                    "[dim]everyone[/dim]" if fill.slot is None
                    else escape(_mix(partner_of.get(e, "?") for e in fill.attendees)),
                )
            console.print(table)
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
    if findings:
        console.print()
        print_findings(console, findings)
    else:
        console.print(f"\n[green]{summary_line(findings)}[/green]")


def _mix(partners: Any) -> str:
    counted: dict[str, int] = defaultdict(int)
    for partner in partners:
        counted[partner] += 1
    return " · ".join(f"{name} {n}" for name, n in sorted(counted.items(), key=lambda x: (-x[1], x[0])))
