"""The YAML format, declared once: every mapping of both document kinds, its keys and their types.

The loader takes the keys it allows, which of them are required, and the values of
every choice from here; ``cxc schema`` writes the same declaration as a JSON Schema.
Adding a key to the format is one line below (and one line in the loader that puts its
value in the model).

Keys are listed required first, then optional, each group in the order the loader's
messages name them ("expected one of: ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from cxc import model as m

# -- the types of values ------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Text on one or more lines: not empty once trimmed, no control characters."""


@dataclass(frozen=True)
class Slug:
    """An id: lower-case letters, digits and dashes, starting with a letter or digit."""


@dataclass(frozen=True)
class Integer:
    """A whole number written as a number (not quoted), from ``minimum`` to ``maximum``."""

    minimum: int = 0
    maximum: int = 10_000_000


@dataclass(frozen=True)
class Number:
    """A number (whole or not) from ``low`` to ``high``."""

    low: float
    high: float


@dataclass(frozen=True)
class Boolean:
    """``true`` or ``false``; ``default`` when the key is absent."""

    default: bool


@dataclass(frozen=True)
class Date:
    """A calendar date written ``YYYY-MM-DD``, in :data:`YEARS`."""


@dataclass(frozen=True)
class WallTime:
    """A wall-clock time written ``YYYY-MM-DD HH:MM``, in :data:`YEARS`."""


