"""VTIMEZONEs from :mod:`cxc.vtimezone`, read back by code cxc did not write.

The offsets are checked hour by hour against :mod:`zoneinfo` through:

- ``ical`` (strict parser) and its ``IcsTimezoneInfo``;
- a small evaluator here that expands RRULE/RDATE with ``dateutil.rrule``;
- icalendar's ``Timezone.to_tz()`` (dateutil's ``tzical``);
- libical (system ``python3-gi`` + ``gir1.2-ical-3.0``), skipped when missing;
- ical.js 2, Thunderbird's parser (Node), skipped when missing.

The parsers are given TZIDs that are not IANA names ("cxc-test-Europe/Paris"):
with a known name, ``ical`` and libical would use their own zone data and
never read the VTIMEZONE under test.
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from cxc.calendars.vtimezone import observances, vtimezone
from cxc.errors import ExportError

REPO = Path(__file__).resolve().parents[1]
PRIVATE = "cxc-test-"

EU_ZONES = [
    "Europe/Paris",
    "Europe/Lisbon",
    "Europe/Bucharest",
    "Europe/Tallinn",
    "Europe/Madrid",
    "Europe/Stockholm",
    "Europe/London",
]
ZONES = [*EU_ZONES, "America/New_York", "Europe/Istanbul", "UTC", "Australia/Sydney"]
FIRST, LAST = 2022, 2025

LAW_CHANGES = [
    ("America/New_York", 2005, 2009),  # US rules changed in 2007
    ("Australia/Sydney", 2006, 2009),  # NSW rules changed in 2008
    ("Europe/Istanbul", 2010, 2017),  # moved dates, then permanent +03
    ("Europe/Moscow", 2010, 2015),  # permanent +04 in 2011, +03 in 2014
    ("Europe/Volgograd", 2020, 2021),  # one change, none in the year before
    ("Asia/Tehran", 2020, 2024),  # fixed dates (no BYDAY rule), DST ended 2022
    ("Africa/Casablanca", 2018, 2021),  # Ramadan breaks, negative DST
    ("Europe/Dublin", 2022, 2025),  # negative DST in tzdata
    ("Australia/Lord_Howe", 2022, 2025),  # 30-minute DST
    ("America/Santiago", 2021, 2024),  # southern rules that moved
]
ALL_CASES = [(zone, FIRST, LAST) for zone in ZONES] + LAW_CHANGES
CASE_IDS = [f"{zone}-{first}-{last}" for zone, first, last in ALL_CASES]
LAW_IDS = CASE_IDS[len(ZONES) :]

# Events on both sides of a DST change, with the UTC instant known from the law.
EVENTS = [
    (
        "bucharest-after-autumn",
        datetime(2023, 10, 29, 9, 0),
        "Europe/Bucharest",
        "20231029T070000Z",
    ),
    (
        "bucharest-before-autumn",
        datetime(2023, 10, 28, 9, 0),
        "Europe/Bucharest",
        "20231028T060000Z",
    ),
    ("lisbon-after-spring", datetime(2023, 3, 26, 10, 0), "Europe/Lisbon", "20230326T090000Z"),
    ("lisbon-before-spring", datetime(2023, 3, 25, 10, 0), "Europe/Lisbon", "20230325T100000Z"),
    ("paris-after-spring", datetime(2024, 3, 31, 8, 30), "Europe/Paris", "20240331T063000Z"),
    ("london-winter", datetime(2025, 1, 15, 12, 0), "Europe/London", "20250115T120000Z"),
    ("sydney-after-spring", datetime(2023, 10, 1, 10, 0), "Australia/Sydney", "20230930T230000Z"),
    ("sydney-before-spring", datetime(2023, 9, 30, 10, 0), "Australia/Sydney", "20230930T000000Z"),
    ("new-york-after-spring", datetime(2023, 3, 12, 10, 0), "America/New_York", "20230312T140000Z"),
    ("istanbul-summer", datetime(2023, 7, 1, 12, 0), "Europe/Istanbul", "20230701T090000Z"),
    ("tallinn-first-day", datetime(2022, 1, 1, 0, 30), "Europe/Tallinn", "20211231T223000Z"),
]


# --- building calendars ------------------------------------------------------


def make_calendar(zones: Iterable[str], first: int, last: int, *, events: bool = False) -> Calendar:
    """A calendar with the VTIMEZONEs of ``zones`` and, if asked, the EVENTS."""
    cal = Calendar()
    cal.add("PRODID", "-//cxc//tests//EN")
    cal.add("VERSION", "2.0")
    for zone in sorted(set(zones)):  # before the events, as cxc's calendars have them
        cal.add_component(vtimezone(zone, first, last))
    for uid, wall, zone, _ in EVENTS if events else ():
        event = Event()
        event.add("UID", uid)
        event.add("DTSTAMP", datetime(2024, 1, 1, tzinfo=UTC))
        event.add("DTSTART", wall.replace(tzinfo=ZoneInfo(zone)))
        event.add("DTEND", wall.replace(tzinfo=ZoneInfo(zone)) + timedelta(hours=1))
        event.add("SUMMARY", uid)
        cal.add_component(event)
    return cal


def private_tzids(text: str) -> str:
    """``text`` with every TZID (and X-LIC-LOCATION) renamed so no parser knows the zone."""
    return re.sub(r"(TZID[:=]|X-LIC-LOCATION:)", rf"\g<1>{PRIVATE}", text)


def ics(zones: Iterable[str], first: int, last: int, *, events: bool = False) -> str:
    """The calendar as text, with private TZIDs."""
    return private_tzids(make_calendar(zones, first, last, events=events).to_ical().decode())


def utc_hours(first: int, last: int) -> Iterator[datetime]:
    """Every whole UTC hour from 1 January of ``first`` to 31 December of ``last``."""
    hour, end = datetime(first, 1, 1, tzinfo=UTC), datetime(last + 1, 1, 1, tzinfo=UTC)
    while hour < end:
        yield hour
        hour += timedelta(hours=1)


Reading = tuple[datetime, datetime, frozenset[datetime]]


@functools.cache
def readings(zone: str, first: int, last: int) -> tuple[Reading, ...]:
    """For each UTC hour: the instant, its local wall time (naive), and the instants that
    wall time can mean (two inside a repeated hour, else one)."""
    tz = ZoneInfo(zone)
    found = []
    for hour in utc_hours(first, last):
        local = hour.astimezone(tz)
        wall = local.replace(tzinfo=None)
        other = wall.replace(tzinfo=tz, fold=1 - local.fold).astimezone(UTC)
        found.append((hour, wall, frozenset({hour, other})))
    return tuple(found)


# --- an evaluator of VTIMEZONE text, on dateutil.rrule -----------------------


def parse_offset(value: str) -> timedelta:
    sign = -1 if value[0] == "-" else 1
    hours, minutes, seconds = int(value[1:3]), int(value[3:5]), int(value[5:7] or 0)
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


def unfolded_lines(text: str) -> list[str]:
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")


def subcomponents(text: str, tzid: str) -> list[dict[str, list[str]]]:
    """The STANDARD and DAYLIGHT sub-components of VTIMEZONE ``tzid``, as property lists."""
    found: list[dict[str, list[str]]] = []
    in_zone = False
    sub: dict[str, list[str]] | None = None
    for line in unfolded_lines(text):
        name, _, value = line.partition(":")
        name = name.split(";")[0]
        if line in ("BEGIN:VTIMEZONE", "END:VTIMEZONE"):
            in_zone = False
        elif name == "TZID" and sub is None:
            in_zone = value == tzid
        elif in_zone and line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            sub = {}
        elif in_zone and sub is not None and line in ("END:STANDARD", "END:DAYLIGHT"):
            found.append(sub)
            sub = None
        elif sub is not None:
            sub.setdefault(name, []).append(value)
    return found


def onsets(text: str, tzid: str, until: datetime) -> list[tuple[datetime, timedelta]]:
    """(UTC instant, TZOFFSETTO) of every onset up to ``until`` in VTIMEZONE ``tzid``, sorted."""
    return sorted(
        onset for sub in subcomponents(text, tzid) for onset in observance_onsets(sub, until)
    )


def observance_onsets(
    props: dict[str, list[str]], until: datetime
) -> Iterator[tuple[datetime, timedelta]]:
    offset_from = parse_offset(props["TZOFFSETFROM"][0])
    offset_to = parse_offset(props["TZOFFSETTO"][0])
    local = timezone(offset_from)

    def wall(value: str) -> datetime:
        return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=local)

    start = wall(props["DTSTART"][0])
    starts = {start}
    for rule in props.get("RRULE", []):
        for onset in rrulestr(rule, dtstart=start):
            if onset > until:
                break
            starts.add(onset)
    for line in props.get("RDATE", []):
        starts.update(wall(v) for v in line.split(","))
    for onset in starts:
        yield onset.astimezone(UTC), offset_to


def offset_at(found: list[tuple[datetime, timedelta]], instant: datetime) -> timedelta | None:
    index = bisect.bisect_right([at for at, _ in found], instant)
    return found[index - 1][1] if index else None


# --- the hour-by-hour proofs -------------------------------------------------


@pytest.mark.parametrize(("zone", "first", "last"), ALL_CASES, ids=CASE_IDS)
def test_rrule_expansion_matches_zoneinfo_every_hour(zone: str, first: int, last: int) -> None:
    text = ics([zone], first, last)
    found = onsets(text, PRIVATE + zone, datetime(last + 2, 1, 1, tzinfo=UTC))
    tz = ZoneInfo(zone)
    instants = list(utc_hours(first, last))
    # and one second either side of every onset inside the years
    for at, _ in found:
        if datetime(first, 1, 1, tzinfo=UTC) <= at < datetime(last + 1, 1, 1, tzinfo=UTC):
            instants += [at - timedelta(seconds=1), at]
    wrong = [
        (i, offset_at(found, i), i.astimezone(tz).utcoffset())
        for i in instants
        if offset_at(found, i) != i.astimezone(tz).utcoffset()
    ]
    assert wrong == []


@pytest.mark.parametrize(("zone", "first", "last"), ALL_CASES, ids=CASE_IDS)
def test_ical_strict_parser_reads_the_same_offsets(zone: str, first: int, last: int) -> None:
    from ical.calendar_stream import IcsCalendarStream
    from ical.timezone import IcsTimezoneInfo

    text = ics([zone], first, last)
    if "UNTIL=" in text:
        pytest.skip("ical hands a UTC UNTIL and a local DTSTART to dateutil, which refuses them")
    if any(
        "RRULE" not in sub and "RDATE" not in sub for sub in subcomponents(text, PRIVATE + zone)
    ):
        pytest.skip("ical takes no onset from a sub-component with DTSTART alone")
    (parsed,) = IcsCalendarStream.calendar_from_ics(text).timezones
    assert parsed.tz_id == PRIVATE + zone
    info = IcsTimezoneInfo.from_timezone(parsed)
    wrong = []
    for hour, wall, meanings in readings(zone, first, last):
        instant = (wall - info.utcoffset(wall)).replace(tzinfo=UTC)
        if instant not in meanings:
            wrong.append((hour, wall, instant))
    assert wrong == []


@pytest.mark.parametrize(("zone", "first", "last"), LAW_CHANGES, ids=LAW_IDS)
def test_icalendar_to_tz_reads_the_same_local_times(zone: str, first: int, last: int) -> None:
    text = ics([zone], first, last)
    (component,) = Calendar.from_ical(text).timezones
    tz = component.to_tz(lookup_tzid=False)
    wrong = [
        (hour, wall)
        for hour, wall, meanings in readings(zone, first, last)
        if wall.replace(tzinfo=tz).astimezone(UTC) not in meanings
    ]
    assert wrong == []


@pytest.mark.parametrize("zone", ZONES)
def test_icalendar_to_tz_reads_the_same_offsets_every_utc_hour(zone: str) -> None:
    # Not for LAW_CHANGES: dateutil's tzical, behind to_tz(), converts from UTC
    # as if the standard offset never changed (an hour off before Moscow's 2014 change).
    (component,) = Calendar.from_ical(ics([zone], FIRST, LAST)).timezones
    tz = component.to_tz(lookup_tzid=False)
    zi = ZoneInfo(zone)
    wrong = [
        hour
        for hour in utc_hours(FIRST, LAST)
        if hour.astimezone(tz).utcoffset() != hour.astimezone(zi).utcoffset()
    ]
    assert wrong == []


# --- shape -------------------------------------------------------------------

PARIS_2022_2025 = """\
BEGIN:VTIMEZONE
TZID:Europe/Paris
X-LIC-LOCATION:Europe/Paris
BEGIN:DAYLIGHT
DTSTART:20210328T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZNAME:CEST
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20211031T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZNAME:CET
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
"""

SYDNEY_2022_2025 = """\
BEGIN:VTIMEZONE
TZID:Australia/Sydney
X-LIC-LOCATION:Australia/Sydney
BEGIN:STANDARD
DTSTART:20210404T030000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZNAME:AEST
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20211003T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=10
TZNAME:AEDT
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
END:DAYLIGHT
END:VTIMEZONE
"""


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Europe/Paris", PARIS_2022_2025), ("Australia/Sydney", SYDNEY_2022_2025)],
)
def test_whole_vtimezone(zone: str, expected: str) -> None:
    assert vtimezone(zone, FIRST, LAST).to_ical().decode() == expected.replace("\n", "\r\n")


@pytest.mark.parametrize("zone", EU_ZONES)
def test_eu_zones_are_one_rule_each_way(zone: str) -> None:
    lines = unfolded_lines(vtimezone(zone, FIRST, LAST).to_ical().decode())
    assert lines.count("BEGIN:STANDARD") == lines.count("BEGIN:DAYLIGHT") == 1
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in lines
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in lines
    assert not [line for line in lines if line.startswith(("RDATE", "COMMENT")) or "UNTIL" in line]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Istanbul", "Asia/Tokyo"])
def test_zone_without_dst_is_one_standard_without_rule(zone: str) -> None:
    (obs,) = observances(zone, FIRST, LAST)
    assert (obs.kind, obs.rule, obs.rdates) == ("STANDARD", None, ())
    assert obs.offset_from == obs.offset_to == ZoneInfo(zone).utcoffset(datetime(2023, 6, 1))
    assert obs.start == datetime(FIRST - 1, 1, 1)


def test_law_change_splits_rules_with_until_in_utc() -> None:
    text = vtimezone("America/New_York", 2005, 2009).to_ical().decode()
    rules = [line for line in unfolded_lines(text) if line.startswith("RRULE")]
    assert rules == [
        "RRULE:FREQ=YEARLY;UNTIL=20060402T070000Z;BYDAY=1SU;BYMONTH=4",
        "RRULE:FREQ=YEARLY;UNTIL=20061029T060000Z;BYDAY=-1SU;BYMONTH=10",
        "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
        "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
    ]


def test_until_bounds_the_rule_read_as_utc_or_as_local_time() -> None:
    # Istanbul's last autumn change under the old law: 2014-10-26 04:00 +03, 01:00 UTC.
    # UNTIL is the later of the two read as UTC, so a reader comparing it with
    # local onsets (dateutil's tzical) keeps that onset too; the next is a year on.
    bounded = [o for o in observances("Europe/Istanbul", 2011, 2014) if o.rule and o.rule.until]
    assert [(o.kind, o.start, o.rule.until) for o in bounded if o.rule] == [
        ("STANDARD", datetime(2010, 10, 31, 4), datetime(2014, 10, 26, 4, tzinfo=UTC)),
        ("DAYLIGHT", datetime(2012, 3, 25, 3), datetime(2013, 3, 31, 3, tzinfo=UTC)),
    ]


def test_irregular_transition_falls_back_to_rdate() -> None:
    # 2011 and 2014: Istanbul moved its spring change to a Monday.
    daylight = [o for o in observances("Europe/Istanbul", 2011, 2014) if o.rdates]
    # The onsets of 2010 and 2015 are alone in their runs inside the scanned years.
    onsets = (
        datetime(2010, 3, 28, 3),
        datetime(2011, 3, 28, 3),
        datetime(2014, 3, 31, 3),
        datetime(2015, 3, 29, 3),
    )
    assert [(o.kind, o.start, o.rdates) for o in daylight] == [("DAYLIGHT", onsets[0], onsets)]


def test_whole_calendar_has_no_comment_nor_empty_property_and_vobject_validates_it() -> None:
    import vobject  # type: ignore[import-untyped]

    text = make_calendar(ZONES, FIRST, LAST, events=True).to_ical().decode()
    lines = unfolded_lines(text)
    assert not [line for line in lines if line.startswith("COMMENT")]
    assert not [line for line in lines if re.fullmatch(r"[A-Z-]+(;[^:]*)?:", line)]
    parsed = vobject.readOne(text, validate=True)
    assert parsed.validate(raiseException=True)
    assert sorted(vtz.tzid.value for vtz in parsed.vtimezone_list) == sorted(ZONES)


# --- events through the strict parser ---------------------------------------


def test_ical_strict_parser_places_events_from_the_vtimezones() -> None:
    from ical.calendar_stream import IcsCalendarStream

    zones = sorted({zone for *_, zone, _ in EVENTS})
    calendar = IcsCalendarStream.calendar_from_ics(ics(zones, FIRST, LAST, events=True))
    starts = {e.uid: e.dtstart for e in calendar.events if isinstance(e.dtstart, datetime)}
    assert len(starts) == len(EVENTS)
    assert {str(start.tzinfo) for start in starts.values()} == {PRIVATE + z for z in zones}
    # Istanbul's VTIMEZONE is one DTSTART-only STANDARD, which ical does not read (see above).
    got = {
        uid: start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        for uid, start in starts.items()
        if uid != "istanbul-summer"
    }
    assert got == {uid: utc for uid, *_, zone, utc in EVENTS if zone != "Europe/Istanbul"}


def test_ical_strict_parser_accepts_the_calendar_with_iana_tzids() -> None:
    from ical.calendar_stream import IcsCalendarStream

    text = make_calendar(ZONES, FIRST, LAST, events=True).to_ical().decode()
    calendar = IcsCalendarStream.calendar_from_ics(text)
    assert sorted(tz.tz_id for tz in calendar.timezones) == sorted(ZONES)
    assert len(calendar.events) == len(EVENTS)


# --- the module --------------------------------------------------------------


def test_unknown_zone_is_an_export_error() -> None:
    with pytest.raises(ExportError, match="unknown time zone 'Europe/Atlantis'"):
        vtimezone("Europe/Atlantis", FIRST, LAST)


def test_module_does_not_import_icalendar() -> None:
    code = "import sys, cxc.calendars.vtimezone; sys.exit('icalendar' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- any zone, any years -----------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(sorted(available_timezones())),
    first=st.integers(1975, 2036),
    span=st.integers(0, 3),
)
def test_any_zone_any_years_matches_zoneinfo(zone: str, first: int, span: int) -> None:
    last = first + span
    text = ics([zone], first, last)
    found = onsets(text, PRIVATE + zone, datetime(last + 2, 1, 1, tzinfo=UTC))
    tz = ZoneInfo(zone)
    start, end = datetime(first, 1, 1, tzinfo=UTC), datetime(last + 1, 1, 1, tzinfo=UTC)
    instants = [
        start + timedelta(hours=h) for h in range(0, int((end - start).total_seconds()) // 3600, 2)
    ]
    instants += [
        at + d
        for at, _ in found
        if start <= at < end
        for d in (timedelta(seconds=-1), timedelta(0))
    ]
    assert [i for i in instants if offset_at(found, i) != i.astimezone(tz).utcoffset()] == []


# --- libical -----------------------------------------------------------------

LIBICAL_SCRIPT = r"""
import json, sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as I

