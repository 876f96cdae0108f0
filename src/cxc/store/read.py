"""Reading the store back: programmes one at a time, partners, the plan and its provenance."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from cxc import model as m

if TYPE_CHECKING:
    import sqlite_utils

from cxc.store.connection import write_transaction


def _day(text: str) -> date:
    return date.fromisoformat(text)


@lru_cache(maxsize=1 << 16)
def _local(wall: str, zone: str, utc: str) -> m.LocalTime:
    """A stored time: the parallel sessions of a slot share theirs, so each is parsed once."""
    return m.LocalTime.known(datetime.fromisoformat(wall), zone, datetime.fromisoformat(utc))


@lru_cache(maxsize=1 << 16)
def _strings(text: str) -> tuple[str, ...]:
    """A stored JSON list of strings (themes, interests, chosen sessions, organisations) as a
    tuple: the same lists recur across thousands of rows, so each is parsed once (a store of
    1,000 programmes holds about 20,000 distinct lists: the cache keeps them all)."""
    return tuple(json.loads(text))


def _rows(conn: sqlite3.Connection, sql: str, *params: object) -> list[sqlite3.Row]:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, params).fetchall()


def _displays(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT path, display FROM files").fetchall())


def programme_files(db: sqlite_utils.Database, *, active: bool = False) -> list[tuple[str, str]]:
    """(programme id, file) of every programme in the store (``active``: not cancelled),
    in id then file order."""
    where = "WHERE status != 'cancelled'" if active else ""
    return db.conn.execute(f"SELECT id, file FROM programmes {where} ORDER BY id, file").fetchall()


def read_programmes(db: sqlite_utils.Database, files: Iterable[str] | None = None, *,
                    travel: bool = True) -> Iterator[m.ProgrammeDoc]:
    """The programmes of ``files`` (default: all, in id order), read one at a time;
    without ``travel``, with no one's travel legs or stay (a view of the sessions).

    Only the programme being worked on needs to be in memory. Iterate inside
    :func:`read_snapshot` for programmes that agree with each other.
    """
    conn = db.conn
    shown = _displays(conn) if files is None else None
    for file in files if files is not None else [f for _, f in programme_files(db)]:
        if shown is None:  # a few files: their own rows of the files table
            found = conn.execute("SELECT display FROM files WHERE path = ?", (file,)).fetchone()
            display = file if found is None else found[0]
        else:
            display = shown.get(file, file)
        doc = _read_programme(conn, file, display, travel)
        if doc is not None:
            yield doc


def _read_programme(conn: sqlite3.Connection, file: str, display: str,
                    travel: bool = True) -> m.ProgrammeDoc | None:
    found = _rows(conn, "SELECT * FROM programmes WHERE file = ?", file)
    if not found:
        return None
    row = found[0]

    def at(line: int | None) -> m.Source:
        return m.Source(display, line or 0)

    legs: dict[int, list[m.TravelLeg]] = defaultdict(list)
    stays: dict[int, m.Stay] = {}
    if travel:
        for leg in _rows(conn, "SELECT * FROM travel_legs WHERE file = ? "
                         "ORDER BY registration, position", file):
            legs[leg["registration"]].append(m.TravelLeg(
                leg["mode"], _local(leg["depart_local"], leg["depart_tz"], leg["depart_utc"]),
                _local(leg["arrive_local"], leg["arrive_tz"], leg["arrive_utc"]),
                leg["origin"], leg["destination"], leg["ref"], at(leg["line"])))
        stays = {y["registration"]: m.Stay(y["name"], _day(y["check_in"]),
                                           _day(y["check_out"]), y["address"], at(y["line"]))
                 for y in _rows(conn, "SELECT * FROM stays WHERE file = ?", file)}
    programme = m.Programme(
        row["id"], row["kind"], row["title"], row["host"], row["city"], row["country"],
        row["timezone"], _day(row["start"]), _day(row["end"]), row["status"], row["capacity"],
        tuple(m.Quota(q["partner"], q["count"], at(q["line"]))
              for q in _rows(conn, "SELECT * FROM quotas WHERE file = ? ORDER BY rowid", file)),
        _strings(row["themes"]), row["min_transfer_minutes"], at(row["line"]))
    return m.ProgrammeDoc(
        file, programme,
        tuple(m.Venue(v["id"], v["programme"], v["name"], v["address"], v["capacity"],
                      (v["lat"], v["lon"]) if v["lat"] is not None else None, at(v["line"]))
              for v in _rows(conn, "SELECT * FROM venues WHERE file = ? ORDER BY rowid", file)),
        tuple(m.Session(
            sid, programme, title, kind, venue, _local(start, start_tz, start_utc),
            _local(end, end_tz, end_utc), slot, capacity, _strings(themes),
            _strings(organisations), description, url, at(line))
            for (sid, programme, title, kind, venue, start, start_tz, start_utc, end, end_tz,
                 end_utc, slot, capacity, themes, organisations, description, url, line)
            in conn.execute(_SESSION_ROWS, (file,))),
        tuple(m.Registration(
            programme, email, name, partner, organisation, org_type, country,
            _strings(interests), _strings(sessions), bool(attended),
            tuple(legs.get(position, ())), stays.get(position), at(line), status)
            for (programme, email, name, partner, organisation, org_type, country, interests,
                 sessions, attended, position, line, status)
            in conn.execute(_REGISTRATION_ROWS, (file,))),
    )


# Positional, in the order of the model's fields: a thousand programmes hold 50,000 rows.
_SESSION_ROWS = (
    "SELECT id, programme, title, kind, venue, start_local, start_tz, start_utc, end_local, "
    "end_tz, end_utc, slot, capacity, themes, organisations, description, url, line "
    "FROM sessions WHERE file = ? ORDER BY rowid")
_REGISTRATION_ROWS = (
    "SELECT programme, email_as_written, name, partner, organisation, org_type, country, "
    "interests, sessions, attended, position, line, status "
    "FROM registrations WHERE file = ? ORDER BY position")


def read_partners(db: sqlite_utils.Database) -> dict[str, m.Partner]:
    """The partners of the store's partnership by id (of its first file, should two define it)."""
    conn = db.conn
    shown = _displays(conn)
    return {p["id"]: m.Partner(
        p["id"], p["name"], p["country"], p["city"], p["timezone"],
        m.Contact(p["contact_name"], p["contact_email"], p["contact_phone"])
        if p["contact_name"] or p["contact_email"] or p["contact_phone"] else None,
        m.Source(shown.get(p["file"], p["file"]), p["line"] or 0))
        for p in _rows(conn, "SELECT * FROM partners WHERE file = "
                       "(SELECT min(file) FROM partnership) ORDER BY rowid")}


