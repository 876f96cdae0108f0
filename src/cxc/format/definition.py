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
    """What the key means, in plain words (the reference and the schema show it)."""
    absent: str = ""
    """What leaving the key out means, for the reference ("" for a :class:`Choice` or
    :class:`Boolean`, whose default says it, or for nothing)."""


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


def optional(name: str, kind: Type, description: str = "", *, absent: str = "") -> Key:
    return Key(name, kind, False, description, absent)


YEARS = range(1970, 2200)
"""The years a date or time may lie in: enough for any partnership, and a bound that keeps
time-zone arithmetic (year 1 in UTC, year 9999 plus a day) and calendars finite."""

DELIVERABLES = {
    "study_visits": "the target count of held study visits",
    "cxc": "the target count of held Cluster Exchanges",
    "deep_dive_days": "the target count of held Deep Dive Days",
    "participants": "the target count of distinct people who attended any programme",
    "participant_days": "the target count of attended registrations times the programme's days",
    "smes": "the target count of distinct organisations of type `sme` or `startup` that attended",
    "organisations": "the target count of distinct organisations that attended",
    "countries": "the target count of distinct participant countries",
    "cross_border_participations":
        "the target count of attended registrations whose country differs from the programme's",
    "organisations_met":
        "the target count of distinct organisations named in the sessions of held programmes",
    "promotional_events": "the target count of activities of kind `promotional_event`",
    "eccp_posts": "the target count of activities of kind `eccp_post`",
    "strategic_analyses": "the target count of activities of kind `strategic_analysis`",
}
"""The deliverables a partnership counts (see Reports in PRODUCT.md), in report order, with
what `cxc report` counts for each."""
DELIVERABLE_KEYS = tuple(DELIVERABLES)

_COUNT = Integer()
_TEXTS = ListOf(Text())

# -- the partnership file -----------------------------------------------------------

CONTACT = Shape("contact", (
    optional("name", Text(), "who to ask, e.g. `Programme desk`"),
    optional("email", Email(),
             "the organiser's address in every session's calendar event of the programmes "
             "this partner hosts (a participant's own journeys and stay have no organiser)"),
    optional("phone", Text(),
             "shown on the printable itinerary; quote it (`\"+33 3 00 00 00 00\"`), since an "
             "unquoted `+` number is easy to break"),
), "The desk that organises the programmes the partner hosts.")

PARTNERSHIP = Shape("partnership", (
    required("id", Slug(), "the partnership's id, e.g. `bright`"),
    required("name", Text(), "its full name"),
    required("start", Date(), "first day of the funded period"),
    required("end", Date(),
             "last day of the funded period; every programme must lie within `start`-`end` "
             "(`bad-dates`)"),
    optional("funding", Text(), "the funding programme, e.g. `COSME`; informational"),
), "The partnership: one per store.")

PARTNER = Shape("partner", (
    required("id", Slug(),
             "what programmes call the partner: `host`, `quotas`, a participant's `partner`, "
             "an activity's `partner`; two partners may not share an id (`duplicate-id`)"),
    required("name", Text(), "the cluster's name, shown as the host of its programmes"),
    required("country", Country(), "where the cluster is, e.g. `ES`"),
    optional("city", Text(), "its home city; informational"),
    optional("timezone", Zone(),
             "its home zone; informational (a programme's times use the programme's own "
             "`timezone`)"),
    optional("contact", Nested(CONTACT),
             "the desk that organises the programmes this partner hosts"),
), "A cluster of the partnership.")

TARGETS = Shape("targets", tuple(
    optional(key, _COUNT, meaning, absent="no target") for key, meaning in DELIVERABLES.items()
), "Deliverable key -> target count.")

ACTIVITY = Shape("activity", (
    required("kind", Choice(m.ACTIVITY_KINDS), "what it counts as"),
    required("partner", Slug(),
             "the partner that carried it out (must be one of `partners`: "
             "`unknown-reference`)"),
    required("date", Date(), "when; it is in a report's period when this date is"),
    required("title", Text(), "what it was"),
    optional("url", Url(), "where it can be seen"),
), "A deliverable that is not a programme.")

PARTNERSHIP_FILE = Shape("partnership file", (
    required("partnership", Nested(PARTNERSHIP), "the partnership itself"),
    optional("partners", ListOf(Nested(PARTNER)), "the partner clusters"),
    optional("targets", Nested(TARGETS, nullable=True), "the grant's target counts"),
    optional("activities", ListOf(Nested(ACTIVITY)), "deliverables that are not programmes"),
), "A partnership file: the partnership, its partners, targets and activities.")

