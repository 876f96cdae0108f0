"""The validation rules of PRODUCT.md, as data.

Each rule is a small function that asks the store for what it needs (SQL over one
read snapshot, through :class:`Facts`) and yields :class:`~cxc.errors.Finding`
values; ``RULES`` lists them with their id and severity. Adding a rule is one
function and one line in ``RULES``. The SQL does the counting, joining and
filtering, so Python only sees the rows that break a rule (or, for the checks on
time order, one small row per session).

Cancelled programmes are not checked and take part in no other programme's check.
The rules count and check seat holders only (the ``seat_holders`` view); a withdrawn,
still-waiting or forgotten person is seen by ``duplicate-id`` and ``unknown-reference``.
Where a file repeats an id (a duplicate-id error), lookups by id take the last one,
as a mapping built in file order would.
"""

from __future__ import annotations

import calendar
import difflib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from cxc import model as m
from cxc.errors import Finding
from cxc.rules.constraints import SlotSeats, infeasible_finding, over_seats, shortfall

ACTIVE = "p.status != 'cancelled'"
"""The programmes the rules check (``p`` is the programmes table)."""

PARTNERSHIP_FILE = "(SELECT min(file) FROM partnership)"
"""The store's partnership file (it holds one; the first, should two files define it)."""

PARTNERS = f"SELECT id FROM partners WHERE file = {PARTNERSHIP_FILE}"

SEATS = ("coalesce(s.capacity, (SELECT v.capacity FROM venues v WHERE v.file = s.file "
         "AND v.id = s.venue ORDER BY v.rowid DESC LIMIT 1))")
"""A session's seats: its own capacity, else its venue's, else unlimited (NULL)."""

SLOT_OF_CHOICE = ("(SELECT s.slot FROM sessions s WHERE s.file = r.file AND s.id = j.value "
                  "ORDER BY s.rowid DESC LIMIT 1)")
"""The slot of a registration's fixed choice ``j.value`` (``r``: seat_holders)."""

EPOCH = "CAST(strftime('%s', {}) AS INTEGER)"

OUTSIDE_DATES = ("(substr(s.start_local, 1, 10) NOT BETWEEN p.start AND p.\"end\" "
                 "OR substr(s.end_local, 1, 10) > CASE WHEN substr(s.start_local, 1, 10) = "
                 "p.\"end\" THEN date(p.\"end\", '+1 day') ELSE p.\"end\" END)")
"""A session outside its programme's dates (``s``: sessions, ``p``: programmes): it starts on
none of them, or ends after the last, save on the day after for one that starts on the last
(a farewell dinner ends after midnight)."""


def text_key(text: str | None) -> str | None:
    """How two texts are told apart: Unicode NFC, case-folded, surrounding white space ignored.

    The rules' SQL calls it as ``text_key(...)``.
    """
    return None if text is None else m.identity_key(text)


