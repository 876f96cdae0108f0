"""The printable itinerary: one self-contained HTML page per participant, day by day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from cxc import model as m
from cxc.calendars.feeds import SUBSCRIBE_HOW, FeedLinks

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class Item:
    """One line of a day: a session, a leg of travel, a check-in or check-out."""

    time: str
    kind: str
    """``session``, ``travel`` or ``stay``."""
    title: str
    place: str | None = None
    detail: str | None = None
    description: str | None = None
    """The session's own text, as its calendar event carries it (line breaks kept)."""
    url: str | None = None
    sort_key: str = ""


@dataclass(frozen=True)
class Day:
    date: date
    items: tuple[Item, ...]

    @property
    def heading(self) -> str:
        return f"{self.date:%A} {self.date.day} {self.date:%B %Y}"


def _session_item(doc: m.ProgrammeDoc, session: m.Session,
                  venues: Mapping[str, m.Venue]) -> Item:
    venue = venues.get(session.venue or "")
    place = venue.place if venue else doc.programme.city
    detail = []
    if session.organisations:
        detail.append("Meeting " + ", ".join(session.organisations))
    if session.slot:
        detail.append("your group among parallel sessions")
    return Item(
        time=f"{session.start.wall:%H:%M}–{session.end.wall:%H:%M}", kind="session",
        title=session.title, place=place, detail="; ".join(detail) or None,
        description=session.description or None, url=session.url,
        sort_key=session.start.utc.isoformat())


def _session_items(doc: m.ProgrammeDoc) -> list[tuple[m.Session, date, Item]]:
    """Every session of the programme as a line of its local day."""
    venues = {v.id: v for v in doc.venues}
    return [(s, s.start.wall.date(), _session_item(doc, s, venues)) for s in doc.sessions]


def days(person: m.Registration, placed: set[str],
         sessions: Iterable[tuple[m.Session, date, Item]]) -> list[Day]:
    """Everything the person does, grouped by local date and ordered in time.

    ``sessions`` are the programme's, from :func:`_session_items`.
    """
    by_day: dict[date, list[Item]] = {}

    def add(day: date, item: Item) -> None:
        by_day.setdefault(day, []).append(item)

    for session, day, item in sessions:
        if session.plenary or session.id in placed:
            add(day, item)
    for leg in person.travel:
        add(leg.depart.wall.date(), Item(
            time=f"{leg.depart.wall:%H:%M}", kind="travel",
            title=f"{leg.mode.capitalize()}{' ' + leg.ref if leg.ref else ''}: "
                  f"{leg.origin} → {leg.destination}",
            detail=leg_times(leg),
            sort_key=leg.depart.utc.isoformat()))
    if person.stay is not None:
        stay = person.stay
        place = stay.address  # the name is in the line's title
        add(stay.check_in, Item("", "stay", f"Check in: {stay.name}", place,
                                sort_key=f"{stay.check_in}T23:58"))
        add(stay.check_out, Item("", "stay", f"Check out: {stay.name}", place,
                                 sort_key=f"{stay.check_out}T00:00"))
    return [Day(d, tuple(sorted(items, key=lambda i: i.sort_key)))
            for d, items in sorted(by_day.items())]


def duration(minutes: int) -> str:
    """``45 min``, ``1 h 05``."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if hours else f"{rest} min"


def leg_times(leg: m.TravelLeg) -> str:
    """``07:05 (Europe/Tallinn) – 07:10 (Europe/Stockholm), 1 h 05``: each end's zone
    only when they differ, so that a flight east or west does not read as a short hop."""
    zones = leg.depart.zone != leg.arrive.zone
    depart = f"{leg.depart.wall:%H:%M}" + (f" ({leg.depart.zone})" if zones else "")
    arrive = (f"{leg.arrive.wall:%H:%M}" if leg.arrive.wall.date() == leg.depart.wall.date()
              else f"{leg.arrive.wall:%a %d %b %H:%M}") + (f" ({leg.arrive.zone})" if zones else "")
    minutes = int((leg.arrive.utc - leg.depart.utc).total_seconds() // 60)
    return f"{depart} – {arrive}, {duration(minutes)}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("cxc.calendars", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class Pages:
    """The pages of one programme's participants; each session's line is made once for all."""

    def __init__(self, doc: m.ProgrammeDoc, host: m.Partner | None) -> None:
        self.doc = doc
        self.host = host
        self._sessions = _session_items(doc)

    def render(self, person: m.Registration, placed: set[str],
               feed: FeedLinks | None = None) -> str:
        """The page, escaped by the template engine (names come from web forms); with
        ``feed``, the person's subscription links and how to use them."""
        template = _environment().get_template("itinerary.html")
        return template.render(programme=self.doc.programme, person=person,
                               days=days(person, placed, self._sessions), host=self.host,
                               feed=feed, subscribe_how=SUBSCRIBE_HOW)


CANCELLED_BECAUSE = {
    "withdrawn": "You have withdrawn from this programme.",
    "waitlisted": "You are on the waiting list of this programme, without a seat for now.",
    "removed": "You are no longer registered for this programme.",
    "programme": "This programme has been cancelled (or has moved to another id).",
}


def cancelled_page(programme_id: str, title: str, name: str, why: str) -> str:
    """The page left in place of an itinerary that no longer holds: it says so, plainly."""
    template = _environment().get_template("cancelled.html")
    return template.render(programme_id=programme_id, title=title, name=name,
                           reason=CANCELLED_BECAUSE.get(why, CANCELLED_BECAUSE["removed"]))
