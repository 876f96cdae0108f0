"""COSME deliverable counts, each one small SQL query over the store, with its evidence.

Every key of PRODUCT.md (Reports) is a :class:`Measure` in :data:`MEASURES`: the
query that counts it and the query that lists what stands behind the count, side
by side, so adding a key touches one place. Both run after :data:`IN_SCOPE`, the
common table expressions that keep held programmes, attended registrations and
activities in the period (and of the partner, when one is given).

No query selects a person's name or email: the evidence lists programmes,
organisations, countries and activities, and counts people per programme.

A report is made from a store the rules find no error in: :func:`build_report` and
:func:`explain` run them in the same read snapshot as the counts, and raise
:class:`~cxc.errors.InvalidStoreError` when they find errors, unless forced.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxc.errors import CxcError, InvalidStoreError, UsageError, plural, them
from cxc.format.loader import ISO_DATE
from cxc.rules.checks import validate
from cxc.store import read_snapshot, store_name

if TYPE_CHECKING:
    import sqlite_utils

Cell = str | int | None


# -- what is counted ----------------------------------------------------------

IN_SCOPE = """
WITH held AS (
    SELECT id, kind, host, country, start, "end", file,
           CAST(julianday("end") - julianday(start) AS INTEGER) + 1 AS days
    FROM programmes
    WHERE status = 'held'
      AND (:start IS NULL OR start >= :start)
      AND (:end IS NULL OR start <= :end)
      AND (:partner IS NULL OR host = :partner)
),
attended AS (
    -- email is here to tell people apart in counts; no evidence query selects it
    SELECT r.email, r.organisation, r.organisation_key, r.org_type, r.country,
           held.id AS programme, held.kind, held.start, held."end", held.host, held.days,
           held.country AS programme_country
    FROM holders AS r JOIN held ON r.file = held.file
    WHERE r.attended = 1
),
met AS (
    SELECT so.name, so.name_key, held.id AS programme, held.start
    FROM session_organisations AS so JOIN held ON so.file = held.file
),
activity AS (
    SELECT kind, partner, date, title
    FROM activities
    WHERE (:start IS NULL OR date >= :start)
      AND (:end IS NULL OR date <= :end)
      AND (:partner IS NULL OR partner = :partner)
)
"""


@dataclass(frozen=True)
class Measure:
    """How one deliverable is counted, and how the evidence behind the count is listed."""

    label: str
    """What the number is, for people."""
    count: str
    """SQL after IN_SCOPE, returning one integer: the actual."""
    evidence: str
    """SQL after IN_SCOPE, listing what was counted; never a person's name or email."""
    note: str
    """How the evidence adds up to the count."""
    params: Mapping[str, str | None] = field(default_factory=dict)
    """The named parameters of ``count`` and ``evidence`` beyond IN_SCOPE's."""


PROGRAMMES_OF_KIND = """
SELECT count(*)
FROM held
WHERE kind = :kind
"""
PROGRAMMES_OF_KIND_EVIDENCE = """
SELECT id AS programme, kind, start, "end", host
FROM held
WHERE kind = :kind
ORDER BY start, id
"""


def _programmes_of(kind: str, label: str) -> Measure:
    return Measure(label, PROGRAMMES_OF_KIND, PROGRAMMES_OF_KIND_EVIDENCE,
                   "one row a held programme", {"kind": kind})


ORGANISATIONS = """
SELECT count(DISTINCT organisation_key)
FROM attended
WHERE organisation_key IS NOT NULL
  AND (:org_types IS NULL OR org_type IN (SELECT value FROM json_each(:org_types)))
"""
ORGANISATIONS_EVIDENCE = """
SELECT min(organisation) AS organisation,
       replace(group_concat(DISTINCT org_type), ',', ', ') AS org_types,
       replace(group_concat(DISTINCT programme), ',', ', ') AS programmes
FROM (SELECT organisation_key, min(organisation) AS organisation, org_type,
             programme, min(start) AS start
      FROM attended
      WHERE organisation_key IS NOT NULL
        AND (:org_types IS NULL OR org_type IN (SELECT value FROM json_each(:org_types)))
      GROUP BY organisation_key, programme, org_type
      ORDER BY start, programme, org_type)
GROUP BY organisation_key
ORDER BY organisation_key
"""


def _organisations(label: str, org_types: tuple[str, ...] | None, note: str) -> Measure:
    """Organisations that attended, of one of ``org_types`` (None: of any type)."""
    return Measure(label, ORGANISATIONS, ORGANISATIONS_EVIDENCE, note,
                   {"org_types": json.dumps(org_types) if org_types else None})