# -- a programme file -----------------------------------------------------------------

PROGRAMME = Shape("programme", (
    required("id", Slug(),
             "the programme's identity, and the name of its export folder: moving or renaming "
             "its file keeps its plan and export history, a new id makes a new programme"),
    required("kind", Choice(m.PROGRAMME_KINDS),
             "a study visit (a partner shows its ecosystem to the other partners' staff), a "
             "Cluster Exchange (a delegation of SMEs, start-ups and cluster staff spends several "
             "days in another ecosystem), or a one-day Deep Dive Day; each kind has its rules "
             "(`kind-rules`)"),
    required("title", Text(), "shown in calendars and itineraries"),
    required("host", Slug(), "the partner that hosts it (one of the partnership's `partners`)"),
    required("country", Country(),
             "where it takes place; a participant from another country is a cross-border "
             "participation"),
    required("timezone", Zone(),
             "the zone of every time in the file, unless an item names its own"),
    required("start", Date(), "first day"),
    required("end", Date(), "last day (the same as `start` for a one-day programme)"),
    optional("city", Text(),
             "where it takes place; shown in plans and itineraries, and the place of a session "
             "without a venue"),
    optional("status", Choice(m.STATUSES, "planned"),
             "only `held` programmes count in `cxc report`; a `cancelled` one is kept in the "
             "store but checked by no rule, takes part in no other programme's checks, and is "
             "exported with every event cancelled"),
    optional("capacity", _COUNT,
             "the most participants (seat holders) the host can receive "
             "(`programme-over-capacity`)", absent="no limit"),
    optional("quotas", Counts(),
             "partner id -> the most delegates it may send (`{biocat: 6, stuns: 6}`); a partner "
             "without a quota is not limited (`quota-exceeded`). A partner given twice is an "
             "error.", absent="no quota"),
    optional("themes", _TEXTS, "the programme's themes; informational"),
    optional("min_transfer_minutes", _COUNT,
             "the least gap between two consecutive sessions at different venues "
             "(`tight-transfer`); `0` or absent turns the check off", absent="no check"),
), "The programme: a study visit, a Cluster Exchange or a Deep Dive Day.")

VENUE = Shape("venue", (
    required("id", Slug(), "what sessions call it in their `venue`"),
    required("name", Text(), "shown in plans, calendars (LOCATION) and itineraries"),
    optional("address", Text(), "shown with the name in calendars and itineraries"),
    optional("capacity", _COUNT,
             "the seats of every session held there that does not set its own `capacity`",
             absent="unlimited"),
    optional("geo", Pair(Number(-90, 90), Number(-180, 180)),
             "`[latitude, longitude]`, latitude -90 to 90, longitude -180 to 180; written to the "
             "calendar event (GEO) so phones can show a map"),
), "A place where sessions happen; venue ids are local to the programme file.")

SESSION = Shape("session", (
    required("id", Slug(),
             "unique within the programme; what participants' `sessions` name; part of the "
             "event's UID, so keep it stable once calendars are sent"),
    required("title", Text(), "the event's title"),
    required("start", WallTime(), "when it starts, in the session's zone"),
    required("end", WallTime(),
             "when it ends, after `start`; on a programme day, or on the day after the last day "
             "for a session that starts on the last day (a farewell dinner that ends after "
             "midnight) (`bad-dates`)"),
    optional("kind", Choice(m.SESSION_KINDS, "other"),
             "what sort of session; shown on the itinerary"),
    optional("venue", Slug(), "a venue of this programme (`unknown-reference`)",
             absent="none (the programme's `city` is its place)"),
    optional("slot", Slug(),
             "sessions sharing a slot are alternatives for the same people at the same time",
             absent="none: plenary"),
    optional("capacity", _COUNT,
             "the session's own seats, e.g. a room of 10 within a venue of 40",
             absent="the venue's capacity, else unlimited"),
    optional("themes", _TEXTS,
             "the planner prefers to place people whose `interests` match these (compared "
             "ignoring case)"),
    optional("organisations", _TEXTS,
             "organisations the participants meet there; counted by the `organisations_met` "
             "deliverable (held programmes) and listed in the calendar event"),
    optional("timezone", Zone(),
             "the zone of this session's `start` and `end`, for a session held elsewhere (an "
             "online session hosted from another country, a day trip across a border)",
             absent="the programme's `timezone`"),
    optional("description", Text(),
             "a longer text (line breaks allowed; `>-` or `|` block scalars are handy); in the "
             "calendar event's DESCRIPTION"),
    optional("url", Url(),
             "a page about the session; in the calendar event (URL) and its description"),
), "An event of the programme; without a `slot` it is plenary.")

