"""What each person's next message tells them: their calendar and what changed since the last.

The store remembers, per programme and person, the events last *sent* to them
(``sent_events``), apart from what was *exported*; the versions of the events
(UID, SEQUENCE, DTSTAMP) come from the one history they share
(``exported_events``), through the code export itself uses, so the calendar a
person is mailed is, byte for byte, the one export writes for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from cxc import model as m
from cxc.calendars import ics
from cxc.calendars.export import (
    Slugs,
    calendar_history,
    person_calendar_key,
    person_calendar_name,
    seat_holders,
    stamp_calendar,
)
from cxc.errors import UsageError, plural
from cxc.plan.ready import check_ready
from cxc.store import person_token, read_partners, read_programmes, store_secret

if TYPE_CHECKING:
    import sqlite_utils

COVERED = ("planned", "confirmed")
"""Programme statuses whose people are sent their itineraries; a `cancelled` one is sent
its cancellation, once, by whoever was sent it; a `held` one is over."""

MessageStatus = m.RegistrationStatus | Literal["admitted", "removed"]
"""A person's standing in a message: ``admitted`` from the waitlist, ``removed`` from the file."""


@dataclass(frozen=True)
class Change:
    change: str
    """``added``, ``moved``, ``changed`` or ``cancelled``."""
    uid: str
    summary: str


@dataclass(frozen=True)
class Sent:
    """What a person was last sent of one event."""

    fingerprint: str
    body: str


@dataclass(frozen=True)
class Message:
    """One person's next message about one programme: their calendar and what changed."""

    programme: m.Programme
    email: str
    """Identity key of the person's email."""
    address: str
    """Where the message goes: the email as written."""
    name: str
    slug: str
    status: MessageStatus
    host: m.Partner | None
    calendar: str
    """The calendar's key in the history of event versions."""
    events: tuple[ics.Stamped, ...]
    history: dict[str, ics.History]
    """The history of event versions once this calendar is sent."""
    ics: bytes
    changes: tuple[Change, ...]
    new_slug: tuple[str, str] | None
    """(slug, person) when this message gives the person their file name."""

    @property
    def cancelled(self) -> bool:
        return bool(self.events) and all(s.event.status == "CANCELLED" for s in self.events)


def pending_messages(db: sqlite_utils.Database, programme: str | None,
                     now: datetime | None = None, every_holder: bool = False) -> list[Message]:
    """The messages `cxc send` would send now: one per person whose calendar changed since
    they were last sent it (``every_holder``: every seat holder too), sorted by programme
    and email. Refuses (NotReady) like export. Call it in a read snapshot."""
    now = now or datetime.now(UTC)
    rows = db.conn.execute("SELECT id, file, status FROM programmes ORDER BY id, file").fetchall()
    ever_sent = {pid for (pid,) in db.conn.execute("SELECT DISTINCT programme FROM sent_messages")}
    if programme is not None and programme not in {pid for pid, _, _ in rows}:
        known = ", ".join(sorted({pid for pid, _, _ in rows})) or "none"
        raise UsageError(f"no programme `{programme}` in the store (programmes: {known})")
    seen: set[str] = set()
    files = []
    for pid, file, status in rows:
        if pid in seen or (programme is not None and pid != programme):
            continue
        seen.add(pid)
        if status in COVERED or (status == "cancelled" and pid in ever_sent):
            files.append(file)
    check_ready(db, sorted({pid for pid, file, _ in rows if file in files}))
    partners = read_partners(db)
    secret = store_secret(db)
    slugs = Slugs(db)
    out: list[Message] = []
    for doc in read_programmes(db, files):
        out += _programme_messages(db, doc, partners, secret, slugs, now, every_holder)
    out.sort(key=lambda msg: (msg.programme.id, msg.email))
    return out


def _programme_messages(db: sqlite_utils.Database, doc: m.ProgrammeDoc,
                        partners: dict[str, m.Partner], secret: bytes, slugs: Slugs,
                        now: datetime, every_holder: bool) -> Iterator[Message]:
    prog = doc.programme
    pid, title = prog.id, prog.title
    history = calendar_history(db, pid)
    host = partners.get(prog.host)
    events = ics.ProgrammeEvents(doc, host)
    encoder = ics.CalendarEncoder()
    sent = _sent_events(db, pid)
    people = {email: (address, name) for email, address, name in db.conn.execute(
        "SELECT email, address, name FROM sent_messages WHERE programme = ?", (pid,))}
    statuses = {p.key: p.status for p in doc.registrations}
    seated: set[str] = set()
    for seat in seat_holders(db, doc, secret):
        person = seat.person
        seated.add(person.key)
        before = len(slugs.new)
        slug = slugs(person.key, person.name)
        stamped, updated, data = stamp_calendar(
            encoder, person_calendar_name(title, person.name),
            events.person(person, seat.placed, seat.token), history.get(seat.calendar, {}), now)
        changes = diff(sent.get(person.key, {}), stamped)
        if changes or (every_holder and prog.status in COVERED):
            status = "admitted" if person.status == "waitlisted" else person.status
            yield Message(prog, person.key, person.email, person.name, slug, status, host,
                          seat.calendar, tuple(stamped), updated, data, tuple(changes),
                          slugs.new[-1] if len(slugs.new) > before else None)
    for email, (address, name) in sorted(people.items()):
        if email in seated or m.is_pseudonym(email):
            continue
        key = person_calendar_key(pid, person_token(secret, email))
        stamped, updated, data = stamp_calendar(encoder, title, [], history.get(key, {}), now)
        changes = diff(sent.get(email, {}), stamped)
        if changes:
            yield Message(prog, email, address, name, slugs(email, name),
                          statuses.get(email, "removed"), host, key, tuple(stamped), updated,
                          data, tuple(changes), None)


