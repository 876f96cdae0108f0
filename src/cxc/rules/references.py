"""``unknown-reference``: every id a file names is defined where it should be."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from cxc.rules.snapshot import Breach, Snapshot

PARTNERSHIP_LOADED = """
SELECT count(*) AS files
FROM partnership
"""

ACTIVITIES_OF_UNKNOWN_PARTNERS = """
SELECT title, partner, file, line
FROM partnership_activities
WHERE partner NOT IN (SELECT id FROM partnership_partners)
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

HOSTS_NOT_PARTNERS = """
SELECT id AS programme, host, file, line
FROM active_programmes
WHERE host NOT IN (SELECT id FROM partnership_partners)
  AND (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""

QUOTAS_OF_NON_PARTNERS = """
SELECT p.id AS programme, q.partner, q.file, q.line
FROM quotas q
JOIN active_programmes p ON p.file = q.file
WHERE q.partner NOT IN (SELECT id FROM partnership_partners)
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

SESSIONS_AT_UNDEFINED_VENUES = """
SELECT p.id AS programme, s.id AS session, s.venue, s.file, s.line
FROM sessions s
JOIN active_programmes p ON p.file = s.file
WHERE s.venue IS NOT NULL
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
  AND NOT EXISTS (SELECT 1 FROM venues v WHERE v.file = s.file AND v.id = s.venue)
"""

VENUE_IDS_OF_FILE = """
SELECT id
FROM venues
WHERE file = :file
"""

DELEGATES_OF_UNKNOWN_PARTNERS = """
SELECT p.id AS programme, r.email_as_written AS email, r.partner, r.file, r.line
FROM registrations r
JOIN active_programmes p ON p.file = r.file
WHERE r.partner NOT IN (SELECT id FROM partnership_partners)
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
"""

UNDEFINED_FIXED_CHOICES = """
SELECT p.id AS programme, r.email_as_written AS email, j.value AS session, r.file, r.line
FROM registrations r
JOIN active_programmes p ON p.file = r.file,
     json_each(r.sessions) j
WHERE r.sessions != '[]'
  AND (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.file = r.file AND s.id = j.value)
"""

SESSION_IDS_OF_FILE = """
SELECT id
FROM sessions
WHERE file = :file
"""


def did_you_mean(written: str, known: Iterable[str]) -> str:
    """``; did you mean `x`?`` for the known id closest to a mistyped one, else nothing."""
    close = difflib.get_close_matches(written, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def unknown_reference(snapshot: Snapshot) -> Iterator[Breach]:
    yield from _unknown_partners(snapshot)
    for row in snapshot.rows(SESSIONS_AT_UNDEFINED_VENUES):
        venues = [v["id"] for v in snapshot.rows(VENUE_IDS_OF_FILE, file=row["file"])]
        yield Breach(f"session `{row['session']}`: venue `{row['venue']}` is not defined in "
                     f"this programme{did_you_mean(row['venue'], venues)}",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     session=row["session"], venue=row["venue"])
    for row in snapshot.rows(UNDEFINED_FIXED_CHOICES):
        sessions = [s["id"] for s in snapshot.rows(SESSION_IDS_OF_FILE, file=row["file"])]
        yield Breach(f"{row['email']}: session `{row['session']}` is not defined in this "
                     f"programme{did_you_mean(row['session'], sessions)}",
                     snapshot.at(row["file"], row["line"]), row["programme"],
                     participant=row["email"], session=row["session"])


def _unknown_partners(snapshot: Snapshot) -> Iterator[Breach]:
    """Partner ids that the partnership file does not define."""
    partners = snapshot.partner_ids
    known = f" (partners: {', '.join(sorted(partners))})" if partners else ""

    def unknown(partner: str) -> str:
        return f"{did_you_mean(partner, partners)}{known}"

    for row in snapshot.rows(ACTIVITIES_OF_UNKNOWN_PARTNERS):
        yield Breach(f"activity `{row['title']}`: partner `{row['partner']}` is not defined"
                     f"{unknown(row['partner'])}", snapshot.at(row["file"], row["line"]))
    for row in snapshot.rows(HOSTS_NOT_PARTNERS):
        yield Breach(f"host `{row['host']}` is not a partner{unknown(row['host'])}",
                     snapshot.at(row["file"], row["line"]), row["programme"])
    for row in snapshot.rows(QUOTAS_OF_NON_PARTNERS):
        yield Breach(f"quota for `{row['partner']}`, which is not a partner"
                     f"{unknown(row['partner'])}", snapshot.at(row["file"], row["line"]),
                     row["programme"])
    for row in snapshot.rows(DELEGATES_OF_UNKNOWN_PARTNERS):
        yield Breach(f"{row['email']}: partner `{row['partner']}` is not defined"
                     f"{unknown(row['partner'])}", snapshot.at(row["file"], row["line"]),
                     row["programme"], participant=row["email"])


def no_partner_defined(snapshot: Snapshot) -> Iterator[Breach]:
    """With no partner defined and some id naming one, one finding (of no file) says to load
    the partnership file, and the others do not repeat it."""
    if not snapshot.partner_ids and next(_unknown_partners(snapshot), None) is not None:
        loaded = snapshot.rows(PARTNERSHIP_LOADED)[0]["files"]
        why = ("the partnership file defines no partners" if loaded
               else "no partnership file is loaded")
        yield Breach(f"no partner is defined ({why}), so no host, quota or delegation can "
                     f"name one: load the partnership file with the programmes "
                     f"(cxc load partnership.yaml programmes/)", snapshot.at("", None))
