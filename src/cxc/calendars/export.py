"""`cxc export`: the files on disk, written safely, and the export history in the store.

Layout (PRODUCT.md)::

    DIR/<programme-id>/programme.ics
    DIR/<programme-id>/participants/<slug>.ics
    DIR/<programme-id>/participants/<slug>.html

Every file is written to a temporary file in cxc's own folder of DIR,
``DIR/.cxc/tmp``, and renamed into place, so a reader (or a crash) sees the old
file or the new one, never half of one; a file whose bytes would not change is
not written at all, and keeps its modification time. Export touches nothing
else in DIR: what a killed export leaves is only ever in ``DIR/.cxc/tmp``,
which the next export empties. Folders are created owner-only: itineraries are
personal data.

Two locks, each held by the kernel for the life of the process:
``DIR/.cxc/lock``, one export at a time into DIR (so that emptying its
temporary folder never takes a file still in flight), and ``<store>-export.lock``
beside the store, one export of a store at a time, from before its history is
read until after the new one is written (so that two exports never give one
SEQUENCE of an event two contents).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from cxc import __version__
from cxc import model as m
from cxc.calendars import feeds, ics, itinerary
from cxc.csvcells import cell_text, safe_cell
from cxc.errors import ExportError, UsageError
from cxc.owner_only import make_private_dirs, write_owner_only
from cxc.plan.ready import check_ready
from cxc.progress import Progress, no_progress
from cxc.store import (
    PersonFile,
    db_path,
    file_key,
    person_token,
    read_admitted,
    read_partners,
    read_placements,
    read_programmes,
    read_snapshot,
    store_root,
    store_secret,
    write_transaction,
)
from cxc.store.kept import history_version

if TYPE_CHECKING:
    import sqlite_utils

SLUG_MAX = 60


@dataclass(frozen=True)
class ExportSummary:
    programmes: int
    calendars: int
    pages: int
    cancelled_events: int
    out: Path
    feeds: int = 0
    unchanged: int = 0
    """Programmes not rebuilt: as at the last export to this folder (counted in programmes)."""


def slugify(name: str) -> str:
    """ASCII, lower-case, dashes: a file name that cannot leave its folder.

    Names in any script are transliterated (anyascii: Greek, Cyrillic, Chinese, ...
    give readable names, not a placeholder)."""
    from anyascii import anyascii

    ascii_name = anyascii(unicodedata.normalize("NFC", name))
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_MAX].strip("-")
    return slug or "participant"


class Slugs:
    """Each person's file name, for the life of the store: once a slug is given to an
    email, no other email ever gets it, whatever names come and go."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._of: dict[str, str] = dict(db.conn.execute("SELECT person, slug FROM person_slugs"))
        self._taken = set(self._of.values())
        self.new: list[tuple[str, str]] = []
        """(slug, person) given by this export, to record with what it sent."""

    def __call__(self, person: str, name: str) -> str:
        slug = self._of.get(person)
        if slug is None:
            base = slug = slugify(name)
            n = 1
            while slug in self._taken:
                n += 1
                slug = f"{base}-{n}"
            self._of[person] = slug
            self._taken.add(slug)
            self.new.append((slug, person))
        return slug


STATE = ".cxc"
"""cxc's own folder in DIR: the lock of exports into DIR, and their temporary files."""
TEMP_PREFIX, TEMP_SUFFIX = ".cxc-export-", ".tmp"
_TEMPORARY = re.compile(r"\.cxc-export-[a-z0-9_]{8}\.tmp\Z")
"""The name :class:`AtomicWriter` gives a file before it is complete (``mkstemp``'s pattern)."""


