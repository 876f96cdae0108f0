"""The `cxc` command line: parse options, call the library once, render.

Heavy modules (yaml, sqlite_utils, icalendar, rich, jinja2) are imported inside
the commands, so that `cxc --help` stays fast. Every CxcError becomes a message
on stderr and its exit code in exactly one place: :func:`main`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NamedTuple, NoReturn

import typer

from cxc import __version__
from cxc.errors import EXIT_OK, EXIT_UNUSABLE, CxcError, UsageError

app = typer.Typer(
    name="cxc",
    help="Programme manager for European cluster exchanges: load, check, plan, export, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Path, typer.Option(
        "--db", envvar="CXC_DB", help="The SQLite store.", show_default=True,
    )] = Path("cxc.db"),
    busy_timeout: Annotated[float | None, typer.Option(
        "--busy-timeout", envvar="CXC_BUSY_TIMEOUT", min=0, metavar="SECONDS",
        help="How long to wait for another cxc writing the store (default: 60).",
    )] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.",
    )] = False,
) -> None:
    """Programme manager for European cluster exchanges: load, check, plan, export, report."""
    ctx.obj = Settings(db, busy_timeout)


class Settings(NamedTuple):
    """The options every command shares."""

    db: Path
    busy_timeout: float | None
    """None: the store's default."""

    def store_options(self) -> dict[str, Any]:
        return {} if self.busy_timeout is None else {"busy_timeout_s": self.busy_timeout}


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings(Path("cxc.db"), None)


def _db_path(ctx: typer.Context) -> Path:
    return _settings(ctx).db


def _open(ctx: typer.Context, *, create: bool = True) -> Any:
    from cxc import store

    settings = _settings(ctx)
    return store.open_store(settings.db, create=create, **settings.store_options())


def _err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=not sys.stderr.isatty(), highlight=False)


PROGRESS_AFTER_S = 1.0
"""A step shows a progress bar once it has taken this long (and only on a terminal)."""


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """What a long step calls with (steps done, steps in all): a progress bar on a terminal's
    stderr, shown once the step has taken PROGRESS_AFTER_S; nothing at all elsewhere."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    import time

    from rich.progress import Progress

    progress = Progress(console=_err_console(), transient=True)
    task = progress.add_task(description, total=None)
    show_at = time.monotonic() + PROGRESS_AFTER_S

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)
        if not progress.live.is_started and time.monotonic() >= show_at:
            progress.start()

    try:
        yield advance
    finally:
        progress.stop()


def _out_console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=not sys.stdout.isatty(), highlight=False)


def _load(ctx: typer.Context, paths: list[Path]) -> Any:
    from cxc import store
    from cxc.format.files import find_files

    settings = _settings(ctx)
    found = find_files(paths, settings.db)  # before any store exists: a wrong path leaves none
    with _progress("loading") as progress:
        return store.load_into(settings.db, lambda: found.documents(progress), found.displays,
                               found.mirrored, **settings.store_options())


@app.command()
def load(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(
        help="YAML files or folders (searched recursively for *.yaml and *.yml).", metavar="PATH...",
    )],
) -> None:
    """Read programme files into the store, in one transaction; a re-loaded file replaces what it defined."""
    summary = _load(ctx, paths)
    _err_console().print(
        f"loaded {summary.files} file{'s' * (summary.files != 1)}: "
        f"{summary.programmes} programme{'s' * (summary.programmes != 1)}, "
        f"{summary.sessions} sessions, {summary.participants} registrations "
        f"into {_db_path(ctx)}"
        + (f"; dropped {summary.dropped} file{'s' * (summary.dropped != 1)} no longer there"
           if summary.dropped else ""))


@app.command()
def validate(
    ctx: typer.Context,
    format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", help="text for people, json for scripts.")] = TextOrJson.text,
    strict: Annotated[bool, typer.Option(help="Warnings fail too (exit 1).")] = False,
) -> None:
    """Check everything in the store against the rules; exit 1 when errors (or, with --strict, warnings) are found."""
    from cxc.cli import render
    from cxc.rules import validate_store

    db = _open(ctx, create=False)
    findings = validate_store(db)
    if format is TextOrJson.json:
        typer.echo(render.findings_json(findings))
    else:
        render.print_findings(_out_console(), findings)
    raise typer.Exit(render.exit_code(findings, strict))


@app.command()
def plan(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Load these YAML files or folders first.", metavar="[PATH...]")] = None,
    format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", help="text for people, json for scripts.")] = TextOrJson.text,
) -> None:
    """Load PATHs if given, validate, place participants in parallel sessions, store and show the plan."""
    from cxc import store
    from cxc.cli import render
    from cxc.plan import plan_store

    if paths:
        _load(ctx, paths)
    db = _open(ctx, create=False)
    with _progress("planning") as progress:
        outcome = plan_store(db, progress)
    if format is TextOrJson.json:
        typer.echo(render.plan_json(outcome.plans, outcome.findings))
    else:
        def doc_of(programme: str) -> Any:
            return next(store.read_programmes(db, [outcome.files[programme]]), None)

        render.print_plan(_out_console(), doc_of, outcome.plans, outcome.findings)
    raise typer.Exit(render.exit_code(outcome.findings, strict=False))


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder to write calendars and itineraries into.")],
    programme: Annotated[str | None, typer.Option(
        "--programme", "-p", help="Only this programme id.")] = None,
) -> None:
    """Write each programme's calendar and every participant's .ics and printable itinerary."""
    from cxc.calendars.export import export_store

    db = _open(ctx, create=False)
    with _progress("exporting") as progress:
        summary = export_store(db, out, programme, now=_source_date(), progress=progress)
    _err_console().print(
        f"exported {summary.programmes} programme{'s' * (summary.programmes != 1)}: "
        f"{summary.calendars} calendars, {summary.pages} itineraries"
        + (f", {summary.cancelled_events} cancelled events" if summary.cancelled_events else "")
        + f" into {summary.out}")


def _source_date() -> Any:
    """The export time: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    from datetime import datetime

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None