class Facts:
    """The store as the rules read it: SQL, and where each row was written."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.create_function("text_key", 1, text_key, deterministic=True)
        self._shown: dict[str, str] = dict(conn.execute("SELECT path, display FROM files"))
        self._by_id: dict[str, dict[str, SessionRow]] = {}

    def rows(self, sql: str, *params: object) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    def at(self, file: str, line: int | None) -> m.Source:
        return m.Source(self._shown.get(file, file), line or 0)

    @cached_property
    def partner_ids(self) -> list[str]:
        return [pid for (pid,) in self.rows(PARTNERS)]

    def sessions_by_id(self, file: str) -> dict[str, SessionRow]:
        if file not in self._by_id:
            self._by_id[file] = {s.id: s for s in self.sessions.get(file, ())}
        return self._by_id[file]

    @cached_property
    def attendees(self) -> dict[str, int]:
        """File -> how many registrations it holds."""
        return dict(self.rows("SELECT file, count(*) FROM seat_holders GROUP BY file"))

    @cached_property
    def sessions(self) -> dict[str, list[SessionRow]]:
        """The sessions of each checked programme file, in file order."""
        out: dict[str, list[SessionRow]] = defaultdict(list)
        for row in self.conn.execute(
                f"SELECT s.file, p.id, s.id, s.slot, s.venue, s.start_local, s.end_local, "
                f"{EPOCH.format('s.start_utc')}, {EPOCH.format('s.end_utc')}, {SEATS}, s.line "
                f"FROM sessions s JOIN programmes p ON p.file = s.file WHERE {ACTIVE} "
                f"ORDER BY s.file, s.rowid"):
            out[row[0]].append(SessionRow(*row))
        return out


@dataclass(frozen=True, slots=True)
class SessionRow:
    file: str
    programme: str
    id: str
    slot: str | None
    venue: str | None
    start_local: str
    end_local: str
    start: int
    """Epoch seconds."""
    end: int
    seats: int | None
    line: int

    @property
    def plenary(self) -> bool:
        return self.slot is None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: Callable[[Facts], Iterable[Finding]]
    summary: str


def _finding(rule: str, message: str, at: m.Source, programme: str | None = None,
             *, participant: str | None = None, session: str | None = None,
             venue: str | None = None) -> Finding:
    return Finding(
        rule=rule, severity=SEVERITY[rule], message=message, file=at.file or None,
        line=at.line or None, programme=programme,
        participant=m.identity_key(participant) if participant else None, session=session,
        venue=venue)


# -- the rules ----------------------------------------------------------------


def _did_you_mean(written: str, known: Iterable[str]) -> str:
    """``; did you mean `x`?`` for the known id closest to a mistyped one, else nothing."""
    close = difflib.get_close_matches(written, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def unknown_reference(facts: Facts) -> Iterator[Finding]:
    rule = "unknown-reference"
    partners = facts.partner_ids
    known = ", ".join(sorted(facts.partner_ids)) or "none: load the partnership file"
    for title, partner, file, line in facts.rows(
            f"SELECT title, partner, file, line FROM activities WHERE file = {PARTNERSHIP_FILE} "
            f"AND partner NOT IN ({PARTNERS})"):
        yield _finding(rule, f"activity `{title}`: partner `{partner}` is not defined"
                       f"{_did_you_mean(partner, partners)} (partners: {known})",
                       facts.at(file, line))
    for pid, host, file, line in facts.rows(
            f"SELECT id, host, file, line FROM programmes p WHERE {ACTIVE} "
            f"AND host NOT IN ({PARTNERS})"):
        yield _finding(rule, f"host `{host}` is not a partner{_did_you_mean(host, partners)} "
                       f"(partners: {known})", facts.at(file, line), pid)
    for pid, partner, file, line in facts.rows(
            f"SELECT p.id, q.partner, q.file, q.line FROM quotas q JOIN programmes p "
            f"ON p.file = q.file WHERE {ACTIVE} AND q.partner NOT IN ({PARTNERS})"):
        yield _finding(rule, f"quota for `{partner}`, which is not a partner"
                       f"{_did_you_mean(partner, partners)} (partners: {known})",
                       facts.at(file, line), pid)
    for pid, sid, venue, file, line in facts.rows(
            f"SELECT p.id, s.id, s.venue, s.file, s.line FROM sessions s JOIN programmes p "
            f"ON p.file = s.file WHERE {ACTIVE} AND s.venue IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM venues v WHERE v.file = s.file AND v.id = s.venue)"):
        venues = [v for (v,) in facts.rows("SELECT id FROM venues WHERE file = ?", file)]
        yield _finding(rule, f"session `{sid}`: venue `{venue}` is not defined in "
                       f"this programme{_did_you_mean(venue, venues)}", facts.at(file, line),
                       pid, session=sid, venue=venue)
    for pid, email, partner, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, r.partner, r.file, r.line FROM registrations r "
            f"JOIN programmes p ON p.file = r.file WHERE {ACTIVE} "
            f"AND r.partner NOT IN ({PARTNERS})"):
        yield _finding(rule, f"{email}: partner `{partner}` is not defined"
                       f"{_did_you_mean(partner, partners)} (partners: {known})",
                       facts.at(file, line), pid, participant=email)
    for pid, email, sid, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, j.value, r.file, r.line "
            f"FROM registrations r JOIN programmes p ON p.file = r.file, json_each(r.sessions) j "
            f"WHERE {ACTIVE} AND r.sessions != '[]' AND NOT EXISTS "
            f"(SELECT 1 FROM sessions s WHERE s.file = r.file AND s.id = j.value)"):
        sessions = [v for (v,) in facts.rows("SELECT id FROM sessions WHERE file = ?", file)]
        yield _finding(rule, f"{email}: session `{sid}` is not defined in this "
                       f"programme{_did_you_mean(sid, sessions)}", facts.at(file, line), pid,
                       participant=email, session=sid)


def _repeats(facts: Facts, table: str, key: str, order: str = "rowid") -> list[Any]:
    """Rows of ``table`` whose ``key`` an earlier row of the same file already used:
    (programme, key, file, line, line of the first)."""
    return facts.rows(
        f"SELECT programme, key, file, line, first FROM (SELECT p.id AS programme, "
        f"x.{key} AS key, x.file, x.line, first_value(x.line) OVER w AS first, "
        f"row_number() OVER w AS n FROM {table} x JOIN programmes p ON p.file = x.file "
        f"WHERE {ACTIVE} AND (x.file, x.{key}) IN (SELECT file, {key} FROM {table} "
        f"GROUP BY file, {key} HAVING count(*) > 1) "
        f"WINDOW w AS (PARTITION BY x.file, x.{key} ORDER BY x.{order})) WHERE n > 1")


def duplicate_id(facts: Facts) -> Iterator[Finding]:
    rule = "duplicate-id"
    for key, file, line, first_file, _first_line in facts.rows(
            "SELECT id, file, line, first_file, first_line FROM (SELECT id, file, line, "
            "first_value(file) OVER w AS first_file, first_value(line) OVER w AS first_line, "
            "row_number() OVER w AS n FROM partnership WINDOW w AS (ORDER BY file)) "
            "WHERE n > 1"):
        yield _finding(rule, f"partnership `{key}` is defined in two files, here and in "
                       f"{facts.at(first_file, 0)}; a store holds one: remove the copy, or "
                       f"rename it to something that is not .yaml", facts.at(file, line))
    for key, file, line, first in facts.rows(
            f"SELECT id, file, line, first FROM (SELECT id, file, line, first_value(line) "
            f"OVER w AS first, row_number() OVER w AS n FROM partners "
            f"WHERE file = {PARTNERSHIP_FILE} WINDOW w AS (PARTITION BY id ORDER BY rowid)) "
            f"WHERE n > 1"):
        yield _finding(rule, f"partner id `{key}` is already used at line {first or 0}",
                       facts.at(file, line))
    for key, file, line, first_file, first_line in facts.rows(
            f"SELECT id, file, line, first_file, first_line FROM (SELECT id, file, line, "
            f"first_value(file) OVER w AS first_file, first_value(line) OVER w AS first_line, "
            f"row_number() OVER w AS n FROM programmes p WHERE {ACTIVE} "
            f"WINDOW w AS (PARTITION BY id ORDER BY file)) WHERE n > 1"):
        before = facts.at(first_file, first_line)
        yield _finding(rule, f"programme id `{key}` is already used in {before}",
                       facts.at(file, line), key)
    for pid, key, file, line, first in _repeats(facts, "venues", "id"):
        yield _finding(rule, f"venue id `{key}` is already used at line {first or 0}",
                       facts.at(file, line), pid, venue=key)
    for pid, key, file, line, first in _repeats(facts, "sessions", "id"):
        yield _finding(rule, f"session id `{key}` is already used at line {first or 0}",
                       facts.at(file, line), pid, session=key)
    for pid, key, file, line, first in _repeats(facts, "registrations", "email", "position"):
        yield _finding(rule, f"participant {key} is registered twice (first at line "
                       f"{first or 0})", facts.at(file, line), pid,
                       participant=key)


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _offset_may_change(day: str, zone: str) -> bool:
    """Whether the clocks of ``zone`` may change during ``day`` (YYYY-MM-DD)."""
    tz = m.zone_info(zone)
    start = date.fromisoformat(day)
    after = start + timedelta(days=1)
    # fold picks the offset before a change at the first midnight and after it at the second,
    # so a change at either midnight (a gap across it included) counts for this day
    before_offset = datetime(start.year, start.month, start.day, tzinfo=tz).utcoffset()
    after_offset = datetime(after.year, after.month, after.day, tzinfo=tz, fold=1).utcoffset()
    return before_offset != after_offset


TIMES = (
    ("sessions", "start_local", "start_tz"), ("sessions", "end_local", "end_tz"),
    ("travel_legs", "depart_local", "depart_tz"), ("travel_legs", "arrive_local", "arrive_tz"),
)


def _times_in_gaps(facts: Facts) -> set[tuple[str, str]]:
    """Every stored (wall time, zone) that no clock shows: the spring-forward gaps.

    Only the days when a zone's offset changes are looked at time by time.
    """
    days = facts.rows(" UNION ".join(
        f"SELECT DISTINCT substr({wall}, 1, 10), {zone} FROM {table}"
        for table, wall, zone in TIMES))
    changing = [f"{day} {zone}" for day, zone in days if _offset_may_change(day, zone)]
    if not changing:
        return set()
    candidates = facts.rows(" UNION ".join(
        f"SELECT {wall}, {zone} FROM {table} WHERE substr({wall}, 1, 10) || ' ' || {zone} "
        f"IN (SELECT value FROM json_each(?1))" for table, wall, zone in TIMES),
        json.dumps(changing))
    return {(wall, zone) for wall, zone in candidates
            if not m.LocalTime(datetime.fromisoformat(wall), zone).exists}


def bad_dates(facts: Facts) -> Iterator[Finding]:
    rule = "bad-dates"
    period = facts.conn.execute(
        f'SELECT start, "end", file, line FROM partnership WHERE file = {PARTNERSHIP_FILE}'
    ).fetchone()
    if period is not None and period[1] < period[0]:
        yield _finding(rule, f"partnership ends ({period[1]}) before it starts ({period[0]})",
                       facts.at(period[2], period[3]))
    first, last = (period[0], period[1]) if period is not None else (None, None)
    for pid, start, end, file, line in facts.rows(
            f'SELECT id, start, "end", file, line FROM programmes p WHERE {ACTIVE} '
            f'AND ("end" < start OR start < ?1 OR "end" > ?2)', first, last):
        at = facts.at(file, line)
        if end < start:
            yield _finding(rule, f"programme ends ({end}) before it starts ({start})", at,
                           pid)
        else:
            yield _finding(rule, f"programme runs {start} to {end}, outside the partnership's "
                           f"period {first} to {last}", at, pid)
    gaps = _times_in_gaps(facts)
    in_gap = "{} || ' ' || {} IN (SELECT value FROM json_each(?1))"
    gap_keys = json.dumps([f"{wall} {zone}" for wall, zone in sorted(gaps)])
    for (pid, sid, start, start_tz, end, end_tz, ordered, outside, p_start, p_end, file,
         line) in facts.rows(
            f"SELECT p.id, s.id, s.start_local, s.start_tz, s.end_local, s.end_tz, "
            f"s.end_utc > s.start_utc, {OUTSIDE_DATES}, p.start, p.\"end\", s.file, s.line "
            f"FROM sessions s JOIN programmes p ON p.file = s.file WHERE {ACTIVE} AND "
            f"(s.end_utc <= s.start_utc OR {OUTSIDE_DATES} "
            f"OR {in_gap.format('s.start_local', 's.start_tz')} "
            f"OR {in_gap.format('s.end_local', 's.end_tz')})", gap_keys):
        at = facts.at(file, line)
        missing = [(t, z) for t, z in ((start, start_tz), (end, end_tz)) if (t, z) in gaps]
        for wall, zone in missing:
            yield _finding(rule, f"session `{sid}`: {wall} does not exist in {zone} (the "
                           f"clocks jump forward over it)", at, pid, session=sid)
        if not missing and not ordered:  # a time in a gap has no order to check
            yield _finding(rule, f"session `{sid}` ends ({end}) before it starts ({start})",
                           at, pid, session=sid)
        if outside:
            late = ("; only a session that starts on the last day may end on the day after"
                    if p_start <= start[:10] <= p_end else "")
            yield _finding(rule, f"session `{sid}` ({start} to {end}) lies outside the "
                           f"programme's dates {p_start} to {p_end}{late}", at, pid,
                           session=sid)
    for (pid, email, origin, destination, depart, depart_tz, arrive, arrive_tz, file,
         line) in facts.rows(
            f"SELECT p.id, (SELECT r.email_as_written FROM seat_holders r WHERE "
            f"r.file = l.file AND r.position = l.registration), l.origin, l.destination, "
            f"l.depart_local, l.depart_tz, l.arrive_local, l.arrive_tz, l.file, l.line "
            f"FROM travel_legs l JOIN programmes p ON p.file = l.file WHERE {ACTIVE} AND "
            f"EXISTS (SELECT 1 FROM seat_holders r WHERE r.file = l.file "
            f"AND r.position = l.registration) AND "
            f"(l.arrive_utc < l.depart_utc "
            f"OR {in_gap.format('l.depart_local', 'l.depart_tz')} "
            f"OR {in_gap.format('l.arrive_local', 'l.arrive_tz')})", gap_keys):
        at = facts.at(file, line)
        what = f"{email}: travel {origin} to {destination}"
        missing = [(t, z) for t, z in ((depart, depart_tz), (arrive, arrive_tz)) if (t, z) in gaps]
        for wall, zone in missing:
            yield _finding(rule, f"{what}: {wall} does not exist in {zone} (the clocks jump "
                           f"forward over it)", at, pid, participant=email)
        if not missing:
            yield _finding(rule, f"{what} arrives ({arrive} {arrive_tz}) before it departs "
                           f"({depart} {depart_tz})", at, pid, participant=email)
    for pid, email, check_in, check_out, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, y.check_in, y.check_out, y.file, y.line "
            f"FROM stays y JOIN programmes p ON p.file = y.file JOIN seat_holders r "
            f"ON r.file = y.file AND r.position = y.registration "
            f"WHERE {ACTIVE} AND y.check_out < y.check_in"):
        yield _finding(rule, f"{email}: stay checks out ({check_out}) before checking in "
                       f"({check_in})", facts.at(file, line), pid,
                       participant=email)


def programme_over_capacity(facts: Facts) -> Iterator[Finding]:
    for pid, registered, capacity, file, line in facts.rows(
            f"SELECT p.id, count(*), p.capacity, p.file, p.line FROM programmes p "
            f"JOIN seat_holders r ON r.file = p.file WHERE {ACTIVE} AND p.capacity IS NOT NULL "
            f"GROUP BY p.file HAVING count(*) > p.capacity"):
        yield _finding("programme-over-capacity",
                       f"{registered} participants registered; the host can receive {capacity}",
                       facts.at(file, line), pid)


def quota_exceeded(facts: Facts) -> Iterator[Finding]:
    for pid, partner, sent, count, file, line in facts.rows(
            f"WITH sent AS (SELECT file, partner, count(*) AS n FROM seat_holders "
            f"GROUP BY file, partner) "
            f"SELECT p.id, q.partner, sent.n, q.count, q.file, q.line FROM quotas q "
            f"JOIN programmes p ON p.file = q.file JOIN sent ON sent.file = q.file "
            f"AND sent.partner = q.partner WHERE {ACTIVE} AND sent.n > q.count"):
        yield _finding("quota-exceeded", f"`{partner}` sends {sent} delegates; its quota is "
                       f"{count}", facts.at(file, line), pid)


def venue_over_capacity(facts: Facts) -> Iterator[Finding]:
    attendees = facts.attendees
    for file, sessions in facts.sessions.items():
        people = attendees.get(file, 0)
        for s in sessions:
            if s.plenary and over_seats(s.seats, people):
                yield _finding("venue-over-capacity",
                               f"plenary session `{s.id}` has {people} attendees and "
                               f"{s.seats} seats", facts.at(file, s.line), s.programme,
                               session=s.id, venue=s.venue)


def _fixed_choices(facts: Facts) -> dict[str, tuple[int, list[list[str]]]]:
    """File -> (how many people it seats, the fixed choices of those who made some).

    One registration per email, the first (a repeated email is a duplicate-id error), as the
    planner reads them.
    """
    seated = dict(facts.rows("SELECT file, count(DISTINCT email) FROM seat_holders "
                             "GROUP BY file"))
    chosen: dict[str, list[list[str]]] = defaultdict(list)
    for file, sessions in facts.rows(
            "SELECT r.file, r.sessions FROM seat_holders r WHERE r.sessions != '[]' "
            "AND r.rowid = (SELECT min(h.rowid) FROM seat_holders h WHERE h.file = r.file "
            "AND h.email = r.email) ORDER BY r.file, r.rowid"):
        chosen[file].append(json.loads(sessions))
    return {file: (int(n), chosen.get(file, [])) for file, n in seated.items()}


def slot_infeasible(facts: Facts) -> Iterator[Finding]:
    rule = "slot-infeasible"
    for pid, email, slot, count, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, {SLOT_OF_CHOICE} AS slot, count(*), r.file, "
            f"r.line FROM seat_holders r JOIN programmes p ON p.file = r.file, "
            f"json_each(r.sessions) j WHERE {ACTIVE} AND r.sessions != '[]' "
            f"GROUP BY r.rowid, slot HAVING slot IS NOT NULL AND count(*) > 1"):
        yield _finding(rule, f"{email} is fixed to {count} sessions of slot `{slot}`; choose "
                       f"one", facts.at(file, line), pid,
                       participant=email)
    people = _fixed_choices(facts)
    for file, sessions in facts.sessions.items():
        seated, fixed = people.get(file, (0, []))
        first: dict[str, SessionRow] = {}
        for s in sessions:
            first.setdefault(s.id, s)
        for slot, parallel in sorted(m.slots_of(first.values()).items()):
            seats = [SlotSeats(s.id, s.seats, facts.at(file, s.line).file or None, s.line,
                               s.venue) for s in parallel]
            short = shortfall(slot, seats, seated, fixed)
            if short is not None:
                yield infeasible_finding(parallel[0].programme, short)


def _overlapping(sessions: list[SessionRow]) -> Iterator[tuple[SessionRow, SessionRow]]:
    """Pairs of sessions whose times overlap, each pair once, in order of start."""
    ordered = sorted(sessions, key=lambda s: s.start)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.start >= a.end:
                break
            yield a, b


def participant_double_booked(facts: Facts) -> Iterator[Finding]:
    rule = "participant-double-booked"
    for file, sessions in facts.sessions.items():
        for a, b in _overlapping(sessions):
            if a.slot is not None and a.slot == b.slot:
                continue
            # every participant attends each plenary and one session of every slot
            if a.plenary and b.plenary:
                who = "every participant"
            elif a.plenary or b.plenary:
                who = f"whoever is placed in `{(b if a.plenary else a).id}`"
            else:
                who = f"whoever is placed in both `{a.id}` and `{b.id}`"
            yield _finding(rule, f"sessions `{a.id}` and `{b.id}` overlap "
                           f"({a.start_local}-{b.end_local[11:]}): {who} is due at both",
                           facts.at(file, b.line), b.programme, session=b.id)
    for pid, email, file, line, choices in facts.rows(
            f"SELECT p.id, r.email_as_written, r.file, r.line, r.sessions FROM seat_holders r "
            f"JOIN programmes p ON p.file = r.file WHERE {ACTIVE} AND r.sessions != '[]'"):
        by_id = facts.sessions_by_id(file)
        fixed = [by_id[sid] for sid in json.loads(choices) if sid in by_id]
        for i, a in enumerate(fixed):
            for b in fixed[i + 1:]:
                if a.slot != b.slot and a.start < b.end and b.start < a.end:
                    yield _finding(rule, f"{email} is fixed to `{a.id}` and `{b.id}`, which "
                                   f"overlap", facts.at(file, line), pid,
                                   participant=email)
    for email, first, first_start, first_end, then, then_start, then_end, file, line in facts.rows(
            f"WITH visits AS (SELECT r.email, p.id, p.start, p.\"end\", r.file, r.line "
            f"FROM seat_holders r JOIN programmes p ON p.file = r.file WHERE {ACTIVE} "
            f"AND r.email IN (SELECT email FROM seat_holders GROUP BY email "
            f"HAVING count(*) > 1)) "
            f"SELECT b.email, a.id, a.start, a.\"end\", b.id, b.start, b.\"end\", b.file, b.line "
            f"FROM visits a JOIN visits b ON a.email = b.email AND a.id != b.id "
            f"AND (a.start, a.id) < (b.start, b.id) AND b.start <= a.\"end\" "
            f"AND a.start <= b.\"end\""):
        yield _finding(rule, f"{email} is registered in `{first}` ({first_start} to "
                       f"{first_end}) and `{then}` ({then_start} to {then_end}), which overlap",
                       facts.at(file, line), then,
                       participant=email)


def tight_transfer(facts: Facts) -> Iterator[Finding]:
    needs = dict(facts.rows(
        f"SELECT file, min_transfer_minutes FROM programmes p WHERE {ACTIVE} "
        f"AND min_transfer_minutes > 0"))
    for file, need in needs.items():
        ordered = sorted(facts.sessions.get(file, ()), key=lambda s: s.start)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                gap = (b.start - a.end) / 60
                if gap >= need:
                    break
                if gap < 0 or (a.slot is not None and a.slot == b.slot):
                    continue
                if a.venue and b.venue and a.venue != b.venue:
                    yield _finding("tight-transfer",
                                   f"`{a.id}` at `{a.venue}` ends {a.end_local[11:]} and "
                                   f"`{b.id}` at `{b.venue}` starts {b.start_local[11:]}: "
                                   f"{gap:.0f} min to move, {need} needed",
                                   facts.at(file, b.line), b.programme, session=b.id,
                                   venue=b.venue)


def misses_sessions(facts: Facts) -> Iterator[Finding]:
    """Travel that arrives after, or leaves before, all of a session a person must be at.

    SQL finds, per registration, the last arrival before the programme's midpoint and
    the first departure after it, and keeps those who arrive after the first session
    starts or leave before the last one ends; only they are checked session by session.
    """
    spans = {}
    for file, sessions in facts.sessions.items():
        first, last = min(s.start for s in sessions), max(s.end for s in sessions)
        # UTC texts compare as instants: leaving before the midpoint is before its ceiling
        spans[file] = [_utc_text((first + last + 1) // 2), _utc_text(first), _utc_text(last)]
    late_or_early = facts.rows(
        "WITH span AS (SELECT key AS file, json_extract(value, '$[0]') AS middle, "
        "json_extract(value, '$[1]') AS first, json_extract(value, '$[2]') AS last "
        "FROM json_each(?1)), "
        "travel AS (SELECT l.file, l.registration, "
        "max(CASE WHEN l.depart_utc < span.middle THEN l.arrive_utc END) AS here, "
        "min(CASE WHEN l.depart_utc >= span.middle THEN l.depart_utc END) AS gone "
        "FROM span JOIN travel_legs l ON l.file = span.file "
        "JOIN seat_holders r ON r.file = l.file AND r.position = l.registration "
        "GROUP BY l.file, l.registration) "
        "SELECT travel.file, travel.registration, travel.here, travel.gone FROM travel "
        "JOIN span ON span.file = travel.file "
        "WHERE travel.here > span.first OR travel.gone < span.last", json.dumps(spans))
    for file, position, here_text, gone_text in late_or_early:
        pid, email, choices, line = facts.rows(
            "SELECT p.id, r.email_as_written, r.sessions, r.line FROM seat_holders r "
            "JOIN programmes p ON p.file = r.file WHERE r.file = ? AND r.position = ?",
            file, position)[0]
        here = _epoch(here_text) if here_text is not None else None
        gone = _epoch(gone_text) if gone_text is not None else None
        sessions = facts.sessions[file]
        plenaries = [[s] for s in sessions if s.plenary]
        fixed = set(json.loads(choices))
        groups = plenaries + [[s for s in group if s.id in fixed][:1] or group
                              for _, group in sorted(m.slots_of(sessions).items())]
        missed = [group[0] for group in groups
                  if all((here is not None and s.start < here)
                         or (gone is not None and s.end > gone) for s in group)]
        if missed:
            names = ", ".join(f"`{s.id}`" for s in missed[:3])
            more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
            window = _travel_window(facts, file, position)
            yield _finding("misses-sessions", f"{email}: travel ({window}) misses {names}{more}",
                           facts.at(file, line), pid, participant=email, session=missed[0].id)


def _utc_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(utc_text: str) -> int:
    return int(datetime.fromisoformat(utc_text).timestamp())


def _travel_window(facts: Facts, file: str, registration: int) -> str:
    legs = facts.rows(
        "SELECT origin, depart_local, destination, arrive_local FROM travel_legs "
        "WHERE file = ? AND registration = ? ORDER BY depart_utc, position", file, registration)
    return "; ".join(f"{origin} {depart} to {destination} {arrive}"
                     for origin, depart, destination, arrive in legs)


def _working_days(start: date, end: date) -> int:
    days = (end - start).days + 1
    return sum(1 for i in range(max(days, 0)) if (start + timedelta(i)).weekday() < 5)


def kind_rules(facts: Facts) -> Iterator[Finding]:
    rule = "kind-rules"
    for pid, kind, start_text, end_text, file, line in facts.rows(
            f"SELECT id, kind, start, \"end\", file, line FROM programmes p WHERE {ACTIVE} "
            f"AND kind IN ('deep_dive_day', 'cxc') ORDER BY id, file"):
        at = facts.at(file, line)
        start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
        if kind == "deep_dive_day" and start != end:
            yield _finding(rule, f"a deep dive day spans one date; this one runs {start} to "
                           f"{end}", at, pid)
        elif kind == "cxc" and end >= start:
            working = _working_days(start, end)
            if working < 3:
                yield _finding(rule, f"a cluster exchange lasts at least 3 working days; "
                               f"{start} to {end} has {working}", at, pid)
            if end > _add_month(start):
                yield _finding(rule, f"a cluster exchange lasts at most one month; {start} to "
                               f"{end} is longer", at, pid)
    for pid, email, host, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, p.host, r.file, r.line FROM seat_holders r "
            f"JOIN programmes p ON p.file = r.file WHERE {ACTIVE} AND p.kind = 'study_visit' "
            f"AND r.partner = p.host"):
        yield _finding(rule, f"{email}: a study visit's visitors come from the other "
                       f"partners, not the host `{host}`", facts.at(file, line),
                       pid, participant=email)


VISITORS = (f"seat_holders r JOIN programmes p ON p.file = r.file WHERE {ACTIVE} "
            f"AND p.kind = 'cxc' AND r.partner != p.host")
"""The visitors of cluster exchanges: their participants not in the host's delegation."""