class AtomicWriter:
    """Writes files under ``root`` via a temporary file in ``temp`` and a rename, refusing to
    leave ``root``, and leaves alone a file that already holds the bytes it would write.

    ``temp`` is a folder of cxc's own on the same file system (``DIR/.cxc/tmp``), so that
    the rename is atomic and a temporary file never sits among files of other programs.
    A killed process leaves the old file or the new one: the rename is atomic
    and the kernel keeps what was written. Files are not synced one by one
    (half a millisecond a file, and an export writes tens of thousands):
    :meth:`sync` puts them all on disk at once, before the store records them
    as sent. A power cut before that may leave files empty or old, with the
    store still saying they were never sent; the next export writes them all.
    """

    def __init__(self, root: Path, temp: Path) -> None:
        self.root = root
        self.temp = temp
        self._folders: dict[Path, Path] = {}
        """Folder as asked for -> resolved, created and checked to be inside ``root``."""
        self.written = 0
        """Files written (renamed into place) so far; those left as they were not counted."""
        self._to_sync: list[Path] = []
        """The first :data:`FSYNC_EACH_UP_TO` of them (more are synced all at once)."""

    def write(self, relative: str, data: bytes) -> bool:
        """Put ``data`` at ``root/relative``; False when the file already held exactly that."""
        asked = self.root / relative
        if asked.name in ("", ".", ".."):
            raise ExportError(f"{relative}: refused, it is not a file name")
        target = self._folder(asked.parent, relative) / asked.name
        if _holds(target, data):
            return False
        fd, temp = tempfile.mkstemp(dir=self.temp, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        try:
            try:
                write_owner_only(fd, data)
            finally:
                os.close(fd)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self.written += 1
        if self.written <= FSYNC_EACH_UP_TO:
            self._to_sync.append(target)
        return True

    def _folder(self, folder: Path, relative: str) -> Path:
        resolved = self._folders.get(folder)
        if resolved is None:
            resolved = folder.resolve()
            if not resolved.is_relative_to(self.root.resolve()):
                raise ExportError(f"{relative}: refused, it would be written outside {self.root}")
            make_private_dirs(resolved)
            self._folders[folder] = resolved
        return resolved

    def sync(self) -> None:
        """Put every file written so far on disk, and its name in its folder: one by one
        when they are few (an export of what changed), else the whole system's at once,
        where POSIX can (a file's own sync costs half a millisecond)."""
        sync = getattr(os, "sync", None)
        if self.written > FSYNC_EACH_UP_TO and sync is not None:
            sync()
            return
        for path in [*self._to_sync, *dict.fromkeys(p.parent for p in self._to_sync)]:
            _fsync(path)


FSYNC_EACH_UP_TO = 2000
"""Up to this many files written, each is synced (and its folder); more, the system's sync."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _holds(target: Path, data: bytes) -> bool:
    """Whether ``target`` is a plain file of ours holding exactly ``data``, owner-only.

    Such a file is not rewritten, so it keeps its modification time. One that
    holds the bytes but became readable by others is made owner-only again in
    place. Anything else (another size or other bytes, a symbolic link, a file
    with other names or of another user, not a file at all) is replaced.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:  # missing, a symbolic link, unreadable: write it
        return False
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_size != len(data) or info.st_nlink != 1
                or (hasattr(os, "geteuid") and info.st_uid != os.geteuid())):
            return False
        with open(fd, "rb", closefd=False) as current:
            if current.read(len(data) + 1) != data:
                return False
        if stat.S_IMODE(info.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def export_store(db: sqlite_utils.Database, out: Path, programme: str | None,
                 now: datetime | None = None, progress: Progress = no_progress,
                 with_feeds: bool = False, feed_url: str | None = None) -> ExportSummary:
    """Write every programme's calendars and itineraries, then remember what was sent.

    Refuses (NotReady, nothing written) when a programme to write has errors or a plan
    that is missing or out of date. Programmes are read, exported and let go one at a
    time, and what was sent waits in temporary tables on disk: memory stays that of one
    programme at any scale. ``progress`` hears (programmes exported, programmes to
    export) after each. ``with_feeds`` also writes each person's feed across programmes
    (:mod:`cxc.calendars.feeds`), from the history as this export leaves it; with
    ``feed_url`` (where DIR is served), each itinerary page links to its person's feed.
    """
    if feed_url is not None and not with_feeds:
        raise UsageError("--feed-url needs --feeds: the pages would link to feeds not written")
    base = feeds.feed_base(feed_url) if feed_url is not None else None
    with read_snapshot(db.conn):  # before anything is written or locked
        check_ready(db, [programme] if programme else None)
        checked = _store_version(db.conn)
    with _store_exclusive(db), _exclusive(out) as temp, ExportHistory(db) as sent:
        # Pages link to feeds, so every token is given before any page is made, in its own
        # transaction as write_feeds gives them: to everyone registered, and everyone
        # with a calendar in the history.
        tokens = feeds.assign_tokens(db, _feed_people(db.conn)) if base is not None else {}
        with read_snapshot(db.conn):  # one state of the store, however long the export takes
            if _store_version(db.conn) != checked:  # still, in this state
                check_ready(db, [programme] if programme else None)
            exporter = _Exporter(db, AtomicWriter(out, temp), sent, now or datetime.now(UTC),
                                 read_partners(db))
            if base is not None:
                exporter.feed = lambda key: (feeds.feed_links(base, tokens[key])
                                             if key in tokens else None)
            files, vanished = _programmes_to_export(db, programme, exporter)
            inputs = {file: _inputs_digest(db.conn, file, base) for file in files}
            stale = _stale(db.conn, exporter.folder, out, files, inputs)
            for count, doc in enumerate(read_programmes(db, stale), 1):
                exporter.programme(doc)
                progress(count, len(stale))
            for pid in vanished:
                exporter.vanished(pid)
        written_feeds = feeds.write_feeds(db, exporter._write) if with_feeds else 0
        if exporter.writer.written:  # before the store says the files were sent
            exporter.writer.sync()

        def record(conn: sqlite3.Connection) -> None:
            exporter.record(conn)
            _remember_fingerprints(conn, exporter.folder, out,
                                   {file: inputs[file] for file in stale})

        sent.remember(record)
    return ExportSummary(len(files) + len(vanished), len(sent), exporter.pages,
                         exporter.cancelled, out, written_feeds, len(files) - len(stale))


def _store_version(conn: sqlite3.Connection) -> int:
    """SQLite's ``data_version`` of the snapshot being read: it differs between two snapshots
    of one connection exactly when another connection committed in between (this one's own
    commits, the feed tokens, leave it as it was). So a readiness check made in the first
    snapshot holds in the second when it is the same: the store is the one checked."""
    conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()  # the snapshot starts here
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


EXPORT_VERSION = "1"
"""Raise it when the same store would export other bytes (a new field, another layout): every
programme is then rebuilt once, whatever its fingerprint says."""


def _feed_people(conn: sqlite3.Connection) -> list[str]:
    """Whoever may have a page or a feed: every email key registered, and every person with
    a calendar in the history (pseudonyms of forgotten people left out)."""
    keys = {key for (key,) in conn.execute(
        "SELECT email FROM registrations UNION SELECT email FROM exported_calendars "
        "WHERE email IS NOT NULL")}
    return sorted(key for key in keys if not m.is_pseudonym(key))


def _inputs_digest(conn: sqlite3.Connection, file: str,
                   feed_url: str | None = None) -> tuple[str, str]:
    """(programme id, digest of what its export is made from in the store: its data, its
    plan, its host's row, the feeds' address its pages link to, and the code), read in the
    export's snapshot."""
    digest = hashlib.sha256(f"cxc {__version__} export {EXPORT_VERSION}\n".encode())
    if feed_url is not None:  # without it, the digest of exports before --feed-url
        digest.update(f"feed-url {feed_url}\n".encode())
    pid, data, host = conn.execute(
        "SELECT id, data_hash, host FROM programmes WHERE file = ?", (file,)).fetchone()
    for part in (
            [pid, data],
            conn.execute("SELECT data_hash FROM plans WHERE programme = ?", (pid,)).fetchall(),
            conn.execute("SELECT group_concat(slot || char(31) || session || char(31) || email, "
                         "char(30)) FROM (SELECT slot, session, email FROM placements "
                         "WHERE programme = ? ORDER BY slot, email)", (pid,)).fetchall(),
            conn.execute("SELECT group_concat(email, char(30)) FROM (SELECT email FROM "
                         "admissions WHERE programme = ? ORDER BY email)", (pid,)).fetchall(),
            conn.execute("SELECT id, name, country, city, timezone, contact_name, contact_email, "
                         "contact_phone FROM partners WHERE file = (SELECT min(file) FROM "
                         "partnership) AND id = ? ORDER BY rowid", (host,)).fetchall()):
        digest.update(repr(part).encode() + b"\n")
    return pid, digest.hexdigest()


def _history_digest(conn: sqlite3.Connection, pid: str, file: str) -> str:
    """A digest of what the store remembers having sent of programme ``pid``: the version
    of its exported events (in any folder; every write of one raises it), its calendars,
    and the file names of its people."""
    digest = hashlib.sha256(f"history {history_version(conn, pid)}\n".encode())
    span = (f"{pid}/", f"{pid}0")  # calendar keys are `<programme>/...`, as calendar_history
    for part in (
            conn.execute("SELECT calendar, programme, path, email, name FROM exported_calendars "
                         "WHERE calendar >= ? AND calendar < ? ORDER BY calendar",
                         span).fetchall(),
            conn.execute("SELECT group_concat(slug || char(31) || person, char(30)) FROM ("
                         "SELECT slug, person FROM person_slugs WHERE person IN (SELECT email "
                         "FROM registrations WHERE file = ?) ORDER BY slug)",
                         (file,)).fetchall()):
        digest.update(repr(part).encode() + b"\n")
    return digest.hexdigest()


def _fingerprint_key(folder: str, pid: str) -> str:
    return f"export:{folder}:{pid}"


def _files_digest(out: Path, paths: list[str]) -> str | None:
    """A digest of the size, time and mode of each file, or None when one is missing."""
    lines = []
    try:
        root = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # paths are looked up from it
    except OSError:
        return None
    try:
        for path in sorted(paths):
            try:
                info = os.lstat(path, dir_fd=root)
            except OSError:
                return None
            lines.append(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\n")
    finally:
        os.close(root)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _folder_files(conn: sqlite3.Connection, folder: str,
                  programmes: list[str] | None = None) -> dict[str, list[str]]:
    """Programme -> the files exports recorded writing for it into ``folder`` (of the
    ``programmes`` given, or all)."""
    out: dict[str, list[str]] = {}
    for pid, path in conn.execute(
            "SELECT x.programme, x.path FROM exported_files x JOIN export_folders f "
            "ON f.id = x.folder WHERE f.path = :folder AND (:programmes IS NULL OR "
            "x.programme IN (SELECT value FROM json_each(:programmes)))",
            {"folder": folder,
             "programmes": None if programmes is None else json.dumps(programmes)}):
        out.setdefault(pid, []).append(path)
    return out


def _stale(conn: sqlite3.Connection, folder: str, out: Path, files: list[str],
           inputs: dict[str, tuple[str, str]]) -> list[str]:
    """The programme files of ``files`` to rebuild: all but those whose fingerprint is the one
    stored for ``folder`` at their last export there, with every file of theirs as left."""
    stored = dict(conn.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                               (f"export:{folder}:", f"export:{folder};")).fetchall())
    if not stored:
        return files
    written = _folder_files(conn, folder)
    stale = []
    for file in files:
        pid, digest = inputs[file]
        value = stored.get(_fingerprint_key(folder, pid))
        paths = written.get(pid)
        if value is None or not paths or value != _fingerprint_value(
                digest, _history_digest(conn, pid, file), _files_digest(out, paths)):
            stale.append(file)
    return stale


def _fingerprint_value(inputs: str, history: str, files: str | None) -> str | None:
    return None if files is None else f"{inputs} {history} {files}"


def _remember_fingerprints(conn: sqlite3.Connection, folder: str, out: Path,
                           inputs: dict[str, tuple[str, str]]) -> None:
    """Store, with the history, the fingerprint of each programme just exported into
    ``folder``: its inputs as read, its history as now recorded, its files as now on disk."""
    if not inputs:  # nothing rebuilt: every fingerprint stands
        return
    written = _folder_files(conn, folder, [pid for pid, _ in inputs.values()])
    for file, (pid, digest) in inputs.items():
        key = _fingerprint_key(folder, pid)
        value = _fingerprint_value(digest, _history_digest(conn, pid, file),
                                   _files_digest(out, written.get(pid, [])))
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (key, value))


