"""``bad-dates`` and ``participant-double-booked``: times in order, inside their dates, on a
clock that shows them, and nobody due in two places at once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from cxc import model as m
from cxc.rules.snapshot import Breach, Snapshot, TimedSession

PARTNERSHIP_PERIOD = """
SELECT start, "end", file, line
FROM partnership
ORDER BY file, rowid
LIMIT 1
"""

PARTNERSHIP_PERIOD_IN_FILES = f"""
SELECT start, "end", file, line
FROM ({PARTNERSHIP_PERIOD})
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""
"""The partnership's period unless its file is one of ``:kept`` (its finding is that file's)."""

PROGRAMMES_OUTSIDE_PERIOD = """
SELECT id AS programme, start, "end", file, line
FROM active_programmes
WHERE ("end" < start
       OR start < :first
       OR "end" > :last)
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

STORED_DAYS_AND_ZONES = """
SELECT DISTINCT substr(start_local, 1, 10) AS day, start_tz AS zone FROM sessions
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT DISTINCT substr(end_local, 1, 10), end_tz FROM sessions
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT DISTINCT substr(depart_local, 1, 10), depart_tz FROM travel_legs
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT DISTINCT substr(arrive_local, 1, 10), arrive_tz FROM travel_legs
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

TIMES_ON_DAYS = """
SELECT start_local AS wall, start_tz AS zone FROM sessions
WHERE substr(start_local, 1, 10) || ' ' || start_tz IN (SELECT value FROM json_each(:days))
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT end_local, end_tz FROM sessions
WHERE substr(end_local, 1, 10) || ' ' || end_tz IN (SELECT value FROM json_each(:days))
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT depart_local, depart_tz FROM travel_legs
WHERE substr(depart_local, 1, 10) || ' ' || depart_tz IN (SELECT value FROM json_each(:days))
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
UNION
SELECT arrive_local, arrive_tz FROM travel_legs
WHERE substr(arrive_local, 1, 10) || ' ' || arrive_tz IN (SELECT value FROM json_each(:days))
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""
"""Every stored (wall time, zone) on one of ``:days`` (a JSON list of ``YYYY-MM-DD zone``)."""

SESSIONS_WITH_BAD_TIMES = """
SELECT programme, session, start_local, start_tz, end_local, end_tz, ordered, outside,
       programme_start, programme_end, file, line
FROM (SELECT p.id AS programme, s.id AS session,
             s.start_local, s.start_tz, s.end_local, s.end_tz,
             s.end_utc > s.start_utc AS ordered,
             (substr(s.start_local, 1, 10) NOT BETWEEN p.start AND p."end"
              OR substr(s.end_local, 1, 10) > CASE
                     WHEN substr(s.start_local, 1, 10) = p."end" THEN date(p."end", '+1 day')
                     ELSE p."end" END) AS outside,
             s.start_local || ' ' || s.start_tz IN (SELECT value FROM json_each(:gaps))
                 AS starts_in_gap,
             s.end_local || ' ' || s.end_tz IN (SELECT value FROM json_each(:gaps))
                 AS ends_in_gap,
             p.start AS programme_start, p."end" AS programme_end, s.file, s.line
      FROM sessions s
      JOIN active_programmes p ON p.file = s.file
      WHERE (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept))))
WHERE NOT ordered
   OR outside
   OR starts_in_gap
   OR ends_in_gap
"""
"""Sessions that end before they start, lie outside their programme's dates or have a time in
``:gaps``. Outside: it starts on none of the dates, or ends after the last, save on the day
after for one that starts on the last (a farewell dinner ends after midnight)."""

TRAVEL_WITH_BAD_TIMES = """
SELECT p.id AS programme, r.email_as_written AS email, l.origin, l.destination,
       l.depart_local, l.depart_tz, l.arrive_local, l.arrive_tz, l.file, l.line
