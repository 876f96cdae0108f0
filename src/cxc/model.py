"""The things a coordinator describes in YAML, as typed immutable values.

The loader builds these from files; the store writes them to SQLite and reads
them back, a programme at a time; planning and exports work on them without
knowing where they came from. (The rules ask the store in SQL instead.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from typing import Literal, Protocol, TypeVar, get_args
from unicodedata import normalize
from zoneinfo import ZoneInfo

from cxc.errors import Source as Source  # the one type of place, defined with the errors
from cxc.errors import plural


def identity_key(text: str) -> str:
    """How people (by email) and organisations (by name) are told apart: surrounding
    white space ignored, Unicode NFC, case-folded (``Straße`` and ``STRASSE`` are one)."""
    if text.isascii():  # ASCII is NFC already, and case-folds as it lower-cases
        return text.strip().lower()
    return normalize("NFC", normalize("NFC", text.strip()).casefold())


def is_pseudonym(key: str) -> bool:
    """Whether an email key is the pseudonym of a forgotten person (no file can hold one:
    ``invalid`` has no dot, which the format asks of an email's domain)."""
    return key.startswith("forgotten-") and key.endswith("@invalid")


ProgrammeKind = Literal["study_visit", "cxc", "deep_dive_day"]
ProgrammeStatus = Literal["planned", "confirmed", "held", "cancelled"]
RegistrationStatus = Literal["registered", "waitlisted", "withdrawn"]
ActivityKind = Literal["promotional_event", "eccp_post", "strategic_analysis"]
SessionKind = Literal[
    "visit", "meeting", "pitch", "b2b", "conference", "networking", "meal", "travel", "other",
]

# The same values as tuples, in the order the format lists them (its choices come from here).
PROGRAMME_KINDS: tuple[ProgrammeKind, ...] = get_args(ProgrammeKind)
STATUSES: tuple[ProgrammeStatus, ...] = get_args(ProgrammeStatus)
REGISTRATION_STATUSES: tuple[RegistrationStatus, ...] = get_args(RegistrationStatus)
ACTIVITY_KINDS: tuple[ActivityKind, ...] = get_args(ActivityKind)
SESSION_KINDS: tuple[SessionKind, ...] = get_args(SessionKind)
ORG_TYPES = (
    "sme", "startup", "large_company", "cluster", "research", "hospital", "public", "other",
)
TRAVEL_MODES = ("flight", "train", "bus", "car", "other")
# Organisation types that may host a cxc but not travel in one (ClusterXchange scheme).
HOST_ONLY_ORG_TYPES = ("large_company", "public", "other")


NOWHERE = Source("")


@cache
def zone_info(name: str) -> ZoneInfo:
    """The zone called ``name``, kept for the whole command.

    ZoneInfo's own cache keeps only a few zones that nothing else refers to: going
    through many zones in turn would read their files again and again.
    """
    return ZoneInfo(name)


@dataclass(frozen=True)
class LocalTime:
    """A wall-clock time at a place: what the coordinator wrote, and its IANA zone."""

    wall: datetime
    """Naive wall-clock value, minute precision."""
    zone: str
    """IANA zone name, e.g. ``Europe/Paris``."""

    @classmethod
    def known(cls, wall: datetime, zone: str, utc: datetime) -> LocalTime:
        """A time read back from the store, with the instant computed when it was loaded."""
        time = cls(wall, zone)
        time.__dict__["utc"] = utc  # where cached_property keeps it
        return time

    @cached_property
    def tz(self) -> ZoneInfo:
        return zone_info(self.zone)

    @cached_property
    def aware(self) -> datetime:
        return self.wall.replace(tzinfo=self.tz)

    @cached_property
    def utc(self) -> datetime:
        return self.aware.astimezone(UTC)

    @property
    def exists(self) -> bool:
        """False for a time in the spring-forward gap, which no clock shows."""
        there_and_back = self.utc.astimezone(self.tz).replace(tzinfo=None)
        return there_and_back == self.wall

    def __str__(self) -> str:
        return f"{self.wall:%Y-%m-%d %H:%M} {self.zone}"


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Partnership:
    id: str
    name: str
    funding: str | None
    start: date
    end: date
    source: Source = NOWHERE


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    country: str
    city: str | None
    timezone: str | None
    contact: Contact | None = None
    source: Source = NOWHERE


@dataclass(frozen=True)
class Target:
    key: str
    count: int
    source: Source = NOWHERE


@dataclass(frozen=True)
class Activity:
    kind: ActivityKind
    partner: str
    date: date
    title: str
    url: str | None = None
    source: Source = NOWHERE


@dataclass(frozen=True)
class Quota:
    partner: str
    count: int
    source: Source = NOWHERE


@dataclass(frozen=True)
class Programme:
    id: str
    kind: ProgrammeKind
    title: str
    host: str
    city: str | None
    country: str
    timezone: str
    start: date
    end: date
    status: ProgrammeStatus = "planned"
    capacity: int | None = None
    quotas: tuple[Quota, ...] = ()
    themes: tuple[str, ...] = ()
    min_transfer_minutes: int | None = None
    source: Source = NOWHERE

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Venue:
    id: str
    programme: str
    name: str
    address: str | None = None
    capacity: int | None = None
    geo: tuple[float, float] | None = None
    source: Source = NOWHERE

    @property
    def place(self) -> str:
        """Name and address, as a calendar's LOCATION or a printed page shows them."""
        return ", ".join(x for x in (self.name, self.address) if x)


@dataclass(frozen=True)
class Session:
    id: str
    programme: str
    title: str
    kind: SessionKind
    venue: str | None
    start: LocalTime
    end: LocalTime
    slot: str | None = None
    capacity: int | None = None
    themes: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    description: str | None = None
    url: str | None = None
    source: Source = NOWHERE

    @property
    def plenary(self) -> bool:
        return self.slot is None


@dataclass(frozen=True)
class TravelLeg:
    mode: str
    depart: LocalTime
    arrive: LocalTime
    origin: str
    destination: str
    ref: str | None = None
    source: Source = NOWHERE


@dataclass(frozen=True)
class Stay:
    name: str
    check_in: date
    check_out: date
    address: str | None = None
    source: Source = NOWHERE

    @property
    def place(self) -> str:
        return ", ".join(x for x in (self.name, self.address) if x)


@dataclass(frozen=True)
class Registration:
    """One registration: a person in one programme."""

    programme: str
    email: str
    """As written; identity is :func:`identity_key` of it (see :attr:`key`)."""
    name: str
    partner: str
    organisation: str | None = None
    org_type: str | None = None
    country: str | None = None
    interests: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    attended: bool = True
    travel: tuple[TravelLeg, ...] = ()
    stay: Stay | None = None
    source: Source = NOWHERE
    status: RegistrationStatus = "registered"

    @property
    def key(self) -> str:
        return identity_key(self.email)


@dataclass(frozen=True)
class PartnershipDoc:
    """What one partnership file defines."""

    file: str
    partnership: Partnership
    partners: tuple[Partner, ...] = ()
    targets: tuple[Target, ...] = ()
    activities: tuple[Activity, ...] = ()
    sha256: str | None = field(default=None, compare=False, repr=False)
    """Of the file's bytes, as read (None for a document not read from a file)."""
    stat: str | None = field(default=None, compare=False, repr=False)
    """The file's stat as it was read (see :class:`KnownFile`)."""


@dataclass(frozen=True)
class ProgrammeDoc:
    """What one programme file defines."""

    file: str
    programme: Programme
    venues: tuple[Venue, ...] = ()
    sessions: tuple[Session, ...] = ()
    registrations: tuple[Registration, ...] = ()
    """Everyone listed under ``participants:``, as written: withdrawn and waitlisted too."""
    sha256: str | None = field(default=None, compare=False, repr=False)
    """Of the file's bytes, as read (None for a document read back from the store)."""
    stat: str | None = field(default=None, compare=False, repr=False)
    """The file's stat as it was read (see :class:`KnownFile`)."""

    def seat_holders(self, admitted: Iterable[str] = ()) -> tuple[Registration, ...]:
        """The registrations that take a seat: registered, or waitlisted and in ``admitted``
        (email keys); never a withdrawn or forgotten one."""
        let_in = set(admitted)
        return tuple(p for p in self.registrations if not is_pseudonym(p.key) and (
            p.status == "registered" or (p.status == "waitlisted" and p.key in let_in)))


Document = PartnershipDoc | ProgrammeDoc


@dataclass(frozen=True)
class Unchanged:
    """A file whose bytes hash to what the store holds for it: not parsed again."""

    file: str
    sha256: str
    stat: str | None = None


@dataclass(frozen=True)
class KnownFile:
    """What the store holds of a file it loaded: the sha256 of the bytes (and reader), and
    the file's stat when they were hashed.

    The stat names the reader, device, inode, size, modification and change times: bytes
    cannot be written without changing the change time, which no program can set back, so
    a file whose stat is the one stored has the stored bytes and is not read again. A stat
    is only kept when both times were two seconds old when it was taken: a file written
    within a coarse clock tick of being read is hashed again next time."""

    sha256: str
    stat: str | None = None


FileRead = Document | Unchanged
"""What reading a file gives a load: its document, or word that the store has it already."""


def session_capacity(session: Session, venues: Mapping[str, Venue]) -> int | None:
    """The seats of a session: its own capacity, else its venue's, else unlimited (None)."""
    if session.capacity is not None:
        return session.capacity
    venue = venues.get(session.venue) if session.venue is not None else None
    return venue.capacity if venue is not None else None


class InSlot(Protocol):
    @property
    def slot(self) -> str | None: ...


SessionLike = TypeVar("SessionLike", bound=InSlot)


def slots_of(sessions: Iterable[SessionLike]) -> dict[str, list[SessionLike]]:
    """The parallel sessions grouped by slot, in the order given; plenary sessions left out."""
    slots: dict[str, list[SessionLike]] = {}
    for session in sessions:
        if session.slot is not None:
            slots.setdefault(session.slot, []).append(session)
    return slots


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def seats_phrase(n: int) -> str:
    return plural(n, "seat")


def slot_short_message(slot: str, missing: int, seats: Iterable[tuple[str, int | None]],
                       participants: int) -> str:
    """How `slot-infeasible` says a slot is short, the same from `validate` and `plan`."""
    listed = ", ".join(f"{sid} ({'unlimited' if n is None else n})" for sid, n in seats)
    return (f"slot `{slot}` is {seats_phrase(missing)} short: its sessions {listed} seat "
            f"{participants - missing} of its {participants} participants")


def overfilled_phrase(overfilled: Iterable[tuple[str, int, int]]) -> str:
    """``session (N chose it, capacity C)``, for fixed choices that overfill their session."""
    return "fixed choices overfill " + ", ".join(
        f"{sid} ({chosen} chose it, capacity {capacity})" for sid, chosen, capacity in overfilled)