@dataclass(frozen=True)
class _Holder:
    """Who has files in a programme's folder: a row of ``participants.csv``."""

    email: str
    name: str
    status: str
    slug: str


PARTICIPANTS_CSV_HEADER = ("email", "name", "status", "ics", "html")


@dataclass(frozen=True)
class Seat:
    """A seat holder of a programme, as their calendar is made (export and `cxc send`)."""

    person: m.Registration
    placed: frozenset[str]
    """The sessions the plan placed them in."""
    token: str
    """Tells their events apart in UIDs (:func:`~cxc.store.person_token`)."""
    calendar: str
    """Their calendar's key in the history of event versions: ``<pid>/person/<token>``."""


def seat_holders(db: sqlite_utils.Database, doc: m.ProgrammeDoc, secret: bytes) -> Iterator[Seat]:
    """Each person holding a seat in ``doc`` (the first entry of an email), in file order."""
    pid = doc.programme.id
    placed_by_person: dict[str, set[str]] = {}
    for (_, email), session in read_placements(db, pid).items():
        placed_by_person.setdefault(email, set()).add(session)
    seated = {p.key for p in doc.seat_holders(read_admitted(db, pid))}
    keys: set[str] = set()
    for person in doc.registrations:
        if person.key in keys or m.is_pseudonym(person.key):
            continue  # the same email twice is a duplicate-id error; export the first
        keys.add(person.key)
        if person.key not in seated:
            continue  # withdrawn or still waiting: cancelled if ever sent
        token = person_token(secret, person.key)
        yield Seat(person, frozenset(placed_by_person.get(person.key, ())), token,
                   person_calendar_key(pid, token))


