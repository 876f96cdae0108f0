"""Calendars: programme and itinerary events, their update history, and .ics bytes.

Three steps, each pure:

1. :func:`programme_events` and :func:`person_events` describe what a calendar
   holds as :class:`CalEvent` values with UIDs derived from programme, session
   and leg ids (never random), so a re-import updates instead of duplicating;
2. :func:`sequence` compares them with what was exported last time (kept in the
   store): an event of which anything changed (time, place, title, status,
   description, URL, organiser, alarm: a client shows them all) gets its
   SEQUENCE raised, one that disappeared comes back ``STATUS:CANCELLED``;
3. :class:`CalendarEncoder` writes RFC 5545 with icalendar: no METHOD (a plain
   snapshot), a fixed PRODID, RRULE-style VTIMEZONEs for every zone used, and
   DTSTAMP taken from the history, so the same data gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from cxc import model as m

if TYPE_CHECKING:
    from icalendar import Event

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

    # Cached properties: one event is shared by the calendars of a whole programme.

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of everything the event holds (:attr:`as_json`), kept in the history.

        Every field is something a client shows (time, place, title, status,
        description, URL, organiser, alarm), so any change is worth a new SEQUENCE;
        :func:`sequence` compares the events themselves, not this.
        """
        return hashlib.sha256(self.as_json.encode()).hexdigest()[:16]

    @cached_property
    def as_json(self) -> str:
        values = {name: getattr(self, name) for name in _CAL_EVENT_FIELDS}
        return json.dumps(values, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CalEvent:
        data = json.loads(text)
        if data.get("geo") is not None:
            data["geo"] = tuple(data["geo"])
        return cls(**data)

    @cached_property
    def starts_at(self) -> date | datetime:
        """DTSTART as icalendar takes it: a date for an all-day event, else an aware datetime."""
        return _moment(self.start, self.start_zone, self.all_day)

    @cached_property
    def ends_at(self) -> date | datetime:
        return _moment(self.end, self.end_zone, self.all_day)

    @cached_property
    def sort_instant(self) -> str:
        """The start in UTC (an all-day event's at midnight), as text that sorts in time order."""
        if self.all_day or self.start_zone is None:
            return self.start + " 00:00"
        return m.LocalTime(datetime.fromisoformat(self.start),
                           self.start_zone).utc.strftime("%Y-%m-%d %H:%M")


_CAL_EVENT_FIELDS = tuple(f.name for f in fields(CalEvent))


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
    """Plain text: what the session is, whom they meet, how to reach the host; links included.

    The same in the programme's calendar (everyone's) and in each person's: one UID, one
    SEQUENCE, one content. A parallel session says it is one of several groups; a
    person's calendar holds only theirs."""
    lines = [session.description] if session.description else []
    lines.append(f"{doc.programme.title} ({doc.programme.id})")
    if session.slot:
        lines.append(f"Parallel session ({session.slot}): one of several groups at this time; "
                     f"your own calendar holds the group you are in.")
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


def _status(doc: m.ProgrammeDoc) -> str:
    return "CANCELLED" if doc.programme.status == "cancelled" else "CONFIRMED"


def _session_event(doc: m.ProgrammeDoc, session: m.Session, host: m.Partner | None,
                   venues: Mapping[str, m.Venue]) -> CalEvent:
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
        status=_status(doc),
    )


def _unique_sessions(doc: m.ProgrammeDoc) -> list[m.Session]:
    seen: set[str] = set()
    out = []
    for s in doc.sessions:
        if s.id not in seen:
            seen.add(s.id)
            out.append(s)
    return out


