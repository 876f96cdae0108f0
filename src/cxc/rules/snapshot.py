"""The store as the rules read it: named queries over one read snapshot, rows by column name.

The queries are written in the vocabulary of the schema's views (``active_programmes``,
``partnership_partners``, ``session_seats``, ``visitors``, ``repeated_ids``; see
:data:`cxc.store.schema.RULE_VIEWS`), with named parameters only.

A snapshot may leave out the files whose findings are kept (``:kept``, a JSON list of paths,
NULL for none): the queries of the rules that read one file at a time skip those files' rows,
by ``(:kept IS NULL OR x.file NOT IN (SELECT value FROM json_each(:kept)))``, so that the run
on the whole store is the same query with no restriction, and the run on the others sees
every row the whole run would, but theirs.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TypeVar

from cxc import model as m

FILES = """
SELECT path, display
FROM files
"""

PARTNER_IDS = """
SELECT id
FROM partnership_partners
"""

SEAT_HOLDERS_PER_FILE = """
SELECT file, count(*) AS holders
FROM seat_holders
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
GROUP BY file
"""

CHECKED_SESSIONS = """
SELECT s.file, p.id AS programme, s.id, s.slot, s.venue, s.start_local, s.end_local,
       s.start_epoch AS start, s.end_epoch AS "end", s.seats, s.line
FROM session_seats s
JOIN active_programmes p ON p.file = s.file
WHERE (:kept IS NULL OR p.file NOT IN (SELECT value FROM json_each(:kept)))
ORDER BY s.file, s.rowid
"""

VENUE_IDS = """
SELECT file, id
FROM venues
WHERE (:kept IS NULL OR file NOT IN (SELECT value FROM json_each(:kept)))
"""


R = TypeVar("R")


def text_key(text: str | None) -> str | None:
    """How two texts are told apart: Unicode NFC, case-folded, surrounding white space ignored.

    The rules' SQL calls it as ``text_key(...)``.
    """
    return None if text is None else m.identity_key(text)


@dataclass(frozen=True, slots=True)
class TimedSession:
    """A session of a checked programme: when (epoch seconds), which slot, where, how many seats
    (``session_seats``)."""

    file: str
    programme: str
    id: str
    slot: str | None
    venue: str | None
    start_local: str
    end_local: str
    start: int
    end: int
    seats: int | None
    line: int

    @property
    def plenary(self) -> bool:
        return self.slot is None


@dataclass(frozen=True, slots=True)
class Breach:
    """What one rule found wrong, and where; the registry adds the rule's id and severity."""

    message: str
    at: m.Source
    programme: str | None = None
    participant: str | None = None
    session: str | None = None
    venue: str | None = None


class Snapshot:
    """The rules' query runner over one read snapshot of the store, with what several rules
    share read once: the partner ids, each checked programme's sessions, its seat holders.

    ``kept``: the files whose rows the per-file queries leave out (``:kept``)."""

    def __init__(self, conn: sqlite3.Connection, kept: Collection[str] = ()) -> None:
        self.conn = conn
        conn.create_function("text_key", 1, text_key, deterministic=True)
        self.kept = json.dumps(sorted(kept)) if kept else None
        self._shown: dict[str, str] = {row["path"]: row["display"] for row in self.rows(FILES)}
        self.paths = list(self._shown)
        """Every file of the store, whatever ``kept`` leaves out."""
        self._by_id: dict[str, dict[str, TimedSession]] = {}

    def rows(self, sql: str, **params: object) -> list[sqlite3.Row]:
        """The rows of one named query, read by column name."""
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, {"kept": self.kept, **params}).fetchall()

    def records(self, sql: str, record: type[R], **params: object) -> Iterator[R]:
        """The rows of a query whose columns are named as the fields of ``record``, as
        ``record`` values (for the large results: no per-row lookup by name)."""
        cursor = self.conn.execute(sql, {"kept": self.kept, **params})
        columns = tuple(d[0] for d in cursor.description)
        expected = tuple(f.name for f in fields(record))  # type: ignore[arg-type]
        if columns != expected:
            raise ValueError(f"query columns {columns} are not the fields of {record.__name__}")
        return (record(*row) for row in cursor)

    def at(self, file: str, line: int | None) -> m.Source:
        """Where a row was written, with the file as the user named it."""
        return m.Source(self._shown.get(file, file), line or 0)

    @cached_property
    def partner_ids(self) -> list[str]:
        return [row["id"] for row in self.rows(PARTNER_IDS)]

    @cached_property
    def attendees(self) -> dict[str, int]:
        """File -> how many seat holders it has."""
        return {row["file"]: row["holders"] for row in self.rows(SEAT_HOLDERS_PER_FILE)}

    @cached_property
    def sessions(self) -> dict[str, list[TimedSession]]:
        """The sessions of each checked programme file, in file order."""
        out: dict[str, list[TimedSession]] = defaultdict(list)
        for session in self.records(CHECKED_SESSIONS, TimedSession):
            out[session.file].append(session)
        return out

    def sessions_by_id(self, file: str) -> dict[str, TimedSession]:
        """The sessions of ``file`` by id; a repeated id is its first session."""
        if file not in self._by_id:
            self._by_id[file] = {s.id: s for s in reversed(self.sessions.get(file, ()))}
        return self._by_id[file]

    @cached_property
    def venue_ids(self) -> dict[str, set[str]]:
        """The venue ids each file defines."""
        out: dict[str, set[str]] = defaultdict(set)
        for row in self.rows(VENUE_IDS):
            out[row["file"]].add(row["id"])
        return out