FROM travel_legs l                      -- first (CROSS JOIN): only the legs that break it
CROSS JOIN seat_holders r ON r.file = l.file AND r.position = l.registration
JOIN active_programmes p ON p.file = l.file
WHERE (l.arrive_utc < l.depart_utc
       OR l.depart_local || ' ' || l.depart_tz IN (SELECT value FROM json_each(:gaps))
       OR l.arrive_local || ' ' || l.arrive_tz IN (SELECT value FROM json_each(:gaps)))
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

STAYS_OUT_BEFORE_IN = """
SELECT p.id AS programme, r.email_as_written AS email, y.check_in, y.check_out, y.file, y.line
FROM stays y                            -- first (CROSS JOIN): only the stays that break it
CROSS JOIN seat_holders r ON r.file = y.file AND r.position = y.registration
JOIN active_programmes p ON p.file = y.file
WHERE y.check_out < y.check_in
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

FIXED_CHOICES = """
SELECT p.id AS programme, r.email_as_written AS email, r.file, r.line, r.sessions
FROM seat_holders r
JOIN active_programmes p ON p.file = r.file
WHERE r.sessions != '[]'
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

OVERLAPPING_PROGRAMMES = """
WITH visits AS (
    SELECT r.email, p.id, p.start, p."end", r.file, r.line
    FROM seat_holders r
    JOIN active_programmes p ON p.file = r.file
    WHERE r.email IN (SELECT email FROM seat_holders GROUP BY email HAVING count(*) > 1))
SELECT b.email,
       a.id AS earlier, a.start AS earlier_start, a."end" AS earlier_end,
       b.id AS later, b.start AS later_start, b."end" AS later_end,
       b.file, b.line
FROM visits a
JOIN visits b ON a.email = b.email
             AND a.id != b.id
             AND (a.start, a.id) < (b.start, b.id)
             AND b.start <= a."end"
             AND a.start <= b."end"
"""
"""Each person registered in two programmes whose dates overlap, at the later one."""


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


def _times_in_gaps(snapshot: Snapshot) -> set[tuple[str, str]]:
    """Every stored (wall time, zone) that no clock shows: the spring-forward gaps.

    Only the days when a zone's offset changes are looked at time by time.
    """
    changing = [f"{row['day']} {row['zone']}" for row in snapshot.rows(STORED_DAYS_AND_ZONES)
                if _offset_may_change(row["day"], row["zone"])]
    if not changing:
        return set()
    candidates = snapshot.rows(TIMES_ON_DAYS, days=json.dumps(changing))
    return {(row["wall"], row["zone"]) for row in candidates
            if not m.LocalTime(datetime.fromisoformat(row["wall"]), row["zone"]).exists}


def _in_gap(wall: str, zone: str) -> str:
    return f"{wall} does not exist in {zone} (the clocks jump forward over it)"


def bad_dates(snapshot: Snapshot) -> Iterator[Breach]:
    period = next(iter(snapshot.rows(PARTNERSHIP_PERIOD)), None)
    home = next(iter(snapshot.rows(PARTNERSHIP_PERIOD_IN_FILES)), None)
    if home is not None and home["end"] < home["start"]:
        yield Breach(f"partnership ends ({home['end']}) before it starts ({home['start']})",
                     snapshot.at(home["file"], home["line"]))
    first, last = (period["start"], period["end"]) if period is not None else (None, None)
    for row in snapshot.rows(PROGRAMMES_OUTSIDE_PERIOD, first=first, last=last):
        at, start, end = snapshot.at(row["file"], row["line"]), row["start"], row["end"]
        if end < start:
            yield Breach(f"programme ends ({end}) before it starts ({start})", at,
                         row["programme"])
        else:
            yield Breach(f"programme runs {start} to {end}, outside the partnership's period "
                         f"{first} to {last}", at, row["programme"])
    gaps = _times_in_gaps(snapshot)
    gap_keys = json.dumps([f"{wall} {zone}" for wall, zone in sorted(gaps)])
    for row in snapshot.rows(SESSIONS_WITH_BAD_TIMES, gaps=gap_keys):
        yield from _bad_session_times(snapshot, row, gaps)
    for row in snapshot.rows(TRAVEL_WITH_BAD_TIMES, gaps=gap_keys):
        at, pid, email = snapshot.at(row["file"], row["line"]), row["programme"], row["email"]
        what = f"{email}: travel {row['origin']} to {row['destination']}"
        ends = ((row["depart_local"], row["depart_tz"]), (row["arrive_local"], row["arrive_tz"]))
        missing = [(t, z) for t, z in ends if (t, z) in gaps]
        for wall, zone in missing:
            yield Breach(f"{what}: {_in_gap(wall, zone)}", at, pid, participant=email)
        if not missing:
            yield Breach(f"{what} arrives ({row['arrive_local']} {row['arrive_tz']}) before it "
                         f"departs ({row['depart_local']} {row['depart_tz']})", at, pid,
                         participant=email)
    for row in snapshot.rows(STAYS_OUT_BEFORE_IN):
        yield Breach(f"{row['email']}: stay checks out ({row['check_out']}) before checking in "
                     f"({row['check_in']})", snapshot.at(row["file"], row["line"]),
                     row["programme"], participant=row["email"])


