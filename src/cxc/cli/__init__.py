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
from cxc.__main__ import INTERRUPTED
from cxc.errors import EXIT_OK, EXIT_UNUSABLE, CxcError, UsageError, plural

app = typer.Typer(
    name="cxc",
    help="Programme manager for European cluster exchanges: load, check, plan, export, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nExamples:\n  cxc plan programmes/\n  cxc validate --db demo.db\n"
           "  cxc export --out out/\n  cxc COMMAND -h    (each command's own help)\n\n"
           "Exit codes: 0 success; 1 the data breaks a rule (errors found); 2 the command "
           "could not run (bad usage, unreadable or malformed input).",
)

def _plain_placeholders() -> None:
    """Arguments shown as `PATH...` and `[PATH]...`, not typer's `{PATH}...` and `<list[Path]>`."""
    from typer.core import TyperArgument

    def usage(self: Any) -> str:
        name = str(self.display_name_raw)
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    TyperArgument._usage_display_name = usage  # type: ignore[method-assign]
    TyperArgument.display_type = lambda self, ctx: ""  # type: ignore[method-assign]


_plain_placeholders()

EXIT_CODES = ("Exit codes: 0 success; 1 the data breaks a rule (errors found); "
              "2 the command could not run (bad usage, unreadable or malformed input).")


def _epilog(*examples: str, codes: str = EXIT_CODES) -> str:
    """A command's help footer: its examples, one a line, then the exit codes."""
    lines = "\n".join(f"  {example}" for example in examples)
    return f"\b\nExamples:\n{lines}\n\n{codes}"


DbOption = Annotated[Path | None, typer.Option(
    "--db", metavar="PATH", show_default=False,
    help="The SQLite store (also accepted before the command; env CXC_DB; default cxc.db).",
)]
"""``--db`` after the command: the same store option as the global one, which it overrides."""

ProgrammeOption = Annotated[str | None, typer.Option(
    "--programme", "-p", metavar="ID", help="Only this programme id.")]
"""``--programme ID``, for the commands that can work on one programme."""


def _use_db(ctx: typer.Context, db: Path | None) -> None:
    if db is not None:
        ctx.obj = _settings(ctx)._replace(db=db)


_exit_if_cut = [EXIT_OK]
"""The exit code a command will end with, set before it writes its output: when a reader
stops early (``cxc plan | head -1``) that code, not a broken pipe's, is the honest answer."""


def _will_exit(code: int) -> int:
    _exit_if_cut[0] = code
    return code


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Path, typer.Option(
        "--db", envvar="CXC_DB", metavar="PATH", help="The SQLite store.", show_default=True,
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


def _open(ctx: typer.Context, *, create: bool = True, write: bool = True) -> Any:
    """The store; ``write=False`` for a command that only reads it (then a read-only store,
    on read-only media say, opens too)."""
    from cxc import store

    settings = _settings(ctx)
    return store.open_store(settings.db, create=create, write=write, **settings.store_options())


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
        return store.load_into(settings.db, lambda known: found.documents(progress, known),
                               found.displays, found.mirrored, **settings.store_options())


@app.command(epilog=_epilog("cxc load programmes/", "cxc load --db demo.db partnership.yaml "
                             "programmes/cxc-2024-lille.yaml"))
def load(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(
        help="YAML files or folders (searched recursively for *.yaml and *.yml).",
        metavar="PATH", show_default=False,
    )],
    db: DbOption = None,
) -> None:
    """Read programme files into the store, in one transaction; a re-loaded file replaces what it defined."""
    _use_db(ctx, db)
    summary = _load(ctx, paths)
    _err_console().print(
        f"loaded {plural(summary.files, 'file')}: "
        f"{plural(summary.programmes, 'programme')}, "
        f"{plural(summary.sessions, 'session')}, "
        f"{plural(summary.participants, 'registration')} "
        f"into {_db_path(ctx)}"
        + (f"; dropped {plural(summary.dropped, 'file')} no longer there"
           if summary.dropped else ""))


