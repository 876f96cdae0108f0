"""The YAML format of PRODUCT.md: files on disk -> typed documents.

Every problem of a file is collected with its line and column, then raised at
once as a :class:`FormatError`. What the format cannot say (a venue that does
not exist, a quota exceeded) is left to the rules.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from cxc import model as m
from cxc.errors import FormatError, Problem, UsageError
from cxc.format import definition as d
from cxc.format.countries import EU_ALIASES, EUROPE, ISO_COUNTRIES
from cxc.format.definition import YEARS
from cxc.format.yamlnodes import (
    NULL_TAG,
    decode,
    describe,
    is_mapping,
    is_null,
    is_scalar,
    is_sequence,
    kind,
    parse_text,
    place,
    quoted,
    read_raw,
)
from cxc.progress import Progress, no_progress

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node, ScalarNode

T = TypeVar("T")

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
WALL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})\Z", re.ASCII)
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Characters no text value may hold (tabs and line breaks may: descriptions have them)."""

@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def yaml_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named by PATHs, folders searched recursively, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(
                p for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml") and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def display_name(path: Path) -> str:
    """The path as a user should read it: relative to the current folder when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def read_documents(
    paths: Sequence[Path], progress: Progress = no_progress,
    keys: Mapping[Path, str] | None = None, known: Mapping[str, m.KnownFile] | None = None,
) -> Iterator[m.FileRead]:
    """Each file's document in turn, while every file so far is well formed.

    After a broken file the others are still read, for their problems, but no
    longer yielded; at the end one FormatError carries the problems of all files.
    ``progress`` hears (files read, files in all) after each file. ``keys`` names each
    path as the store does (default: its absolute path). ``known`` maps a key to what the
    store last loaded from it: a file whose stat or bytes are still those is not parsed, and
    comes as :class:`~cxc.model.Unchanged` (a new mtime alone is no change).
    """
    problems: list[Problem] = []
    for count, path in enumerate(paths, 1):
        key = (keys.get(path) if keys else None) or str(path.resolve())
        try:
            document = read_file(path, key, known or {})
        except FormatError as exc:
            problems.extend(exc.problems)
        else:
            if not problems:
                yield document
        progress(count, len(paths))
    if problems:
        raise FormatError(problems)


READER_VERSION = b"cxc-reader-1\n"
"""Mixed into a file's stored digest: raise it when the same bytes come to be read
differently (a new key, another default), so that every file is read again once."""


def read_file(path: Path, key: str | None = None,
              known: Mapping[str, m.KnownFile] | None = None) -> m.FileRead:
    """One file's document (with the sha256 of its bytes and its stat), or Unchanged when
    ``known`` holds for its ``key`` that stat (the file is not read) or that sha256."""
    display = display_name(path)
    file_id = key or str(path.resolve())
    seen = unchanged(path, file_id, (known or {}).get(file_id))
    if isinstance(seen, m.Unchanged):
        return seen
    raw, digest, stat = seen
    document = parse_document(parse_text(decode(raw, display), display), display, file_id)
    return replace(document, sha256=digest, stat=stat)


def unchanged(path: Path, key: str, stored: m.KnownFile | None,
              ) -> m.Unchanged | tuple[bytes, str, str | None]:
    """Unchanged when the file is what ``stored`` says (its stat, else its bytes' sha256),
    else its bytes, their sha256 and its stat, to parse: nothing is parsed here."""
    stat = file_stat(path)  # before the bytes: a write while they are read changes the next
    if stored is not None and stat is not None and stored.stat == stat:
        return m.Unchanged(key, stored.sha256, stat)
    raw = read_raw(path, display_name(path))
    digest = hashlib.sha256(READER_VERSION + raw).hexdigest()
    if stored is not None and stored.sha256 == digest:
        return m.Unchanged(key, digest, stat)
    return raw, digest, stat


TRUSTED_AGE_NS = 2_000_000_000
"""How old a file's modification and change times must be for its stat to stand for its
bytes: more than the coarsest clock tick of the file systems cxc may read (FAT's 2 s)."""


def file_stat(path: Path) -> str | None:
    """The file's stat as :class:`~cxc.model.KnownFile` keeps it, or None when it cannot
    stand for the bytes: unreadable, or written too recently."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) < TRUSTED_AGE_NS:
        return None
    return (f"{READER_VERSION.decode().strip()} {info.st_dev} {info.st_ino} {info.st_size} "
            f"{info.st_mtime_ns} {info.st_ctime_ns}")


def parse_document(root: Node | None, display: str, file_id: str) -> m.Document:
    """Turn the marked YAML tree of one file into a document, or raise every problem."""
    reader = _Reader(display, file_id)
    if root is None:
        raise FormatError([Problem(
            display, "empty file: expected a `partnership:` or a `programme:` document")])
    if not is_mapping(root):
        raise FormatError([Problem(
            display, f"expected a mapping with `partnership:` or `programme:` at the top, "
            f"found {describe(root)}", *place(root))])
    keys = {k.value for k, _ in root.value}
    document: m.Document | None
    if "programme" in keys and "partnership" not in keys:
        document = reader.programme_doc(root)
    elif "partnership" in keys and "programme" not in keys:
        document = reader.partnership_doc(root)
    elif "programme" in keys:
        reader.problem(root, "a file holds either a `partnership:` or a `programme:`, not both")
        document = None
    else:
        reader.problem(root, "expected a top-level `partnership:` or `programme:` key")
        document = None
    if reader.problems or document is None:
        raise FormatError(sorted(reader.problems, key=lambda p: (p.line, p.column)))
    return document


class _Reader:
    """Typed accessors over marked nodes that record problems instead of stopping."""

    def __init__(self, display: str, file_id: str) -> None:
        self.display = display
        self.file_id = file_id
        self.problems: list[Problem] = []

    # -- places and problems -------------------------------------------------

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(self.display, message, *place(node)))

    def source(self, node: Node) -> m.Source:
        return m.Source(self.file_id, *place(node))

    # -- structure -----------------------------------------------------------

    def fields(
        self, node: Node, what: str, required: tuple[str, ...], optional: tuple[str, ...] = (),
    ) -> dict[str, Node] | None:
        """The keys of a mapping, after checking required, unknown and repeated keys."""
        if not is_mapping(node):
            self.problem(node, f"{what} must be a mapping, found {describe(node)}")
            return None
        allowed = required + optional
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = key.value
            if name in found:
                self.problem(key, f"{what}: `{name}` is given twice")
            elif name not in allowed:
                hint = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                suggestion = f"; did you mean `{hint[0]}`?" if hint else (
                    f"; expected one of: {', '.join(allowed)}")
                self.problem(key, f"{what}: unknown key `{name}`{suggestion}")
            else:
                found[name] = value
        missing = [k for k in required if k not in found]
        for name in missing:
            self.problem(node, f"{what}: missing required key `{name}`")
        return found

    def shape(self, node: Node, shape: d.Shape) -> dict[str, Node] | None:
        """The keys of a mapping the definition declares as ``shape``, after checking them."""
        return self.fields(node, shape.what, shape.required, shape.optional)

    def items(self, node: Node | None, what: str) -> list[Node]:
        if node is None or is_null(node):
            return []
        if not is_sequence(node):
            self.problem(node, f"{what} must be a list, found {describe(node)}")
            return []
        items: list[Node] = node.value
        return items

    def each(
        self, node: Node | None, what: str, read: Callable[[Node], T | None],
    ) -> tuple[T, ...]:
        out: list[T] = []
        for item in self.items(node, what):
            value = read(item)
            if value is not None:
                out.append(value)
        return tuple(out)

    # -- scalars -------------------------------------------------------------

    def _scalar(self, node: Node, what: str, expected: str) -> ScalarNode | None:
        if not is_scalar(node):
            self.problem(node, f"{what} must be {expected}, found {describe(node)}")
            return None
        if node.tag == NULL_TAG:
            self.problem(node, f"{what} must be {expected}, found nothing")
            return None
        return node

    def text(self, node: Node | None, what: str) -> str | None:
        if node is None:
            return None
        scalar = self._scalar(node, what, "text")
        if scalar is None:
            return None
        value: str = scalar.value.strip()
        if not value:
            self.problem(node, f"{what} must not be empty")
            return None
        control = CONTROL.search(value)
        if control:
            self.problem(node, f"{what} holds the control character "
                         f"{control.group()!r}, which calendars and terminals cannot show")
            return None
        return value

    def slug(self, node: Node | None, what: str) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if not SLUG.match(value):
            self.problem(node, f"{what} `{value}` is not an id: use lower-case letters, digits "
                         f"and dashes, starting with a letter or digit (e.g. "
                         f"`{_slugify(value) or 'my-id'}`)")
            return None
        return value

    def integer(self, node: Node | None, what: str, minimum: int = 0) -> int | None:
        if node is None:
            return None
        scalar = self._scalar(node, what, "a whole number")
        if scalar is None:
            return None
        if kind(scalar) != "int" or quoted(scalar):
            self.problem(node, f"{what} must be a whole number, found `{scalar.value}`")
            return None
        try:
            value = int(scalar.value.replace("_", ""), 0)
        except ValueError:
            self.problem(node, f"{what} must be a whole number, found `{scalar.value}`")
            return None
        if value < minimum:
            self.problem(node, f"{what} must be at least {minimum}, found {value}")
            return None
        if value > 10_000_000:
            self.problem(node, f"{what} is implausibly large ({value})")
            return None
        return value

    def number(self, node: Node, what: str, low: float, high: float) -> float | None:
        scalar = self._scalar(node, what, "a number")
        if scalar is None:
            return None
        if kind(scalar) not in ("int", "float") or quoted(scalar):
            self.problem(node, f"{what} must be a number, found `{scalar.value}`")
            return None
        try:
            value = float(scalar.value.replace("_", ""))
        except ValueError:
            self.problem(node, f"{what} must be a number, found `{scalar.value}`")
            return None
        if not low <= value <= high:
            self.problem(node, f"{what} must be between {low:g} and {high:g}, found {value:g}")
            return None
        return value

    def boolean(self, node: Node | None, what: str, default: bool) -> bool:
        if node is None:
            return default
        scalar = self._scalar(node, what, "true or false")
        if scalar is None:
            return default
        if kind(scalar) != "bool" or quoted(scalar):
            self.problem(node, f"{what} must be true or false, found `{scalar.value}`")
            return default
        return scalar.value.lower() in ("true", "yes", "on", "y")

    def day(self, node: Node | None, what: str) -> date | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        match = ISO_DATE.match(value)
        if not match:
            self.problem(node, f"{what} must be a date written YYYY-MM-DD, found `{value}`")
            return None
        try:
            year, month, day = map(int, match.groups())
            result = date(year, month, day)
        except ValueError as exc:
            self.problem(node, f"{what} `{value}` is not a calendar date ({exc})")
            return None
        return result if self._in_years(node, what, value, year) else None

    def wall_time(self, node: Node | None, what: str) -> datetime | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        match = WALL_TIME.match(value)
        if not match:
            self.problem(node, f"{what} must be a time written YYYY-MM-DD HH:MM, found `{value}`")
            return None
        try:
            year, month, day, hour, minute = map(int, match.groups())
            result = datetime(year, month, day, hour, minute)
        except ValueError as exc:
            self.problem(node, f"{what} `{value}` is not a real time ({exc})")
            return None
        return result if self._in_years(node, what, value, year) else None

    def _in_years(self, node: Node, what: str, value: str, year: int) -> bool:
        if year in YEARS:
            return True
        self.problem(node, f"{what} `{value}` is out of range: years {YEARS.start} to "
                     f"{YEARS.stop - 1} only")
        return False

    def zone(self, node: Node | None, what: str,
             country: str | None = None, city: str | None = None) -> str | None:
        """An IANA zone; ``country`` and ``city`` (where the zone applies) help the suggestion."""
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if value not in _known_zones():
            self.problem(node, f"{what} `{value}` is not an IANA time zone"
                         f"{zone_suggestion(value, country, city)}")
            return None
        return value

    def country(self, node: Node | None, what: str) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if value not in ISO_COUNTRIES:
            hint = country_code(value)
            suggestion = f"; did you mean `{hint}`?" if hint else " (e.g. FR, DE, ES)"
            self.problem(node, f"{what} `{value}` is not an ISO 3166-1 alpha-2 code{suggestion}")
            return None
        return value

    def choice(self, node: Node | None, what: str, values: tuple[str, ...]) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if value not in values:
            hint = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
            suggestion = f"did you mean `{hint[0]}`?" if hint else f"one of: {', '.join(values)}"
            self.problem(node, f"{what} `{value}` is not allowed; {suggestion}")
            return None
        return value

    def email(self, node: Node | None, what: str) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if not EMAIL.match(value):
            self.problem(node, f"{what} `{value}` is not an email address")
            return None
        return value

    def url(self, node: Node | None, what: str) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if not re.match(r"https?://\S+\Z", value):
            self.problem(node, f"{what} `{value}` is not an http(s) link")
            return None
        return value

    def texts(self, node: Node | None, what: str) -> tuple[str, ...]:
        return self.each(node, what, lambda item: self.text(item, f"{what} entry"))

    def slugs(self, node: Node | None, what: str) -> tuple[str, ...]:
        return self.each(node, what, lambda item: self.slug(item, f"{what} entry"))

    # -- the partnership file --------------------------------------------------

    def partnership_doc(self, root: MappingNode) -> m.PartnershipDoc | None:
        top = self.shape(root, d.PARTNERSHIP_FILE)
        if top is None:
            return None
        partnership = self.partnership(top["partnership"]) if "partnership" in top else None
        partners = self.each(top.get("partners"), "partners", self.partner)
        targets = self.targets(top.get("targets"))
        activities = self.each(top.get("activities"), "activities", self.activity)
        if partnership is None:
            return None
        return m.PartnershipDoc(self.file_id, partnership, partners, targets, activities)

    def partnership(self, node: Node) -> m.Partnership | None:
        f = self.shape(node, d.PARTNERSHIP)
        if f is None:
            return None
        pid = self.slug(f.get("id"), "partnership id")
        name = self.text(f.get("name"), "partnership name")
        funding = self.text(f.get("funding"), "funding")
        start = self.day(f.get("start"), "partnership start")
        end = self.day(f.get("end"), "partnership end")
        if pid is None or name is None or start is None or end is None:
            return None
        return m.Partnership(pid, name, funding, start, end, self.source(node))

    def partner(self, node: Node) -> m.Partner | None:
        f = self.shape(node, d.PARTNER)
        if f is None:
            return None
        pid = self.slug(f.get("id"), "partner id")
        name = self.text(f.get("name"), "partner name")
        country = self.country(f.get("country"), "partner country")
        city = self.text(f.get("city"), "partner city")
        zone = self.zone(f.get("timezone"), "partner timezone", country, city)
        contact = self.contact(f["contact"]) if "contact" in f else None
        if pid is None or name is None or country is None:
            return None
        return m.Partner(pid, name, country, city, zone, contact, self.source(node))

    def contact(self, node: Node) -> m.Contact | None:
        f = self.shape(node, d.CONTACT)
        if f is None:
            return None
        return m.Contact(self.text(f.get("name"), "contact name"),
                         self.email(f.get("email"), "contact email"),
                         self.text(f.get("phone"), "contact phone"))

    def targets(self, node: Node | None) -> tuple[m.Target, ...]:
        if node is None or is_null(node):
            return ()
        if not is_mapping(node):
            self.problem(node, f"targets must be a mapping of deliverable key to count, "
                         f"found {describe(node)}")
            return ()
        self.shape(node, d.TARGETS)
        out = []
        for key, value in node.value:
            count = self.integer(value, f"target `{key.value}`")
            if key.value in d.TARGETS.by_name and count is not None:
                out.append(m.Target(key.value, count, self.source(key)))
        return tuple(out)

    def activity(self, node: Node) -> m.Activity | None:
        f = self.shape(node, d.ACTIVITY)
        if f is None:
            return None
        kind = self.choice(f.get("kind"), "activity kind", d.ACTIVITY.choices("kind"))
        partner = self.slug(f.get("partner"), "activity partner")
        day = self.day(f.get("date"), "activity date")
        title = self.text(f.get("title"), "activity title")
        url = self.url(f.get("url"), "activity url")
        if kind is None or partner is None or day is None or title is None:
            return None
        return m.Activity(cast(m.ActivityKind, kind), partner, day, title, url, self.source(node))

    # -- a programme file ------------------------------------------------------

    def programme_doc(self, root: MappingNode) -> m.ProgrammeDoc | None:
        top = self.shape(root, d.PROGRAMME_FILE)
        if top is None:
            return None
        programme = self.programme(top["programme"]) if "programme" in top else None
        pid = programme.id if programme else "?"
        zone = programme.timezone if programme else None
        venues = self.each(top.get("venues"), "venues", lambda n: self.venue(n, pid))
        sessions = self.each(top.get("sessions"), "sessions",
                             lambda n: self.session(n, pid, zone))
        participants = self.each(top.get("participants"), "participants",
                                 lambda n: self.participant(n, pid, zone))
        if programme is None:
            return None
        return m.ProgrammeDoc(self.file_id, programme, venues, sessions, participants)

    def programme(self, node: Node) -> m.Programme | None:
        f = self.shape(node, d.PROGRAMME)
        if f is None:
            return None
        pid = self.slug(f.get("id"), "programme id")
        kind = self.choice(f.get("kind"), "programme kind", d.PROGRAMME.choices("kind"))
        title = self.text(f.get("title"), "programme title")
        host = self.slug(f.get("host"), "programme host")
        city = self.text(f.get("city"), "programme city")
        country = self.country(f.get("country"), "programme country")
        zone = self.zone(f.get("timezone"), "programme timezone", country, city)
        start = self.day(f.get("start"), "programme start")
        end = self.day(f.get("end"), "programme end")
        status = (self.choice(f.get("status"), "programme status", d.PROGRAMME.choices("status"))
                  or d.PROGRAMME.default("status"))
        capacity = self.integer(f.get("capacity"), "programme capacity")
        quotas = self.quotas(f.get("quotas"))
        themes = self.texts(f.get("themes"), "themes")
        transfer = self.integer(f.get("min_transfer_minutes"), "min_transfer_minutes")
        if None in (pid, kind, title, host, country, zone, start, end):
            return None
        assert pid and kind and title and host and country and zone and start and end
        return m.Programme(pid, cast(m.ProgrammeKind, kind), title, host, city, country, zone,
                           start, end, cast(m.ProgrammeStatus, status), capacity, quotas,
                           themes, transfer, self.source(node))

    def quotas(self, node: Node | None) -> tuple[m.Quota, ...]:
        if node is None or is_null(node):
            return ()
        if not is_mapping(node):
            self.problem(node, f"quotas must be a mapping of partner id to count, "
                         f"found {describe(node)}")
            return ()
        out = []
        seen: set[str] = set()
        for key, value in node.value:
            partner = self.slug(key, "quota partner")
            count = self.integer(value, f"quota of `{key.value}`")
            if key.value in seen:
                self.problem(key, f"quotas: `{key.value}` is given twice")
            seen.add(key.value)
            if partner is not None and count is not None:
                out.append(m.Quota(partner, count, self.source(key)))
        return tuple(out)

    def venue(self, node: Node, programme: str) -> m.Venue | None:
        f = self.shape(node, d.VENUE)
        if f is None:
            return None
        vid = self.slug(f.get("id"), "venue id")
        name = self.text(f.get("name"), "venue name")
        address = self.text(f.get("address"), "venue address")
        capacity = self.integer(f.get("capacity"), "venue capacity")
        geo = self.geo(f["geo"]) if "geo" in f else None
        if vid is None or name is None:
            return None
        return m.Venue(vid, programme, name, address, capacity, geo, self.source(node))

    def geo(self, node: Node) -> tuple[float, float] | None:
        if not is_sequence(node) or len(node.value) != 2:
            self.problem(node, "geo must be a list of two numbers: [latitude, longitude]")
            return None
        lat = self.number(node.value[0], "latitude", -90, 90)
        lon = self.number(node.value[1], "longitude", -180, 180)
        if lat is None or lon is None:
            return None
        return (lat, lon)

    def local_time(self, node: Node | None, what: str, zone: str | None) -> m.LocalTime | None:
        wall = self.wall_time(node, what)
        if wall is None or zone is None:
            return None
        return m.LocalTime(wall, zone)

    def session(self, node: Node, programme: str, default_zone: str | None) -> m.Session | None:
        f = self.shape(node, d.SESSION)
        if f is None:
            return None
        sid = self.slug(f.get("id"), "session id")
        title = self.text(f.get("title"), "session title")
        kind = (self.choice(f.get("kind"), "session kind", d.SESSION.choices("kind"))
                or d.SESSION.default("kind"))
        venue = self.slug(f.get("venue"), "session venue")
        zone = self.zone(f.get("timezone"), "session timezone") if "timezone" in f else (
            default_zone)
        start = self.local_time(f.get("start"), "session start", zone)
        end = self.local_time(f.get("end"), "session end", zone)
        slot = self.slug(f.get("slot"), "slot")
        capacity = self.integer(f.get("capacity"), "session capacity")
        themes = self.texts(f.get("themes"), "themes")
        organisations = self.texts(f.get("organisations"), "organisations")
        description = self.text(f.get("description"), "session description")
        url = self.url(f.get("url"), "session url")
        if sid is None or title is None or start is None or end is None:
            return None
        return m.Session(sid, programme, title, cast(m.SessionKind, kind), venue, start, end,
                         slot, capacity, themes, organisations, description, url,
                         self.source(node))

    def participant(
        self, node: Node, programme: str, default_zone: str | None,
    ) -> m.Registration | None:
        f = self.shape(node, d.PARTICIPANT)
        if f is None:
            return None
        email = self.email(f.get("email"), "participant email")
        name = self.text(f.get("name"), "participant name")
        partner = self.slug(f.get("partner"), "participant partner")
        organisation = self.text(f.get("organisation"), "organisation")
        org_type = self.choice(f.get("org_type"), "org_type", d.PARTICIPANT.choices("org_type"))
        country = self.country(f.get("country"), "participant country")
        interests = self.texts(f.get("interests"), "interests")
        sessions = self.slugs(f.get("sessions"), "sessions")
        status = (self.choice(f.get("status"), "participant status",
                               d.PARTICIPANT.choices("status"))
                  or d.PARTICIPANT.default("status"))
        attended = self.boolean(f.get("attended"), "attended", True)
        travel = self.each(f.get("travel"), "travel", lambda n: self.leg(n, default_zone))
        stay = self.stay(f["stay"]) if "stay" in f and not is_null(f["stay"]) else None
        if email is None or name is None or partner is None:
            return None
        return m.Registration(programme, email, name, partner, organisation, org_type, country,
                             interests, sessions, attended, travel, stay, self.source(node),
                             cast(m.RegistrationStatus, status))

    def leg(self, node: Node, default_zone: str | None) -> m.TravelLeg | None:
        f = self.shape(node, d.LEG)
        if f is None:
            return None
        mode = self.choice(f.get("mode"), "travel mode", d.LEG.choices("mode"))
        origin = self.text(f.get("from"), "travel from")
        destination = self.text(f.get("to"), "travel to")
        ref = self.text(f.get("ref"), "travel ref")
        depart_zone = (self.zone(f.get("depart_timezone"), "depart_timezone")
                       if "depart_timezone" in f else default_zone)
        arrive_zone = (self.zone(f.get("arrive_timezone"), "arrive_timezone")
                       if "arrive_timezone" in f else default_zone)
        depart = self.local_time(f.get("depart"), "depart", depart_zone)
        arrive = self.local_time(f.get("arrive"), "arrive", arrive_zone)
        if None in (mode, origin, destination, depart, arrive):
            return None
        assert mode and origin and destination and depart and arrive
        return m.TravelLeg(mode, depart, arrive, origin, destination, ref, self.source(node))

    def stay(self, node: Node) -> m.Stay | None:
        f = self.shape(node, d.STAY)
        if f is None:
            return None
        name = self.text(f.get("name"), "stay name")
        address = self.text(f.get("address"), "stay address")
        check_in = self.day(f.get("check_in"), "check_in")
        check_out = self.day(f.get("check_out"), "check_out")
        if name is None or check_in is None or check_out is None:
            return None
        return m.Stay(name, check_in, check_out, address, self.source(node))


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")



# -- suggestions -----------------------------------------------------------------------

OFFSET = re.compile(
    r"(?:(?:UTC|GMT|UT|Z)?\s*[+\-\u2212]\s*\d{1,2}(?::?\d{2})?|UTC|GMT|[A-Z]?[ECW]E?S?T|BST|IST|MSK)\Z",
    re.IGNORECASE)
"""``UTC+2``, ``GMT+1``, ``+01:00``, ``CEST``: an offset or an abbreviation, not a place."""


def _fold(text: str) -> str:
    """``text`` compared loosely: accents dropped, case folded, `_`, `-` and spaces alike."""
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return " ".join(re.sub(r"[_\-.]", " ", plain).casefold().split())


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every name of EUROPE, folded, to its ISO code."""
    return {_fold(name): code for code, (_, names) in EUROPE.items() for name in names}


@lru_cache(maxsize=1)
def _place_zones() -> dict[str, str]:
    """The city part of every regional IANA zone, folded, to the zone (Europe first)."""
    out: dict[str, str] = {}
    zones = sorted(z for z in _known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    for zone in sorted(zones, key=lambda z: (not z.startswith("Europe/"), z)):
        out.setdefault(_fold(zone.rsplit("/", 1)[1]), zone)
    return out


def country_code(value: str) -> str | None:
    """The ISO code meant by ``value`` (a name in English or the native language, a typo of
    one, a lower-case code or the EU's own code), or None."""
    upper = EU_ALIASES.get(value.upper(), value.upper())
    if upper in ISO_COUNTRIES:
        return upper
    names = _country_names()
    folded = _fold(value)
    if folded in names:
        return names[folded]
    close = difflib.get_close_matches(folded, list(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


def place_zone(value: str | None, *, fuzzy: bool = True) -> str | None:
    """The IANA zone of a city or country name (``Paris``, ``lisbon``, ``Spain``), or None."""
    if not value:
        return None
    folded = _fold(value)
    places = _place_zones()
    if folded in places:
        return places[folded]
    code = _country_names().get(folded)
    if code in EUROPE:
        return EUROPE[code][0]
    if not fuzzy:
        return None
    code = country_code(value) if len(folded) > 3 else None
    if code in EUROPE:
        return EUROPE[code][0]
    close = difflib.get_close_matches(folded, list(places), n=1, cutoff=0.8)
    return places[close[0]] if close else None


def zone_suggestion(value: str, country: str | None = None, city: str | None = None) -> str:
    """What to write instead of ``value``, as the tail of a message: never a zone that would
    shift the times (an offset for a place, or UTC for `UTC+2`)."""
    near = place_zone(city, fuzzy=False) if city else None
    if near is None and country in EUROPE:
        near = EUROPE[country][0]
    if OFFSET.match(value.strip()):
        return (f": offsets change with summer time, so name the place instead, "
                f"e.g. `{near or 'Europe/Paris'}`")
    guess = place_zone(value.rsplit("/", 1)[-1], fuzzy=False) or near
    if guess is None:
        guess = place_zone(value.rsplit("/", 1)[-1])
    if guess is None:
        regional = sorted(z for z in _known_zones() if "/" in z and not z.startswith("Etc/"))
        close = difflib.get_close_matches(value, regional, n=1, cutoff=0.7)
        guess = close[0] if close else None
    if guess is not None:
        return f"; did you mean `{guess}`?"
    return " (write Region/City, e.g. `Europe/Paris`)"