class ProgrammeEvents:
    """The events of one programme's calendars; each session's is made once for all of them."""

    def __init__(self, doc: m.ProgrammeDoc, host: m.Partner | None) -> None:
        self.doc = doc
        self._host = host
        venues = {v.id: v for v in doc.venues}
        self._sessions = [(s, _session_event(doc, s, host, venues))
                          for s in _unique_sessions(doc)]

    def programme(self) -> list[CalEvent]:
        """Every session of the programme, as everyone may read it: the very events the
        persons' calendars hold."""
        return [event for _, event in self._sessions]

    def person(self, person: m.Registration, placed: Iterable[str], token: str) -> list[CalEvent]:
        """One participant's calendar: plenary sessions, their placed sessions, travel, stay.

        ``token`` tells the person's events apart in UIDs and reveals no email."""
        doc = self.doc
        chosen = set(placed)
        events = [event for session, event in self._sessions
                  if session.plenary or session.id in chosen]
        # The host desk organises the sessions, not the person's own journeys and stay.
        for position, leg in enumerate(person.travel):
            what = f"{leg.mode.capitalize()} {leg.ref + ' ' if leg.ref else ''}"
            events.append(CalEvent(
                uid=_uid(doc.programme.id, "travel", token, str(position)),
                summary=f"{what}{leg.origin} → {leg.destination}",
                start=_wall(leg.depart), start_zone=leg.depart.zone,
                end=_wall(leg.arrive), end_zone=leg.arrive.zone,
                location=leg.origin,
                description="\n".join([
                    (f"{leg.mode.capitalize()}{' ' + leg.ref if leg.ref else ''} from "
                     f"{leg.origin} to {leg.destination}."),
                    (f"Departs {_wall(leg.depart)} ({leg.depart.zone}), arrives "
                     f"{_wall(leg.arrive)} ({leg.arrive.zone})."),
                    f"{doc.programme.title} ({doc.programme.id})",
                ]),
                alarm_before_minutes=int(TRAVEL_ALARM.total_seconds() // 60),
                status=_status(doc),
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
                all_day=True,
                status=_status(doc),
            ))
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
        elif _unchanged(before, event):
            seq, stamp = before.sequence, before.stamp
        else:
            seq, stamp = before.sequence + 1, now
        out.append(Stamped(event, seq, stamp))
        updated[event.uid] = History(event.fingerprint, seq, stamp, event.as_json)
    out.sort(key=lambda s: (s.event.sort_instant, s.event.uid))
    return out, updated


def _unchanged(before: History, event: CalEvent) -> bool:
    """Whether ``event`` is, field for field, the one last exported.

    The text of its JSON first (the usual case, and fast); else the values, so
    that the history of an older cxc, whose JSON lacks a field added since with
    its default value, raises no SEQUENCE by itself.
    """
    if before.body == event.as_json:
        return True
    try:
        return CalEvent.from_json(before.body) == event
    except (TypeError, ValueError):  # a field since removed, or no JSON at all
        return False


def _moment(text: str, zone: str | None, all_day: bool) -> date | datetime:
    if all_day or zone is None:
        return date.fromisoformat(text)
    return m.LocalTime(datetime.fromisoformat(text), zone).aware


class CalendarEncoder:
    """Writes .ics files: VTIMEZONEs for every zone used, then the events, CRLF and folded.

    A programme's sessions are in the calendar of each of its participants:
    icalendar encodes each version of an event (the event, its SEQUENCE and
    DTSTAMP) once and its bytes are reused, as are those of each VTIMEZONE.
    The bytes are those icalendar gives for the whole calendar, which
    serialises its components one after the other. Use one encoder per
    programme, so that what it remembers stays that of one programme.
    """

    def __init__(self) -> None:
        self._events: dict[Stamped, bytes] = {}

    def calendar(self, name: str, events: Sequence[Stamped]) -> bytes:
        from cxc.calendars.vtimezone import vtimezone_bytes

        zones: set[str] = set()
        years: set[int] = set()
        for stamped in events:
            e = stamped.event
            if e.all_day:
                continue
            for zone, moment in ((e.start_zone, e.starts_at), (e.end_zone, e.ends_at)):
                if zone:
                    zones.add(zone)
                    years.add(moment.year)
        parts = [_calendar_head(name)]
        if zones:
            parts += [vtimezone_bytes(zone, min(years), max(years)) for zone in sorted(zones)]
        parts += [self._event_bytes(stamped) for stamped in events]
        parts.append(_CALENDAR_END)
        return b"".join(parts)

    def _event_bytes(self, stamped: Stamped) -> bytes:
        data = self._events.get(stamped)
        if data is None:
            data = self._events[stamped] = bytes(_vevent(stamped).to_ical())
        return data


_CALENDAR_END = b"END:VCALENDAR\r\n"


def _calendar_head(name: str) -> bytes:
    """The calendar's own lines, which come before its components."""
    from icalendar import Calendar, vText

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # icalendar 7.3 takes both as unknown properties and would not escape them:
    # a name with a line break (it holds the person's name) must still be TEXT.
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    data = bytes(cal.to_ical())
    assert data.endswith(_CALENDAR_END)
    return data[:-len(_CALENDAR_END)]


def _vevent(stamped: Stamped) -> Event:
    from icalendar import Alarm, Event, vCalAddress, vText

    e = stamped.event
    event = Event()
    event.add("uid", e.uid)
    event.add("dtstamp", stamped.stamp)
    event.add("dtstart", e.starts_at)
    event.add("dtend", e.ends_at)
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
    return event
