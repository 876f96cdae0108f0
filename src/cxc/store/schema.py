"""The store's schema, its version and migrations, and the digests and tokens defined over it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from cxc import model as m
from cxc.errors import StoreError

if TYPE_CHECKING:
    import sqlite_utils

from cxc.format.files import store_root

SCHEMA_VERSION = 7
APPLICATION_ID = 0x63786321
"""``PRAGMA application_id`` of a cxc store ("cxc!"): what tells it from another program's
SQLite file, which cxc refuses and leaves byte for byte as it was."""


_BASE_SCHEMA = """
CREATE TABLE files (
    path TEXT PRIMARY KEY,              -- relative to the store's folder when under it, else absolute
    display TEXT NOT NULL,              -- the path as the user gave it
    kind TEXT NOT NULL CHECK (kind IN ('partnership', 'programme')),
    sha256 TEXT                         -- of the reader version and the bytes last loaded
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
SCHEMA_3 = """
CREATE TABLE sent_messages (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,                -- identity key of the person's email
    address TEXT NOT NULL,              -- the address the message went to
    name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,              -- when the server accepted it (UTC)
    PRIMARY KEY (programme, email)
);
CREATE TABLE sent_events (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,                -- identity key, as in sent_messages
    uid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,          -- of the event as last sent to this person
    sequence INTEGER NOT NULL,
    body TEXT NOT NULL,                 -- JSON of the event as last sent
    PRIMARY KEY (programme, email, uid)
);
"""
SCHEMA_4 = """
CREATE TABLE feed_tokens (
    email TEXT PRIMARY KEY,             -- identity key of the person's email
    token TEXT NOT NULL UNIQUE          -- random (128 bits or more): their feed's file name, for ever
);
"""
SCHEMA_4_WHOLE = _BASE_SCHEMA + SCHEMA_2 + SCHEMA_3 + SCHEMA_4
"""A store of schema 4, as a new one was made then (what migration 4 -> 5 starts from)."""

SECRET_TABLE = "_secrets"
"""Where the store's secret is kept: in the file, so a copy keeps every pseudonym and UID,
and in a table no Datasette shows: 1.0 hides names with a leading ``_``; 0.65 hides
full-text tables and every table named after one (``_secrets_content``, where SQLite keeps
the rows). Hence a full-text table that nobody searches."""

SCHEMA = """
CREATE TABLE files (
    path TEXT PRIMARY KEY,              -- relative to the store's folder when under it, else absolute
    display TEXT NOT NULL,              -- the path as the user gave it
    kind TEXT NOT NULL CHECK (kind IN ('partnership', 'programme')),
    sha256 TEXT,                        -- of the reader version and the bytes last loaded
    stat TEXT                           -- the file's device, inode, size, mtime and ctime as hashed
);
CREATE TABLE partnership (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    funding TEXT,
    start TEXT NOT NULL,
    "end" TEXT NOT NULL,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER,
    PRIMARY KEY (file)                  -- one partnership per file
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
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file's list, from 0 (an id may repeat)
    PRIMARY KEY (file, position)
);
CREATE INDEX partners_id ON partners(id);
CREATE TABLE targets (
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file, from 0
    PRIMARY KEY (file, position)
);
CREATE INDEX targets_key ON targets(key);
CREATE TABLE activities (
    kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    date TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file, from 0
    PRIMARY KEY (file, position)
);
CREATE INDEX activities_kind_date ON activities(kind, date);
CREATE TABLE programmes (
    id TEXT NOT NULL,                   -- unique once valid (a copy of the file repeats it)
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
    file TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    line INTEGER,
    data_hash TEXT NOT NULL DEFAULT '', -- what the programme holds (not where): see data_hash()
    PRIMARY KEY (file)                  -- one programme per file: what every `file` below links to
);
CREATE INDEX programmes_id ON programmes(id);
CREATE INDEX programmes_status_start ON programmes(status, start);
CREATE TABLE quotas (
    programme TEXT NOT NULL,
    partner TEXT NOT NULL,
    count INTEGER NOT NULL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file, from 0
    PRIMARY KEY (file, position)
);
CREATE TABLE venues (
    programme TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    capacity INTEGER,
    lat REAL,
    lon REAL,
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file's list, from 0 (an id may repeat)
    PRIMARY KEY (file, position)
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
    line INTEGER,
    position INTEGER NOT NULL,          -- its place in the file's list, from 0 (an id may repeat)
    PRIMARY KEY (file, position)
);
CREATE INDEX sessions_file ON sessions(file, id);
CREATE INDEX sessions_programme ON sessions(programme, id);
CREATE TABLE session_organisations (
    programme TEXT NOT NULL,
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,             -- lower-cased, trimmed: how organisations are told apart
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    position INTEGER NOT NULL,          -- its place among the file's, from 0
    PRIMARY KEY (file, position)
);
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
    position INTEGER NOT NULL,          -- its place in the file's list of participants, from 0
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER,
    status TEXT NOT NULL DEFAULT 'registered',  -- registered | waitlisted | withdrawn
    forgotten INTEGER NOT NULL DEFAULT 0,       -- erased (`cxc forget`): counted, never seated
    PRIMARY KEY (file, position)
);
CREATE INDEX registrations_file ON registrations(file, email);
CREATE INDEX registrations_email ON registrations(email);
CREATE INDEX registrations_programme ON registrations(programme);
CREATE TABLE travel_legs (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,
    position INTEGER NOT NULL,          -- its place in the person's travel, from 0
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
    line INTEGER,
    PRIMARY KEY (file, registration, position)
);
CREATE TABLE stays (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    registration INTEGER NOT NULL,      -- position of the registration in its file: one stay each
    file TEXT NOT NULL REFERENCES programmes(file) ON DELETE CASCADE,
    line INTEGER,
    PRIMARY KEY (file, registration)
);
CREATE TABLE placements (               -- the planned parallel sessions (view `plan`: the whole plan)
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
CREATE VIRTUAL TABLE _secrets USING fts5(  -- never shown: see SECRET_TABLE
    name,                               -- 'secret': the key of the pseudonyms and calendar tokens
    value                               -- hex
);
CREATE TABLE forgotten (
    token TEXT PRIMARY KEY              -- HMAC of the lower-cased email under the store's secret
);
CREATE TABLE exported_calendars (
    calendar TEXT PRIMARY KEY,
    programme TEXT NOT NULL,
    path TEXT NOT NULL,                 -- relative to the export folder
    email TEXT,                         -- whose calendar (identity key), NULL for the programme
    name TEXT
);
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
CREATE TABLE sent_messages (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,                -- identity key of the person's email
    address TEXT NOT NULL,              -- the address the message went to
    name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,              -- when the server accepted it (UTC)
    PRIMARY KEY (programme, email)
);
CREATE TABLE sent_events (
    programme TEXT NOT NULL,
    email TEXT NOT NULL,                -- identity key, as in sent_messages
    uid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,          -- of the event as last sent to this person
    sequence INTEGER NOT NULL,
    body TEXT NOT NULL,                 -- JSON of the event as last sent
    PRIMARY KEY (programme, email, uid)
);
CREATE TABLE feed_tokens (
    email TEXT PRIMARY KEY,             -- identity key of the person's email
    token TEXT NOT NULL UNIQUE          -- random (128 bits or more): their feed's file name, for ever
);
CREATE VIEW holders AS                  -- who holds a seat: what the report counts
    SELECT r.rowid AS rowid, r.* FROM registrations r
    WHERE r.status = 'registered' OR (r.status = 'waitlisted' AND EXISTS (
        SELECT 1 FROM admissions a WHERE a.programme = r.programme AND a.email = r.email));
CREATE VIEW seat_holders AS             -- who takes a seat: what the rules and the plan check
    SELECT * FROM holders WHERE forgotten = 0;
CREATE VIEW plan AS                     -- the plan as a whole: every session each seat holder attends
    SELECT h.programme, h.email, h.name,
        substr(s.start_local, 1, 10) AS day,        -- local to the session, YYYY-MM-DD
        substr(s.start_local, 12) AS start,         -- HH:MM
        CASE WHEN substr(s.end_local, 1, 10) = substr(s.start_local, 1, 10)
             THEN substr(s.end_local, 12) ELSE s.end_local END AS "end",
        s.id AS session, s.title,
        coalesce((SELECT v.name FROM venues v WHERE v.file = s.file AND v.id = s.venue
                  ORDER BY v.rowid LIMIT 1), s.venue) AS venue,
        s.slot,                                     -- NULL: a plenary, everyone attends
        h.file
    FROM seat_holders h JOIN sessions s ON s.file = h.file
    WHERE s.slot IS NULL OR EXISTS (
        SELECT 1 FROM placements p WHERE p.programme = h.programme AND p.email = h.email
        AND p.slot = s.slot AND p.session = s.id)
    ORDER BY h.programme, h.email, s.start_utc, s.id;
"""

# -- the rules' vocabulary (schema 6) --------------------------------------------------------
# Views only: no data moves. Kept apart from the other schema steps so that it can be renumbered.
RULE_VIEWS = """
CREATE VIEW active_programmes AS        -- the programmes the rules check: all but the cancelled
    SELECT p.rowid AS rowid, p.*
    FROM programmes p
    WHERE p.status != 'cancelled';
CREATE VIEW partnership_partners AS     -- the partners of the store's partnership file
    SELECT x.rowid AS rowid, x.*        -- (a store holds one: the first, should two define it)
    FROM partners x
    WHERE x.file = (SELECT min(file) FROM partnership);
CREATE VIEW partnership_activities AS   -- the activities of the store's partnership file
    SELECT x.rowid AS rowid, x.*
    FROM activities x
    WHERE x.file = (SELECT min(file) FROM partnership);
CREATE VIEW session_seats AS            -- each session's seats and instants, as the rules count them
    SELECT s.rowid AS rowid, s.file, s.programme, s.id, s.slot, s.venue,
           s.start_local, s.end_local,
           CAST(strftime('%s', s.start_utc) AS INTEGER) AS start_epoch,
           CAST(strftime('%s', s.end_utc) AS INTEGER) AS end_epoch,
           coalesce(                    -- its own capacity, else its venue's, else NULL (unlimited)
               s.capacity,
               (SELECT v.capacity
                FROM venues v
                WHERE v.file = s.file AND v.id = s.venue
                ORDER BY v.rowid        -- a repeated venue id: the first, as plan and calendars
                LIMIT 1)) AS seats,
           s.line
    FROM sessions s;
CREATE VIEW visitors AS                 -- the seat holders of a cxc not in the host's delegation
    SELECT r.*, p.id AS programme_id, p.start AS programme_start
    FROM active_programmes p            -- first (CROSS JOIN): the few cxc, then their people
    CROSS JOIN seat_holders r ON r.file = p.file
    WHERE p.kind = 'cxc'
      AND r.partner != p.host;
CREATE VIEW repeated_ids AS             -- every row of a file whose id an earlier row already used
    SELECT file, kind, id, line, first_line
    FROM (SELECT file, 'venue' AS kind, id, line,
                 first_value(line) OVER w AS first_line, row_number() OVER w AS n
          FROM venues
          WHERE (file, id) IN (SELECT file, id FROM venues GROUP BY file, id HAVING count(*) > 1)
          WINDOW w AS (PARTITION BY file, id ORDER BY rowid))
    WHERE n > 1
    UNION ALL
    SELECT file, kind, id, line, first_line
    FROM (SELECT file, 'session' AS kind, id, line,
                 first_value(line) OVER w AS first_line, row_number() OVER w AS n
          FROM sessions
          WHERE (file, id) IN (SELECT file, id FROM sessions GROUP BY file, id HAVING count(*) > 1)
          WINDOW w AS (PARTITION BY file, id ORDER BY rowid))
    WHERE n > 1
    UNION ALL
    SELECT file, kind, id, line, first_line
    FROM (SELECT file, 'participant' AS kind, email AS id, line,
                 first_value(line) OVER w AS first_line, row_number() OVER w AS n
          FROM registrations
          WHERE (file, email) IN (SELECT file, email FROM registrations
                                  GROUP BY file, email HAVING count(*) > 1)
          WINDOW w AS (PARTITION BY file, email ORDER BY position))
    WHERE n > 1;
"""
"""The words the rules are written in (:mod:`cxc.rules`), as views: readable in any SQLite
browser too. ``repeated_ids.kind`` is ``venue``, ``session`` or ``participant`` (an email)."""
# -- end of the rules' vocabulary -------------------------------------------------------------
HISTORY_INDEX = """
CREATE INDEX IF NOT EXISTS exported_events_history ON exported_events(calendar, uid, sequence, stamp, fingerprint);
"""
"""Schema 6 (dropped in 7, where the history's version stands for it): what export's history
digest read of each exported event, so that it read this index alone and not the table,
whose pages hold the events' bodies too (hundreds of MB)."""

# -- what the store knows it need not compute again (schema 7) --------------------------------
# Kept by triggers, so that a write by anyone (cxc, Datasette, the sqlite3 shell) is seen.
VALIDATION_INPUTS: dict[str, str | None] = {
    "files": "SELECT {row}.path",  # not its stat: see READ_COLUMNS
    "partnership": None,
    "partners": None,
    "activities": None,
    "programmes": "SELECT {row}.file",
    "quotas": "SELECT {row}.file",
    "venues": "SELECT {row}.file",
    "sessions": "SELECT {row}.file",
    "registrations": "SELECT {row}.file",
    "travel_legs": "SELECT {row}.file",
    "stays": "SELECT {row}.file",
    "admissions": ("SELECT file FROM programmes WHERE id = {row}.programme UNION ALL "
                   "SELECT file FROM registrations WHERE programme = {row}.programme "
                   "AND email = {row}.email"),  # whose seat it is, whatever file lists them
}
"""Every table the rules read -> the files a row of it belongs to (a query over ``{row}``,
its NEW or OLD row), or None for the partnership's tables, which every file's findings read.
A write to a row forgets the findings kept for the whole store and for those files."""


READ_COLUMNS = {"files": "path, display, kind, sha256"}
"""The columns the rules read of a table of which they do not read every column: an update
of another (a file's stat, after ``touch``) forgets nothing."""


def _forgetting_triggers() -> str:
    triggers = []
    for table, files in VALIDATION_INPUTS.items():
        update = f"UPDATE OF {READ_COLUMNS[table]}" if table in READ_COLUMNS else "UPDATE"
        for event, rows in (("INSERT", ("NEW",)), (update, ("OLD", "NEW")),
                            ("DELETE", ("OLD",))):
            if files is None:
                body = "DELETE FROM validations;"
            else:
                scopes = " UNION ALL ".join(files.format(row=row) for row in rows)
                body = f"DELETE FROM validations WHERE scope = '' OR scope IN ({scopes});"
            name = event.split()[0].lower()
            triggers.append(f"CREATE TRIGGER IF NOT EXISTS validations_{table}_{name} "
                            f"AFTER {event} ON {table} BEGIN {body} END;")
    return "\n".join(triggers) + "\n"


HISTORY_COLUMNS = ("calendar", "uid", "fingerprint", "sequence", "stamp", "body")


def _history_triggers() -> str:
    programme = "substr({row}.calendar, 1, instr({row}.calendar, '/') - 1)"
    bump = ("INSERT INTO history_versions (programme, version) VALUES ({programme}, 1) "
            "ON CONFLICT (programme) DO UPDATE SET version = version + 1;")
    triggers = []
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        body = " ".join(bump.format(programme=programme.format(row=row)) for row in rows)
        when = (" WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in HISTORY_COLUMNS)
                if event == "UPDATE" else "")
        triggers.append(f"CREATE TRIGGER IF NOT EXISTS history_versions_{event.lower()} "
                        f"AFTER {event} ON exported_events{when} BEGIN {body} END;")
    return "\n".join(triggers) + "\n"


KEPT_RESULTS = """
CREATE TABLE IF NOT EXISTS validations (  -- the rules' findings as last computed (see VALIDATION_INPUTS)
    scope TEXT PRIMARY KEY,             -- '': the whole store's; else a file's, of the rules that read one file
    made_by TEXT NOT NULL,              -- the code, SQLite and time zones that computed them
    findings TEXT NOT NULL              -- JSON list
);
CREATE TABLE IF NOT EXISTS history_versions (  -- how often each programme's export history was written
    programme TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
""" + _forgetting_triggers() + _history_triggers()
"""Schema 7: results kept until what they were computed from is written. A kept validation
stands only while no table it read was written since (the triggers forget it), and export
tells a programme's history unchanged by its version, which every write of an exported
event raises, instead of reading the history."""
SCHEMA += RULE_VIEWS + KEPT_RESULTS
"""The schema of a new store (the latest)."""

POSITIONED = frozenset({
    "partners", "targets", "activities", "quotas", "venues", "sessions",
    "session_organisations"})
"""The tables that gained ``position`` (their key) in schema 5: not part of data_hash()."""


PROGRAMME_TABLES = (
    "quotas", "venues", "sessions", "session_organisations", "registrations", "travel_legs",
    "stays",
)


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
    # Off while tables are rebuilt (it cannot change inside a transaction): dropping the old
    # copy of a table must not cascade into the rows of the new ones.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        _migrate_in_transaction(conn, path)
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def _migrate_in_transaction(conn: sqlite3.Connection, path: Path) -> None:
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
        if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise StoreError(f"{path}: the store's links do not hold after the upgrade to "
                             f"schema {SCHEMA_VERSION}; keep this file and load the "
                             f"programmes into a new store with --db")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite has rolled back already on a full disk
            conn.execute("ROLLBACK")
        raise


def _create_schema(conn: sqlite3.Connection) -> None:
    _script(conn, SCHEMA)
    conn.execute(f"INSERT INTO {SECRET_TABLE} (name, value) VALUES ('secret', ?)",
                 (secrets.token_hex(32),))


def _script(conn: sqlite3.Connection, script: str) -> None:
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):  # not a ";" inside a comment
            conn.execute(statement)
            statement = ""


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
    secret = bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0])
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