@app.command(epilog=_epilog(
    "cxc validate", "cxc validate --db demo.db --format json", "cxc validate --strict",
    codes="Exit codes: 0 no errors (warnings allowed unless --strict); 1 errors found (or "
          "warnings, with --strict); 2 the command could not run (no store, bad usage)."))
def validate(
    ctx: typer.Context,
    format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", metavar="FORMAT",
        help="text for people, json for scripts.")] = TextOrJson.text,
    strict: Annotated[bool, typer.Option(help="Warnings fail too (exit 1).")] = False,
    db: DbOption = None,
) -> None:
    """Check everything in the store against the rules; exit 1 when errors (or, with --strict, warnings) are found."""
    _use_db(ctx, db)
    from cxc import store
    from cxc.cli import render
    from cxc.rules import validate_store

    store_db = _open(ctx, create=False, write=False)
    findings = validate_store(store_db)
    changed = store.changed_on_disk(store_db)
    code = _will_exit(render.exit_code(findings, strict))
    if format is TextOrJson.json:
        typer.echo(render.findings_json(findings))
    else:
        render.print_findings(_out_console(), findings)
    if changed:
        typer.echo(f"cxc: {store.loaded_files_note(changed)}", err=True)
    raise typer.Exit(code)


@app.command(epilog=_epilog("cxc plan programmes/", "cxc plan --people",
                             "cxc plan --db demo.db --format json"))
def plan(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Load these YAML files or folders first.", metavar="PATH",
        show_default=False)] = None,
    format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", metavar="FORMAT",
        help="text for people, json for scripts.")] = TextOrJson.text,
    people: Annotated[bool, typer.Option(
        "--people", help="Also list who is in each parallel group (text only).")] = False,
    db: DbOption = None,
) -> None:
    """Load PATHs if given, validate, place participants in parallel sessions, store and show the plan."""
    _use_db(ctx, db)
    from cxc.cli import render
    from cxc.plan import plan_store

    if paths:
        _load(ctx, paths)
    store_db = _open(ctx, create=False)
    tables: dict[str, render.PlanTable] = {}

    def shown(doc: Any, plan: Any) -> None:  # as planning reads it: not read again
        tables[plan.programme] = render.plan_table(doc, plan, people=people)

    with _progress("planning") as progress:
        outcome = plan_store(store_db, progress,
                             shown if format is TextOrJson.text else None)
    code = _will_exit(render.exit_code(outcome.findings, strict=False))
    if format is TextOrJson.json:
        typer.echo(render.plan_json(outcome.plans, outcome.findings))
    else:
        render.print_plan(_out_console(), tables.get, outcome.plans, outcome.findings,
                          people=people)
    raise typer.Exit(code)