ACTIVITIES_OF_KIND = """
SELECT count(*)
FROM activity
WHERE kind = :kind
"""
ACTIVITIES_OF_KIND_EVIDENCE = """
SELECT date, partner, title
FROM activity
WHERE kind = :kind
ORDER BY date, partner, title
"""


def _activities_of(kind: str, label: str) -> Measure:
    return Measure(label, ACTIVITIES_OF_KIND, ACTIVITIES_OF_KIND_EVIDENCE,
                   "one row an activity", {"kind": kind})


MEASURES: dict[str, Measure] = {
    "study_visits": _programmes_of("study_visit", "Study visits"),
    "cxc": _programmes_of("cxc", "Cluster exchanges"),
    "deep_dive_days": _programmes_of("deep_dive_day", "Deep dive days"),
    "participants": Measure(
        "Participants (distinct people)",
        "SELECT count(DISTINCT email) FROM attended",
        """
        SELECT programme, kind, start, "end", host, count(*) AS attended,
               sum(first_time) AS new
        FROM (SELECT *, row_number() OVER (PARTITION BY email ORDER BY start, programme) = 1
                        AS first_time
              FROM attended)
        GROUP BY programme, kind, start, "end", host
        ORDER BY start, programme
        """,
        "one row a held programme; attended: its attended registrations; "
        "new: people not counted in an earlier programme (the column adds up to the count)",
    ),
    "participant_days": Measure(
        "Participant-days",
        "SELECT coalesce(sum(days), 0) FROM attended",
        """
        SELECT programme, kind, start, "end", host, days, count(*) AS attended,
               days * count(*) AS participant_days
        FROM attended
        GROUP BY programme, kind, start, "end", host, days
        ORDER BY start, programme
        """,
        "one row a held programme: its days times its attended registrations",
    ),
    "smes": _organisations(
        "SMEs and start-ups", ("sme", "startup"),
        "one row an organisation of type sme or startup, told apart by name ignoring case"),
    "organisations": _organisations(
        "Organisations", None,
        "one row an organisation that attended, told apart by name ignoring case"),
    "countries": Measure(
        "Participant countries",
        "SELECT count(DISTINCT country) FROM attended",
        """
        SELECT country, count(DISTINCT email) AS people, count(*) AS attended
        FROM attended
        WHERE country IS NOT NULL
        GROUP BY country
        ORDER BY country
        """,
        "one row a participant country",
    ),
    "cross_border_participations": Measure(
        "Cross-border participations",
        "SELECT count(*) FROM attended WHERE country <> programme_country",
        """
        SELECT programme, start, programme_country AS held_in, country AS from_country,
               count(*) AS participations
        FROM attended
        WHERE country <> programme_country
        GROUP BY programme, start, programme_country, country
        ORDER BY start, programme, country
        """,
        "one row a programme and a participant country other than its own; "
        "participations adds up to the count",
    ),
    "organisations_met": Measure(
        "Organisations met",
        "SELECT count(DISTINCT name_key) FROM met",
        """
        SELECT min(name) AS organisation,
               replace(group_concat(DISTINCT programme), ',', ', ') AS programmes
        FROM (SELECT name_key, min(name) AS name, programme, min(start) AS start
              FROM met
              GROUP BY name_key, programme
              ORDER BY start, programme)
        GROUP BY name_key
        ORDER BY name_key
        """,
        "one row an organisation named in the sessions of held programmes",
    ),
    "promotional_events": _activities_of("promotional_event", "Promotional events"),
    "eccp_posts": _activities_of("eccp_post", "ECCP posts"),
    "strategic_analyses": _activities_of("strategic_analysis", "Strategic analyses"),
}
"""Deliverable key -> how it is counted, in the order of PRODUCT.md."""


# -- results ------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The dates a report covers, both inclusive; None leaves that side open."""

    start: date | None = None
    end: date | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"from": _iso(self.start), "to": _iso(self.end)}

    def __str__(self) -> str:
        if self.start and self.end:
            return f"{self.start} to {self.end}"
        if self.start:
            return f"from {self.start}"
        if self.end:
            return f"up to {self.end}"
        return "all dates"


@dataclass(frozen=True)
class Deliverable:
    """One counted deliverable against its target."""

    key: str
    """The deliverable key of PRODUCT.md, e.g. ``study_visits``."""
    label: str
    actual: int
    target: int | None
    """From the partnership's ``targets``; None when it sets none."""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.actual >= self.target

    @property
    def percent(self) -> int | None:
        """Progress towards the target, rounded down (so 100 means met)."""
        if self.target is None:
            return None
        return 100 if self.target == 0 else self.actual * 100 // self.target

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "actual": self.actual,
                "target": self.target}


