"""``tight-transfer`` and ``misses-sessions``: getting from one place to the next in time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from cxc import model as m
from cxc.rules.snapshot import Breach, Snapshot

TRANSFER_TIMES = """
SELECT file, min_transfer_minutes
FROM active_programmes
WHERE min_transfer_minutes > 0
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

SESSIONS_WITHOUT_VENUE = """
SELECT p.id AS programme, s.id AS session, s.slot, s.capacity, s.file, s.line
FROM sessions s
JOIN active_programmes p ON p.file = s.file
WHERE s.venue IS NULL
  AND s.kind != 'travel'
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
  AND EXISTS (SELECT 1 FROM venues v WHERE v.file = s.file)
"""
"""Sessions that name none of the venues their programme lists (a programme that lists none is
held in its city; a ``travel`` session is the way between two places)."""

VENUES_OF_FILE = """
SELECT id
FROM venues
WHERE file = :file
ORDER BY rowid
"""

LATE_OR_EARLY = """
WITH span AS (
    SELECT key AS file,
           json_extract(value, '$[0]') AS middle,
           json_extract(value, '$[1]') AS first,
           json_extract(value, '$[2]') AS last
    FROM json_each(:spans)),
travel AS (
    SELECT l.file, l.registration,
           max(CASE WHEN l.depart_utc < span.middle THEN l.arrive_utc END) AS here,
           min(CASE WHEN l.depart_utc >= span.middle THEN l.depart_utc END) AS gone
    FROM span
    JOIN travel_legs l ON l.file = span.file
    JOIN seat_holders r ON r.file = l.file AND r.position = l.registration
    GROUP BY l.file, l.registration)
SELECT travel.file, travel.registration, travel.here, travel.gone
FROM travel
JOIN span ON span.file = travel.file
WHERE travel.here > span.first
   OR travel.gone < span.last
"""
"""Per seat holder with travel, the last arrival before the programme's midpoint (``here``) and
the first departure after it (``gone``), for those who arrive after its first session starts
or leave before its last one ends. ``:spans``: file -> [middle, first start, last end], UTC."""

SEAT_HOLDER_AT = """
SELECT p.id AS programme, r.email_as_written AS email, r.sessions, r.line
FROM seat_holders r
JOIN active_programmes p ON p.file = r.file
WHERE r.file = :file
  AND r.position = :position
"""

TRAVEL_LEGS_OF = """
SELECT origin, depart_local, destination, arrive_local
FROM travel_legs
WHERE file = :file
  AND registration = :registration
ORDER BY depart_utc, position
"""


def tight_transfer(snapshot: Snapshot) -> Iterator[Breach]:
    yield from _sessions_without_venue(snapshot)
    for row in snapshot.rows(TRANSFER_TIMES):
        file, need = row["file"], row["min_transfer_minutes"]
        defined = snapshot.venue_ids.get(file, set())
        ordered = sorted(snapshot.sessions.get(file, ()), key=lambda s: s.start)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                gap = (b.start - a.end) / 60
                if gap >= need:
                    break
                if gap < 0 or (a.slot is not None and a.slot == b.slot):
                    continue
                # an undefined venue is an unknown-reference: where it is, nobody knows
                if a.venue in defined and b.venue in defined and a.venue != b.venue:
                    yield Breach(f"`{a.id}` at `{a.venue}` ends {a.end_local[11:]} and "
                                 f"`{b.id}` at `{b.venue}` starts {b.start_local[11:]}: "
                                 f"{gap:.0f} min to move, {need} needed",
                                 snapshot.at(file, b.line), b.programme, session=b.id,
                                 venue=b.venue)


def _sessions_without_venue(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(SESSIONS_WITHOUT_VENUE):
        listed = snapshot.rows(VENUES_OF_FILE, file=row["file"])
        venues = ", ".join(f"`{v}`" for v in dict.fromkeys(venue["id"] for venue in listed))
        unseated = ("; as a plenary with no capacity either, its seats are unknown"
                    if row["slot"] is None and row["capacity"] is None else "")
        yield Breach(f"session `{row['session']}` has no venue, so its calendar entry gives "
                     f"only the city and no transfer to or from it is checked{unseated}; add `venue:` "
                     f"with one of {venues}",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     session=row["session"])


def misses_sessions(snapshot: Snapshot) -> Iterator[Breach]:
    """Travel that arrives after, or leaves before, all of a session a person must be at.

    SQL finds, per registration, the last arrival before the programme's midpoint and
    the first departure after it, and keeps those who arrive after the first session
    starts or leave before the last one ends; only they are checked session by session.
    """
    spans = {}
    for file, sessions in snapshot.sessions.items():
        first, last = min(s.start for s in sessions), max(s.end for s in sessions)
        # UTC texts compare as instants: leaving before the midpoint is before its ceiling
        spans[file] = [_utc_text((first + last + 1) // 2), _utc_text(first), _utc_text(last)]
    for late in snapshot.rows(LATE_OR_EARLY, spans=json.dumps(spans)):
        file, position = late["file"], late["registration"]
        holder = snapshot.rows(SEAT_HOLDER_AT, file=file, position=position)[0]
        here = _epoch(late["here"]) if late["here"] is not None else None
        gone = _epoch(late["gone"]) if late["gone"] is not None else None
        sessions = snapshot.sessions[file]
        plenaries = [[s] for s in sessions if s.plenary]
        fixed = set(json.loads(holder["sessions"]))
        groups = plenaries + [[s for s in group if s.id in fixed][:1] or group
                              for _, group in sorted(m.slots_of(sessions).items())]
        missed = [group[0] for group in groups
                  if all((here is not None and s.start < here)
                         or (gone is not None and s.end > gone) for s in group)]
        if missed:
            email = holder["email"]
            names = ", ".join(f"`{s.id}`" for s in missed[:3])
            more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
            window = _travel_window(snapshot, file, position)
            yield Breach(f"{email}: travel ({window}) misses {names}{more}",
                         snapshot.at(file, holder["line"]), holder["programme"],
                         participant=email, session=missed[0].id)


def _utc_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(utc_text: str) -> int:
    return int(datetime.fromisoformat(utc_text).timestamp())


def _travel_window(snapshot: Snapshot, file: str, registration: int) -> str:
    legs = snapshot.rows(TRAVEL_LEGS_OF, file=file, registration=registration)
    return "; ".join(f"{leg['origin']} {leg['depart_local']} to {leg['destination']} "
                     f"{leg['arrive_local']}" for leg in legs)