request = json.load(sys.stdin)
root = I.Component.new_from_string(request["ics"])
I.restriction_check(root)
text = root.as_ical_string().replace("\r\n", "\n").replace("\n ", "")
errors = [line for line in text.splitlines() if "X-LIC-ERROR" in line]
utc = I.Timezone.get_utc_timezone()
offsets = {}
vtz = root.get_first_component(I.ComponentKind.VTIMEZONE_COMPONENT)
while vtz is not None:
    zone = I.Timezone.new()
    zone.set_component(vtz.clone())
    offsets[zone.get_tzid()] = [
        I.Timezone.get_utc_offset_of_utc_time(zone, I.Time.new_from_timet_with_zone(t, 0, utc))[0]
        for t in request["instants"]
    ]
    vtz = root.get_next_component(I.ComponentKind.VTIMEZONE_COMPONENT)
events = {}
event = root.get_first_component(I.ComponentKind.VEVENT_COMPONENT)
while event is not None:
    start = event.get_dtstart()
    events[event.get_uid()] = start.as_timet_with_zone(start.get_timezone())
    event = root.get_next_component(I.ComponentKind.VEVENT_COMPONENT)
json.dump({"errors": errors, "offsets": offsets, "events": events}, sys.stdout)
"""


def libical(text: str, instants: Iterable[datetime] = ()) -> dict[str, Any]:
    """What libical says about ``text``: X-LIC-ERROR lines, offsets at ``instants``, event starts."""
    python = "/usr/bin/python3"
    probe = [python, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"]
    if (
        not os.path.exists(python)
        or subprocess.run(probe, capture_output=True, check=False).returncode
    ):
        pytest.skip("libical GObject bindings missing: apt-get install gir1.2-ical-3.0 python3-gi")
    request = json.dumps({"ics": text, "instants": [int(i.timestamp()) for i in instants]})
    done = subprocess.run(
        [python, "-c", LIBICAL_SCRIPT], input=request, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def offsets_in_seconds(zone: str, instants: list[datetime]) -> list[int]:
    """zoneinfo's UTC offsets of ``zone`` at ``instants``, in seconds."""
    tz = ZoneInfo(zone)
    return [int(i.astimezone(tz).utcoffset().total_seconds()) for i in instants]  # type: ignore[union-attr]


