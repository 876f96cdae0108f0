"""Calendars: programme and itinerary events, their update history, and .ics bytes.

Three steps, each pure:

1. :func:`programme_events` and :func:`person_events` describe what a calendar
   holds as :class:`CalEvent` values with UIDs derived from programme, session
   and leg ids (never random), so a re-import updates instead of duplicating;
2. :func:`sequence` compares them with what was exported last time (kept in the
   store): an event whose time, place, title or status changed gets its
   SEQUENCE raised, one that disappeared comes back ``STATUS:CANCELLED``;
3. :func:`calendar_bytes` writes RFC 5545 with icalendar: no METHOD (a plain
   snapshot), a fixed PRODID, RRULE-style VTIMEZONEs for every zone used, and
   DTSTAMP taken from the history, so the same data gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta

from . import model as m

PRODID = "-//cxc//cxc programme manager//EN"
UID_DOMAIN = "cxc.invalid"
TRAVEL_ALARM = timedelta(hours=3)
"""How long before a departure the participant's calendar reminds them."""


@dataclass(frozen=True)
class CalEvent:
    """One event of a calendar, as cxc means it, before any iCalendar encoding."""

    uid: str
    summary: str
    start: str
    """``YYYY-MM-DD HH:MM`` wall clock, or ``YYYY-MM-DD`` for an all-day event."""
    start_zone: str | None
    end: str
    """Exclusive end; same form as ``start``."""
    end_zone: str | None
    location: str | None = None
    geo: tuple[float, float] | None = None
    description: str = ""
    url: str | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    alarm_before_minutes: int | None = None
    all_day: bool = False
    status: str = "CONFIRMED"

    @property
    def fingerprint(self) -> str:
        """What makes a change worth a new SEQUENCE: time, place, title, status."""
        key = [self.summary, self.start, self.start_zone, self.end, self.end_zone,
               self.location, self.status]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CalEvent:
        data = json.loads(text)
        if data.get("geo") is not None:
            data["geo"] = tuple(data["geo"])
        return cls(**data)


@dataclass(frozen=True)
class Stamped:
    """An event with its place in the update history."""

    event: CalEvent
    sequence: int
    stamp: datetime
    """DTSTAMP: when this version of the event was first exported (UTC)."""


@dataclass(frozen=True)
class History:
    """What was last exported for one event of one calendar."""

    fingerprint: str
    sequence: int
    stamp: datetime
    body: str


def _uid(*parts: str) -> str:
    return ".".join(parts) + "@" + UID_DOMAIN