@app.command(epilog=_epilog("cxc export --out out/", "cxc export --db demo.db --out out/ "
                             "--programme cxc-2024-lille", "cxc export --out out/ --feeds",
                             "cxc export --out out/ --feeds --feed-url "
                             "https://calendars.example.org/bright",
                             codes="Exit codes: 0 written; 1 a programme has errors or needs "
                                   "`cxc plan` first (nothing written); 2 the command could "
                                   "not run."))
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder to write calendars and itineraries into.")],
    programme: ProgrammeOption = None,
    feeds: Annotated[bool, typer.Option(
        "--feeds", help="Also write DIR/feeds/<token>.ics, each person's calendar across all "
                        "programmes, and DIR/feeds/index.csv (email, name, token, file).")] = False,
    feed_url: Annotated[str | None, typer.Option(
        "--feed-url", metavar="BASE",
        help="With --feeds: the http(s) address where DIR is served; each itinerary page "
             "then links to its person's feed, webcal://… and https://…/feeds/<token>.ics.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write each programme's calendar and every participant's .ics and printable itinerary."""
    _use_db(ctx, db)
    from cxc.calendars.export import export_store
    from cxc.calendars.feeds import feed_base

    if feed_url is not None:
        if not feeds:
            raise UsageError("--feed-url needs --feeds: the pages would link to feeds not "
                             "written")
        feed_base(feed_url)

    store_db = _open(ctx, create=False)
    with _progress("exporting") as progress:
        summary = export_store(store_db, out, programme, now=_source_date(), progress=progress,
                               with_feeds=feeds, feed_url=feed_url)
    _err_console().print(
        f"exported {plural(summary.programmes, 'programme')}"
        + (f" ({summary.unchanged} unchanged)" if summary.unchanged else "") + ": "
        f"{plural(summary.calendars, 'calendar')}, "
        f"{plural(summary.pages, 'itinerary', 'itineraries')}"
        + (f", {plural(summary.cancelled_events, 'cancelled event')}"
           if summary.cancelled_events else "")
        + (f", {plural(summary.feeds, 'feed')}" if feeds else "")
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


@app.command(epilog=_epilog(
    "cxc report", "cxc report --db demo.db --from 2023-01-01 --to 2023-12-31 --format markdown",
    "cxc report --explain smes", "cxc report --format html > report.html",
    codes="Exit codes: 0 reported; 1 `cxc validate` finds errors in the store, or a file it "
          "loaded changed since (no numbers; --force reports anyway); 2 the command could not run (no store, no partnership "
          "in it, a bad date)."))
def report(
    ctx: typer.Context,
    format: Annotated[ReportFormat, typer.Option(
        "--format", "-f", metavar="FORMAT",
        help="table for people; json, csv or markdown to reuse; html: a page with a chart "
             "for each key that has a target.",
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
        "--force", help="Report even when `cxc validate` finds errors, a loaded file changed "
                        "since, or the store holds no partnership (with a warning).",
    )] = False,
    sheets: Annotated[Path | None, typer.Option(
        "--sheets", metavar="DIR",
        help="With --explain and --format html: link each programme to its attendance sheets "
             "in DIR (written by `cxc sheets --out DIR`); save the page in DIR.",
    )] = None,
    db: DbOption = None,
) -> None:
    """Count the COSME deliverables against the grant's targets, for a period.

    A store that `cxc validate` finds errors in, or whose files changed since they were
    loaded, is refused (exit 1), unless --force.
    """
    from cxc import report as reports
    from cxc import store

    _use_db(ctx, db)
    start = reports.parse_day(period_from, "--from")
    end = reports.parse_day(period_to, "--to")
    if explain is not None:
        reports.measure(explain)
    store_db = _open(ctx, create=False, write=False)
    out_of_date = store.require_as_loaded(store_db, force)
    console = _out_console()
    fmt = reports.OutputFormat(format.value)
    width = console.width if console.is_terminal else None
    color = console.is_terminal and not console.no_color
    if explain is None:
        counted = reports.build_report(store_db, start, end, partner, force=force,
                                       monthly=fmt is reports.OutputFormat.html,
                                       today=_today())
        text = reports.format_report(counted, fmt, width=width, color=color)
        errors, no_partnership = counted.errors, counted.no_partnership
    else:
        evidence = reports.explain(store_db, explain, start, end, partner, force=force)
        linked = (reports.sheets_in(sheets, [row[0] for row in evidence.rows
                                             if isinstance(row[0], str)])
                  if sheets is not None and evidence.columns[:1] == ("programme",) else None)
        text = reports.format_evidence(evidence, fmt, width=width, color=color, sheets=linked)
        errors, no_partnership = evidence.errors, evidence.no_partnership
    if no_partnership:
        typer.echo(f"cxc: {reports.NO_PARTNERSHIP_WARNING}", err=True)
    if errors:
        typer.echo(f"cxc: {reports.forced_warning(errors)}", err=True)
    if out_of_date:
        typer.echo(f"cxc: {out_of_date}", err=True)
    typer.echo(_encodable(text, sys.stdout), nl=False)


@app.command(epilog=_epilog("cxc sheets --out out/", "cxc sheets --db demo.db --out out/ "
                             "--programme cxc-2024-lille",
                             codes="Exit codes: 0 written; 1 a programme has errors or needs "
                                   "`cxc plan` first (nothing written); 2 the command could "
                                   "not run (an unknown --programme, a folder it cannot write)."))
def sheets(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder to write DIR/<programme-id>/attendance.pdf into.")],
    programme: ProgrammeOption = None,
    db: DbOption = None,
) -> None:
    """Write attendance sheets to sign: one PDF per programme, a page (or more) per day."""
    _use_db(ctx, db)
    from cxc.evidence import write_sheets

    store_db = _open(ctx, create=False, write=False)
    summary = write_sheets(store_db, out, programme, now=_source_date())
    _err_console().print(
        f"wrote attendance sheets of {plural(summary.programmes, 'programme')} "
        f"({plural(summary.pages, 'page')}) "
        f"into {summary.out}")


def _today() -> Any:
    """The day a report is made: SOURCE_DATE_EPOCH's when set, else today."""
    from datetime import date

    made = _source_date()
    return made.date() if made is not None else date.today()


@app.command(epilog=_epilog("cxc schema > cxc.schema.json",
                             codes="Exit codes: 0 printed."))
def schema() -> None:
    """Print the JSON Schema of the YAML format, for editors and CI."""
    from cxc.format.schema import schema_json

    typer.echo(schema_json(), nl=False)


@app.command(epilog=_epilog("cxc forget ana.garcia@example.com",
                             "cxc forget --db demo.db ana.garcia@example.com"))
def forget(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(
        help="The person's email (any case).", metavar="EMAIL", show_default=False)],
    db: DbOption = None,
) -> None:
    """Erase a person from the store (GDPR): name, email, travel, stay, plan; counts stay right."""
    _use_db(ctx, db)
    from cxc.calendars.export import erase_person_files, exports_held
    from cxc.store import forget as forget_person

    store_db = _open(ctx, create=False)
    with exports_held(store_db):
        summary = forget_person(store_db, email, erase_person_files)
    _err_console().print(
        f"forgotten: {plural(summary.registrations, 'registration')} kept anonymous for the "
        f"deliverable counts; {plural(summary.files, 'exported file')} of theirs removed")


@app.command("import", epilog=_epilog(
    "cxc import forms/registrations.csv --into programmes/cxc-2024-lille.yaml --dry-run",
    "cxc import eventbrite.csv --into programmes/cxc-2024-lille.yaml --partner barna-bio",
    codes="Exit codes: 0 merged (or, with --dry-run, shown); 2 a row cannot be mapped or a "
          "file cannot be read (nothing is written)."))
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        help="The form export: CSV (UTF-8 or UTF-16; , ; or tab) or XLSX (first sheet).",
        metavar="FILE")],
    into: Annotated[Path, typer.Option(
        "--into", help="The programme file to merge the registrations into.",
        metavar="PROGRAMME.yaml")],
    map_file: Annotated[Path | None, typer.Option(
        "--map", help="A mapping file: columns, values and defaults.", metavar="MAP.yaml")] = None,
    partner: Annotated[str | None, typer.Option(
        "--partner", help="The delegation of every row that names none.", metavar="ID")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the change as a diff; write nothing.")] = False,
    db: DbOption = None,
) -> None:
    """Merge registrations from a form export (CSV or XLSX) into a programme file, by email."""
    _use_db(ctx, db)
    from cxc import intake, store

    partners: dict[str, str] = {}
    if Path(_settings(ctx).db).exists():
        partners = {p.id: p.name for p in
                    store.read_partners(_open(ctx, create=False, write=False)).values()}
    mapping = intake.read_mapping(map_file) if map_file is not None else None
    summary = intake.import_registrations(file, into, partners=partners, mapping=mapping,
                                          partner=partner, dry_run=dry_run)
    if dry_run and summary.diff:
        typer.echo(summary.diff, nl=False)
    _err_console().print(
        f"{'would import' if dry_run else 'imported'} {file} into {into}: "
        f"{summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged"
        + ("" if summary.written or dry_run else "; the file is unchanged"))


