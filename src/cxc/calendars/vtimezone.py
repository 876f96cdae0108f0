"""VTIMEZONE components in the RRULE form that Outlook and Google emit.

``icalendar``'s ``add_missing_timezones()`` writes one RDATE per transition
and a VTIMEZONE-level COMMENT; Outlook misreads the first and libical rejects
the second. Here a zone's UTC-offset transitions are read from :mod:`zoneinfo`
over the years asked for and grouped into yearly rules
(``FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU``), so the EU zones come out as one
STANDARD and one DAYLIGHT rule. A zone whose law changed inside the range gets
one observance per law, the earlier ones bounded by UNTIL; a transition no
rule covers is kept as a single onset (DTSTART, or RDATE next to other onsets
of the same kind).

The scan starts a year before ``first_year``, so the offset in force on
1 January of ``first_year`` is defined by a real onset (failing that, an extra
observance states the offset at the start of the scan), and it runs a year past
``last_year``; a rule still in force at the end of the scan stays open-ended.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxc.errors import ExportError
from cxc.model import zone_info as model_zone_info

if TYPE_CHECKING:
    from icalendar import Timezone

STANDARD = "STANDARD"
DAYLIGHT = "DAYLIGHT"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
LAST = -1
"""The ``n`` of ``BYDAY=-1SU``: the last such weekday of the month."""

_SCAN_STEP = 6 * 3600
"""Seconds between two samples of the zone; transitions are then bisected to the second."""


@dataclass(frozen=True)
class ZoneState:
    """What a zone says at one instant."""

    offset: timedelta
    """UTC offset (local time minus UTC)."""
    dst: timedelta
    """Daylight-saving part of the offset, as zoneinfo reports it (negative for Europe/Dublin)."""
    name: str
    """Abbreviation, such as ``CEST`` or ``+03``."""


@dataclass(frozen=True)
class Transition:
    """One change of a zone's offset, abbreviation or daylight flag."""

    at: datetime
    """The instant of the change, in UTC."""
    before: ZoneState
    after: ZoneState

    @property
    def onset(self) -> datetime:
        """Local wall time of the change in the offset before it (naive), as DTSTART wants it."""
        return (self.at + self.before.offset).replace(tzinfo=None)

    @property
    def kind(self) -> str:
        """``DAYLIGHT`` or ``STANDARD`` for the observance this transition starts.

        A zone with negative DST (Europe/Dublin: GMT in winter has dst -1h) is
        read the way clients show it: the larger summer offset is daylight time.
        """
        if self.after.dst > timedelta(0):
            return DAYLIGHT
        if self.after.dst == timedelta(0) and self.before.dst < timedelta(0):
            return DAYLIGHT if self.after.offset > self.before.offset else STANDARD
        return STANDARD


@dataclass(frozen=True)
class YearlyRule:
    """``FREQ=YEARLY;BYMONTH=month;BYDAY=<week><weekday>`` with an optional UNTIL."""

    month: int
    week: int
    """1 to 4 for the first to fourth such weekday of the month, -1 for the last."""
    weekday: int
    """0 for Monday to 6 for Sunday."""
    until: datetime | None = None
    """UTC bound on the onsets (see :func:`_until`); ``None`` while the rule is still in force."""

    def as_recur(self) -> dict[str, object]:
        """The rule as icalendar's ``vRecur`` takes it."""
        recur: dict[str, object] = {"FREQ": "YEARLY"}
        if self.until is not None:
            recur["UNTIL"] = self.until
        recur["BYMONTH"] = self.month
        recur["BYDAY"] = f"{self.week}{WEEKDAYS[self.weekday]}"
        return recur


@dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT sub-component of a VTIMEZONE."""

    kind: str
    start: datetime
    """First onset: naive local wall time in ``offset_from``."""
    offset_from: timedelta
    offset_to: timedelta
    name: str
    rule: YearlyRule | None = None
    rdates: tuple[datetime, ...] = ()
    """Every onset, ``start`` first, when there are several and no rule (naive local wall times).

    ``start`` is repeated because libical and ical.js ignore DTSTART as an onset
    once a sub-component has RDATEs (vzic's zones repeat it the same way).
    """


def zone_info(zone: str) -> ZoneInfo:
    """The zoneinfo zone named ``zone``, or an :class:`ExportError` saying how to fix the name."""
    try:
        return model_zone_info(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExportError(
            f"unknown time zone {zone!r}: use an IANA name such as 'Europe/Paris'"
        ) from None


def zone_state(tz: ZoneInfo, epoch_seconds: int) -> ZoneState:
    """The state of ``tz`` at an instant given in seconds since the epoch."""
    local = datetime.fromtimestamp(epoch_seconds, tz)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None and dst is not None  # always set for a ZoneInfo-aware datetime
    return ZoneState(offset, dst, local.tzname() or "")


def transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """Every transition of ``tz`` in ``[start, end)`` (aware datetimes), in order.

    The zone is sampled every few hours and each change is bisected to the
    second, so two changes closer together than the sampling step that undo
    each other would be missed (tzdata has none in the years cxc deals with).
    """
    lo, hi = int(start.timestamp()), int(end.timestamp())
    found: list[Transition] = []
    prev_t, prev = lo, zone_state(tz, lo)
    for t in [*range(lo + _SCAN_STEP, hi, _SCAN_STEP), hi - 1]:
        while zone_state(tz, t) != prev:
            at = _first_change(tz, prev_t, t, prev)
            after = zone_state(tz, at)
            found.append(Transition(datetime.fromtimestamp(at, UTC), prev, after))
            prev_t, prev = at, after
        prev_t = t
    return found


def _first_change(tz: ZoneInfo, lo: int, hi: int, state: ZoneState) -> int:
    """The first second in ``(lo, hi]`` where ``tz`` leaves ``state`` (it is in it at ``lo``)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if zone_state(tz, mid) == state:
            lo = mid
        else:
            hi = mid
    return hi


def byday_weeks(day: date) -> frozenset[int]:
    """The ``n`` values of ``BYDAY=n<weekday>`` within its month that select ``day``."""
    weeks = set()
    nth = (day.day - 1) // 7 + 1
    if nth <= 4:
        weeks.add(nth)
    if day.day + 7 > _calendar.monthrange(day.year, day.month)[1]:
        weeks.add(LAST)
    return frozenset(weeks)


@dataclass
class _Run:
    """Transitions of consecutive years that one yearly rule generates."""

    members: list[Transition]
    weeks: frozenset[int]

    @property
    def year(self) -> int:
        return self.members[-1].onset.year


def _signature(t: Transition) -> tuple[object, ...]:
    """What must be equal for two transitions to share a yearly rule."""
    onset = t.onset
    return (
        t.kind,
        t.before.offset,
        t.after.offset,
        t.after.name,
        onset.month,
        onset.weekday(),
        onset.time(),
    )


def _runs(found: Iterable[Transition]) -> list[_Run]:
    """Group transitions into runs of consecutive years sharing one BYDAY rule."""
    runs: list[_Run] = []
    open_runs: dict[tuple[object, ...], _Run] = {}
    for t in found:
        key, weeks = _signature(t), byday_weeks(t.onset.date())
        run = open_runs.get(key)
        if run is not None and run.year == t.onset.year - 1 and run.weeks & weeks:
            run.members.append(t)
            run.weeks &= weeks
        else:
            open_runs[key] = _Run([t], weeks)
            runs.append(open_runs[key])
    return runs


def _rule_observance(run: _Run, open_ended: bool) -> Observance:
    """A run of two or more years as one observance with an RRULE."""
    first, last = run.members[0], run.members[-1]
    week = LAST if LAST in run.weeks else min(run.weeks)
    rule = YearlyRule(
        month=first.onset.month,
        week=week,
        weekday=first.onset.weekday(),
        until=None if open_ended else _until(last),
    )
    return Observance(
        first.kind, first.onset, first.before.offset, first.after.offset, first.after.name, rule
    )


def _until(last: Transition) -> datetime:
    """The UNTIL of a rule whose last onset is ``last``: that instant in UTC, or later.

    RFC 5545 wants the last onset in UTC, but dateutil's ``tzical`` (behind
    icalendar's ``to_tz`` and vobject) compares UNTIL with local onsets and so
    drops the last one in a zone east of UTC. The later of the UTC instant and
    the local wall time, written as UTC, bounds the rule the same way for both
    readings: the rule's next onset is a year later.
    """
    return max(last.at, last.onset.replace(tzinfo=UTC))


def _single_observances(singles: list[Transition]) -> Iterator[Observance]:
    """Onsets no yearly rule covers: one observance per kind and offsets, onsets as RDATE."""
    groups: dict[tuple[object, ...], list[Transition]] = {}
    for t in singles:
        groups.setdefault((t.kind, t.before.offset, t.after.offset, t.after.name), []).append(t)
    for members in groups.values():
        first = members[0]
        yield Observance(
            first.kind,
            first.onset,
            first.before.offset,
            first.after.offset,
            first.after.name,
            rdates=tuple(t.onset for t in members) if len(members) > 1 else (),
        )


def observances(zone: str, first_year: int, last_year: int) -> list[Observance]:
    """The observances describing ``zone`` from a year before ``first_year`` on, by start."""
    return list(_observances(zone, first_year, last_year))


@lru_cache(maxsize=256)
def _observances(zone: str, first_year: int, last_year: int) -> tuple[Observance, ...]:
    """Cached: an export builds the same few zones for thousands of calendars."""
    if not 1 < first_year <= last_year < 9998:
        raise ValueError(f"bad year range {first_year}..{last_year}")
    tz = zone_info(zone)
    window_start = datetime(first_year - 1, 1, 1, tzinfo=tz)
    window_end = datetime(last_year + 2, 1, 1, tzinfo=tz)
    found = transitions(tz, window_start, window_end)

    result: list[Observance] = []
    singles: list[Transition] = []
    for run in _runs(found):
        if len(run.members) == 1:
            singles.append(run.members[0])
        else:
            result.append(_rule_observance(run, open_ended=run.year == last_year + 1))
    result.extend(_single_observances(singles))

    # A day early, for callers that count years in UTC.
    used_from = datetime(first_year, 1, 1, tzinfo=tz) - timedelta(days=1)
    if not any(t.at <= used_from for t in found):
        result.append(_initial_observance(tz, window_start))
    return tuple(sorted(result, key=lambda o: o.start))


def _initial_observance(tz: ZoneInfo, at: datetime) -> Observance:
    """The state in force at ``at`` (local), when no transition is early enough to define it."""
    state = zone_state(tz, int(at.timestamp()))
    kind = DAYLIGHT if state.dst > timedelta(0) else STANDARD
    return Observance(kind, at.replace(tzinfo=None), state.offset, state.offset, state.name)


def vtimezone(zone: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``zone`` covering ``first_year`` to ``last_year``, in RRULE form.

    Raises :class:`ExportError` for a name zoneinfo does not know.
    """
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    component = Timezone()
    component.add("TZID", zone)
    component.add("X-LIC-LOCATION", zone)
    for obs in observances(zone, first_year, last_year):
        sub = TimezoneDaylight() if obs.kind == DAYLIGHT else TimezoneStandard()
        if obs.name:
            sub.add("TZNAME", obs.name)
        sub.add("TZOFFSETFROM", obs.offset_from)
        sub.add("TZOFFSETTO", obs.offset_to)
        sub.add("DTSTART", obs.start)
        if obs.rule is not None:
            sub.add("RRULE", obs.rule.as_recur())
        for rdate in obs.rdates:
            sub.add("RDATE", rdate)
        component.add_component(sub)
    return component


@lru_cache(maxsize=256)
def vtimezone_bytes(zone: str, first_year: int, last_year: int) -> bytes:
    """:func:`vtimezone` as icalendar serialises it, made once for the calendars that share it."""
    return bytes(vtimezone(zone, first_year, last_year).to_ical())


__all__ = [
    "DAYLIGHT",
    "STANDARD",
    "Observance",
    "Transition",
    "YearlyRule",
    "ZoneState",
    "byday_weeks",
    "observances",
    "transitions",
    "vtimezone",
    "vtimezone_bytes",
]