LEG = Shape("travel leg", (
    required("mode", Choice(m.TRAVEL_MODES), "how"),
    required("from", Text(), "where it departs, e.g. `Barcelona (BCN)`"),
    required("to", Text(), "where it arrives"),
    required("depart", WallTime(), "departure, in `depart_timezone`"),
    required("arrive", WallTime(),
             "arrival, in `arrive_timezone`; not before the departure as an instant (`bad-dates`)"),
    optional("ref", Text(), "a flight or train number, a booking reference: `VY1234`, `TGV`"),
    optional("depart_timezone", Zone(), "the zone of `depart`",
             absent="the programme's `timezone`"),
    optional("arrive_timezone", Zone(), "the zone of `arrive`",
             absent="the programme's `timezone`"),
), "One leg of a participant's journey; each of its two times is local to its own end.")

STAY = Shape("stay", (
    required("name", Text(), "the hotel or residence"),
    required("check_in", Date(), "the day of arrival"),
    required("check_out", Date(), "the day of departure, not before `check_in` (`bad-dates`)"),
    optional("address", Text(), "shown in the calendar and on the itinerary"),
), "A participant's accommodation.")

PARTICIPANT = Shape("participant", (
    required("email", Email(),
             "the person's identity across programmes, in any case (compared after Unicode "
             "normalisation and case-folding)"),
    required("name", Text(),
             "full name; shown on their itinerary, and their export file name is made from it "
             "(transliterated to ASCII) the first time they are exported"),
    required("partner", Slug(),
             "the delegation they travel with: a partner id (`unknown-reference`); counts "
             "against that partner's quota"),
    optional("organisation", Text(),
             "their organisation; counted by `organisations` and `smes`, compared ignoring case "
             "and surrounding spaces"),
    optional("org_type", Choice(m.ORG_TYPES),
             "`sme` and `startup` count as SMEs; in a `cxc`, `large_company`, `public` and "
             "`other` may host but not visit (`ineligible-visitor`)"),
    optional("country", Country(),
             "where they come from; counted by `countries` and `cross_border_participations`"),
    optional("interests", _TEXTS,
             "matched against the sessions' `themes` when placing them in a slot (ignoring case)"),
    optional("sessions", ListOf(Slug()),
             "fixed choices: the session(s) of a slot this person must be placed in. Name one "
             "session per slot; naming two of the same slot is a `slot-infeasible` error; naming "
             "a plenary changes nothing."),
    optional("status", Choice(m.REGISTRATION_STATUSES, "registered"),
             "`registered` holds a seat; `waitlisted` holds no seat while waiting (this version "
             "admits nobody from the waitlist yet: admission by `cxc plan`, in file order, within "
             "the programme's capacity, the partner's quota and every slot's seats, comes with "
             "issue #14); `withdrawn` holds no seat and is placed nowhere; a calendar already "
             "exported for them comes back with every event cancelled at the next export"),
    optional("attended", Boolean(True),
             "recorded after the event: `false` is a no-show, not counted in the report; it "
             "changes neither the plan nor any capacity check"),
    optional("travel", ListOf(Nested(LEG)),
             "their journey there and back; in their calendar, and checked against the sessions "
             "(`misses-sessions`)"),
    optional("stay", Nested(STAY, nullable=True), "their accommodation; in their calendar"),
), "One person's registration in this programme.")

PROGRAMME_FILE = Shape("programme file", (
    required("programme", Nested(PROGRAMME), "the programme itself"),
    optional("venues", ListOf(Nested(VENUE)), "where sessions happen"),
    optional("sessions", ListOf(Nested(SESSION)), "what happens when"),
    optional("participants", ListOf(Nested(PARTICIPANT)), "who comes"),
), "A programme file: the programme, its venues, sessions and participants.")

DOCUMENTS = (PARTNERSHIP_FILE, PROGRAMME_FILE)
"""The two kinds of file, told apart by their first required key."""