def ineligible_visitor(facts: Facts) -> Iterator[Finding]:
    host_only = ", ".join(f"'{t}'" for t in m.HOST_ONLY_ORG_TYPES)
    for pid, email, organisation, org_type, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, r.organisation, r.org_type, r.file, r.line "
            f"FROM {VISITORS} AND r.org_type IN ({host_only})"):
        yield _finding("ineligible-visitor",
                       f"{email} ({organisation or 'no organisation'}) is of type `{org_type}`, "
                       f"which may host a cluster exchange but not visit",
                       facts.at(file, line), pid, participant=email)


def repeat_visit(facts: Facts) -> Iterator[Finding]:
    for pid, email, organisation, first, file, line in facts.rows(
            f"WITH visits AS (SELECT r.organisation_key AS key, p.id, p.start, p.file, "
            f"min(r.position) AS position FROM {VISITORS} AND r.organisation_key != '' "
            f"GROUP BY p.file, r.organisation_key), "
            f"ranked AS (SELECT *, first_value(id) OVER w AS first, row_number() OVER w AS n "
            f"FROM visits WINDOW w AS (PARTITION BY key ORDER BY start, id, file)) "
            f"SELECT ranked.id, r.email_as_written, r.organisation, ranked.first, r.file, r.line "
            f"FROM ranked JOIN seat_holders r ON r.file = ranked.file "
            f"AND r.position = ranked.position WHERE ranked.n > 1"):
        yield _finding("repeat-visit",
                       f"{organisation} already visited in `{first}`; the ClusterXchange "
                       f"scheme allows one visit per organisation", facts.at(file, line),
                       pid, participant=email)


