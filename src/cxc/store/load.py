"""Loading documents into the store, in one transaction; a mirrored folder drops what is gone.

Every row remembers the file (and line) it came from. Re-loading a file
deletes what that file defined (foreign keys cascade from ``files``) and
inserts it again, inside the same transaction as the rest of the load, so a
failed load leaves the store exactly as it was.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxc import model as m
from cxc.errors import StoreError, UsageError

if TYPE_CHECKING:
    import sqlite_utils

from cxc.format.files import file_location, store_root
from cxc.store.connection import (
    BUSY_TIMEOUT_S,
    db_path,
    open_store,
    store_error,
    write_transaction,
)
from cxc.store.erasure import _forgotten
from cxc.store.schema import PROGRAMME_TABLES, data_hash


@dataclass(frozen=True)
class LoadSummary:
    files: int
    programmes: int
    participants: int
    sessions: int
    dropped: int = 0
    """Files loaded before from under a mirrored folder that are no longer there."""


Documents = (Iterable[m.FileRead]
             | Callable[[Mapping[str, m.KnownFile]], Iterable[m.FileRead]])
"""What a load reads: the documents, or a function of what the store holds (file key ->
sha256 of its bytes and stat) that gives them, skipping the files that did not change."""


def load_into(path: Path,
              documents: Callable[[Mapping[str, m.KnownFile]], Iterable[m.FileRead]],
              displays: Mapping[str, str], mirrored: Iterable[Path] = (),
              busy_timeout_s: float = BUSY_TIMEOUT_S) -> LoadSummary:
    """Load ``documents(known)`` into the store at ``path``, creating the store if need be.

    A new store is built aside, under a hidden name, and linked into place once its
    first load has committed: a failed first load leaves no store behind, and no
    other cxc ever opens a store that is about to vanish.
    """
    if path.exists():
        return load(open_store(path, busy_timeout_s=busy_timeout_s), documents, displays,
                    mirrored)
    staged = _staged_store(path)
    try:
        db = open_store(staged, name=path)  # named as the user named it, not by its hidden name
        try:
            summary = load(db, documents, displays, mirrored, root=store_root(path))
            _checkpoint(db)
        finally:
            db.conn.close()
        try:
            os.link(staged, path)
        except OSError:  # another cxc created the store meanwhile, or this disk has no links
            return load(open_store(path, busy_timeout_s=busy_timeout_s), documents, displays,
                        mirrored)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{staged}{suffix}").unlink(missing_ok=True)
    return summary


def _staged_store(path: Path) -> Path:
    """A new empty owner-only file beside ``path``, under a hidden name, to build a store in."""
    staged = path.with_name(f".{path.name}.{secrets.token_hex(6)}.new")
    try:
        os.close(os.open(staged, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None
    return staged


def _checkpoint(db: sqlite_utils.Database) -> None:
    """Move all of the write-ahead log into the store's main file, which then holds everything."""
    try:
        busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        raise store_error(db, exc) from None
    if busy:
        raise StoreError(f"{db_path(db)}: the new store could not be completed")


def load(db: sqlite_utils.Database, documents: Documents,
         displays: Mapping[str, str], mirrored: Iterable[Path] = (),
         root: Path | None = None) -> LoadSummary:
    """Replace what each document's file defined, all in one transaction.

    Each document is written as it comes: a whole data set is never in memory at once.
    Each folder of ``mirrored`` is mirrored: a file loaded from under it before that is
    not among ``documents`` now is dropped. ``root`` is the store's folder (default: where
    the store's file is), against which relative file keys are read. When ``documents``
    is a function, it is given what the store holds of each file, read inside the
    load's transaction: a file that comes back :class:`~cxc.model.Unchanged` keeps its rows
    as they are (already anonymised for the forgotten) and counts as loaded.
    """
    root = root or store_root(db_path(db))
    # Each file read is a graph of thousands of nodes, which the cyclic collector would
    # scan again and again while it is built (a sixth of an EU-scale load); none of what
    # a load builds forms a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with write_transaction(db) as conn:
            writer = _Writer(conn, displays)
            if callable(documents):
                documents = documents({path: m.KnownFile(sha256, stat) for path, sha256, stat
                                       in conn.execute("SELECT path, sha256, stat FROM files "
                                                       "WHERE sha256 IS NOT NULL")})
            for document in documents:
                writer.write(document)
            writer.finish(root, [folder.resolve() for folder in mirrored])
    finally:
        if collecting:
            gc.enable()
    return writer.summary