def _bad_session_times(snapshot: Snapshot, row: sqlite3.Row, gaps: set[tuple[str, str]],
                       ) -> Iterator[Breach]:
    sid, pid = row["session"], row["programme"]
    start, end = row["start_local"], row["end_local"]
    at = snapshot.at(row["file"], row["line"])
    missing = [(t, z) for t, z in ((start, row["start_tz"]), (end, row["end_tz"])) if (t, z) in gaps]
    for wall, zone in missing:
        yield Breach(f"session `{sid}`: {_in_gap(wall, zone)}", at, pid, session=sid)
    if not missing and not row["ordered"]:  # a time in a gap has no order to check
        yield Breach(f"session `{sid}` ends ({end}) before it starts ({start})", at, pid,
                     session=sid)
    if row["outside"]:
        p_start, p_end = row["programme_start"], row["programme_end"]
        late = ("; only a session that starts on the last day may end on the day after"
                if p_start <= start[:10] <= p_end else "")
        yield Breach(f"session `{sid}` ({start} to {end}) lies outside the programme's dates "
                     f"{p_start} to {p_end}{late}", at, pid, session=sid)


def _overlapping(sessions: list[TimedSession]) -> Iterator[tuple[TimedSession, TimedSession]]:
    """Pairs of sessions whose times overlap, each pair once, in order of start."""
    ordered = sorted(sessions, key=lambda s: s.start)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.start >= a.end:
                break
            yield a, b


def double_booked_in_programme(snapshot: Snapshot) -> Iterator[Breach]:
    """Sessions of one programme that overlap, and fixed choices that do."""
    for file, sessions in snapshot.sessions.items():
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
            yield Breach(f"sessions `{a.id}` and `{b.id}` overlap "
                         f"({a.start_local}-{b.end_local[11:]}): {who} is due at both",
                         snapshot.at(file, b.line), b.programme, session=b.id)
    for row in snapshot.rows(FIXED_CHOICES):
        by_id = snapshot.sessions_by_id(row["file"])
        fixed = [by_id[sid] for sid in json.loads(row["sessions"]) if sid in by_id]
        for i, a in enumerate(fixed):
            for b in fixed[i + 1:]:
                if a.slot != b.slot and a.start < b.end and b.start < a.end:
                    yield Breach(f"{row['email']} is fixed to `{a.id}` and `{b.id}`, which "
                                 f"overlap", snapshot.at(row["file"], row["line"]),
                                 row["programme"], participant=row["email"])


def double_booked_across_programmes(snapshot: Snapshot) -> Iterator[Breach]:
    """One person registered in two programmes whose dates overlap."""
    for row in snapshot.rows(OVERLAPPING_PROGRAMMES):
        yield Breach(f"{row['email']} is registered in `{row['earlier']}` "
                     f"({row['earlier_start']} to {row['earlier_end']}) and `{row['later']}` "
                     f"({row['later_start']} to {row['later_end']}), which overlap",
                     snapshot.at(row["file"], row["line"]), row["later"],
                     participant=row["email"])