def person_calendar_key(pid: str, token: str) -> str:
    return f"{pid}/person/{token}"


def person_calendar_name(title: str, name: str) -> str:
    """The name of a seat holder's calendar (a cancelled one is named by ``title`` alone)."""
    return f"{title}: {name}"


def stamp_calendar(encoder: ics.CalendarEncoder, name: str, made: list[ics.CalEvent],
                   history: dict[str, ics.History], now: datetime,
                   ) -> tuple[list[ics.Stamped], dict[str, ics.History], bytes]:
    """A calendar's events numbered against their history, the new history, and its bytes:
    what export writes and `cxc send` attaches."""
    stamped, updated = ics.sequence(made, history, now)
    return stamped, updated, encoder.calendar(name, stamped)


class _Exporter:
    """Writes one programme after another: its calendar, and each participant's files."""

    def __init__(self, db: sqlite_utils.Database, writer: AtomicWriter, sent: ExportHistory,
                 now: datetime, partners: dict[str, m.Partner]) -> None:
        self.db = db
        self.writer = writer
        self.sent = sent
        self.now = now
        self.partners = partners
        self.secret = store_secret(db)
        self.root = store_root(db_path(db))
        self.folder = file_key(writer.root, self.root)
        self.exported = _exported_calendars(db)
        self.in_folder = _programmes_in_folder(db, self.folder)
        self.slugs = Slugs(db)
        self.written: list[tuple[str, str, str | None]] = []
        """(path, programme, email key or None) of every file this export wrote."""
        self.pages = 0
        self.cancelled = 0
        self.feed: Callable[[str], feeds.FeedLinks | None] = lambda _key: None
        """The subscription links a person's page shows (by email key), if any."""

    def programme(self, doc: m.ProgrammeDoc) -> None:
        pid, title = doc.programme.id, doc.programme.title
        history = calendar_history(self.db, pid)
        host = self.partners.get(doc.programme.host)
        events = ics.ProgrammeEvents(doc, host)
        encoder = ics.CalendarEncoder()
        self._calendar(encoder, history, f"{pid}/programme", pid, f"{pid}/programme.ics",
                       title, events.programme())
        pages = itinerary.Pages(doc, host)
        holders: list[_Holder] = []
        for seat in seat_holders(self.db, doc, self.secret):
            person, placed = seat.person, seat.placed
            slug = self.slugs(person.key, person.name)
            base = f"{pid}/participants/{slug}"
            self._calendar(encoder, history, seat.calendar, pid, f"{base}.ics",
                           person_calendar_name(title, person.name),
                           events.person(person, placed, seat.token), person.key, person.name)
            self._write(f"{base}.html", pages.render(person, set(placed),
                                                    self.feed(person.key)).encode("utf-8"),
                        pid, person.key)
            self.pages += 1
            status = "admitted" if person.status == "waitlisted" else person.status
            holders.append(_Holder(person.email, person.name, status, slug))
        statuses = {p.key: p.status for p in doc.registrations}
        for calendar, (sent_pid, path, owner, owner_name) in self.exported.items():
            if sent_pid != pid or calendar in self.sent or owner is None:
                continue  # withdrawn, still waiting, removed or re-addressed since
            why = statuses.get(owner, "removed")
            self._calendar(encoder, history, calendar, pid, path, title, [], owner, owner_name)
            self._write(_page_of(path), itinerary.cancelled_page(
                pid, title, owner_name or "", why).encode("utf-8"), pid, owner)
            holders.append(_Holder(owner, owner_name or "", why, Path(path).stem))
        self._participants_csv(pid, holders)

    def vanished(self, pid: str) -> None:
        """A programme this folder holds that the store no longer does (its id changed, or
        its file is gone): every calendar of it is called off in its old folder."""
        history = calendar_history(self.db, pid)
        encoder = ics.CalendarEncoder()
        holders: list[_Holder] = []
        for key, (sent_pid, path, email, name) in self.exported.items():
            if sent_pid != pid:
                continue
            self._calendar(encoder, history, key, pid, path, pid, [], email, name)
            if email is not None:
                self._write(_page_of(path), itinerary.cancelled_page(
                    pid, pid, name or "", "programme").encode("utf-8"), pid, email)
                holders.append(_Holder(email, name or "", "cancelled", Path(path).stem))
        self._participants_csv(pid, holders)

    def _calendar(self, encoder: ics.CalendarEncoder, history: dict[str, dict[str, ics.History]],
                  key: str, pid: str, path: str, name: str, made: list[ics.CalEvent],
                  email: str | None = None, person_name: str | None = None) -> None:
        stamped, updated, data = stamp_calendar(encoder, name, made, history.get(key, {}),
                                                self.now)
        self.cancelled += sum(1 for s in stamped if s.event.status == "CANCELLED")
        self._write(path, data, pid, email)
        self.sent.add(key, pid, path, updated, email, person_name)

    def _participants_csv(self, pid: str, holders: list[_Holder]) -> None:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerow(PARTICIPANTS_CSV_HEADER)
        for h in sorted(holders, key=lambda h: (h.slug, h.email)):
            out.writerow([safe_cell(h.email), safe_cell(h.name), h.status,
                          f"participants/{h.slug}.ics", f"participants/{h.slug}.html"])
        self._write(f"{pid}/participants.csv", buffer.getvalue().encode("utf-8"), pid, None)

    def record(self, conn: sqlite3.Connection) -> None:
        """What this export adds to the store beside the history: the slugs it gave, the
        folder, and which files in it belong to whom (so `cxc forget` can remove them)."""
        conn.executemany("INSERT OR IGNORE INTO person_slugs (slug, person) VALUES (?, ?)",
                         self.slugs.new)
        conn.execute("INSERT OR IGNORE INTO export_folders (path) VALUES (?)", (self.folder,))
        (folder,) = conn.execute("SELECT id FROM export_folders WHERE path = ?",
                                 (self.folder,)).fetchone()
        conn.executemany(
            "INSERT INTO exported_files (folder, path, programme, email) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (folder, path) DO UPDATE SET programme = excluded.programme, "
            "email = excluded.email",
            [(folder, path, pid, email) for path, pid, email in self.written])

    def _write(self, path: str, data: bytes, pid: str, email: str | None) -> None:
        try:
            self.writer.write(path, data)
        except OSError as exc:
            raise ExportError(
                f"{self.writer.root / path}: cannot write: {exc.strerror or exc}") from None
        self.written.append((path, pid, email))