def test_libical_finds_no_error_and_reads_the_offsets_every_hour() -> None:
    hours = list(utc_hours(FIRST, LAST))
    result = libical(ics(ZONES, FIRST, LAST, events=True), hours)
    assert result["errors"] == []
    for zone in ZONES:
        assert result["offsets"][PRIVATE + zone] == offsets_in_seconds(zone, hours), zone


@pytest.mark.parametrize(("zone", "first", "last"), LAW_CHANGES, ids=LAW_IDS)
def test_libical_reads_law_changes_every_hour(zone: str, first: int, last: int) -> None:
    hours = list(utc_hours(first, last))
    result = libical(ics([zone], first, last), hours)
    assert result["errors"] == []
    assert result["offsets"] == {PRIVATE + zone: offsets_in_seconds(zone, hours)}


def test_libical_places_events_from_the_vtimezones() -> None:
    zones = sorted({zone for *_, zone, _ in EVENTS})
    result = libical(ics(zones, FIRST, LAST, events=True))
    got = {
        uid: datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%SZ")
        for uid, t in result["events"].items()
    }
    assert got == {uid: utc for uid, *_, utc in EVENTS}


def test_libical_check_is_not_vacuous() -> None:
    cal = make_calendar([], FIRST, LAST, events=True)
    cal.add_missing_timezones()
    errors = libical(cal.to_ical().decode())["errors"]
    assert any("COMMENT" in line for line in errors)