@app.command(epilog=_epilog(
    "cxc changes", "cxc changes --programme cxc-2024-lille --format json",
    codes="Exit codes: 0 listed; 1 a programme has errors or needs `cxc plan` first; 2 the "
          "command could not run."))
def changes(
    ctx: typer.Context,
    programme: ProgrammeOption = None,
    format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", metavar="FORMAT",
        help="text for people, json for scripts.")] = TextOrJson.text,
    db: DbOption = None,
) -> None:
    """What each person's next message would tell them: what changed since they were last sent their itinerary."""
    _use_db(ctx, db)
    from cxc.delivery.changes import changes_json, changes_text, pending_messages
    from cxc.store import read_snapshot

    store_db = _open(ctx, create=False, write=False)
    with read_snapshot(store_db.conn):
        messages = pending_messages(store_db, programme, _source_date())
    if format is TextOrJson.json:
        typer.echo(changes_json(messages))
    else:
        typer.echo(changes_text(messages), nl=False)
        _err_console().print(f"{plural(len(messages), 'message')} to send")


@app.command(epilog=_epilog(
    "cxc send --smtp mail.example.org:587 --starttls --user cxc --from desk@example.org",
    "cxc send --outbox outbox/ --from desk@example.org --programme cxc-2024-lille",
    codes="Exit codes: 0 sent (or written); 1 a programme has errors or needs `cxc plan` "
          "first (nothing sent), or the server refused a recipient (the others were sent); "
          "2 the command could not run (a connection that failed keeps what was sent)."))
