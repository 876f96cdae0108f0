"""The validation rules of PRODUCT.md, as data.

Each rule is a small function that takes the whole :class:`~cxc.model.World` and
yields :class:`~cxc.errors.Finding` values; ``RULES`` lists them with their id and
severity. Adding a rule is one function and one line in ``RULES``.
Cancelled programmes are not checked and take part in no other programme's check.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from . import model as m
from .errors import Finding

RuleFunction = Callable[[m.World], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: RuleFunction
    summary: str


def _active(world: m.World) -> list[m.ProgrammeDoc]:
    return [d for d in world.programmes if d.programme.status != "cancelled"]


def _finding(rule: str, message: str, at: m.Source, doc: m.ProgrammeDoc | None = None,
             *, participant: str | None = None, session: str | None = None,
             venue: str | None = None) -> Finding:
    return Finding(
        rule=rule, severity=SEVERITY[rule], message=message, file=at.file or None,
        line=at.line or None, programme=doc.programme.id if doc else None,
        participant=participant.lower() if participant else None, session=session,
        venue=venue)


def _overlap(a: m.Session, b: m.Session) -> bool:
    return a.start.utc < b.end.utc and b.start.utc < a.end.utc


def _fmt(t: m.LocalTime) -> str:
    return t.wall.strftime("%Y-%m-%d %H:%M")


# -- the rules ----------------------------------------------------------------


def unknown_reference(world: m.World) -> Iterator[Finding]:
    partners = world.partners
    known = ", ".join(sorted(partners)) or "none: load the partnership file"
    rule = "unknown-reference"
    if world.partnership is not None:
        for a in world.partnership.activities:
            if a.partner not in partners:
                yield _finding(rule, f"activity `{a.title}`: partner `{a.partner}` is not "
                               f"defined (partners: {known})", a.source)
    for doc in _active(world):
        p = doc.programme
        if p.host not in partners:
            yield _finding(rule, f"host `{p.host}` is not a partner (partners: {known})",
                           p.source, doc)
        for q in p.quotas:
            if q.partner not in partners:
                yield _finding(rule, f"quota for `{q.partner}`, which is not a partner "
                               f"(partners: {known})", q.source, doc)
        venues = {v.id for v in doc.venues}
        for s in doc.sessions:
            if s.venue is not None and s.venue not in venues:
                yield _finding(rule, f"session `{s.id}`: venue `{s.venue}` is not defined in "
                               f"this programme", s.source, doc, session=s.id, venue=s.venue)
        sessions = {s.id for s in doc.sessions}
        for r in doc.participants:
            if r.partner not in partners:
                yield _finding(rule, f"{r.email}: partner `{r.partner}` is not defined "
                               f"(partners: {known})", r.source, doc, participant=r.email)
            for sid in r.sessions:
                if sid not in sessions:
                    yield _finding(rule, f"{r.email}: session `{sid}` is not defined in this "
                                   f"programme", r.source, doc, participant=r.email, session=sid)


def _duplicates(items: Iterable[tuple[str, m.Source]]) -> Iterator[tuple[str, m.Source, m.Source]]:
    first: dict[str, m.Source] = {}
    for key, source in items:
        if key in first:
            yield key, source, first[key]
        else:
            first[key] = source


def duplicate_id(world: m.World) -> Iterator[Finding]:
    rule = "duplicate-id"
    if world.partnership is not None:
        for key, at, before in _duplicates((p.id, p.source) for p in world.partnership.partners):
            yield _finding(rule, f"partner id `{key}` is already used at line {before.line}", at)
    active = _active(world)
    for key, at, before in _duplicates((d.programme.id, d.programme.source) for d in active):
        doc = next(d for d in active if d.programme.source == at)
        yield _finding(rule, f"programme id `{key}` is already used in {before}", at, doc)
    for doc in active:
        for key, at, before in _duplicates((v.id, v.source) for v in doc.venues):
            yield _finding(rule, f"venue id `{key}` is already used at line {before.line}",
                           at, doc, venue=key)
        for key, at, before in _duplicates((s.id, s.source) for s in doc.sessions):
            yield _finding(rule, f"session id `{key}` is already used at line {before.line}",
                           at, doc, session=key)
        for key, at, before in _duplicates((r.key, r.source) for r in doc.participants):
            yield _finding(rule, f"participant {key} is registered twice (first at line "
                           f"{before.line})", at, doc, participant=key)


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def bad_dates(world: m.World) -> Iterator[Finding]:
    rule = "bad-dates"
    period = world.partnership.partnership if world.partnership else None
    if period is not None and period.end < period.start:
        yield _finding(rule, f"partnership ends ({period.end}) before it starts ({period.start})",
                       period.source)
    for doc in _active(world):
        p = doc.programme
        if p.end < p.start:
            yield _finding(rule, f"programme ends ({p.end}) before it starts ({p.start})",
                           p.source, doc)
        elif period is not None and (p.start < period.start or p.end > period.end):
            yield _finding(rule, f"programme runs {p.start} to {p.end}, outside the "
                           f"partnership's period {period.start} to {period.end}", p.source, doc)
        for s in doc.sessions:
            gaps = list(_gap_times(doc, s.source, f"session `{s.id}`", s.start, s.end,
                                   session=s.id))
            yield from gaps
            if not gaps and s.end.utc <= s.start.utc:  # a time in a gap has no order to check
                yield _finding(rule, f"session `{s.id}` ends ({_fmt(s.end)}) before it starts "
                               f"({_fmt(s.start)})", s.source, doc, session=s.id)
            if s.start.wall.date() < p.start or s.end.wall.date() > p.end:
                yield _finding(rule, f"session `{s.id}` ({_fmt(s.start)} to {_fmt(s.end)}) "
                               f"lies outside the programme's dates {p.start} to {p.end}",
                               s.source, doc, session=s.id)
        for r in doc.participants:
            for leg in r.travel:
                what = f"{r.email}: travel {leg.origin} to {leg.destination}"
                gaps = list(_gap_times(doc, leg.source, what, leg.depart, leg.arrive,
                                       participant=r.email))
                yield from gaps
                if not gaps and leg.arrive.utc < leg.depart.utc:
                    yield _finding(rule, f"{what} arrives ({leg.arrive}) before it departs "
                                   f"({leg.depart})", leg.source, doc, participant=r.email)
            if r.stay is not None and r.stay.check_out < r.stay.check_in:
                yield _finding(rule, f"{r.email}: stay checks out ({r.stay.check_out}) before "
                               f"checking in ({r.stay.check_in})", r.stay.source, doc,
                               participant=r.email)


def _gap_times(doc: m.ProgrammeDoc, at: m.Source, what: str, *times: m.LocalTime,
               participant: str | None = None, session: str | None = None) -> Iterator[Finding]:
    for t in times:
        if not t.exists:
            yield _finding("bad-dates", f"{what}: {_fmt(t)} does not exist in {t.zone} (the "
                           f"clocks jump forward over it)", at, doc, participant=participant,
                           session=session)


def programme_over_capacity(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        p = doc.programme
        if p.capacity is not None and len(doc.participants) > p.capacity:
            yield _finding("programme-over-capacity",
                           f"{len(doc.participants)} participants registered; the host can "
                           f"receive {p.capacity}", p.source, doc)


def quota_exceeded(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        sent = Counter(r.partner for r in doc.participants)
        for q in doc.programme.quotas:
            if sent[q.partner] > q.count:
                yield _finding("quota-exceeded", f"`{q.partner}` sends {sent[q.partner]} "
                               f"delegates; its quota is {q.count}", q.source, doc)


def venue_over_capacity(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        venues = {v.id: v for v in doc.venues}
        attendees = len(doc.participants)
        for s in doc.sessions:
            seats = m.session_capacity(s, venues)
            if s.plenary and seats is not None and attendees > seats:
                yield _finding("venue-over-capacity",
                               f"plenary session `{s.id}` has {attendees} attendees and "
                               f"{seats} seats", s.source, doc, session=s.id, venue=s.venue)


def slot_infeasible(world: m.World) -> Iterator[Finding]:
    rule = "slot-infeasible"
    for doc in _active(world):
        venues = {v.id: v for v in doc.venues}
        slot_of = {s.id: s.slot for s in doc.sessions}
        for r in doc.participants:
            chosen = Counter(slot_of[sid] for sid in r.sessions if slot_of.get(sid))
            for slot, count in sorted(chosen.items()):
                if count > 1:
                    yield _finding(rule, f"{r.email} is fixed to {count} sessions of slot "
                                   f"`{slot}`; choose one", r.source, doc, participant=r.email)
        for slot, sessions in sorted(m.slots_of(doc.sessions).items()):
            seats = [m.session_capacity(s, venues) for s in sessions]
            people = len(doc.participants)
            if None not in seats and sum(s for s in seats if s is not None) < people:
                total = sum(s for s in seats if s is not None)
                yield _finding(rule, f"slot `{slot}` seats {total} in "
                               f"{', '.join(s.id for s in sessions)} for {people} participants: "
                               f"{people - total} seats missing", sessions[0].source, doc,
                               session=sessions[0].id)
            for s, cap in zip(sessions, seats):
                fixed = sum(1 for r in doc.participants if s.id in r.sessions)
                if cap is not None and fixed > cap:
                    yield _finding(rule, f"{fixed} participants chose `{s.id}` (slot `{slot}`), "
                                   f"which seats {cap}: {fixed - cap} seats missing",
                                   s.source, doc, session=s.id, venue=s.venue)


def participant_double_booked(world: m.World) -> Iterator[Finding]:
    rule = "participant-double-booked"
    active = _active(world)
    for doc in active:
        by_id = {s.id: s for s in doc.sessions}
        ordered = sorted(doc.sessions, key=lambda s: s.start.utc)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                if b.start.utc >= a.end.utc:
                    break
                if a.slot is not None and a.slot == b.slot:
                    continue
                # every participant attends each plenary and one session of every slot
                if a.plenary and b.plenary:
                    who = "every participant"
                elif a.plenary or b.plenary:
                    who = f"whoever is placed in `{(b if a.plenary else a).id}`"
                else:
                    who = f"whoever is placed in both `{a.id}` and `{b.id}`"
                yield _finding(rule, f"sessions `{a.id}` and `{b.id}` overlap "
                               f"({_fmt(a.start)}-{b.end.wall:%H:%M}): {who} is due at both",
                               b.source, doc, session=b.id)
        for r in doc.participants:
            fixed = [by_id[sid] for sid in r.sessions if sid in by_id]
            for i, a in enumerate(fixed):
                for b in fixed[i + 1:]:
                    if a.slot != b.slot and _overlap(a, b):
                        yield _finding(rule, f"{r.email} is fixed to `{a.id}` and `{b.id}`, "
                                       f"which overlap", r.source, doc, participant=r.email)
    registrations: dict[str, list[tuple[m.ProgrammeDoc, m.Participant]]] = defaultdict(list)
    for doc in active:
        for r in doc.participants:
            registrations[r.key].append((doc, r))
    for email, regs in sorted(registrations.items()):
        regs.sort(key=lambda dr: (dr[0].programme.start, dr[0].programme.id))
        for i, (doc_a, _) in enumerate(regs):
            for doc_b, reg_b in regs[i + 1:]:
                first, then = doc_a.programme, doc_b.programme
                if (first.id != then.id and then.start <= first.end
                        and first.start <= then.end):
                    yield _finding(rule, f"{email} is registered in `{first.id}` ({first.start} "
                                   f"to {first.end}) and `{then.id}` ({then.start} to "
                                   f"{then.end}), which overlap", reg_b.source, doc_b,
                                   participant=email)


def tight_transfer(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        need = doc.programme.min_transfer_minutes
        if not need:
            continue
        ordered = sorted(doc.sessions, key=lambda s: s.start.utc)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                gap = m.minutes(b.start.utc - a.end.utc)
                if gap >= need:
                    break
                if gap < 0 or (a.slot is not None and a.slot == b.slot):
                    continue
                if a.venue and b.venue and a.venue != b.venue:
                    yield _finding("tight-transfer",
                                   f"`{a.id}` at `{a.venue}` ends {a.end.wall:%H:%M} and "
                                   f"`{b.id}` at `{b.venue}` starts {b.start.wall:%H:%M}: "
                                   f"{gap:.0f} min to move, {need} needed", b.source, doc,
                                   session=b.id, venue=b.venue)


def _attended_sessions(plenaries: list[list[m.Session]], slots: list[list[m.Session]],
                       r: m.Participant) -> list[list[m.Session]]:
    """What a person must be at: each plenary, their fixed choice, or else any session of a slot."""
    groups = list(plenaries)
    for sessions in slots:
        fixed = [s for s in sessions if s.id in r.sessions]
        groups.append(fixed[:1] or sessions)
    return groups


def misses_sessions(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        if not doc.sessions:
            continue
        first = min(s.start.utc for s in doc.sessions)
        last = max(s.end.utc for s in doc.sessions)
        middle = first + (last - first) / 2
        plenaries = [[s] for s in doc.sessions if s.plenary]
        slots = [sessions for _, sessions in sorted(m.slots_of(doc.sessions).items())]
        for r in doc.participants:
            if not r.travel:
                continue
            inbound = [leg for leg in r.travel if leg.depart.utc < middle]
            outbound = [leg for leg in r.travel if leg.depart.utc >= middle]
            here = max((leg.arrive.utc for leg in inbound), default=None)
            gone = min((leg.depart.utc for leg in outbound), default=None)
            missed = [
                group[0] for group in _attended_sessions(plenaries, slots, r)
                if all((here is not None and s.start.utc < here)
                       or (gone is not None and s.end.utc > gone) for s in group)
            ]
            if missed:
                names = ", ".join(f"`{s.id}`" for s in missed[:3])
                more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
                yield _finding("misses-sessions",
                               f"{r.email}: travel ({_travel_window(r)}) misses {names}{more}",
                               r.source, doc, participant=r.email, session=missed[0].id)


def _travel_window(r: m.Participant) -> str:
    legs = sorted(r.travel, key=lambda leg: leg.depart.utc)
    return "; ".join(f"{leg.origin} {_fmt(leg.depart)} to {leg.destination} {_fmt(leg.arrive)}"
                     for leg in legs)


def _working_days(start: date, end: date) -> int:
    days = (end - start).days + 1
    return sum(1 for i in range(max(days, 0)) if (start + timedelta(i)).weekday() < 5)


def kind_rules(world: m.World) -> Iterator[Finding]:
    rule = "kind-rules"
    for doc in _active(world):
        p = doc.programme
        if p.kind == "deep_dive_day" and p.start != p.end:
            yield _finding(rule, f"a deep dive day spans one date; this one runs {p.start} to "
                           f"{p.end}", p.source, doc)
        elif p.kind == "study_visit":
            for r in doc.participants:
                if r.partner == p.host:
                    yield _finding(rule, f"{r.email}: a study visit's visitors come from the "
                                   f"other partners, not the host `{p.host}`", r.source, doc,
                                   participant=r.email)
        elif p.kind == "cxc" and p.end >= p.start:
            working = _working_days(p.start, p.end)
            if working < 3:
                yield _finding(rule, f"a cluster exchange lasts at least 3 working days; "
                               f"{p.start} to {p.end} has {working}", p.source, doc)
            if p.end > _add_month(p.start):
                yield _finding(rule, f"a cluster exchange lasts at most one month; {p.start} to "
                               f"{p.end} is longer", p.source, doc)


def _visitors(doc: m.ProgrammeDoc) -> Iterator[m.Participant]:
    return (r for r in doc.participants if r.partner != doc.programme.host)


def ineligible_visitor(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        if doc.programme.kind != "cxc":
            continue
        for r in _visitors(doc):
            if r.org_type in m.HOST_ONLY_ORG_TYPES:
                yield _finding("ineligible-visitor",
                               f"{r.email} ({r.organisation or 'no organisation'}) is of type "
                               f"`{r.org_type}`, which may host a cluster exchange but not visit",
                               r.source, doc, participant=r.email)


def repeat_visit(world: m.World) -> Iterator[Finding]:
    visits: dict[str, list[tuple[m.ProgrammeDoc, m.Participant]]] = defaultdict(list)
    for doc in _active(world):
        if doc.programme.kind != "cxc":
            continue
        seen: set[str] = set()
        for r in _visitors(doc):
            key = (r.organisation or "").strip().lower()
            if key and key not in seen:
                seen.add(key)
                visits[key].append((doc, r))
    for key, regs in sorted(visits.items()):
        regs.sort(key=lambda dr: (dr[0].programme.start, dr[0].programme.id))
        for doc, r in regs[1:]:
            yield _finding("repeat-visit",
                           f"{r.organisation} already visited in `{regs[0][0].programme.id}`; "
                           f"the ClusterXchange scheme allows one visit per organisation",
                           r.source, doc, participant=r.email)


def own_delegation(world: m.World) -> Iterator[Finding]:
    for doc in _active(world):
        p = doc.programme
        if p.kind != "cxc":
            continue
        for r in doc.participants:
            if r.partner == p.host:
                yield _finding("own-delegation", f"{r.email} travels in the host's own "
                               f"delegation `{p.host}`", r.source, doc, participant=r.email)


RULES: tuple[Rule, ...] = (
    Rule("unknown-reference", "error", unknown_reference,
         "a host, partner, venue or session id that is not defined"),
    Rule("duplicate-id", "error", duplicate_id,
         "two things of the same kind share an id (participants: one email twice)"),
    Rule("bad-dates", "error", bad_dates,
         "an end before its start, a date outside its period, a time in a DST gap"),
    Rule("programme-over-capacity", "error", programme_over_capacity,
         "more participants than the programme's capacity"),
    Rule("quota-exceeded", "error", quota_exceeded, "a partner sends more than its quota"),
    Rule("venue-over-capacity", "error", venue_over_capacity,
         "a plenary session with more attendees than seats"),
    Rule("slot-infeasible", "error", slot_infeasible,
         "a slot cannot seat its participants, or fixed choices overfill a session"),
    Rule("participant-double-booked", "error", participant_double_booked,
         "one person in two overlapping sessions or programmes"),
    Rule("tight-transfer", "warning", tight_transfer,
         "consecutive sessions at different venues closer than min_transfer_minutes"),
    Rule("misses-sessions", "warning", misses_sessions,
         "travel arrives after a session starts or leaves before it ends"),
    Rule("kind-rules", "error", kind_rules, "the programme breaks its kind's rules"),
    Rule("ineligible-visitor", "error", ineligible_visitor,
         "a cxc visitor whose organisation type may host but not visit"),
    Rule("repeat-visit", "warning", repeat_visit,
         "an organisation visits in more than one cxc"),
    Rule("own-delegation", "warning", own_delegation,
         "a participant travels in the host's own delegation to a cxc"),
)

SEVERITY = {rule.id: rule.severity for rule in RULES}


def validate(world: m.World) -> list[Finding]:
    """Every finding of every rule, sorted by programme, file and line."""
    findings = [f for rule in RULES for f in rule.check(world)]
    return sorted(findings, key=lambda f: f.sort_key)