def _migrate_2_to_3(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 3: what each person was last sent by `cxc send`, per programme (issue 15)."""
    _script(conn, SCHEMA_3)


def _migrate_3_to_4(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 4: each person's feed token, the name of their `export --feeds` calendar."""
    _script(conn, SCHEMA_4)


def _migrate_4_to_5(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 5, to browse the store (Datasette, sqlite-utils): a primary key on every table,
    each ``file`` linking to the programme's key, the secret moved out of ``meta`` into a
    table browsers hide, and the ``plan`` view. Every table is rebuilt as a new store has it,
    keeping its rows and their rowids (the rules read them in rowid order)."""
    for (view,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
        conn.execute(f'DROP VIEW "{view}"')
    for (index,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                 "AND sql IS NOT NULL").fetchall():
        conn.execute(f'DROP INDEX "{index}"')
    # a store set back from a later version has its secret in place already
    moved = _table_exists(conn, SECRET_TABLE)
    kept = conn.execute(f"SELECT name, value FROM {SECRET_TABLE}").fetchall() if moved else []
    if moved:
        conn.execute(f"DROP TABLE {SECRET_TABLE}")  # its full-text tables go with it
    old = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
    conn.execute("PRAGMA legacy_alter_table = ON")  # leave other tables' REFERENCES as written
    try:
        for table in old:
            conn.execute(f'ALTER TABLE "{table}" RENAME TO "_v4_{table}"')
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")
    _script(conn, SCHEMA)
    for table in old:
        _copy_rows(conn, f"_v4_{table}", table)
    if kept:
        conn.executemany(f"INSERT INTO {SECRET_TABLE} (name, value) VALUES (?, ?)", kept)
    else:
        conn.execute(f"INSERT INTO {SECRET_TABLE} (name, value) "
                     f"SELECT key, value FROM _v4_meta WHERE key = 'secret'")
    conn.execute("DELETE FROM meta WHERE key = 'secret'")
    for table in old:
        conn.execute(f'DROP TABLE "_v4_{table}"')


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _copy_rows(conn: sqlite3.Connection, source: str, table: str) -> None:
    """Every row of ``source`` into ``table``, the same rowid and columns; a new ``position``
    numbers each file's rows in rowid order, as a load numbers them."""
    had = [row[1] for row in conn.execute(f'PRAGMA table_info("{source}")')]
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    names = [f'"{row[1]}"' for row in info if row[1] in had]
    values = list(names)
    if "position" not in had and any(row[1] == "position" for row in info):
        names.append('"position"')
        values.append("row_number() OVER (PARTITION BY file ORDER BY rowid) - 1")
    if not [row for row in info if row[5] == 1 and row[2].upper() == "INTEGER"
            and sum(r[5] > 0 for r in info) == 1]:  # no column that is the rowid itself
        names.insert(0, "rowid")
        values.insert(0, "rowid")
    conn.execute(f'INSERT INTO "{table}" ({", ".join(names)}) SELECT {", ".join(values)} '
                 f'FROM "{source}" ORDER BY rowid')


def _migrate_5_to_6(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 6: the rules' vocabulary as views (``RULE_VIEWS``) and the export history's
    index (``HISTORY_INDEX``); no data changes.

    Views hold nothing, so any of these a store already has is replaced.
    """
    for (view,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
        if f"CREATE VIEW {view} AS" in RULE_VIEWS:
            conn.execute(f'DROP VIEW "{view}"')
    _script(conn, RULE_VIEWS)
    _script(conn, HISTORY_INDEX)  # IF NOT EXISTS: a store from schema 4 has it (4 -> 5)


def _migrate_6_to_7(conn: sqlite3.Connection, root: Path) -> None:
    """Schema 7: each file's stat as hashed, the kept validations and the history versions
    (``KEPT_RESULTS``), without schema 6's history index. A programme with an export history
    starts at version 1: the export fingerprints stored before do not match the new ones, so
    the next export to each folder rebuilds every programme once (it rewrites no file whose
    bytes stay the same).

    A store that came through 4 -> 5, which builds the latest tables, has all of it already."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(files)")}
    if "stat" not in columns:
        conn.execute("ALTER TABLE files ADD COLUMN stat TEXT")
    _script(conn, KEPT_RESULTS)
    conn.execute("DROP INDEX IF EXISTS exported_events_history")  # schema 6's: the digest's
    conn.execute("INSERT OR IGNORE INTO history_versions (programme, version) SELECT DISTINCT "
                 "substr(calendar, 1, instr(calendar, '/') - 1), 1 FROM exported_events")


MIGRATIONS = [_migrate_1_to_2, _migrate_2_to_3, _migrate_3_to_4, _migrate_4_to_5,
              _migrate_5_to_6, _migrate_6_to_7]
"""MIGRATIONS[n - 1] takes a store from schema n to n + 1; a new store gets the latest at once."""


def store_secret(db: sqlite_utils.Database) -> bytes:
    """The store's own secret, which keys the tokens that stand for people."""
    return read_secret(db.conn)


def read_secret(conn: sqlite3.Connection) -> bytes:
    """The store's secret, read on an open connection."""
    row = conn.execute(f"SELECT value FROM {SECRET_TABLE} WHERE name = 'secret'").fetchone()
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
        skip = PLACE_COLUMNS | ({"position"} if table in POSITIONED else set())
        keep = [i for i, name in enumerate(names) if name not in skip]
        digest.update(table.encode())
        for row in cursor:
            digest.update(json.dumps([row[i] for i in keep], ensure_ascii=False).encode())
    return digest.hexdigest()
