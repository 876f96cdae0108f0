"""Erasure (GDPR): a person forgotten, their registrations kept under a keyed pseudonym."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cxc import model as m
from cxc.errors import UsageError

if TYPE_CHECKING:
    import sqlite_utils

from cxc.format.files import file_location, store_root
from cxc.store.connection import db_path, write_transaction
from cxc.store.schema import data_hash, person_token, read_secret

FORGOTTEN_NAME = "(forgotten)"


@dataclass(frozen=True)
class Forgotten:
    """The people erased from this store, as keyed tokens that reveal no email."""

    secret: bytes
    tokens: frozenset[str]

    def token(self, email: str) -> str:
        return hmac.new(self.secret, m.identity_key(email).encode(), hashlib.sha256).hexdigest()

    def apply(self, person: m.Registration) -> m.Registration:
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
    tokens = frozenset(t for (t,) in conn.execute("SELECT token FROM forgotten"))
    return Forgotten(read_secret(conn), tokens)


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
        for table in ("travel_legs", "stays", "placements", "admissions", "sent_messages",
                      "sent_events", "feed_tokens"):
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