def own_delegation(facts: Facts) -> Iterator[Finding]:
    for pid, email, host, file, line in facts.rows(
            f"SELECT p.id, r.email_as_written, p.host, r.file, r.line FROM seat_holders r "
            f"JOIN programmes p ON p.file = r.file WHERE {ACTIVE} AND p.kind = 'cxc' "
            f"AND r.partner = p.host"):
        yield _finding("own-delegation", f"{email} travels in the host's own delegation "
                       f"`{host}`", facts.at(file, line), pid,
                       participant=email)


def duplicate_activity(facts: Facts) -> Iterator[Finding]:
    for kind, partner, day, title, file, line, first in facts.rows(
            f"SELECT kind, partner, date, title, file, line, first FROM (SELECT kind, partner, "
            f"date, title, file, line, first_value(line) OVER w AS first, "
            f"row_number() OVER w AS n FROM activities WHERE file = {PARTNERSHIP_FILE} "
            f"WINDOW w AS (PARTITION BY kind, partner, date, text_key(title) ORDER BY rowid)) "
            f"WHERE n > 1"):
        yield _finding("duplicate-activity",
                       f"activity `{title}` ({kind} of `{partner}` on {day}) is already listed "
                       f"at line {first or 0}: it would count twice", facts.at(file, line))


