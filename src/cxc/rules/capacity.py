"""``programme-over-capacity``, ``quota-exceeded``, ``venue-over-capacity`` and
``slot-infeasible``: everyone who holds a seat has one."""

from __future__ import annotations

from collections.abc import Iterator

from cxc import model as m
from cxc.rules.snapshot import Breach, Snapshot

PROGRAMMES_OVER_CAPACITY = """
SELECT p.id AS programme, count(*) AS registered, p.capacity, p.file, p.line
FROM active_programmes p
JOIN seat_holders r ON r.file = p.file
WHERE p.capacity IS NOT NULL
GROUP BY p.file
HAVING count(*) > p.capacity
"""

QUOTAS_EXCEEDED = """
WITH sent AS (
    SELECT file, partner, count(*) AS delegates
    FROM seat_holders
    GROUP BY file, partner)
SELECT p.id AS programme, q.partner, sent.delegates, q.count AS quota, q.file, q.line
FROM quotas q
JOIN active_programmes p ON p.file = q.file
JOIN sent ON sent.file = q.file AND sent.partner = q.partner
WHERE sent.delegates > q.count
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
GROUP BY r.rowid, slot
HAVING slot IS NOT NULL
   AND count(*) > 1
"""
"""A seat holder fixed to more than one session of a slot."""

FIXED_CHOICES_PER_SESSION = """
SELECT r.file, j.value AS session, count(DISTINCT r.rowid) AS chosen
FROM seat_holders r,
     json_each(r.sessions) j
WHERE r.sessions != '[]'
GROUP BY r.file, j.value
"""


def programme_over_capacity(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(PROGRAMMES_OVER_CAPACITY):
        yield Breach(f"{row['registered']} participants registered; the host can receive "
                     f"{row['capacity']}", snapshot.at(row["file"], row["line"]),
                     row["programme"])


def quota_exceeded(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(QUOTAS_EXCEEDED):
        yield Breach(f"`{row['partner']}` sends {row['delegates']} delegates; its quota is "
                     f"{row['quota']}", snapshot.at(row["file"], row["line"]), row["programme"])


def venue_over_capacity(snapshot: Snapshot) -> Iterator[Breach]:
    attendees = snapshot.attendees
    for file, sessions in snapshot.sessions.items():
        people = attendees.get(file, 0)
        for s in sessions:
            if s.plenary and s.seats is not None and people > s.seats:
                yield Breach(f"plenary session `{s.id}` has {people} attendees and "
                             f"{s.seats} seats", snapshot.at(file, s.line), s.programme,
                             session=s.id, venue=s.venue)


def _fixed_choices(snapshot: Snapshot) -> dict[tuple[str, str], int]:
    """(file, session id) -> how many registrations of the file chose that session."""
    return {(row["file"], row["session"]): int(row["chosen"])
            for row in snapshot.rows(FIXED_CHOICES_PER_SESSION)}


def slot_infeasible(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(SLOTS_CHOSEN_TWICE):
        yield Breach(f"{row['email']} is fixed to {row['chosen']} sessions of slot "
                     f"`{row['slot']}`; choose one", snapshot.at(row["file"], row["line"]),
                     row["programme"], participant=row["email"])
    attendees = snapshot.attendees
    chosen = _fixed_choices(snapshot)
    for file, sessions in snapshot.sessions.items():
        people = attendees.get(file, 0)
        for slot, parallel in sorted(m.slots_of(sessions).items()):
            seats = [s.seats for s in parallel]
            total = sum(n for n in seats if n is not None)
            if None not in seats and total < people:
                first = parallel[0]
                yield Breach(m.slot_short_message(
                    slot, people - total, [(s.id, s.seats) for s in parallel], people),
                    snapshot.at(file, first.line), first.programme, session=first.id)
            for s in parallel:
                fixed = chosen.get((file, s.id), 0)
                if s.seats is not None and fixed > s.seats:
                    yield Breach(f"slot `{slot}` is {m.seats_phrase(fixed - s.seats)} "
                                 f"short at `{s.id}`: "
                                 f"{m.overfilled_phrase([(s.id, fixed, s.seats)])}",
                                 snapshot.at(file, s.line), s.programme, session=s.id,
                                 venue=s.venue)