class _Writer:
    """Writes documents, one at a time, into the open transaction of a load."""

    def __init__(self, conn: sqlite3.Connection, displays: Mapping[str, str]) -> None:
        self.conn = conn
        self.displays = displays
        self.forgotten = _forgotten(conn)
        self.stored_partnerships: list[tuple[str, str, str | None]] = conn.execute(
            "SELECT p.id, p.file, f.display FROM partnership p "
            "LEFT JOIN files f ON f.path = p.file").fetchall()
        self.partnership_ids: set[str] = set()
        self.refusal: UsageError | None = None
        """Why the store cannot take this load; the other files are still read, for their problems."""
        self.files: set[str] = set()
        self.programmes = self.participants = self.sessions = self.dropped = 0

    @property
    def summary(self) -> LoadSummary:
        return LoadSummary(len(self.files), self.programmes, self.participants, self.sessions,
                           self.dropped)

    def write(self, doc: m.FileRead) -> None:
        self.files.add(doc.file)
        if isinstance(doc, m.Unchanged):
            self._keep(doc.file, doc.stat)
            return
        if isinstance(doc, m.PartnershipDoc):
            self._check_partnership(doc.partnership.id, doc.file)
        else:
            self.programmes += 1
            self.participants += len(doc.registrations)
            self.sessions += len(doc.sessions)
        if self.refusal is not None or len(self.partnership_ids) > 1:
            return
        kind = "partnership" if isinstance(doc, m.PartnershipDoc) else "programme"
        self.conn.execute("DELETE FROM files WHERE path = ?", (doc.file,))
        self.conn.execute(
            "INSERT INTO files (path, display, kind, sha256, stat) VALUES (?, ?, ?, ?, ?)",
            (doc.file, self.displays.get(doc.file, doc.file), kind, doc.sha256, doc.stat))
        if isinstance(doc, m.PartnershipDoc):
            _insert_partnership(self.conn, doc)
            return
        if self.forgotten.tokens:
            doc = replace(doc, registrations=tuple(
                self.forgotten.apply(r) for r in doc.registrations))
        _insert_programme(self.conn, doc)
        self.conn.execute("UPDATE programmes SET data_hash = ? WHERE file = ?",
                          (data_hash(self.conn, doc.file), doc.file))

    def _keep(self, file: str, stat: str | None) -> None:
        """A file whose bytes did not change: its rows stay; count it, check its partnership."""
        display = self.displays.get(file, file)
        self.conn.execute("UPDATE files SET display = ? WHERE path = ? AND display != ?",
                          (display, file, display))
        self.conn.execute("UPDATE files SET stat = ? WHERE path = ? AND stat IS NOT ?",
                          (stat, file, stat))
        stored = self.conn.execute("SELECT id FROM partnership WHERE file = ?", (file,)).fetchone()
        if stored is not None:
            self._check_partnership(stored[0], file)
            return
        self.programmes += 1
        self.participants += self.conn.execute(
            "SELECT count(*) FROM registrations WHERE file = ?", (file,)).fetchone()[0]
        self.sessions += self.conn.execute(
            "SELECT count(*) FROM sessions WHERE file = ?", (file,)).fetchone()[0]

    def _check_partnership(self, new_id: str, file: str) -> None:
        """A store holds one partnership: refuse another id, in the files or in the store.

        Two files of the same partnership (a backup copy) both load: that is the rules'
        ``duplicate-id`` error, which names both."""
        if not self.partnership_ids and self.refusal is None:
            for stored_id, stored_file, display in self.stored_partnerships:
                if stored_id != new_id and stored_file != file:
                    self.refusal = UsageError(
                        f"this store holds partnership `{stored_id}` (from "
                        f"{display or stored_file}); load partnership `{new_id}` into another "
                        f"store with --db")
                    break
        self.partnership_ids.add(new_id)

    def finish(self, root: Path, mirrored: list[Path]) -> None:
        if len(self.partnership_ids) > 1:
            raise UsageError(f"one store holds one partnership; these files define "
                             f"{', '.join(sorted(self.partnership_ids))}: "
                             f"load them into separate --db")
        if self.refusal is not None:
            raise self.refusal
        self._drop_missing(root, mirrored)
        self.conn.execute(
            "DELETE FROM people WHERE email NOT IN (SELECT email FROM registrations)")

    def _drop_missing(self, root: Path, mirrored: list[Path]) -> None:
        """Drop files loaded before from under a mirrored folder that are not there now,
        and older names of the files just loaded (the same file, under another key)."""
        loaded = {file_location(key, root).resolve() for key in self.files}
        for (key,) in self.conn.execute("SELECT path FROM files").fetchall():
            if key in self.files:
                continue
            where = file_location(key, root)
            if where in loaded or where.resolve() in loaded:
                self.conn.execute("DELETE FROM files WHERE path = ?", (key,))
            elif any(where.is_relative_to(folder) for folder in mirrored):
                self.conn.execute("DELETE FROM files WHERE path = ?", (key,))
                self.dropped += 1