@app.command()
def report(
    ctx: typer.Context,
    format: Annotated[ReportFormat, typer.Option(
        "--format", "-f", help="table for people; json, csv or markdown to reuse.",
    )] = ReportFormat.table,
    period_from: Annotated[str | None, typer.Option(
        "--from", metavar="DATE",
        help="Count programmes starting, and activities dated, on or after DATE (YYYY-MM-DD).",
    )] = None,
    period_to: Annotated[str | None, typer.Option(
        "--to", metavar="DATE",
        help="Count programmes starting, and activities dated, on or before DATE (YYYY-MM-DD).",
    )] = None,
    partner: Annotated[str | None, typer.Option(
        "--partner", metavar="ID",
        help="Only the programmes this partner hosts and the activities it carried out.")] = None,
    explain: Annotated[str | None, typer.Option(
        "--explain", metavar="KEY",
        help="List what stands behind one deliverable's count (KEY: e.g. participants).",
    )] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Report even when `cxc validate` finds errors (with a warning).",
    )] = False,
) -> None:
    """Count the COSME deliverables against the grant's targets, for a period.

    A store that `cxc validate` finds errors in is refused (exit 1), unless --force.
    """
    from cxc import report as reports

    start = reports.parse_day(period_from, "--from")
    end = reports.parse_day(period_to, "--to")
    if explain is not None:
        reports.measure(explain)
    db = _open(ctx, create=False)
    console = _out_console()
    fmt = reports.OutputFormat(format.value)
    width = console.width if console.is_terminal else None
    color = console.is_terminal and not console.no_color
    if explain is None:
        counted = reports.build_report(db, start, end, partner, force=force)
        text = reports.format_report(counted, fmt, width=width, color=color)
        errors = counted.errors
    else:
        evidence = reports.explain(db, explain, start, end, partner, force=force)
        text = reports.format_evidence(evidence, fmt, width=width, color=color)
        errors = evidence.errors
    if errors:
        typer.echo(f"cxc: {reports.forced_warning(errors)}", err=True)
    typer.echo(text, nl=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the YAML format, for editors and CI."""
    from cxc.format.schema import schema_json

    typer.echo(schema_json(), nl=False)


@app.command()
def forget(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email (any case).")],
) -> None:
    """Erase a person from the store (GDPR): name, email, travel, stay, plan; counts stay right."""
    from cxc.calendars.export import erase_person_files, exports_held
    from cxc.store import forget as forget_person

    db = _open(ctx, create=False)
    with exports_held(db):
        summary = forget_person(db, email, erase_person_files)
    _err_console().print(
        f"forgotten: {summary.registrations} registration"
        f"{'s' * (summary.registrations != 1)} kept anonymous for the deliverable counts; "
        f"{summary.files} exported file{'s' * (summary.files != 1)} of theirs removed")


def main() -> NoReturn:
    """Entry point: run the app and turn every CxcError into one message and its exit code."""
    try:
        code = app(standalone_mode=False)
    except CxcError as exc:
        for line in exc.lines():
            print(f"cxc: {line}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("cxc: interrupted; the store is as it was before this command", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except Exception as exc:  # noqa: BLE001 - the last guard: a one-line message, never a traceback
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `cxc`: the help, as usage
            print(_message(exc), file=sys.stderr)
            sys.exit(EXIT_UNUSABLE)
        print(f"cxc: {_one_line(exc)}", file=sys.stderr)
        sys.exit(EXIT_UNUSABLE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _message(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


def _one_line(exc: Exception) -> str:
    """What went wrong, for an exception the library did not turn into a CxcError."""
    module = type(exc).__module__.split(".")[0]
    if module in ("click", "typer"):  # usage errors of the vendored click
        return f"{_message(exc)} (see --help)"
    if module == "sqlite3":
        return f"the store could not be used: {exc}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    text = " ".join(str(exc).split())
    return f"internal error: {type(exc).__name__}: {text} (please report it with the command)"


