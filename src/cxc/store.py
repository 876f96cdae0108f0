"""The SQLite store: schema, versioning, loading in one transaction, reading back.

Every row remembers the file (and line) it came from. Re-loading a file
deletes what that file defined (foreign keys cascade from ``files``) and
inserts it again, inside the same transaction as the rest of the load, so a
failed load leaves the store exactly as it was.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import model as m
from .errors import StoreError, UsageError

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 2
APPLICATION_ID = 0x63786321
"""``PRAGMA application_id`` of a cxc store ("cxc!"): what tells it from another program's
SQLite file, which cxc refuses and leaves byte for byte as it was."""
BUSY_TIMEOUT_S = 60.0
"""How long a command waits, by default, for another cxc writing the same store.

A load holds the store while it reads its files (it writes each as it is read),
some ten seconds for a thousand programmes: a minute covers that with room."""

_BASE_SCHEMA = """
CREATE TABLE files (
    path TEXT PRIMARY KEY,              -- relative to the store's folder when under it, else absolute
    display TEXT NOT NULL,              -- the path as the user gave it
    kind TEXT NOT NULL CHECK (kind IN ('partnership', 'programme')),
    sha256 TEXT                         -- of the file's bytes when it was loaded
);
CREATE TABLE partnership (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    funding TEXT,
    start TEXT NOT NULL,
    "end" TEXT NOT NULL,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER
);
CREATE TABLE partners (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    city TEXT,
    timezone TEXT,
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX partners_id ON partners(id);
CREATE TABLE targets (
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX targets_key ON targets(key);
CREATE TABLE activities (
    kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    date TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX activities_kind_date ON activities(kind, date);
CREATE TABLE programmes (
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    host TEXT NOT NULL,
    city TEXT,
    country TEXT NOT NULL,
    timezone TEXT NOT NULL,
    start TEXT NOT NULL,
    "end" TEXT NOT NULL,
    status TEXT NOT NULL,
    capacity INTEGER,
    themes TEXT NOT NULL,               -- JSON list
    min_transfer_minutes INTEGER,
    file TEXT NOT NULL UNIQUE REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER,
    data_hash TEXT NOT NULL DEFAULT ''  -- what the programme holds (not where): see data_hash()
);
CREATE INDEX programmes_id ON programmes(id);
CREATE INDEX programmes_status_start ON programmes(status, start);
CREATE TABLE quotas (
    programme TEXT NOT NULL,
    partner TEXT NOT NULL,
    count INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX quotas_file ON quotas(file);
CREATE TABLE venues (
    programme TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    capacity INTEGER,
    lat REAL,
    lon REAL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX venues_file ON venues(file, id);
CREATE TABLE sessions (
    programme TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    venue TEXT,
    start_local TEXT NOT NULL,          -- wall clock, YYYY-MM-DD HH:MM
    start_tz TEXT NOT NULL,             -- IANA zone
    start_utc TEXT NOT NULL,            -- the instant, ISO 8601 UTC
    end_local TEXT NOT NULL,
    end_tz TEXT NOT NULL,
    end_utc TEXT NOT NULL,
    slot TEXT,
    capacity INTEGER,
    themes TEXT NOT NULL,               -- JSON list
    organisations TEXT NOT NULL,        -- JSON list, as written
    description TEXT,
    url TEXT,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX sessions_file ON sessions(file, id);
CREATE INDEX sessions_programme ON sessions(programme, id);
CREATE TABLE session_organisations (
    programme TEXT NOT NULL,
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,             -- lower-cased, trimmed: how organisations are told apart
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE
);
CREATE INDEX session_organisations_file ON session_organisations(file);
CREATE TABLE people (
    email TEXT PRIMARY KEY,             -- lower-cased: one row per person across programmes
    name TEXT NOT NULL
);
CREATE TABLE registrations (
    programme TEXT NOT NULL,
    email TEXT NOT NULL REFERENCES people(email),
    email_as_written TEXT NOT NULL,
    name TEXT NOT NULL,
    partner TEXT NOT NULL,
    organisation TEXT,
    organisation_key TEXT,              -- lower-cased, trimmed
    org_type TEXT,
    country TEXT,
    interests TEXT NOT NULL,            -- JSON list
    sessions TEXT NOT NULL,             -- JSON list of fixed session choices
    attended INTEGER NOT NULL,
    position INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER,
    status TEXT NOT NULL DEFAULT 'registered',  -- registered | waitlisted | withdrawn
    forgotten INTEGER NOT NULL DEFAULT 0        -- erased (`cxc forget`): counted, never seated
);
CREATE INDEX registrations_file ON registrations(file, email);
CREATE INDEX registrations_email ON registrations(email);
CREATE INDEX registrations_programme ON registrations(programme);
CREATE TABLE travel_legs (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,
    position INTEGER NOT NULL,
    mode TEXT NOT NULL,
    ref TEXT,
    origin TEXT NOT NULL,
    destination TEXT NOT NULL,
    depart_local TEXT NOT NULL,
    depart_tz TEXT NOT NULL,
    depart_utc TEXT NOT NULL,
    arrive_local TEXT NOT NULL,
    arrive_tz TEXT NOT NULL,
    arrive_utc TEXT NOT NULL,
    registration INTEGER NOT NULL,      -- position of the registration in its file
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX travel_legs_file ON travel_legs(file, registration);
CREATE TABLE stays (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    registration INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER
);
CREATE INDEX stays_file ON stays(file, registration);
CREATE TABLE placements (
    programme TEXT NOT NULL,
    slot TEXT NOT NULL,
    session TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (programme, slot, email)
);
CREATE TABLE exported_events (
    calendar TEXT NOT NULL,             -- <programme>/programme or <programme>/person/<token>
    uid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,          -- hash of everything a client shows of the event, as last exported
    sequence INTEGER NOT NULL,
    stamp TEXT NOT NULL,                -- DTSTAMP: when this version was first exported (UTC)
    body TEXT NOT NULL,                 -- JSON of the event, to re-emit it as CANCELLED
    PRIMARY KEY (calendar, uid)
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE forgotten (
    token TEXT PRIMARY KEY              -- HMAC of the lower-cased email under meta.secret
);
CREATE TABLE exported_calendars (
    calendar TEXT PRIMARY KEY,
    programme TEXT NOT NULL,
    path TEXT NOT NULL,                 -- relative to the export folder
    email TEXT,                         -- whose calendar (identity key), NULL for the programme
    name TEXT
);
"""

SCHEMA_2 = """
CREATE TABLE plans (
    programme TEXT PRIMARY KEY,
    data_hash TEXT NOT NULL             -- programmes.data_hash of the data the plan was made from
);
CREATE TABLE admissions (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,                -- a waitlisted person the plan admitted
    PRIMARY KEY (programme, email)
);
CREATE TABLE person_slugs (
    slug TEXT PRIMARY KEY,              -- the person's file name in every export, for ever
    person TEXT NOT NULL UNIQUE         -- identity key of the email (a keyed token once forgotten)
);
CREATE TABLE export_folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE           -- relative to the store's folder when under it
);
CREATE TABLE exported_files (
    folder INTEGER NOT NULL REFERENCES export_folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL,                 -- relative to the folder
    programme TEXT NOT NULL,
    email TEXT,                         -- whose file (identity key), NULL for the programme
    PRIMARY KEY (folder, path)
);
CREATE INDEX exported_files_email ON exported_files(email);
CREATE VIEW holders AS                  -- who holds a seat: what the report counts
    SELECT r.rowid AS rowid, r.* FROM registrations r
    WHERE r.status = 'registered' OR (r.status = 'waitlisted' AND EXISTS (
        SELECT 1 FROM admissions a WHERE a.programme = r.programme AND a.email = r.email));
CREATE VIEW seat_holders AS             -- who takes a seat: what the rules and the plan check
    SELECT * FROM holders WHERE forgotten = 0;
"""
SCHEMA = _BASE_SCHEMA + SCHEMA_2
"""The schema of a new store (the latest)."""


PROGRAMME_TABLES = (
    "quotas", "venues", "sessions", "session_organisations", "registrations", "travel_legs",
    "stays",
)


def open_store(path: Path | str, *, create: bool = True,
               busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite_utils.Database:
    """Open (creating it owner-only if need be) and migrate the store at ``path``.

    A command waits up to ``busy_timeout_s`` for another cxc writing the store.
    """
    import sqlite_utils

    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no store here; run `cxc load PATH` first")
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None
    elif path.is_dir():
        raise StoreError(f"{path}: is a folder; --db names the store's file")
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # `cxc forget` leaves no bytes behind
        version = _schema_version(conn, path)  # before any write: a stranger's file stays as it is
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None:
            raise StoreError(f"{path}: cannot set the journal mode")
        if version != SCHEMA_VERSION:
            _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    except StoreError:
        conn.close()
        raise
    # Closed explicitly at exit: SQLite then checkpoints and removes the -wal and -shm files.
    atexit.register(conn.close)
    return sqlite_utils.Database(conn)


def _store_message(path: Path, exc: sqlite3.Error, waited_s: float) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"{path}: the store is busy (another cxc is writing it); "
                f"waited {waited_s:g} s, try again when it has finished")
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a cxc store (or a damaged one): {text}"
    return f"{path}: {text}"


V1_TABLES = frozenset({
    "files", "partnership", "partners", "targets", "activities", "programmes", "quotas",
    "venues", "sessions", "session_organisations", "people", "registrations", "travel_legs",
    "stays", "placements", "exported_events", "meta", "forgotten", "exported_calendars"})
"""The tables of a store of schema 1, written before stores carried an application id."""


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The store's schema version, refusing a newer cxc's store and another program's database."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    application: int = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    ours = application == APPLICATION_ID or (
        application == 0 and (not tables if version == 0 else version == 1 and tables >= V1_TABLES))
    if not ours:
        what = "it holds other tables" if tables else "it belongs to another program"
        raise StoreError(f"{path}: not a cxc store ({what}); choose another --db")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: this store was written by a newer cxc (schema {version}; this cxc knows "
            f"{SCHEMA_VERSION}); upgrade cxc, or load the programmes into a new store with --db")
    return version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn, path)  # again: another cxc may have migrated meanwhile
        if version == 0:  # personal data: owner-only, even in an empty file made beforehand
            with suppress(OSError):
                os.chmod(path, 0o600)
            _create_schema(conn)
        else:
            for migration in MIGRATIONS[version - 1:]:
                migration(conn, store_root(path))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _create_schema(conn: sqlite3.Connection) -> None:
    _script(conn, SCHEMA)
    conn.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_hex(32),))


def _script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_1_to_2(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 2: plan provenance, registration status, one file name per person, the
    export folders; person calendars keyed by a token under the store's secret."""
    _script(conn, """
        ALTER TABLE files ADD COLUMN sha256 TEXT;
        ALTER TABLE programmes ADD COLUMN data_hash TEXT NOT NULL DEFAULT '';
        ALTER TABLE registrations ADD COLUMN status TEXT NOT NULL DEFAULT 'registered';
        ALTER TABLE registrations ADD COLUMN forgotten INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE exported_calendars ADD COLUMN email TEXT;
        ALTER TABLE exported_calendars ADD COLUMN name TEXT;
        UPDATE registrations SET forgotten = 1 WHERE email LIKE 'forgotten-%@invalid'
    """)
    _script(conn, SCHEMA_2)
    secret = _secret(conn)
    for email, name in conn.execute("SELECT email, name FROM people").fetchall():
        old = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]
        new = person_token(secret, email)
        for calendar, path in conn.execute(
                "SELECT calendar, path FROM exported_calendars WHERE calendar LIKE ?",
                (f"%/person/{old}",)).fetchall():
            renamed = calendar[:-len(old)] + new
            conn.execute("UPDATE exported_calendars SET calendar = ?, email = ?, name = ? "
                         "WHERE calendar = ?", (renamed, email, name, calendar))
            conn.execute("UPDATE exported_events SET calendar = ? WHERE calendar = ?",
                         (renamed, calendar))
            slug = Path(path).stem
            conn.execute("INSERT OR IGNORE INTO person_slugs (slug, person) VALUES (?, ?)",
                         (slug, email))
    for (file,) in conn.execute("SELECT file FROM programmes").fetchall():
        conn.execute("UPDATE programmes SET data_hash = ? WHERE file = ?",
                     (data_hash(conn, file), file))


MIGRATIONS = [_migrate_1_to_2]
"""MIGRATIONS[n - 1] takes a store from schema n to n + 1; a new store gets the latest at once."""


def store_root(db_file: Path | str) -> Path:
    """The folder of the store: file paths under it are kept relative to it (portable)."""
    return Path(db_file).resolve().parent


def file_key(path: Path, root: Path) -> str:
    """How the store names a YAML file: relative to ``root`` when under it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return str(resolved)


def file_location(key: str, root: Path) -> Path:
    """Where the file the store calls ``key`` lies (``root``: the store's folder, now)."""
    path = Path(key)
    return path if path.is_absolute() else root / path


def store_secret(db: sqlite_utils.Database) -> bytes:
    """The store's own secret, which keys the tokens that stand for people."""
    return _secret(db.conn)


def _secret(conn: sqlite3.Connection) -> bytes:
    row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
    return bytes.fromhex(row[0])


def person_token(secret: bytes, email: str) -> str:
    """A stable tag for a person that reveals no email without the store's secret (UIDs,
    calendar keys)."""
    return hmac.new(secret, b"calendar:" + m.identity_key(email).encode(),
                    hashlib.sha256).hexdigest()[:16]


DATA_TABLES = ("programmes", "quotas", "venues", "sessions", "session_organisations",
               "registrations", "travel_legs", "stays")
PLACE_COLUMNS = frozenset({"file", "line", "data_hash"})
"""What says where a programme was written, not what it holds: a move or a comment keeps a
plan current."""


def data_hash(conn: sqlite3.Connection, file: str) -> str:
    """A digest of everything the programme of ``file`` holds, as stored (not where)."""
    digest = hashlib.sha256()
    for table in DATA_TABLES:
        cursor = conn.execute(f"SELECT * FROM {table} WHERE file = ? ORDER BY rowid", (file,))
        names = [d[0] for d in cursor.description]
        keep = [i for i, name in enumerate(names) if name not in PLACE_COLUMNS]
        digest.update(table.encode())
        for row in cursor:
            digest.update(json.dumps([row[i] for i in keep], ensure_ascii=False).encode())
    return digest.hexdigest()


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One immediate transaction: all of it lands, or none of it."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(_store_message(Path(db_path(db)), exc, _busy_timeout_s(conn))) from None
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        raise StoreError(_store_message(Path(db_path(db)), exc, _busy_timeout_s(conn))) from None


def _busy_timeout_s(conn: sqlite3.Connection) -> float:
    return float(conn.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000


def db_path(db: sqlite_utils.Database) -> str:
    row = db.conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row else "?"


# -- writing ------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSummary:
    files: int
    programmes: int
    participants: int
    sessions: int
    dropped: int = 0
    """Files loaded before from under a mirrored folder that are no longer there."""


def load_into(path: Path, documents: Callable[[], Iterable[m.Document]],
              displays: Mapping[str, str], mirrored: Iterable[Path] = (),
              busy_timeout_s: float = BUSY_TIMEOUT_S) -> LoadSummary:
    """Load ``documents()`` into the store at ``path``, creating the store if need be.

    A new store is built aside, under a hidden name, and linked into place once its
    first load has committed: a failed first load leaves no store behind, and no
    other cxc ever opens a store that is about to vanish.
    """
    if path.exists():
        return load(open_store(path, busy_timeout_s=busy_timeout_s), documents(), displays,
                    mirrored)
    staged = _staged_store(path)
    try:
        db = open_store(staged)
        try:
            summary = load(db, documents(), displays, mirrored, root=store_root(path))
            _checkpoint(db)
        finally:
            db.conn.close()
        try:
            os.link(staged, path)
        except OSError:  # another cxc created the store meanwhile, or this disk has no links
            return load(open_store(path, busy_timeout_s=busy_timeout_s), documents(), displays,
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
    busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StoreError(f"{db_path(db)}: the new store could not be completed")


def load(db: sqlite_utils.Database, documents: Iterable[m.Document],
         displays: Mapping[str, str], mirrored: Iterable[Path] = (),
         root: Path | None = None) -> LoadSummary:
    """Replace what each document's file defined, all in one transaction.

    Each document is written as it comes: a whole data set is never in memory at once.
    Each folder of ``mirrored`` is mirrored: a file loaded from under it before that is
    not among ``documents`` now is dropped. ``root`` is the store's folder (default: where
    the store's file is), against which relative file keys are read.
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

    def write(self, doc: m.Document) -> None:
        self.files.add(doc.file)
        if isinstance(doc, m.PartnershipDoc):
            self._check_partnership(doc.partnership.id, doc.file)
        else:
            self.programmes += 1
            self.participants += len(doc.participants)
            self.sessions += len(doc.sessions)
        if self.refusal is not None or len(self.partnership_ids) > 1:
            return
        kind = "partnership" if isinstance(doc, m.PartnershipDoc) else "programme"
        self.conn.execute("DELETE FROM files WHERE path = ?", (doc.file,))
        self.conn.execute("INSERT INTO files (path, display, kind) VALUES (?, ?, ?)",
                          (doc.file, self.displays.get(doc.file, doc.file), kind))
        if isinstance(doc, m.PartnershipDoc):
            _insert_partnership(self.conn, doc)
            return
        if self.forgotten.tokens:
            doc = replace(doc, participants=tuple(
                self.forgotten.apply(r) for r in doc.participants))
        _insert_programme(self.conn, doc)
        self.conn.execute("UPDATE programmes SET data_hash = ? WHERE file = ?",
                          (data_hash(self.conn, doc.file), doc.file))

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
        "INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(x.id, x.name, x.country, x.city, x.timezone,
          x.contact.name if x.contact else None, x.contact.email if x.contact else None,
          x.contact.phone if x.contact else None, doc.file, x.source.line)
         for x in doc.partners])
    conn.executemany(
        "INSERT INTO targets VALUES (?, ?, ?, ?)",
        [(t.key, t.count, doc.file, t.source.line) for t in doc.targets])
    conn.executemany(
        "INSERT INTO activities VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a.kind, a.partner, _iso(a.date), a.title, a.url, doc.file, a.source.line)
         for a in doc.activities])


def _insert_programme(conn: sqlite3.Connection, doc: m.ProgrammeDoc) -> None:
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    people: dict[str, str] = {}
    p, f = doc.programme, doc.file
    rows["programmes"].append((
        p.id, p.kind, p.title, p.host, p.city, p.country, p.timezone, _iso(p.start),
        _iso(p.end), p.status, p.capacity, json.dumps(list(p.themes)),
        p.min_transfer_minutes, f, p.source.line, ""))
    rows["quotas"].extend((p.id, q.partner, q.count, f, q.source.line) for q in p.quotas)
    rows["venues"].extend(
        (p.id, v.id, v.name, v.address, v.capacity, v.geo[0] if v.geo else None,
         v.geo[1] if v.geo else None, f, v.source.line) for v in doc.venues)
    for s in doc.sessions:
        rows["sessions"].append((
            p.id, s.id, s.title, s.kind, s.venue, _wall(s.start), s.start.zone,
            _utc(s.start), _wall(s.end), s.end.zone, _utc(s.end), s.slot, s.capacity,
            json.dumps(list(s.themes)), json.dumps(list(s.organisations)), s.description,
            s.url, f, s.source.line))
        rows["session_organisations"].extend(
            (p.id, s.id, name, _org_key(name), f) for name in s.organisations)
    for position, r in enumerate(doc.participants):
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


# -- erasure (GDPR) -----------------------------------------------------------

FORGOTTEN_NAME = "(forgotten)"


@dataclass(frozen=True)
class Forgotten:
    """The people erased from this store, as keyed tokens that reveal no email."""

    secret: bytes
    tokens: frozenset[str]

    def token(self, email: str) -> str:
        return hmac.new(self.secret, m.identity_key(email).encode(), hashlib.sha256).hexdigest()

    def apply(self, person: m.Participant) -> m.Participant:
        """The registration as the report needs it (partner, organisation, country), nobody's name."""
        token = self.token(person.email)
        if token not in self.tokens:
            return person
        alias = pseudonym(token)
        return replace(person, email=alias, name=FORGOTTEN_NAME, interests=(), travel=(),
                       stay=None)


def pseudonym(token: str) -> str:
    return f"forgotten-{token[:20]}@invalid"


def _forgotten(conn: sqlite3.Connection) -> Forgotten:
    row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
    tokens = frozenset(t for (t,) in conn.execute("SELECT token FROM forgotten"))
    return Forgotten(bytes.fromhex(row[0]), tokens)


@dataclass(frozen=True)
class ForgetSummary:
    registrations: int
    """How many registrations were anonymised (kept, for the deliverable counts)."""
    files: int = 0
    """How many exported files of theirs were removed."""


@dataclass(frozen=True)
class PersonFile:
    """A file an export wrote for one person: ``folder / path``."""

    folder: Path
    path: str
    programme: str


def forget(db: sqlite_utils.Database, email: str,
           erase_files: Callable[[list[PersonFile], str], int] = lambda files, key: 0,
           ) -> ForgetSummary:
    """Erase a person: name, email, interests, travel, stay, plan, calendar history and files.

    Their registrations stay, under a pseudonym, with partner, organisation, type,
    country and attendance, so the counts of held programmes do not change; the
    pseudonym takes no seat. The store remembers the keyed token, so re-loading a
    file that still lists them keeps them anonymous. ``erase_files(files, key)``
    removes what the exports wrote for them, before the erasure commits (a failure
    leaves the store as it was, and the command can run again).
    """
    key = m.identity_key(email)
    root = store_root(db_path(db))
    with write_transaction(db) as conn:
        if conn.execute("SELECT 1 FROM people WHERE email = ?", (key,)).fetchone() is None:
            raise UsageError(f"{email}: nobody with this email in the store")
        forgotten = _forgotten(conn)
        token = forgotten.token(key)
        alias = pseudonym(token)
        files = [r[0] for r in conn.execute(
            "SELECT DISTINCT file FROM registrations WHERE email = ?", (key,))]
        before = {file: data_hash(conn, file) for file in files}
        conn.execute("INSERT OR IGNORE INTO forgotten (token) VALUES (?)", (token,))
        conn.execute("INSERT OR IGNORE INTO people (email, name) VALUES (?, ?)",
                     (alias, FORGOTTEN_NAME))
        count = conn.execute(
            "UPDATE registrations SET email = ?, email_as_written = ?, name = ?, "
            "interests = '[]', forgotten = 1 WHERE email = ?",
            (alias, alias, FORGOTTEN_NAME, key)).rowcount
        for table in ("travel_legs", "stays", "placements", "admissions"):
            conn.execute(f"DELETE FROM {table} WHERE email = ?", (key,))
        for file in files:  # a plan that was current stays current: the person only leaves it
            after = data_hash(conn, file)
            conn.execute("UPDATE programmes SET data_hash = ? WHERE file = ?", (after, file))
            conn.execute("UPDATE plans SET data_hash = ? WHERE data_hash = ? AND programme = "
                         "(SELECT id FROM programmes WHERE file = ?)", (after, before[file], file))
        conn.execute("DELETE FROM person_slugs WHERE person = ?", (key,))  # it holds their name
        calendar_tag = person_token(forgotten.secret, key)
        for table in ("exported_events", "exported_calendars"):
            conn.execute(f"DELETE FROM {table} WHERE calendar LIKE ?",
                         (f"%/person/{calendar_tag}",))
        exported = [PersonFile(file_location(folder, root), path, programme)
                    for folder, path, programme in conn.execute(
                        "SELECT f.path, x.path, x.programme FROM exported_files x "
                        "JOIN export_folders f ON f.id = x.folder WHERE x.email = ?", (key,))]
        conn.execute("DELETE FROM exported_files WHERE email = ?", (key,))
        conn.execute("DELETE FROM people WHERE email = ?", (key,))
        erased = erase_files(exported, key)
    return ForgetSummary(count, erased)


# -- reading back -------------------------------------------------------------


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _local(wall: str, zone: str, utc: str) -> m.LocalTime:
    return m.LocalTime.known(datetime.fromisoformat(wall), zone, datetime.fromisoformat(utc))


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every query sees the same store, even while another cxc commits."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


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


def read_programmes(db: sqlite_utils.Database,
                    files: Iterable[str] | None = None) -> Iterator[m.ProgrammeDoc]:
    """The programmes of ``files`` (default: all, in id order), read one at a time.

    Only the programme being worked on needs to be in memory. Iterate inside
    :func:`read_snapshot` for programmes that agree with each other.
    """
    shown = _displays(db.conn)
    for file in files if files is not None else [f for _, f in programme_files(db)]:
        doc = _read_programme(db.conn, file, shown.get(file, file))
        if doc is not None:
            yield doc


def _read_programme(conn: sqlite3.Connection, file: str, display: str) -> m.ProgrammeDoc | None:
    found = _rows(conn, "SELECT * FROM programmes WHERE file = ?", file)
    if not found:
        return None
    row = found[0]

    def at(line: int | None) -> m.Source:
        return m.Source(display, line or 0)

    legs: dict[int, list[m.TravelLeg]] = defaultdict(list)
    for leg in _rows(conn, "SELECT * FROM travel_legs WHERE file = ? "
                     "ORDER BY registration, position", file):
        legs[leg["registration"]].append(m.TravelLeg(
            leg["mode"], _local(leg["depart_local"], leg["depart_tz"], leg["depart_utc"]),
            _local(leg["arrive_local"], leg["arrive_tz"], leg["arrive_utc"]), leg["origin"],
            leg["destination"], leg["ref"], at(leg["line"])))
    stays = {y["registration"]: m.Stay(y["name"], _day(y["check_in"]), _day(y["check_out"]),
                                       y["address"], at(y["line"]))
             for y in _rows(conn, "SELECT * FROM stays WHERE file = ?", file)}
    programme = m.Programme(
        row["id"], row["kind"], row["title"], row["host"], row["city"], row["country"],
        row["timezone"], _day(row["start"]), _day(row["end"]), row["status"], row["capacity"],
        tuple(m.Quota(q["partner"], q["count"], at(q["line"]))
              for q in _rows(conn, "SELECT * FROM quotas WHERE file = ? ORDER BY rowid", file)),
        tuple(json.loads(row["themes"])), row["min_transfer_minutes"], at(row["line"]))
    return m.ProgrammeDoc(
        file, programme,
        tuple(m.Venue(v["id"], v["programme"], v["name"], v["address"], v["capacity"],
                      (v["lat"], v["lon"]) if v["lat"] is not None else None, at(v["line"]))
              for v in _rows(conn, "SELECT * FROM venues WHERE file = ? ORDER BY rowid", file)),
        tuple(m.Session(
            s["id"], s["programme"], s["title"], s["kind"], s["venue"],
            _local(s["start_local"], s["start_tz"], s["start_utc"]),
            _local(s["end_local"], s["end_tz"], s["end_utc"]),
            s["slot"], s["capacity"], tuple(json.loads(s["themes"])),
            tuple(json.loads(s["organisations"])), s["description"], s["url"], at(s["line"]))
            for s in _rows(conn, "SELECT * FROM sessions WHERE file = ? ORDER BY rowid", file)),
        tuple(m.Participant(
            r["programme"], r["email_as_written"], r["name"], r["partner"], r["organisation"],
            r["org_type"], r["country"], tuple(json.loads(r["interests"])),
            tuple(json.loads(r["sessions"])), bool(r["attended"]), tuple(legs[r["position"]]),
            stays.get(r["position"]), at(r["line"]), r["status"])
            for r in _rows(conn, "SELECT * FROM registrations WHERE file = ? ORDER BY position",
                           file)),
    )


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


# -- the plan -----------------------------------------------------------------


def read_placements(db: sqlite_utils.Database,
                    programme: str) -> dict[tuple[str, str], str]:
    """The stored plan of a programme: (slot, email) -> session."""
    return {(slot, email): session for slot, session, email in db.conn.execute(
        "SELECT slot, session, email FROM placements WHERE programme = ?", (programme,))}


def save_plan(db: sqlite_utils.Database,
              placements: dict[str, Iterable[tuple[str, str, str]]],
              made_from: Mapping[str, str]) -> None:
    """Replace the stored plan: programme -> (slot, session, email) rows, and the
    ``data_hash`` of the data each programme's plan was made from; others are dropped."""
    with write_transaction(db) as conn:
        conn.execute("DELETE FROM placements")
        conn.executemany(
            "INSERT INTO placements (programme, slot, session, email) VALUES (?, ?, ?, ?)",
            [(programme, slot, session, email)
             for programme, rows in sorted(placements.items())
             for slot, session, email in rows])
        conn.execute("DELETE FROM plans")
        conn.executemany("INSERT INTO plans (programme, data_hash) VALUES (?, ?)",
                         sorted(made_from.items()))


def read_admitted(db: sqlite_utils.Database, programme: str) -> frozenset[str]:
    """The waitlisted people of ``programme`` that a plan admitted (email keys)."""
    return frozenset(email for (email,) in db.conn.execute(
        "SELECT email FROM admissions WHERE programme = ?", (programme,)))


@dataclass(frozen=True)
class PlanState:
    """Whether a programme's stored plan is the one its data asks for."""

    programme: str
    file: str
    status: str
    planned: bool
    current: bool


def plan_states(db: sqlite_utils.Database) -> list[PlanState]:
    """Every programme with whether it was planned and whether its data changed since."""
    return [PlanState(pid, file, status, hashed is not None, hashed == data)
            for pid, file, status, data, hashed in db.conn.execute(
                "SELECT p.id, p.file, p.status, p.data_hash, n.data_hash FROM programmes p "
                "LEFT JOIN plans n ON n.programme = p.id ORDER BY p.id, p.file")]