def send(
    ctx: typer.Context,
    sender: Annotated[str, typer.Option(
        "--from", metavar="ADDRESS", help="The sender's address (From).")],
    smtp: Annotated[str | None, typer.Option(
        "--smtp", metavar="HOST[:PORT]", help="Send through this mail server.")] = None,
    outbox: Annotated[Path | None, typer.Option(
        "--outbox", metavar="DIR",
        help="Write the messages as DIR/<programme>/<slug>.eml instead; record nothing.")] = None,
    programme: ProgrammeOption = None,
    every_holder: Annotated[bool, typer.Option(
        "--all", help="Send to every seat holder, changed or not.")] = False,
    starttls: Annotated[bool, typer.Option(
        "--starttls", help="Secure the connection with STARTTLS (port 587 by default).")] = False,
    use_ssl: Annotated[bool, typer.Option(
        "--ssl", help="Connect over TLS (port 465 by default).")] = False,
    user: Annotated[str | None, typer.Option(
        "--user", metavar="NAME",
        help="Log in as NAME; the password comes from env CXC_SMTP_PASSWORD.")] = None,
    feed_url: Annotated[str | None, typer.Option(
        "--feed-url", metavar="BASE",
        help="The http(s) address where `cxc export --feeds` output is served: each message "
             "then carries its person's subscription links (to those who have a feed).")
    ] = None,
    pause: Annotated[float, typer.Option(
        "--pause", metavar="SECONDS", min=0,
        help="Wait SECONDS between two messages, for servers that throttle.")] = 0.0,
    db: DbOption = None,
) -> None:
    """Send each person whose itinerary changed their itinerary, calendar and what changed.

    The server's certificate is checked against the system's CAs, or against the CA
    bundle (PEM) named by env CXC_SMTP_CAFILE, e.g. for a server of your own.
    """
    _use_db(ctx, db)
    from cxc.delivery.send import Smtp
    from cxc.delivery.send import send as send_messages
    from cxc.errors import UsageError

    if (smtp is None) == (outbox is None):
        raise UsageError("give --smtp HOST[:PORT] to send, or --outbox DIR to write the "
                         "messages for review (one of them)")
    if feed_url is not None:
        from cxc.calendars.feeds import feed_base

        feed_base(feed_url)
    server = (Smtp.parse(smtp, starttls=starttls, use_ssl=use_ssl, user=user, pause=pause)
              if smtp else None)
    store_db = _open(ctx, create=False)
    summary = send_messages(store_db, sender, smtp=server, outbox=outbox, programme=programme,
                            every_holder=every_holder, now=_source_date(), feed_url=feed_url)
    console = _err_console()
    if outbox is not None:
        console.print(f"wrote {plural(len(summary.written), 'message')} into {outbox}; "
                      "nothing recorded as sent")
        return
    for line in summary.refused:
        console.print(f"cxc: {line}", markup=False, highlight=False)
    console.print(f"sent {plural(summary.sent, 'message')}"
                  + (f", {len(summary.refused)} refused (run `cxc send` again once fixed)"
                     if summary.refused else ""))
    if summary.refused:
        raise typer.Exit(_will_exit(1))