def _sent_events(db: sqlite_utils.Database, pid: str) -> dict[str, dict[str, Sent]]:
    out: dict[str, dict[str, Sent]] = {}
    for email, uid, fingerprint, body in db.conn.execute(
            "SELECT email, uid, fingerprint, body FROM sent_events WHERE programme = ?", (pid,)):
        out.setdefault(email, {})[uid] = Sent(fingerprint, body)
    return out


def diff(before: dict[str, Sent], now: list[ics.Stamped]) -> list[Change]:
    """What changed, event by event (by UID), from what was last sent to ``now``."""
    out: list[Change] = []
    current = {s.event.uid for s in now}
    for stamped in now:
        e = stamped.event
        old = before.get(e.uid)
        if old is None:
            if e.status != "CANCELLED":
                out.append(Change("added", e.uid, f"{e.summary}, {when(e)}"))
            continue
        if old.fingerprint == e.fingerprint and old.body == e.as_json:
            continue
        prev = ics.CalEvent.from_json(old.body)
        if prev == e:
            continue
        if e.status == "CANCELLED":
            if prev.status != "CANCELLED":
                out.append(Change("cancelled", e.uid, f"{prev.summary}, {when(prev)}"))
        elif prev.status == "CANCELLED":
            out.append(Change("added", e.uid, f"{e.summary}, {when(e)}"))
        elif (prev.start, prev.start_zone, prev.end, prev.end_zone, prev.location) != (
                e.start, e.start_zone, e.end, e.end_zone, e.location):
            out.append(Change("moved", e.uid,
                              f"{e.summary}: {when(prev)}{_at(prev)} → {when(e)}{_at(e)}"))
        else:
            what = [name for name, a, b in (
                ("title", prev.summary, e.summary), ("description", prev.description,
                                                     e.description),
                ("link", prev.url, e.url), ("organiser", prev.organizer_email, e.organizer_email),
                ("place", prev.geo, e.geo), ("reminder", prev.alarm_before_minutes,
                                             e.alarm_before_minutes)) if a != b]
            out.append(Change("changed", e.uid,
                              f"{e.summary}: {', '.join(what) or 'details'} changed"
                              + (f" (was {prev.summary})" if prev.summary != e.summary else "")))
    for uid, old in sorted(before.items()):
        if uid not in current:
            prev = ics.CalEvent.from_json(old.body)
            if prev.status != "CANCELLED":
                out.append(Change("cancelled", uid, f"{prev.summary}, {when(prev)}"))
    return out


def _at(e: ics.CalEvent) -> str:
    return f" at {e.location}" if e.location else ""


def when(e: ics.CalEvent) -> str:
    """``2024-03-28 14:00–16:00`` (24-hour wall clock where it happens), or the days."""
    if e.all_day:
        return f"{e.start} – {e.end}"
    start_day, start_time = e.start.split(" ")
    end_day, end_time = e.end.split(" ")
    zone = f" ({e.start_zone})" if e.start_zone != e.end_zone and e.start_zone else ""
    end = end_time if end_day == start_day else f"{end_day} {end_time}"
    return f"{start_day} {start_time}{zone}–{end}" + (
        f" ({e.end_zone})" if zone and e.end_zone else "")


def changes_payload(messages: list[Message]) -> dict[str, object]:
    return {"people": [
        {"email": msg.address, "programme": msg.programme.id,
         "changes": [{"change": c.change, "uid": c.uid, "summary": c.summary}
                     for c in msg.changes]}
        for msg in messages]}


def changes_json(messages: list[Message]) -> str:
    """``{"people": [{"email", "programme", "changes": [{"change", "uid", "summary"}]}]}``."""
    return json.dumps(changes_payload(messages), ensure_ascii=False, indent=2)


def changes_text(messages: list[Message]) -> str:
    """Per person and programme, one line a change."""
    out = []
    for msg in messages:
        note = {"admitted": ", admitted from the waitlist"}.get(msg.status, "")
        if msg.cancelled:
            note = f", {msg.status}" if msg.programme.status != "cancelled" else (
                ", programme cancelled")
        out.append(f"{msg.address} ({msg.programme.id}{note}): "
                   f"{plural(len(msg.changes), 'change')}")
        out += [f"  {c.change:<9}  {c.summary}" for c in msg.changes]
    return "".join(line + "\n" for line in out)