def read_partnership(db: sqlite_utils.Database) -> m.Partnership | None:
    """The store's partnership (of its first file, should two define it); None without one."""
    rows = _rows(db.conn, 'SELECT id, name, funding, start, "end", file, line FROM partnership '
                 "ORDER BY file LIMIT 1")
    if not rows:
        return None
    r = rows[0]
    return m.Partnership(r["id"], r["name"], r["funding"], _day(r["start"]), _day(r["end"]),
                         m.Source(_displays(db.conn).get(r["file"], r["file"]), r["line"] or 0))


def read_placements(db: sqlite_utils.Database,
                    programme: str) -> dict[tuple[str, str], str]:
    """The stored plan of a programme: (slot, email) -> session."""
    return {(slot, email): session for slot, session, email in db.conn.execute(
        "SELECT slot, session, email FROM placements WHERE programme = ?", (programme,))}


def read_seating(db: sqlite_utils.Database,
                 programme: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The stored plan of a programme by slot: slot -> session -> the emails placed there (a
    row a session: a kept plan is checked a slot at a time, not a person at a time)."""
    seating: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for slot, session, emails in db.conn.execute(
            "SELECT slot, session, json_group_array(email) FROM placements WHERE programme = ? "
            "GROUP BY slot, session", (programme,)):
        seating[slot][session] = tuple(json.loads(emails))
    return dict(seating)


def save_plan(db: sqlite_utils.Database,
              placements: dict[str, Iterable[tuple[str, str, str]]],
              made_from: Mapping[str, str], keep: Iterable[str] | None = None) -> None:
    """Store the plans of the programmes of ``placements``: programme -> (slot, session,
    email) rows, and the ``data_hash`` of the data each programme's plan was made from.

    The stored plans of ``keep`` (default: none) not in ``placements`` stay as they are,
    row for row; those of every other programme are dropped."""
    with write_transaction(db) as conn:
        _drop_others(conn, ("placements", "plans"), placements, keep)
        conn.executemany(
            "INSERT INTO placements (programme, slot, session, email) VALUES (?, ?, ?, ?)",
            [(programme, slot, session, email)
             for programme, rows in sorted(placements.items())
             for slot, session, email in rows])
        conn.executemany("INSERT INTO plans (programme, data_hash) VALUES (?, ?)",
                         sorted(made_from.items()))


def save_admissions(db: sqlite_utils.Database,
                    admitted: Mapping[str, Iterable[str]], keep: Iterable[str] | None = None,
                    ) -> None:
    """Store the admissions of the programmes of ``admitted``: programme -> the email keys of
    the waitlisted people its plan admitted. Those of ``keep`` (default: none) not in
    ``admitted`` stay; other programmes' admissions are dropped, as their plans are."""
    with write_transaction(db) as conn:
        _drop_others(conn, ("admissions",), admitted, keep)
        conn.executemany("INSERT OR IGNORE INTO admissions (programme, email) VALUES (?, ?)",
                         [(programme, email) for programme, emails in sorted(admitted.items())
                          for email in emails])


def _drop_others(conn: sqlite3.Connection, tables: Iterable[str], replaced: Iterable[str],
                 keep: Iterable[str] | None) -> None:
    """Delete the rows of ``tables`` of the programmes ``replaced``, and of those not ``keep``."""
    kept = json.dumps(sorted(set(keep or ())))
    for table in tables:
        conn.executemany(f"DELETE FROM {table} WHERE programme = ?",
                         [(programme,) for programme in sorted(replaced)])
        conn.execute(f"DELETE FROM {table} WHERE programme NOT IN "
                     "(SELECT value FROM json_each(?))", (kept,))


def read_admitted(db: sqlite_utils.Database, programme: str) -> frozenset[str]:
    """The waitlisted people of ``programme`` that a plan admitted (email keys)."""
    return frozenset(email for (email,) in db.conn.execute(
        "SELECT email FROM admissions WHERE programme = ?", (programme,)))


@dataclass(frozen=True)
class PlanState:
    """Whether a programme's stored plan is the one its data asks for."""

    programme: str
    file: str
    status: m.ProgrammeStatus
    planned: bool
    current: bool


def plan_states(db: sqlite_utils.Database) -> list[PlanState]:
    """Every programme with whether it was planned and whether its data changed since."""
    return [PlanState(pid, file, status, hashed is not None, hashed == data)
            for pid, file, status, data, hashed in db.conn.execute(
                "SELECT p.id, p.file, p.status, p.data_hash, n.data_hash FROM programmes p "
                "LEFT JOIN plans n ON n.programme = p.id ORDER BY p.id, p.file")]