@dataclass(frozen=True)
class Report:
    """Every deliverable counted for a period (and a partner)."""

    period: Period
    partner: str | None
    """The partner the counts are limited to, if any."""
    deliverables: tuple[Deliverable, ...]
    errors: int = 0
    """Errors the rules found in the store, reported anyway (forced); 0 otherwise."""
    months: tuple[date, ...] = ()
    """The first day of every month of the partnership's period (only when asked for)."""
    monthly: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """Key -> its cumulative count at the end of each of ``months``, for keys with a target."""
    today: date | None = None
    """The day the report was made, to mark on the charts."""
    partnership: str | None = None
    """The partnership's name, when the store holds one."""
    no_partnership: bool = False
    """The store holds no partnership, reported anyway (forced): no targets."""


@dataclass(frozen=True)
class Evidence:
    """What stands behind one deliverable's count."""

    period: Period
    partner: str | None
    deliverable: Deliverable
    note: str
    """How the rows add up to the count."""
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    errors: int = 0
    """Errors the rules found in the store, reported anyway (forced); 0 otherwise."""
    no_partnership: bool = False
    """The store holds no partnership, reported anyway (forced): no targets."""


# -- building -----------------------------------------------------------------


def parse_day(text: str | None, what: str) -> date | None:
    """A YYYY-MM-DD option value as a date (None stays None); ``what`` names the option."""
    if text is None:
        return None
    match = ISO_DATE.match(text.strip())
    if not match:
        raise UsageError(f"{what} `{text}` is not a date written YYYY-MM-DD")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise UsageError(f"{what} `{text}` is not a calendar date ({exc})") from None


def measure(key: str) -> Measure:
    """The measure of a deliverable key; a UsageError listing the keys for any other."""
    try:
        return MEASURES[key]
    except KeyError:
        close = difflib.get_close_matches(key.strip().lower(), MEASURES, n=1, cutoff=0.6)
        raise UsageError(f"unknown deliverable `{key}`"
                         + (f"; did you mean `{close[0]}`?" if close else "")
                         + f" (valid keys: {', '.join(MEASURES)})") from None


def build_report(db: sqlite_utils.Database, period_from: date | None, period_to: date | None,
                 partner: str | None, *, force: bool = False, monthly: bool = False,
                 today: date | None = None) -> Report:
    """Count every deliverable of the store, for the period and partner.

    ``monthly``: also count each key that has a target cumulatively at the end of every
    month of the partnership's period (for the charts of the HTML report).
    InvalidStoreError when the rules find errors in the store, unless ``force``.
    """
    conn = db.conn
    period = _period(period_from, period_to)
    with read_snapshot(conn):
        missing = _no_partnership(db, force)
        params = _params(conn, period, partner)
        errors = _errors(conn, force)
        targets = _targets(conn)
        deliverables = tuple(Deliverable(key, m.label, _count(conn, m, params), targets.get(key))
                             for key, m in MEASURES.items())
        if not monthly:
            return Report(period, partner, deliverables, errors, no_partnership=missing)
        name, months = _partnership_months(conn)
        series = tuple((key, _monthly(conn, MEASURES[key], params, period, months))
                       for key in MEASURES if key in targets)
    return Report(period, partner, deliverables, errors, months, series, today, name, missing)


PARTNERSHIP_PERIOD = """
SELECT name, start, "end"
FROM partnership
ORDER BY file
LIMIT 1
"""


def _partnership_months(conn: sqlite3.Connection) -> tuple[str | None, tuple[date, ...]]:
    """The partnership's name and the first day of each month of its period."""
    rows = _rows(conn, PARTNERSHIP_PERIOD)
    if not rows:
        return None, ()
    name, start, end = (rows[0]["name"], date.fromisoformat(rows[0]["start"]),
                        date.fromisoformat(rows[0]["end"]))
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = _next_month(month)
    return name, tuple(months)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _monthly(conn: sqlite3.Connection, m: Measure, params: dict[str, Any], period: Period,
             months: tuple[date, ...]) -> tuple[int, ...]:
    """The count at the end of each month: the same query, its period ending then (never
    after the report's own end), so distinct counts stay distinct across months."""
    counts = []
    for month in months:
        end = _next_month(month) - timedelta(days=1)
        if period.end is not None and period.end < end:
            end = period.end
        counts.append(_count(conn, m, {**params, "end": end.isoformat()}))
    return tuple(counts)


