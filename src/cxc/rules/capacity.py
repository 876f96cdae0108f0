"""``programme-over-capacity``, ``quota-exceeded``, ``venue-over-capacity`` and
``slot-infeasible``: everyone who holds a seat has one."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

from cxc import model as m
from cxc.errors import Finding, plural
from cxc.rules.constraints import SlotSeats, infeasible_finding, over_seats, shortfall
from cxc.rules.snapshot import Breach, Snapshot, TimedSession

PROGRAMMES_OVER_CAPACITY = """
SELECT p.id AS programme, count(*) AS registered, p.capacity, p.file, p.line
FROM active_programmes p
JOIN seat_holders r ON r.file = p.file
WHERE p.capacity IS NOT NULL
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
GROUP BY p.file
HAVING count(*) > p.capacity
"""

QUOTAS_EXCEEDED = """
WITH sent AS (
    SELECT file, partner, count(*) AS delegates
    FROM seat_holders
    WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
    GROUP BY file, partner)
SELECT p.id AS programme, q.partner, sent.delegates, q.count AS quota, q.file, q.line
FROM quotas q
JOIN active_programmes p ON p.file = q.file
JOIN sent ON sent.file = q.file AND sent.partner = q.partner
WHERE sent.delegates > q.count
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

SLOTS_CHOSEN_TWICE = """
SELECT p.id AS programme, r.email_as_written AS email, count(*) AS chosen, r.file, r.line,
       (SELECT s.slot
        FROM sessions s
        WHERE s.file = r.file AND s.id = j.value
        ORDER BY s.rowid                -- a repeated session id: the first
        LIMIT 1) AS slot
FROM seat_holders r
JOIN active_programmes p ON p.file = r.file,
     json_each(r.sessions) j
WHERE r.sessions != '[]'
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
GROUP BY r.rowid, slot
HAVING slot IS NOT NULL
   AND count(*) > 1
"""
"""A seat holder fixed to more than one session of a slot."""

SEATED_PER_FILE = """
SELECT file, count(DISTINCT email) AS seated
FROM seat_holders
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
GROUP BY file
"""

FIRST_FIXED_CHOICES = """
SELECT r.file, r.sessions
FROM seat_holders r
WHERE r.sessions != '[]'
  AND (:kept IS NULL OR r.file NOT IN (SELECT value FROM json_each(:kept)))
  AND r.rowid = (SELECT min(h.rowid)  -- a repeated email: its first registration
                 FROM seat_holders h
                 WHERE h.file = r.file AND h.email = r.email)
ORDER BY r.file, r.rowid
"""


def programme_over_capacity(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(PROGRAMMES_OVER_CAPACITY):
        yield Breach(f"{plural(row['registered'], 'participant')} registered; the host can receive "
                     f"{row['capacity']}", snapshot.at(row["file"], row["line"]),
                     row["programme"])


def quota_exceeded(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(QUOTAS_EXCEEDED):
        yield Breach(f"`{row['partner']}` sends {plural(row['delegates'], 'delegate')}; its quota is "
                     f"{row['quota']}", snapshot.at(row["file"], row["line"]), row["programme"])


def venue_over_capacity(snapshot: Snapshot) -> Iterator[Breach]:
    attendees = snapshot.attendees
    for file, sessions in snapshot.sessions.items():
        people = attendees.get(file, 0)
        for s in sessions:
            if s.plenary and over_seats(s.seats, people):
                yield Breach(f"plenary session `{s.id}` has {plural(people, 'attendee')} and "
                             f"{plural(s.seats or 0, 'seat')}", snapshot.at(file, s.line), s.programme,
                             session=s.id, venue=s.venue)


def _fixed_choices(snapshot: Snapshot) -> dict[str, tuple[int, list[list[str]]]]:
    """File -> (how many people it seats, the fixed choices of those who made some).

    One registration per email, the first (a repeated email is a duplicate-id error), as the
    planner reads them.
    """
    seated = {row["file"]: row["seated"] for row in snapshot.rows(SEATED_PER_FILE)}
    chosen: dict[str, list[list[str]]] = defaultdict(list)
    for row in snapshot.rows(FIRST_FIXED_CHOICES):
        chosen[row["file"]].append(json.loads(row["sessions"]))
    return {file: (int(n), chosen.get(file, [])) for file, n in seated.items()}


def slot_infeasible(snapshot: Snapshot) -> Iterator[Breach | Finding]:
    for row in snapshot.rows(SLOTS_CHOSEN_TWICE):
        yield Breach(f"{row['email']} is fixed to {row['chosen']} sessions of slot "
                     f"`{row['slot']}`; choose one", snapshot.at(row["file"], row["line"]),
                     row["programme"], participant=row["email"])
    people = _fixed_choices(snapshot)
    for file, sessions in snapshot.sessions.items():
        seated, fixed = people.get(file, (0, []))
        first: dict[str, TimedSession] = {}
        for s in sessions:
            first.setdefault(s.id, s)
        for slot, parallel in sorted(m.slots_of(first.values()).items()):
            seats = [SlotSeats(s.id, s.seats, snapshot.at(file, s.line).file or None, s.line,
                               s.venue) for s in parallel]
            short = shortfall(slot, seats, seated, fixed)
            if short is not None:
                yield infeasible_finding(parallel[0].programme, short)