def _page_of(calendar_path: str) -> str:
    return calendar_path[:-len(".ics")] + ".html" if calendar_path.endswith(".ics") else (
        calendar_path + ".html")


class ExportHistory:
    """The calendars this export wrote and the history of their events, in temporary
    tables (on disk, private to this connection) until the files are safely written."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.calendars: set[str] = set()

    def __enter__(self) -> Self:
        conn = self.db.conn
        conn.execute("PRAGMA temp_store = FILE")
        conn.execute("DROP TABLE IF EXISTS temp.sent_events")
        conn.execute("DROP TABLE IF EXISTS temp.sent_calendars")
        conn.execute("CREATE TEMP TABLE sent_events (calendar TEXT, uid TEXT, fingerprint TEXT, "
                     "sequence INTEGER, stamp TEXT, body TEXT)")
        conn.execute("CREATE TEMP TABLE sent_calendars (calendar TEXT PRIMARY KEY, "
                     "programme TEXT, path TEXT, email TEXT, name TEXT)")
        return self

    def __exit__(self, *_: object) -> None:
        self.db.conn.execute("DROP TABLE IF EXISTS temp.sent_events")
        self.db.conn.execute("DROP TABLE IF EXISTS temp.sent_calendars")

    def __contains__(self, calendar: str) -> bool:
        return calendar in self.calendars

    def __len__(self) -> int:
        return len(self.calendars)

    def add(self, calendar: str, programme: str, path: str,
            events: dict[str, ics.History], email: str | None = None,
            name: str | None = None) -> None:
        self.calendars.add(calendar)
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO temp.sent_events VALUES (?, ?, ?, ?, ?, ?)",
            [(calendar, uid, h.fingerprint, h.sequence, h.stamp.isoformat(), h.body)
             for uid, h in sorted(events.items())])
        conn.execute("INSERT INTO temp.sent_calendars VALUES (?, ?, ?, ?, ?)",
                     (calendar, programme, path, email, name))

    def remember(self, record: Callable[[sqlite3.Connection], None]) -> None:
        """Replace the history of every calendar sent, and ``record`` the rest, in one
        transaction (``record`` last: it sees the new history)."""
        with write_transaction(self.db) as conn:
            # Only calendars whose events changed are written: an unchanged one keeps its
            # history version (see KEPT_RESULTS), so other folders' exports stay current.
            conn.execute("CREATE INDEX temp.sent_events_calendar ON sent_events (calendar)")
            conn.execute(CHANGED_CALENDARS)
            conn.execute("DELETE FROM exported_events WHERE calendar IN "
                         "(SELECT calendar FROM temp.changed_calendars)")
            conn.execute("INSERT INTO exported_events SELECT * FROM temp.sent_events "
                         "WHERE calendar IN (SELECT calendar FROM temp.changed_calendars) "
                         "ORDER BY rowid")
            conn.execute("DROP TABLE temp.changed_calendars")
            conn.execute(
                "INSERT INTO exported_calendars (calendar, programme, path, email, name) "
                "SELECT calendar, programme, path, email, name FROM temp.sent_calendars "
                "WHERE true ON CONFLICT (calendar) DO UPDATE SET programme = "
                "excluded.programme, path = excluded.path, email = excluded.email, "
                "name = excluded.name")
            record(conn)


CHANGED_CALENDARS = """
CREATE TEMP TABLE changed_calendars AS
SELECT c.calendar FROM temp.sent_calendars c
WHERE EXISTS (SELECT calendar, uid, fingerprint, sequence, stamp, body FROM temp.sent_events
              WHERE calendar = c.calendar
              EXCEPT SELECT calendar, uid, fingerprint, sequence, stamp, body
              FROM main.exported_events WHERE calendar = c.calendar)
   OR EXISTS (SELECT calendar, uid, fingerprint, sequence, stamp, body
              FROM main.exported_events WHERE calendar = c.calendar
              EXCEPT SELECT calendar, uid, fingerprint, sequence, stamp, body
              FROM temp.sent_events WHERE calendar = c.calendar)