def explain(db: sqlite_utils.Database, key: str, period_from: date | None,
            period_to: date | None, partner: str | None, *, force: bool = False) -> Evidence:
    """One deliverable with what it counts: programmes, organisations, countries or activities.

    InvalidStoreError when the rules find errors in the store, unless ``force``.
    """
    m = measure(key)
    conn = db.conn
    period = _period(period_from, period_to)
    with read_snapshot(conn):
        missing = _no_partnership(db, force)
        params = _params(conn, period, partner)
        errors = _errors(conn, force)
        cursor = conn.execute(IN_SCOPE + m.evidence, {**params, **m.params})
        columns = tuple(d[0] for d in cursor.description)
        rows = tuple(tuple(row) for row in cursor.fetchall())
        deliverable = Deliverable(key, m.label, _count(conn, m, params),
                                  _targets(conn).get(key))
    return Evidence(period, partner, deliverable, m.note, columns, rows, errors, missing)


def forced_warning(errors: int) -> str:
    """What a report made with ``force`` from a store with ``errors`` errors warns of."""
    return (f"warning: the store has {plural(errors, 'error')} (see `cxc validate`); "
            f"reported anyway (--force), the counts may be wrong")


class NoPartnership(CxcError):
    """The store holds no partnership: no partners, no targets, nothing to report against."""


NO_PARTNERSHIP_WARNING = ("warning: the store holds no partnership, so there are no targets; "
                          "reported anyway (--force)")


ANY_PARTNERSHIP = """
SELECT 1
FROM partnership
LIMIT 1
"""


def _no_partnership(db: sqlite_utils.Database, force: bool) -> bool:
    """Whether the store holds no partnership; NoPartnership for that, unless ``force``."""
    if _rows(db.conn, ANY_PARTNERSHIP):
        return False
    if not force:
        name = store_name(db)
        raise NoPartnership(f"{name} holds no partnership, so there is nothing to report "
                            f"against: load the partnership file (the YAML file with a "
                            f"top-level `partnership:` key) into it, e.g. `cxc load --db "
                            f"{name} partnership.yaml`; or report anyway with --force")
    return True


def _errors(conn: sqlite3.Connection, force: bool) -> int:
    """How many errors the rules find in the store; InvalidStoreError for any, unless ``force``.

    Call it inside the report's read snapshot, so the counts are of the store checked.
    """
    errors = sum(1 for f in validate(conn) if f.severity == "error")
    if errors and not force:
        raise InvalidStoreError(
            f"the store has {plural(errors, 'error')} (see `cxc validate`); "
            f"fix {them(errors)}, or report anyway with --force", errors)
    return errors


def _period(start: date | None, end: date | None) -> Period:
    if start and end and start > end:
        raise UsageError(f"the period is empty: --from {start} is after --to {end}")
    return Period(start, end)


def _params(conn: sqlite3.Connection, period: Period, partner: str | None) -> dict[str, Any]:
    if partner is not None:
        _check_partner(conn, partner)
    return {"start": _iso(period.start), "end": _iso(period.end), "partner": partner}


KNOWN_PARTNERS = """
SELECT id FROM partners
UNION
SELECT host FROM programmes
UNION
SELECT partner FROM activities
"""
"""Every partner id the store names: a --partner value outside them is a typo."""


def _check_partner(conn: sqlite3.Connection, partner: str) -> None:
    known = sorted(row["id"] for row in _rows(conn, KNOWN_PARTNERS))
    if partner not in known:
        close = difflib.get_close_matches(partner.strip().lower(), known, n=1, cutoff=0.6)
        raise UsageError(f"unknown partner `{partner}`"
                         + (f"; did you mean `{close[0]}`?" if close else "")
                         + f" (partners in the store: "
                         f"{', '.join(known) or 'none: load the partnership file'})")


TARGETS = """
SELECT key, count
FROM targets
"""


def _targets(conn: sqlite3.Connection) -> dict[str, int]:
    return {row["key"]: row["count"] for row in _rows(conn, TARGETS)}


def _count(conn: sqlite3.Connection, m: Measure, params: Mapping[str, Any]) -> int:
    return int(conn.execute(IN_SCOPE + m.count, {**params, **m.params}).fetchone()[0])


def _rows(conn: sqlite3.Connection, sql: str) -> list[sqlite3.Row]:
    """The rows of a query without parameters, read by column name."""
    cursor = conn.execute(sql)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def sheets_in(folder: Path, programmes: Iterable[str]) -> dict[str, str]:
    """Programme id -> ``<id>/attendance.pdf`` for the programmes whose sheets lie in
    ``folder`` (links relative to it: save the page there)."""
    return {pid: f"{pid}/attendance.pdf" for pid in programmes
            if (folder / pid / "attendance.pdf").is_file()}