@dataclass(frozen=True)
class Zone:
    """An IANA time zone name, e.g. ``Europe/Paris``."""


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 alpha-2 country code."""


@dataclass(frozen=True)
class Email:
    """An email address."""


@dataclass(frozen=True)
class Url:
    """An http(s) link."""


@dataclass(frozen=True)
class Choice:
    """One of ``values``; ``default`` when the key is absent (None: no default)."""

    values: tuple[str, ...]
    default: str | None = None


@dataclass(frozen=True)
class ListOf:
    """A list of ``item`` (an empty key is an empty list)."""

    item: Type


@dataclass(frozen=True)
class Pair:
    """A list of exactly two numbers, e.g. ``[latitude, longitude]``."""

    first: Number
    second: Number


@dataclass(frozen=True)
class Counts:
    """A mapping of id to whole number, e.g. partner -> most delegates (an empty key: none)."""

    count: Integer = Integer()


@dataclass(frozen=True)
class Nested:
    """A mapping whose keys the :class:`Shape` declares."""

    shape: Shape
    nullable: bool = False
    """Whether the key may be given empty (the same as leaving it out)."""


Type: TypeAlias = (Text | Slug | Integer | Number | Boolean | Date | WallTime | Zone | Country | Email
        | Url | Choice | ListOf | Pair | Counts | Nested)


# -- mappings and their keys --------------------------------------------------------


@dataclass(frozen=True)
class Key:
    name: str
    type: Type
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Shape:
    """A mapping of the format: what the loader calls it in messages, and its keys."""

    what: str
    keys: tuple[Key, ...]
    description: str = ""
    by_name: dict[str, Key] = field(init=False, repr=False, compare=False)
    required: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The names of the keys that must be given, in order."""
    optional: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The names of the keys that may be left out, in order."""

    def __post_init__(self) -> None:
        # worked out once: the loader asks for them at every mapping it reads
        object.__setattr__(self, "by_name", {k.name: k for k in self.keys})
        object.__setattr__(self, "required", tuple(k.name for k in self.keys if k.required))
        object.__setattr__(self, "optional", tuple(k.name for k in self.keys if not k.required))

    def choices(self, name: str) -> tuple[str, ...]:
        """The values the key ``name`` (a :class:`Choice`) allows."""
        kind = self.by_name[name].type
        assert isinstance(kind, Choice), f"{self.what} `{name}` is not a choice"
        return kind.values

    def default(self, name: str) -> str:
        """The value the key ``name`` (a :class:`Choice` with a default) takes when absent."""
        kind = self.by_name[name].type
        assert isinstance(kind, Choice) and kind.default is not None
        return kind.default


def required(name: str, kind: Type, description: str = "") -> Key:
    return Key(name, kind, True, description)


def optional(name: str, kind: Type, description: str = "") -> Key:
    return Key(name, kind, False, description)


YEARS = range(1970, 2200)
"""The years a date or time may lie in: enough for any partnership, and a bound that keeps
time-zone arithmetic (year 1 in UTC, year 9999 plus a day) and calendars finite."""

DELIVERABLE_KEYS = (
    "study_visits", "cxc", "deep_dive_days", "participants", "participant_days", "smes",
    "organisations", "countries", "cross_border_participations", "organisations_met",
    "promotional_events", "eccp_posts", "strategic_analyses",
)
"""The deliverables a partnership counts (see Reports in PRODUCT.md), in report order."""

_COUNT = Integer()
_TEXTS = ListOf(Text())

# -- the partnership file -----------------------------------------------------------

CONTACT = Shape("contact", (
    optional("name", Text()),
    optional("email", Email()),
    optional("phone", Text()),
), "Who organises the programmes the partner hosts.")

PARTNERSHIP = Shape("partnership", (
    required("id", Slug()),
    required("name", Text()),
    required("start", Date(), "First day of the partnership, YYYY-MM-DD."),
    required("end", Date(), "Last day of the partnership, YYYY-MM-DD."),
    optional("funding", Text(), "The programme that funds it, e.g. COSME."),
), "The partnership: one per store.")

PARTNER = Shape("partner", (
    required("id", Slug()),
    required("name", Text()),
    required("country", Country(), "ISO 3166-1 alpha-2 code, e.g. FR."),
    optional("city", Text()),
    optional("timezone", Zone(), "IANA time zone, e.g. Europe/Paris."),
    optional("contact", Nested(CONTACT)),
), "A cluster of the partnership.")

TARGETS = Shape("targets", tuple(
    optional(key, _COUNT) for key in DELIVERABLE_KEYS
), "Deliverable key -> target count.")

ACTIVITY = Shape("activity", (
    required("kind", Choice(m.ACTIVITY_KINDS)),
    required("partner", Slug(), "The partner id that delivered it."),
    required("date", Date()),
    required("title", Text()),
    optional("url", Url()),
), "A deliverable that is not a programme.")

PARTNERSHIP_FILE = Shape("partnership file", (
    required("partnership", Nested(PARTNERSHIP)),
    optional("partners", ListOf(Nested(PARTNER))),
    optional("targets", Nested(TARGETS, nullable=True)),
    optional("activities", ListOf(Nested(ACTIVITY))),
), "A partnership file: the partnership, its partners, targets and activities.")

# -- a programme file -----------------------------------------------------------------

PROGRAMME = Shape("programme", (
    required("id", Slug()),
    required("kind", Choice(m.PROGRAMME_KINDS)),
    required("title", Text()),
    required("host", Slug(), "The partner id that hosts it."),
    required("country", Country(), "ISO 3166-1 alpha-2 code, e.g. FR."),
    required("timezone", Zone(), "IANA time zone of every time in the file unless it names its own."),
    required("start", Date(), "First day, YYYY-MM-DD."),
    required("end", Date(), "Last day, YYYY-MM-DD."),
    optional("city", Text()),
    optional("status", Choice(m.STATUSES, "planned")),
    optional("capacity", _COUNT, "Most participants the host can receive."),
    optional("quotas", Counts(), "Partner id -> most delegates it may send."),
    optional("themes", _TEXTS),
    optional("min_transfer_minutes", _COUNT,
             "Least gap between sessions at different venues."),
), "The programme: a study visit, a Cluster Exchange or a Deep Dive Day.")

VENUE = Shape("venue", (
    required("id", Slug()),
    required("name", Text()),
    optional("address", Text()),
    optional("capacity", _COUNT),
    optional("geo", Pair(Number(-90, 90), Number(-180, 180)), "[latitude, longitude]"),
))

SESSION = Shape("session", (
    required("id", Slug()),
    required("title", Text()),
    required("start", WallTime(), "YYYY-MM-DD HH:MM, local time."),
    required("end", WallTime(), "YYYY-MM-DD HH:MM, local time."),
    optional("kind", Choice(m.SESSION_KINDS, "other")),
    optional("venue", Slug(), "A venue id of this file."),
    optional("slot", Slug(), "Sessions sharing a slot are alternatives; none: plenary."),
    optional("capacity", _COUNT, "Most attendees, below the venue's."),
    optional("themes", _TEXTS),
    optional("organisations", _TEXTS),
    optional("timezone", Zone(), "The zone of its times (default: the programme's)."),
    optional("description", Text()),
    optional("url", Url()),
))

LEG = Shape("travel leg", (
    required("mode", Choice(m.TRAVEL_MODES)),
    required("from", Text()),
    required("to", Text()),
    required("depart", WallTime(), "YYYY-MM-DD HH:MM, local to depart_timezone."),
    required("arrive", WallTime(), "YYYY-MM-DD HH:MM, local to arrive_timezone."),
    optional("ref", Text(), "Flight or train number."),
    optional("depart_timezone", Zone(), "Default: the programme's zone."),
    optional("arrive_timezone", Zone(), "Default: the programme's zone."),
))

STAY = Shape("stay", (
    required("name", Text()),
    required("check_in", Date()),
    required("check_out", Date()),
    optional("address", Text()),
))

PARTICIPANT = Shape("participant", (
    required("email", Email(), "Identity across programmes (case-insensitive)."),
    required("name", Text()),
    required("partner", Slug(), "The delegation they travel with (a partner id)."),
    optional("organisation", Text()),
    optional("org_type", Choice(m.ORG_TYPES)),
    optional("country", Country()),
    optional("interests", _TEXTS),
    optional("sessions", ListOf(Slug()), "Fixed choices within slots (session ids)."),
    optional("status", Choice(m.REGISTRATION_STATUSES, "registered")),
    optional("attended", Boolean(True), "false records a no-show."),
    optional("travel", ListOf(Nested(LEG))),
    optional("stay", Nested(STAY, nullable=True)),
))

PROGRAMME_FILE = Shape("programme file", (
    required("programme", Nested(PROGRAMME)),
    optional("venues", ListOf(Nested(VENUE))),
    optional("sessions", ListOf(Nested(SESSION))),
    optional("participants", ListOf(Nested(PARTICIPANT))),
), "A programme file: the programme, its venues, sessions and participants.")

DOCUMENTS = (PARTNERSHIP_FILE, PROGRAMME_FILE)
"""The two kinds of file, told apart by their first required key."""