RULES: tuple[Rule, ...] = (
    Rule("unknown-reference", "error", unknown_reference,
         "a host, partner, venue or session id that is not defined"),
    Rule("duplicate-id", "error", duplicate_id,
         "two things of the same kind share an id (participants: one email twice)"),
    Rule("bad-dates", "error", bad_dates,
         "an end before its start, a date outside its period, a time in a DST gap"),
    Rule("programme-over-capacity", "error", programme_over_capacity,
         "more participants than the programme's capacity"),
    Rule("quota-exceeded", "error", quota_exceeded, "a partner sends more than its quota"),
    Rule("venue-over-capacity", "error", venue_over_capacity,
         "a plenary session with more attendees than seats"),
    Rule("slot-infeasible", "error", slot_infeasible,
         "a slot cannot seat its participants, or fixed choices overfill a session"),
    Rule("participant-double-booked", "error", participant_double_booked,
         "one person in two overlapping sessions or programmes"),
    Rule("tight-transfer", "warning", tight_transfer,
         "consecutive sessions at different venues closer than min_transfer_minutes"),
    Rule("misses-sessions", "warning", misses_sessions,
         "travel arrives after a session starts or leaves before it ends"),
    Rule("kind-rules", "error", kind_rules, "the programme breaks its kind's rules"),
    Rule("ineligible-visitor", "error", ineligible_visitor,
         "a cxc visitor whose organisation type may host but not visit"),
    Rule("repeat-visit", "warning", repeat_visit,
         "an organisation visits in more than one cxc"),
    Rule("own-delegation", "warning", own_delegation,
         "a participant travels in the host's own delegation to a cxc"),
    Rule("duplicate-activity", "warning", duplicate_activity,
         "the same activity (kind, partner, date, title) listed twice: it would count twice"),
)

SEVERITY = {rule.id: rule.severity for rule in RULES}


def validate(conn: sqlite3.Connection) -> list[Finding]:
    """Every finding of every rule on the store, sorted by programme, file and line.

    Call it inside one read snapshot (:func:`cxc.store.read_snapshot`).
    """
    facts = Facts(conn)
    findings = [f for rule in RULES for f in rule.check(facts)]
    return sorted(findings, key=lambda f: f.sort_key)