def main() -> NoReturn:
    """Entry point: run the app and turn every CxcError into one message and its exit code."""
    _limit_console_errors()
    try:
        code = app(standalone_mode=False)
    except CxcError as exc:
        for line in exc.lines():
            print(f"cxc: {line}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        _cut_short()
    except SystemExit as exc:
        # rich and click answer a broken pipe with exit 1, which means "the data breaks a rule"
        if isinstance(exc.__context__, BrokenPipeError) or (
                type(sys.stdout).__name__ == "PacifyFlushWrapper"):
            _cut_short()
        raise
    except Exception as exc:  # noqa: BLE001 - the last guard: a one-line message, never a traceback
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `cxc`: the help, as usage
            print(_message(exc), file=sys.stderr)
            sys.exit(EXIT_UNUSABLE)
        if type(exc).__name__ == "Abort" or _interrupted(exc):
            # click's word for an interrupt at a prompt; or Python's wrapping of one that
            # came while a module was imported ("Error calling __set_name__")
            print(INTERRUPTED, file=sys.stderr)
            sys.exit(130)
        print(f"cxc: {_one_line(exc)}", file=sys.stderr)
        sys.exit(EXIT_UNUSABLE)
    if code == 130:  # typer turns Ctrl-C into Exit(130) before it reaches us
        print(INTERRUPTED, file=sys.stderr)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _interrupted(exc: BaseException) -> bool:
    """Whether a Ctrl-C is what caused ``exc``, however deep in its chain."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _cut_short() -> NoReturn:
    """The reader of stdout went away (`cxc plan | head -1`): exit with the command's own code."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(_exit_if_cut[0])


_ASCII = {"✓": "+", "✗": "x", "█": "#", "░": ".", "∞": "inf", "·": "-", "→": "->",
          "…": "...", "–": "-", "—": "-"}


def _limit_console_errors() -> None:
    """On a console that cannot show every character (cp1252, a Windows redirect), print what
    it cannot show as `?` instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure) and not _can_encode("✓█∞·", stream):
            reconfigure(errors="replace")


def _can_encode(text: str, stream: Any) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _encodable(text: str, stream: Any) -> str:
    """``text`` with the glyphs a limited console cannot show replaced by ASCII ones."""
    if _can_encode(text, stream):
        return text
    return "".join(c if _can_encode(c, stream) else _ASCII.get(c, "?") for c in text)


def _choice_message(exc: Exception) -> str | None:
    """``--format must be one of: text, json`` for a value outside an enum's choices."""
    import re

    found = re.search(r"is not one of (.+?)\.?\Z", str(getattr(exc, "message", "")))
    param = getattr(exc, "param", None)
    if found is None or param is None:
        return None
    choices = re.findall(r"'([^']*)'", found.group(1))
    given = re.search(r"'([^']*)' is not one of", str(getattr(exc, "message", "")))
    opts = getattr(param, "opts", None) or [str(getattr(param, "name", "the value"))]
    return (f"{max(opts, key=len)} must be one of: {', '.join(choices)}"
            + (f", not `{given.group(1)}`" if given else ""))


def _message(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


def _one_line(exc: Exception) -> str:
    """What went wrong, for an exception the library did not turn into a CxcError."""
    module = type(exc).__module__.split(".")[0]
    if module in ("click", "typer"):  # usage errors of the vendored click
        return f"{_choice_message(exc) or _message(exc)} (see --help)"
    if module == "sqlite3":
        return f"the store could not be used: {exc}"
    if isinstance(exc, OSError):
        import errno

        where = f"{exc.filename}: " if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return f"{where}cannot write: {exc.strerror} (the disk is full, or the file too large)"
        return f"{where}{exc.strerror or exc}"
    text = " ".join(str(exc).split())
    return f"internal error: {type(exc).__name__}: {text} (please report it with the command)"


