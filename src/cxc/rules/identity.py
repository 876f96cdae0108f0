"""``duplicate-id`` and ``duplicate-activity``: each thing is written once.

A repeated id is flagged at its second and later rows (``repeated_ids``); everywhere else a
repeated id stands for its first row.
"""

from __future__ import annotations

from collections.abc import Iterator

from cxc.rules.snapshot import Breach, Snapshot

PARTNERSHIP_COPIES = """
SELECT id, file, line, first_file
FROM (SELECT id, file, line,
             first_value(file) OVER w AS first_file,
             row_number() OVER w AS n
      FROM partnership
      WINDOW w AS (ORDER BY file))
WHERE n > 1
"""

REPEATED_PARTNER_IDS = """
SELECT id, file, line, first_line
FROM (SELECT id, file, line,
             first_value(line) OVER w AS first_line,
             row_number() OVER w AS n
      FROM partnership_partners
      WINDOW w AS (PARTITION BY id ORDER BY rowid))
WHERE n > 1
"""

REPEATED_PROGRAMME_IDS = """
SELECT id, file, line, first_file, first_line
FROM (SELECT id, file, line,
             first_value(file) OVER w AS first_file,
             first_value(line) OVER w AS first_line,
             row_number() OVER w AS n
      FROM active_programmes
      WINDOW w AS (PARTITION BY id ORDER BY file))
WHERE n > 1
"""

REPEATED_IDS_IN_PROGRAMMES = """
SELECT p.id AS programme, x.kind, x.id, x.file, x.line, x.first_line
FROM repeated_ids x
JOIN active_programmes p ON p.file = x.file
"""

REPEATED_ACTIVITIES = """
SELECT kind, partner, date, title, file, line, first_line
FROM (SELECT kind, partner, date, title, file, line,
             first_value(line) OVER w AS first_line,
             row_number() OVER w AS n
      FROM partnership_activities
      WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
      WINDOW w AS (PARTITION BY kind, partner, date, text_key(title) ORDER BY rowid))
WHERE n > 1
"""


def duplicate_id(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(PARTNERSHIP_COPIES):
        yield Breach(f"partnership `{row['id']}` is defined in two files, here and in "
                     f"{snapshot.at(row['first_file'], 0)}; a store holds one: remove the "
                     f"copy, or rename it to something that is not .yaml",
                     snapshot.at(row["file"], row["line"]))
    for row in snapshot.rows(REPEATED_PARTNER_IDS):
        yield Breach(f"partner id `{row['id']}` is already used at line {row['first_line'] or 0}",
                     snapshot.at(row["file"], row["line"]))
    for row in snapshot.rows(REPEATED_PROGRAMME_IDS):
        before = snapshot.at(row["first_file"], row["first_line"])
        yield Breach(f"programme id `{row['id']}` is already used in {before}",
                     snapshot.at(row["file"], row["line"]), row["id"])
    for row in snapshot.rows(REPEATED_IDS_IN_PROGRAMMES):
        key, first, at = row["id"], row["first_line"] or 0, snapshot.at(row["file"], row["line"])
        if row["kind"] == "venue":
            yield Breach(f"venue id `{key}` is already used at line {first}", at,
                         row["programme"], venue=key)
        elif row["kind"] == "session":
            yield Breach(f"session id `{key}` is already used at line {first}", at,
                         row["programme"], session=key)
        else:
            yield Breach(f"participant {key} is registered twice (first at line {first})", at,
                         row["programme"], participant=key)


def duplicate_activity(snapshot: Snapshot) -> Iterator[Breach]:
    for row in snapshot.rows(REPEATED_ACTIVITIES):
        yield Breach(f"activity `{row['title']}` ({row['kind']} of `{row['partner']}` on "
                     f"{row['date']}) is already listed at line {row['first_line'] or 0}: it "
                     f"would count twice", snapshot.at(row["file"], row["line"]))
