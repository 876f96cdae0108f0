"""``kind-rules``, ``ineligible-visitor``, ``repeat-visit`` and ``own-delegation``: what each
kind of programme and the ClusterXchange scheme allow."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import date, timedelta

from cxc import model as m
from cxc.rules.snapshot import Breach, Snapshot

PROGRAMMES_OF_LIMITED_LENGTH = """
SELECT id AS programme, kind, start, "end", file, line
FROM active_programmes
WHERE kind IN ('deep_dive_day', 'cxc')
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
ORDER BY id, file
"""

STUDY_VISITORS_OF_THE_HOST = """
SELECT p.id AS programme, r.email_as_written AS email, p.host, r.file, r.line
FROM seat_holders r
JOIN active_programmes p ON p.file = r.file
WHERE p.kind = 'study_visit'
  AND r.partner = p.host
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

HOST_ONLY_VISITORS = """
SELECT programme_id AS programme, email_as_written AS email, organisation, org_type, file, line
FROM visitors
WHERE org_type IN (SELECT value FROM json_each(:host_only))
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

REPEAT_VISITS = """
WITH visits AS (                        -- each organisation's visit to each cxc, by its first visitor
    SELECT organisation_key AS key, programme_id AS id, programme_start AS start, file,
           min(position) AS position
    FROM visitors
    WHERE organisation_key != ''
    GROUP BY file, organisation_key),
ranked AS (
    SELECT *, first_value(id) OVER w AS first, row_number() OVER w AS n
    FROM visits
    WINDOW w AS (PARTITION BY key ORDER BY start, id, file))
SELECT ranked.id AS programme, r.email_as_written AS email, r.organisation, ranked.first,
       r.file, r.line
FROM ranked
JOIN seat_holders r ON r.file = ranked.file AND r.position = ranked.position
WHERE ranked.n > 1
"""

HOST_DELEGATES_TO_A_CXC = """
SELECT p.id AS programme, r.email_as_written AS email, p.host, r.file, r.line
FROM seat_holders r
JOIN active_programmes p ON p.file = r.file
WHERE p.kind = 'cxc'
  AND r.partner = p.host
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _working_days(start: date, end: date) -> int:
    days = (end - start).days + 1
    return sum(1 for i in range(max(days, 0)) if (start + timedelta(i)).weekday() < 5)


def kind_rules(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(PROGRAMMES_OF_LIMITED_LENGTH):
        at, pid = snapshot.at(row["file"], row["line"]), row["programme"]
        start, end = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
        if row["kind"] == "deep_dive_day" and start != end:
            yield Breach(f"a deep dive day spans one date; this one runs {start} to {end}",
                         at, pid)
        elif row["kind"] == "cxc" and end >= start:
            working = _working_days(start, end)
            if working < 3:
                yield Breach(f"a cluster exchange lasts at least 3 working days; {start} to "
                             f"{end} has {working}", at, pid)
            if end > _add_month(start):
                yield Breach(f"a cluster exchange lasts at most one month; {start} to {end} "
                             f"is longer", at, pid)
    for row in snapshot.rows(STUDY_VISITORS_OF_THE_HOST):
        yield Breach(f"{row['email']}: a study visit's visitors come from the other partners, "
                     f"not the host `{row['host']}`", snapshot.at(row["file"], row["line"]),
                     row["programme"], participant=row["email"])


def ineligible_visitor(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(HOST_ONLY_VISITORS, host_only=json.dumps(m.HOST_ONLY_ORG_TYPES)):
        yield Breach(f"{row['email']} ({row['organisation'] or 'no organisation'}) is of type "
                     f"`{row['org_type']}`, which may host a cluster exchange but not visit",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     participant=row["email"])


def repeat_visit(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(REPEAT_VISITS):
        yield Breach(f"{row['organisation']} already visited in `{row['first']}`; the "
                     f"ClusterXchange scheme allows one visit per organisation",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     participant=row["email"])


def own_delegation(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(HOST_DELEGATES_TO_A_CXC):
        yield Breach(f"{row['email']} travels in the host's own delegation `{row['host']}`",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     participant=row["email"])