def _iso(day: date) -> str:
    return day.isoformat()


def _wall(t: m.LocalTime) -> str:
    return t.wall.strftime("%Y-%m-%d %H:%M")


def _utc(t: m.LocalTime) -> str:
    return t.utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _org_key(name: str | None) -> str | None:
    return m.identity_key(name) if name is not None else None


def _insert_partnership(conn: sqlite3.Connection, doc: m.PartnershipDoc) -> None:
    p = doc.partnership
    conn.execute(
        'INSERT INTO partnership (id, name, funding, start, "end", file, line) '
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p.id, p.name, p.funding, _iso(p.start), _iso(p.end), doc.file, p.source.line))
    conn.executemany(
        "INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(x.id, x.name, x.country, x.city, x.timezone,
          x.contact.name if x.contact else None, x.contact.email if x.contact else None,
          x.contact.phone if x.contact else None, doc.file, x.source.line, i)
         for i, x in enumerate(doc.partners)])
    conn.executemany(
        "INSERT INTO targets VALUES (?, ?, ?, ?, ?)",
        [(t.key, t.count, doc.file, t.source.line, i) for i, t in enumerate(doc.targets)])
    conn.executemany(
        "INSERT INTO activities VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(a.kind, a.partner, _iso(a.date), a.title, a.url, doc.file, a.source.line, i)
         for i, a in enumerate(doc.activities)])


def _insert_programme(conn: sqlite3.Connection, doc: m.ProgrammeDoc) -> None:
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    people: dict[str, str] = {}
    p, f = doc.programme, doc.file
    rows["programmes"].append((
        p.id, p.kind, p.title, p.host, p.city, p.country, p.timezone, _iso(p.start),
        _iso(p.end), p.status, p.capacity, json.dumps(list(p.themes)),
        p.min_transfer_minutes, f, p.source.line, ""))
    rows["quotas"].extend(
        (p.id, q.partner, q.count, f, q.source.line, i) for i, q in enumerate(p.quotas))
    rows["venues"].extend(
        (p.id, v.id, v.name, v.address, v.capacity, v.geo[0] if v.geo else None,
         v.geo[1] if v.geo else None, f, v.source.line, i) for i, v in enumerate(doc.venues))
    for i, s in enumerate(doc.sessions):
        rows["sessions"].append((
            p.id, s.id, s.title, s.kind, s.venue, _wall(s.start), s.start.zone,
            _utc(s.start), _wall(s.end), s.end.zone, _utc(s.end), s.slot, s.capacity,
            json.dumps(list(s.themes)), json.dumps(list(s.organisations)), s.description,
            s.url, f, s.source.line, i))
        first = len(rows["session_organisations"])
        rows["session_organisations"].extend(
            (p.id, s.id, name, _org_key(name), f, first + j)
            for j, name in enumerate(s.organisations))
    for position, r in enumerate(doc.registrations):
        people[r.key] = r.name
        rows["registrations"].append((
            p.id, r.key, r.email, r.name, r.partner, r.organisation, _org_key(r.organisation),
            r.org_type, r.country, json.dumps(list(r.interests)), json.dumps(list(r.sessions)),
            int(r.attended), position, f, r.source.line, r.status, int(m.is_pseudonym(r.key))))
        rows["travel_legs"].extend(
            (p.id, r.key, i, leg.mode, leg.ref, leg.origin, leg.destination,
             _wall(leg.depart), leg.depart.zone, _utc(leg.depart), _wall(leg.arrive),
             leg.arrive.zone, _utc(leg.arrive), position, f, leg.source.line)
            for i, leg in enumerate(r.travel))
        if r.stay is not None:
            rows["stays"].append((
                p.id, r.key, r.stay.name, r.stay.address, _iso(r.stay.check_in),
                _iso(r.stay.check_out), position, f, r.stay.source.line))
    conn.executemany(
        "INSERT INTO people (email, name) VALUES (?, ?) "
        "ON CONFLICT (email) DO UPDATE SET name = excluded.name",
        sorted(people.items()))
    for table in ("programmes", *PROGRAMME_TABLES):
        if rows[table]:
            marks = ", ".join("?" * len(rows[table][0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])