"""
"""The calendars sent whose events differ from those the history holds."""


@contextmanager
def _exclusive(out: Path) -> Iterator[Path]:
    """One export at a time into ``out``, which starts by removing what a killed one left;
    gives the folder for temporary files, ``out/.cxc/tmp``.

    A process killed between writing a temporary file and renaming it cannot
    clean up; the next export does, under a lock (``out/.cxc/lock``) that the
    kernel releases with the process that held it, so it never takes another
    export's file in flight. Only cxc's own folder is looked at: nothing else in
    ``out`` is ever removed, whatever its name.
    """
    try:
        make_private_dirs(out)
        state = _own_folder(out / STATE)
        temp = _own_folder(state / "tmp")
        fd = _open_lock(state / "lock")
    except OSError as exc:
        raise ExportError(f"{out}: cannot write: {exc.strerror or exc}") from None
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, so no sweeping either
            yield temp
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.scandir(temp) as entries:
            for entry in entries:
                if _TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
                    Path(entry.path).unlink(missing_ok=True)
        yield temp
    finally:
        os.close(fd)


@contextmanager
def exports_held(db: sqlite_utils.Database) -> Iterator[None]:
    """No export of this store runs meanwhile (`cxc forget` erases what they write)."""
    with _store_exclusive(db):
        yield


def _own_folder(folder: Path) -> Path:
    """``folder``, created owner-only if missing; refused unless a real folder of this user."""
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.lstat()
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if not stat.S_ISDIR(info.st_mode) or euid not in (None, 0, info.st_uid):
        raise ExportError(f"{folder}: refused, cxc keeps its lock and temporary files there "
                          "but it is not a folder of this user (a link, a file or another "
                          "user's folder); move it away and export again")
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)
    return folder


def _open_lock(path: Path) -> int:
    """A file descriptor of the lock file ``path``, created owner-only (never a store's file)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o600)


@contextmanager
def _store_exclusive(db: sqlite_utils.Database) -> Iterator[None]:
    """One export of the store at a time: a lock on ``<store>-export.lock`` beside it.

    Held from before the history of the calendars is read until after the new
    one is written, so that a second export numbers its events from what the
    first one sent. Never the store's own file: closing any descriptor of it
    would drop the locks SQLite holds on it.
    """
    path = db_path(db)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    if not path or path == "?":  # a store in memory: nobody else can export it
        yield
        return
    store = Path(path).resolve()  # beside the file itself, as SQLite's own -wal and -shm
    lock = store.with_name(store.name + "-export.lock")
    try:
        fd = _open_lock(lock)
    except OSError as exc:
        raise ExportError(f"{lock}: cannot lock the store for export: "
                          f"{exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _programmes_to_export(db: sqlite_utils.Database, programme: str | None,
                          exporter: _Exporter) -> tuple[list[str], list[str]]:
    """The files of the programmes to export (the first file of each id, in id order),
    and the ids of programmes this folder holds that are no longer in the store."""
    seen: set[str] = set()
    files = []
    ever_sent = {pid for pid, _, _, _ in exporter.exported.values()}
    rows = db.conn.execute("SELECT id, file, status FROM programmes ORDER BY id, file").fetchall()
    for pid, file, status in rows:
        if pid in seen or (programme is not None and pid != programme):
            continue
        seen.add(pid)
        if status == "cancelled" and pid not in ever_sent:
            continue  # nothing was ever sent, so there is nothing to call off
        files.append(file)
    if programme is not None and not files:
        known = ", ".join(sorted({pid for pid, _, _ in rows})) or "none"
        raise UsageError(f"no programme `{programme}` in the store (programmes: {known})")
    vanished = sorted(pid for pid in ever_sent & exporter.in_folder
                      if pid not in seen and programme is None)
    return files, vanished


def _exported_calendars(db: sqlite_utils.Database,
                        ) -> dict[str, tuple[str, str, str | None, str | None]]:
    """Calendar key -> (programme, path, email key or None, name) of every calendar sent."""
    rows = db.conn.execute("SELECT calendar, programme, path, email, name FROM exported_calendars")
    return {calendar: (programme, path, email, name)
            for calendar, programme, path, email, name in rows}


def _programmes_in_folder(db: sqlite_utils.Database, folder: str) -> set[str]:
    """The programmes an earlier export wrote into ``folder`` (as the store names it)."""
    return {pid for (pid,) in db.conn.execute(
        "SELECT DISTINCT x.programme FROM exported_files x JOIN export_folders f "
        "ON f.id = x.folder WHERE f.path = ?", (folder,))}


def calendar_history(db: sqlite_utils.Database,
                     programme: str) -> dict[str, dict[str, ics.History]]:
    """Calendar -> uid -> what was last sent, for the calendars of ``programme``."""
    out: dict[str, dict[str, ics.History]] = {}
    rows = db.conn.execute(  # keys are `<programme>/...`; ids hold no `/`, and `0` follows it
        "SELECT calendar, uid, fingerprint, sequence, stamp, body FROM exported_events "
        "WHERE calendar >= ? AND calendar < ?", (f"{programme}/", f"{programme}0"))
    for calendar, uid, fingerprint, seq, stamp, body in rows:
        out.setdefault(calendar, {})[uid] = ics.History(
            fingerprint, seq, datetime.fromisoformat(stamp), body)
    return out


def erase_person_files(files: list[PersonFile], key: str) -> int:
    """Remove what exports wrote for one person (``key``: their email's identity key), and
    their row from each ``participants.csv`` beside those files (and from ``feeds/index.csv``): `cxc forget`, which holds
    :func:`exports_held` meanwhile."""
    removed = 0
    for file in files:
        try:
            (file.folder / file.path).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ExportError(f"{file.folder / file.path}: cannot remove: "
                              f"{exc.strerror or exc}") from None
    for folder, pid in sorted({(f.folder, f.programme) for f in files}):
        relative = feeds.INDEX if pid == feeds.FEED_PROGRAMME else f"{pid}/participants.csv"
        listing = folder / relative
        try:
            text = listing.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportError(f"{listing}: cannot read: {exc}") from None
        rows = list(csv.reader(io.StringIO(text, newline="")))
        kept = [row for row in rows if not row or m.identity_key(cell_text(row[0])) != key]
        if len(kept) != len(rows):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(kept)
            with _exclusive(folder) as temp:
                AtomicWriter(folder, temp).write(relative, buffer.getvalue().encode())
    return removed