def person_token(email: str) -> str:
    """A stable, non-reversible tag for a person (UIDs and file keys carry no email)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def _wall(t: m.LocalTime) -> str:
    return t.wall.strftime("%Y-%m-%d %H:%M")


def _location(venue: m.Venue | None, fallback: str | None) -> str | None:
    if venue is None:
        return fallback
    return venue.place


def _organizer(host: m.Partner | None) -> tuple[str | None, str | None]:
    if host is None or host.contact is None or not host.contact.email:
        return None, None
    name = host.contact.name or host.name
    return (f"{name}, {host.name}" if host.contact.name else name), host.contact.email


def session_description(doc: m.ProgrammeDoc, session: m.Session,
                        host: m.Partner | None) -> str:
    """Plain text: what the session is, whom they meet, how to reach the host; links included."""
    lines = [session.description] if session.description else []
    lines.append(f"{doc.programme.title} ({doc.programme.id})")
    if session.slot:
        lines.append(f"Parallel session ({session.slot}); you were placed in this group.")
    if session.organisations:
        lines.append("You meet: " + ", ".join(session.organisations) + ".")
    if session.themes:
        lines.append("Themes: " + ", ".join(session.themes) + ".")
    if host is not None:
        contact = host.contact
        reach = [x for x in (contact.name, contact.email, contact.phone) if x] if contact else []
        lines.append(f"Host: {host.name}" + (f" ({', '.join(reach)})" if reach else "") + ".")
    if session.url:
        lines.append(session.url)
    return "\n".join(line.strip() for line in lines)


def session_event(doc: m.ProgrammeDoc, session: m.Session, host: m.Partner | None) -> CalEvent:
    venues = {v.id: v for v in doc.venues}
    venue = venues.get(session.venue or "")
    name, email = _organizer(host)
    return CalEvent(
        uid=_uid(doc.programme.id, "session", session.id),
        summary=session.title,
        start=_wall(session.start), start_zone=session.start.zone,
        end=_wall(session.end), end_zone=session.end.zone,
        location=_location(venue, doc.programme.city),
        geo=venue.geo if venue else None,
        description=session_description(doc, session, host),
        url=session.url,
        organizer_name=name, organizer_email=email,
        status="CANCELLED" if doc.programme.status == "cancelled" else "CONFIRMED",
    )


def programme_events(doc: m.ProgrammeDoc, host: m.Partner | None) -> list[CalEvent]:
    """Every session of a programme."""
    return [session_event(doc, s, host) for s in _unique_sessions(doc)]


def _unique_sessions(doc: m.ProgrammeDoc) -> list[m.Session]:
    seen: set[str] = set()
    out = []
    for s in doc.sessions:
        if s.id not in seen:
            seen.add(s.id)
            out.append(s)
    return out


def person_events(doc: m.ProgrammeDoc, person: m.Participant, placed: Iterable[str],
                  host: m.Partner | None) -> list[CalEvent]:
    """One participant's calendar: plenary sessions, their placed sessions, travel, stay."""
    chosen = set(placed)
    events = [session_event(doc, s, host) for s in _unique_sessions(doc)
              if s.plenary or s.id in chosen]
    token = person_token(person.email)
    name, email = _organizer(host)
    for position, leg in enumerate(person.travel):
        what = f"{leg.mode.capitalize()} {leg.ref + ' ' if leg.ref else ''}"
        events.append(CalEvent(
            uid=_uid(doc.programme.id, "travel", token, str(position)),
            summary=f"{what}{leg.origin} → {leg.destination}",
            start=_wall(leg.depart), start_zone=leg.depart.zone,
            end=_wall(leg.arrive), end_zone=leg.arrive.zone,
            location=leg.origin,
            description="\n".join([
                f"{leg.mode.capitalize()}{' ' + leg.ref if leg.ref else ''} from {leg.origin} "
                f"to {leg.destination}.",
                f"Departs {_wall(leg.depart)} ({leg.depart.zone}), arrives {_wall(leg.arrive)} "
                f"({leg.arrive.zone}).",
                f"{doc.programme.title} ({doc.programme.id})",
            ]),
            organizer_name=name, organizer_email=email,
            alarm_before_minutes=int(TRAVEL_ALARM.total_seconds() // 60),
        ))
    if person.stay is not None:
        stay = person.stay
        end = max(stay.check_out, stay.check_in + timedelta(days=1))
        events.append(CalEvent(
            uid=_uid(doc.programme.id, "stay", token),
            summary=f"Stay: {stay.name}",
            start=stay.check_in.isoformat(), start_zone=None,
            end=end.isoformat(), end_zone=None,
            location=stay.place,
            description=f"Check-in {stay.check_in}, check-out {stay.check_out}.\n"
                        f"{doc.programme.title} ({doc.programme.id})",
            organizer_name=name, organizer_email=email,
            all_day=True,
        ))
    if doc.programme.status == "cancelled":
        events = [replace(e, status="CANCELLED") for e in events]
    return events


def sequence(events: Sequence[CalEvent], history: Mapping[str, History],
             now: datetime) -> tuple[list[Stamped], dict[str, History]]:
    """Number this export's events against the last one; bring back removed ones cancelled."""
    now = now.astimezone(UTC).replace(microsecond=0)
    out: list[Stamped] = []
    updated: dict[str, History] = {}
    current = {e.uid: e for e in events}
    cancelled = [
        replace(CalEvent.from_json(h.body), status="CANCELLED")
        for uid, h in history.items() if uid not in current
    ]
    for event in [*current.values(), *cancelled]:
        before = history.get(event.uid)
        if before is None:
            seq, stamp = 0, now
        elif before.fingerprint == event.fingerprint:
            seq, stamp = before.sequence, before.stamp
        else:
            seq, stamp = before.sequence + 1, now
        out.append(Stamped(event, seq, stamp))
        updated[event.uid] = History(event.fingerprint, seq, stamp, event.as_json())
    out.sort(key=lambda s: (_sort_instant(s.event), s.event.uid))
    return out, updated


def _sort_instant(event: CalEvent) -> str:
    if event.all_day or event.start_zone is None:
        return event.start + " 00:00"
    return m.LocalTime(datetime.fromisoformat(event.start),
                       event.start_zone).utc.strftime("%Y-%m-%d %H:%M")


def _moment(text: str, zone: str | None, all_day: bool) -> date | datetime:
    if all_day or zone is None:
        return date.fromisoformat(text)
    return m.LocalTime(datetime.fromisoformat(text), zone).aware


def calendar_bytes(name: str, events: Sequence[Stamped]) -> bytes:
    """The .ics file: VTIMEZONEs for every zone used, then the events, CRLF and folded."""
    from icalendar import Alarm, Calendar, Event, vCalAddress, vText

    from .vtimezone import add_vtimezones

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # icalendar 7.3 takes both as unknown properties and would not escape them:
    # a name with a line break (it holds the person's name) must still be TEXT.
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    zones: set[str] = set()
    years: set[int] = set()
    for stamped in events:
        e = stamped.event
        event = Event()
        event.add("uid", e.uid)
        event.add("dtstamp", stamped.stamp)
        start = _moment(e.start, e.start_zone, e.all_day)
        end = _moment(e.end, e.end_zone, e.all_day)
        event.add("dtstart", start)
        event.add("dtend", end)
        for zone, moment in ((e.start_zone, start), (e.end_zone, end)):
            if zone and not e.all_day:
                zones.add(zone)
                years.add(moment.year)
        event.add("sequence", stamped.sequence)
        event.add("status", e.status)
        event.add("summary", e.summary)
        if e.location:
            event.add("location", e.location)
        if e.geo is not None:
            event.add("geo", e.geo)
        if e.description:
            event.add("description", e.description)
        if e.url:
            event.add("url", e.url)
        if e.organizer_email:
            organizer = vCalAddress(f"mailto:{e.organizer_email}")
            if e.organizer_name:
                organizer.params["CN"] = vText(e.organizer_name)
            event.add("organizer", organizer)
        event.add("transp", "TRANSPARENT" if e.all_day else "OPAQUE")
        if e.alarm_before_minutes is not None and e.status != "CANCELLED":
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"Reminder: {e.summary}")
            alarm.add("trigger", timedelta(minutes=-e.alarm_before_minutes))
            event.add_component(alarm)
        cal.add_component(event)
    if zones:
        add_vtimezones(cal, sorted(zones), min(years), max(years))
    return bytes(cal.to_ical())

