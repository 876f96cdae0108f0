"""Findings for people (rich) and for scripts (JSON): pure formatting, no decisions."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .errors import EXIT_FINDINGS, EXIT_OK, Finding

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
