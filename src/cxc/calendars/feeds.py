"""`cxc export --feeds`: one calendar per person, across all their programmes.

Layout (PRODUCT.md)::

    DIR/feeds/<token>.ics     one person's events of every programme
    DIR/feeds/index.csv       email, name, token, file (owner-only, like every file)

A feed holds, event for event, the versions of the person's per-programme
calendars (UID, SEQUENCE, DTSTAMP and all, so the same bytes), read from the
history as this export leaves it: what it sent for the calendars it wrote,
what was sent before for the others. Everyone who has a person calendar in
that history gets a feed: a seat holder, or someone whose events were called
off. Its name is a random token (``secrets.token_urlsafe``: 128 bits), kept in
the store (``feed_tokens``) so that it stays the same at every export, and
erased with the person by `cxc forget`, which also removes the file and the
person's row of the index (they are recorded among the person's files).
"""

from __future__ import annotations

import csv
import io
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cxc.calendars import ics
from cxc.csvcells import safe_cell
from cxc.errors import UsageError
from cxc.store import write_transaction

if TYPE_CHECKING:
    import sqlite_utils

FEEDS = "feeds"
"""The feeds' folder in DIR."""
INDEX = f"{FEEDS}/index.csv"
INDEX_HEADER = ("email", "name", "token", "file")
FEED_PROGRAMME = ""
"""What the export history records as the programme of the feeds' files (no programme)."""
TOKEN_BYTES = 16
"""Random bytes of a token: 128 bits, 22 URL-safe characters."""

Write = Callable[[str, bytes, str, str | None], None]
"""Writes (path relative to DIR, bytes, programme, owner's email key or None) and records it."""


SUBSCRIBE_HOW = ("To have your calendar update itself, subscribe to this link rather than "
                 "importing a file: in Google Calendar, Other calendars → + → From URL; in "
                 "Outlook, Add calendar → Subscribe from web; on Apple devices, File → New "
                 "Calendar Subscription (or open the webcal:// link).")
"""The one sentence, on the page and in the message, that says how to subscribe."""


@dataclass(frozen=True)
class FeedLinks:
    """A person's subscription links: ``webcal://`` (opens a calendar app) and the web one."""

    webcal: str
    web: str


def feed_base(base: str) -> str:
    """``--feed-url BASE``, checked (an http or https URL with a host), without a trailing
    ``/``: where DIR is served, so that its feeds are ``BASE/feeds/<token>.ics``."""
    try:
        parts = urlsplit(base.strip())
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.query or parts.fragment or any(c.isspace() for c in base.strip())):
        raise UsageError(f"--feed-url {base}: expected an http:// or https:// URL where the "
                         "export folder is served, such as https://calendars.example.org/bright")
    return base.strip().rstrip("/")


def feed_links(base: str, token: str) -> FeedLinks:
    """The links to the feed of ``token`` under ``base`` (as :func:`feed_base` gives it)."""
    web = f"{base}/{FEEDS}/{token}.ics"
    return FeedLinks("webcal://" + web.split("://", 1)[1], web)


def assign_tokens(db: sqlite_utils.Database, emails: Iterable[str]) -> dict[str, str]:
    """Every stored token, with one given now (and stored, in its own transaction) to each
    of ``emails`` that had none: so that pages can link to feeds before they are written."""
    return _tokens(db, emails)


def read_tokens(conn: sqlite3.Connection) -> dict[str, str]:
    """Email key -> token, of everyone who has one."""
    return dict(conn.execute("SELECT email, token FROM feed_tokens"))


def feed_calendar_name(name: str) -> str:
    return f"All programmes: {name}"


def write_feeds(db: sqlite_utils.Database, write: Write) -> int:
    """Write every person's feed and the index (call it while an export's tables, ``temp.
    sent_calendars`` and ``temp.sent_events``, hold what it sent); the number of feeds.

    The tokens of new people are stored first, in their own transaction, so that a
    feed on disk always has its token in the store (and `cxc forget` can find it).
    """
    conn = db.conn
    tokens = _tokens(db, _people(conn))
    rows: list[tuple[str, str, str, str]] = []
    for email, name, stamped in _feed_events(conn):
        token = tokens[email]
        path = f"{token}.ics"
        write(f"{FEEDS}/{path}", ics.CalendarEncoder().calendar(feed_calendar_name(name), stamped),
              FEED_PROGRAMME, email)
        rows.append((email, name, token, path))
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(INDEX_HEADER)
    for email, name, token, path in rows:
        out.writerow([safe_cell(email), safe_cell(name), token, path])
    write(INDEX, buffer.getvalue().encode("utf-8"), FEED_PROGRAMME, None)
    return len(rows)


_CALENDARS = """
WITH calendars AS (
    SELECT calendar, email, name FROM temp.sent_calendars WHERE email IS NOT NULL
    UNION ALL
    SELECT calendar, email, name FROM main.exported_calendars
    WHERE email IS NOT NULL AND calendar NOT IN (SELECT calendar FROM temp.sent_calendars)
)
"""
"""Every person calendar as this export leaves the history."""

_PEOPLE = _CALENDARS + "SELECT DISTINCT email FROM calendars ORDER BY email"

_EVENTS = _CALENDARS + """,
events AS (
    SELECT calendar, uid, sequence, stamp, body FROM temp.sent_events
    UNION ALL
    SELECT calendar, uid, sequence, stamp, body FROM main.exported_events
    WHERE calendar NOT IN (SELECT calendar FROM temp.sent_calendars)
)
SELECT c.email, coalesce(p.name, c.name, '') AS name, e.uid, e.sequence, e.stamp, e.body
FROM calendars c
JOIN events e ON e.calendar = c.calendar
LEFT JOIN main.people p ON p.email = c.email
ORDER BY c.email, c.calendar, e.uid
"""


def _people(conn: sqlite3.Connection) -> list[str]:
    return [email for (email,) in conn.execute(_PEOPLE)]


def _feed_events(conn: sqlite3.Connection) -> Iterator[tuple[str, str, list[ics.Stamped]]]:
    """(email key, name, events in calendar order) of each person, one person at a time."""
    rows = conn.execute(_EVENTS)
    for email, group in groupby(rows, key=lambda row: row[0]):
        name = ""
        events: dict[str, ics.Stamped] = {}
        for _, row_name, uid, sequence, stamp, body in group:
            name = name or row_name
            if uid not in events:
                events[uid] = ics.Stamped(ics.CalEvent.from_json(body), sequence,
                                          datetime.fromisoformat(stamp))
        yield email, name, sorted(events.values(),
                                  key=lambda s: (s.event.sort_instant, s.event.uid))


def _tokens(db: sqlite_utils.Database, emails: Iterable[str]) -> dict[str, str]:
    """Each person's token: the stored one, else a new random one, stored now."""
    with write_transaction(db) as conn:
        tokens: dict[str, str] = dict(conn.execute("SELECT email, token FROM feed_tokens"))
        taken = set(tokens.values())
        for email in emails:
            if email in tokens:
                continue
            token = secrets.token_urlsafe(TOKEN_BYTES)
            while token in taken:  # pragma: no cover - 2**-128
                token = secrets.token_urlsafe(TOKEN_BYTES)
            conn.execute("INSERT INTO feed_tokens (email, token) VALUES (?, ?)", (email, token))
            tokens[email] = token
            taken.add(token)
    return tokens