# --- ical.js -----------------------------------------------------------------

ICALJS_SCRIPT = r"""
import fs from "node:fs";
import { pathToFileURL } from "node:url";
const ICAL = (await import(pathToFileURL(process.argv[2]).href)).default;

function read({ ics, walls }) {
  const root = new ICAL.Component(ICAL.parse(ics));
  const zones = {};
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    const zone = new ICAL.Timezone(vtz);
    ICAL.TimezoneService.register(zone);
    zones[zone.tzid] = zone;
  }
  const instants = {};
  for (const [tzid, list] of Object.entries(walls)) {
    instants[tzid] = list.map(([year, month, day, hour, minute, second]) =>
      new ICAL.Time({ year, month, day, hour, minute, second, isDate: false }, zones[tzid])
        .toUnixTime());
  }
  const events = {};
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    events[event.uid] = event.startDate.toUnixTime();
  }
  for (const tzid of Object.keys(zones)) ICAL.TimezoneService.remove(tzid);
  return { instants, events };
}

const requests = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(requests.map(read)));
"""


def icaljs(tmp_path: Path, requests: list[tuple[str, dict[str, list[datetime]]]]) -> list[Any]:
    """Ask ical.js, for each (calendar text, local wall times per TZID), the UTC instants of
    those wall times and of each event's start."""
    library = Path(
        os.environ.get("CXC_ICALJS", REPO / ".cache/icaljs/node_modules/ical.js/dist/ical.js")
    )
    node = shutil.which("node")
    if node is None or not library.is_file():
        pytest.skip("ical.js missing: npm install --prefix .cache/icaljs ical.js@2")
    script = tmp_path / "check.mjs"
    script.write_text(ICALJS_SCRIPT)
    payload = [
        {
            "ics": text,
            "walls": {
                tzid: [[w.year, w.month, w.day, w.hour, w.minute, w.second] for w in values]
                for tzid, values in walls.items()
            },
        }
        for text, walls in requests
    ]
    done = subprocess.run(
        [node, str(script), str(library)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[Any] = json.loads(done.stdout)
    return result


def assert_icaljs_instants(tmp_path: Path, cases: list[tuple[str, int, int]]) -> None:
    requests = [
        (ics([zone], first, last), {PRIVATE + zone: [w for _, w, _ in readings(zone, first, last)]})
        for zone, first, last in cases
    ]
    for (zone, first, last), answer in zip(cases, icaljs(tmp_path, requests), strict=True):
        instants = answer["instants"][PRIVATE + zone]
        wrong = [
            (hour, wall, t)
            for (hour, wall, meanings), t in zip(readings(zone, first, last), instants, strict=True)
            if datetime.fromtimestamp(t, UTC) not in meanings
        ]
        assert wrong == [], zone


def test_icaljs_reads_local_times_every_hour(tmp_path: Path) -> None:
    assert_icaljs_instants(tmp_path, [(zone, FIRST, LAST) for zone in ZONES])


def test_icaljs_reads_law_changes_every_hour(tmp_path: Path) -> None:
    assert_icaljs_instants(tmp_path, LAW_CHANGES)


def test_icaljs_places_events_from_the_vtimezones(tmp_path: Path) -> None:
    zones = sorted({zone for *_, zone, _ in EVENTS})
    (answer,) = icaljs(tmp_path, [(ics(zones, FIRST, LAST, events=True), {})])
    got = {
        uid: datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%SZ")
        for uid, t in answer["events"].items()
    }
    assert got == {uid: utc for uid, *_, utc in EVENTS}
