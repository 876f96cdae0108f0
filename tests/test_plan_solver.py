"""Placement: optimal against brute force, hard constraints kept, deterministic, minimum change."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from cxc.model import (
    LocalTime,
    Programme,
    ProgrammeDoc,
    Registration,
    Session,
    Source,
    Venue,
    session_capacity,
)
from cxc.plan import (
    Move,
    ProgrammePlan,
    SlotPerson,
    SlotSession,
    plan_programme,
    solve_slot,
)

T = TypeVar("T")
ZONE = "Europe/Paris"
FILE = "programmes/test.yaml"

# --- an independent statement of the objective, and brute force over it ---------------------


def goals(
    sessions: Sequence[SlotSession],
    people: Sequence[SlotPerson],
    assignment: Mapping[str, str | None],
) -> tuple[int, int, int, int]:
    """(placed, kept, interest, mixing), written apart from the library on purpose."""
    themes = {s.id: s.themes for s in sessions}
    placed = [(p, s) for p in people if (s := assignment.get(p.email)) is not None]
    return (
        len(placed),
        sum(1 for p, s in placed if s == p.previous),
        sum(len(p.interests & themes[s]) for p, s in placed),
        len({(s, p.partner) for p, s in placed}),
    )


def is_feasible(
    sessions: Sequence[SlotSession],
    people: Sequence[SlotPerson],
    assignment: Mapping[str, str | None],
) -> bool:
    ids = {s.id for s in sessions}
    for person in people:
        chosen = assignment.get(person.email)
        if chosen is None:
            continue
        if chosen not in ids or (person.choices and chosen not in person.choices):
            return False
    for session in sessions:
        seated = sum(1 for p in people if assignment.get(p.email) == session.id)
        if session.capacity is not None and seated > session.capacity:
            return False
    return True


def brute_force_best(
    sessions: Sequence[SlotSession], people: Sequence[SlotPerson]
) -> tuple[int, int, int, int]:
    options: list[Sequence[str | None]] = [[None, *(s.id for s in sessions)] for _ in people]
    best = (-1, -1, -1, -1)
    for combination in itertools.product(*options):
        assignment = {p.email: s for p, s in zip(people, combination, strict=True)}
        if is_feasible(sessions, people, assignment):
            best = max(best, goals(sessions, people, assignment))
    return best


def result_assignment(
    people: Sequence[SlotPerson], seats: Sequence[tuple[str, str]]
) -> dict[str, str | None]:
    placed = dict(seats)
    return {p.email: placed.get(p.email) for p in people}


# --- small random slots ----------------------------------------------------------------------

THEMES = ("ai", "genomics", "medtech")
PARTNERS = ("biocat", "eurasante", "stuns")


@st.composite
def slots(draw: st.DrawFn, most_people: int = 7) -> tuple[list[SlotSession], list[SlotPerson]]:
    ids = ["a", "b", "c"][: draw(st.integers(1, 3))]
    sessions = [
        SlotSession(
            id=i,
            capacity=draw(st.none() | st.integers(0, 4)),
            themes=frozenset(draw(st.sets(st.sampled_from(THEMES)))),
        )
        for i in ids
    ]
    people = [
        SlotPerson(
            email=f"p{n}@example.org",
            partner=draw(st.sampled_from(PARTNERS)),
            interests=frozenset(draw(st.sets(st.sampled_from(THEMES)))),
            choices=frozenset(
                draw(st.just(set()) | st.sets(st.sampled_from(ids), min_size=1, max_size=2))
            ),
            previous=draw(st.none() | st.sampled_from([*ids, "withdrawn-session"])),
        )
        for n in range(draw(st.integers(0, most_people)))
    ]
    return sessions, people


@settings(max_examples=300, deadline=None)
@given(slots())
def test_solver_is_optimal_against_brute_force(
    slot: tuple[list[SlotSession], list[SlotPerson]],
) -> None:
    sessions, people = slot
    result = solve_slot(sessions, people)
    assignment = result_assignment(people, result.seats)

    assert is_feasible(sessions, people, assignment)
    assert sorted([e for e, _ in result.seats] + list(result.unplaced)) == sorted(
        p.email for p in people
    )
    assert goals(sessions, people, assignment) == brute_force_best(sessions, people)
    assert tuple(vars(result.score).values()) == goals(sessions, people, assignment)


@settings(max_examples=100, deadline=None)
@given(slots(most_people=30))
def test_capacities_never_exceeded_and_fixed_choices_kept(
    slot: tuple[list[SlotSession], list[SlotPerson]],
) -> None:
    sessions, people = slot
    result = solve_slot(sessions, people)
    seated = dict(result.seats)
    for session in sessions:
        count = sum(1 for s in seated.values() if s == session.id)
        assert session.capacity is None or count <= session.capacity
    for person in people:
        if person.email in seated and person.choices:
            assert seated[person.email] in person.choices


def test_mixing_breaks_up_single_delegation_groups() -> None:
    sessions = [SlotSession("a", 2), SlotSession("b", 2)]
    people = [
        SlotPerson("b1@x.org", "biocat"),
        SlotPerson("b2@x.org", "biocat"),
        SlotPerson("e1@x.org", "eurasante"),
        SlotPerson("e2@x.org", "eurasante"),
    ]
    seats = dict(solve_slot(sessions, people).seats)
    for session in ("a", "b"):
        partners = {p.partner for p in people if seats[p.email] == session}
        assert partners == {"biocat", "eurasante"}


def test_interests_outrank_mixing_and_count_every_shared_theme() -> None:
    sessions = [
        SlotSession("ai", None, frozenset({"ai"})),
        SlotSession("ai-genomics", None, frozenset({"ai", "genomics"})),
    ]
    people = [
        SlotPerson("x@x.org", "biocat", frozenset({"ai", "genomics"})),
        SlotPerson("y@x.org", "biocat", frozenset({"ai", "genomics"})),
    ]
    result = solve_slot(sessions, people)
    assert dict(result.seats) == {"x@x.org": "ai-genomics", "y@x.org": "ai-genomics"}
    assert result.score.interest == 4


# --- programmes built directly (the loader is someone else's) --------------------------------


def at(day: int, hour: int) -> LocalTime:
    return LocalTime(datetime(2023, 10, day, hour, 0), ZONE)


def session(
    sid: str,
    slot: str | None,
    capacity: int | None = None,
    venue: str | None = "hall",
    themes: tuple[str, ...] = (),
    line: int = 0,
) -> Session:
    hour = 9 if slot is None else 14
    return Session(
        id=sid,
        programme="cxc-test",
        title=sid,
        kind="visit",
        venue=venue,
        start=at(9, hour),
        end=at(9, hour + 2),
        slot=slot,
        capacity=capacity,
        themes=themes,
        source=Source(FILE, line, 5),
    )


def person(
    email: str,
    partner: str = "biocat",
    interests: tuple[str, ...] = (),
    sessions: tuple[str, ...] = (),
) -> Registration:
    return Registration(
        programme="cxc-test",
        email=email,
        name=email.split("@")[0],
        partner=partner,
        interests=interests,
        sessions=sessions,
    )


def programme_doc(
    sessions: Sequence[Session],
    participants: Sequence[Registration],
    venues: Sequence[Venue] = (),
) -> ProgrammeDoc:
    programme = Programme(
        id="cxc-test",
        kind="cxc",
        title="Test exchange",
        host="eurasante",
        city="Lille",
        country="FR",
        timezone=ZONE,
        start=date(2023, 10, 9),
        end=date(2023, 10, 11),
    )
    return ProgrammeDoc(
        file=FILE,
        programme=programme,
        venues=tuple(venues) or (Venue("hall", "cxc-test", "Hall", capacity=100),),
        sessions=tuple(sessions),
        registrations=tuple(participants),
    )


def seats_of(plan: ProgrammePlan) -> dict[tuple[str, str], str]:
    """(slot, email) -> session: what a re-plan takes as ``previous``."""
    return {(p.slot, p.email): p.session for p in plan.placements}


@st.composite
def programmes(draw: st.DrawFn, most_people: int = 24) -> ProgrammeDoc:
    slot_sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    sessions = [session("opening", None)]
    for slot_index, size in enumerate(slot_sizes):
        for n in range(size):
            sessions.append(
                session(
                    f"s{slot_index}-{n}",
                    f"slot-{slot_index}",
                    capacity=draw(st.none() | st.integers(0, 12)),
                    themes=tuple(draw(st.sets(st.sampled_from(THEMES)))),
                    line=10 * len(sessions),
                )
            )
    slotted = [s.id for s in sessions if s.slot is not None]
    participants = [
        person(
            f"Person{n}@Example.org",
            draw(st.sampled_from(PARTNERS)),
            tuple(draw(st.sets(st.sampled_from(THEMES)))),
            tuple(draw(st.sets(st.sampled_from(slotted), max_size=1))),
        )
        for n in range(draw(st.integers(0, most_people)))
    ]
    return programme_doc(sessions, participants)


def assert_respects_constraints(doc: ProgrammeDoc, plan: ProgrammePlan) -> None:
    venues = {v.id: v for v in doc.venues}
    for s in doc.sessions:
        if s.slot is None:
            continue
        seated = [p for p in plan.placements if p.session == s.id]
        capacity = session_capacity(s, venues)
        assert capacity is None or len(seated) <= capacity
    slot_of = {s.id: s.slot for s in doc.sessions}
    for participant in doc.registrations:
        for fixed in participant.sessions:
            mine = [p.session for p in plan.placements
                    if p.email == participant.key and p.slot == slot_of[fixed]]
            assert mine in ([fixed], [])
    per_slot = {(p.slot, p.email) for p in plan.placements}
    assert len(per_slot) == len(plan.placements)


@settings(max_examples=100, deadline=None)
@given(programmes())
def test_programme_plan_keeps_capacities_and_fixed_choices(doc: ProgrammeDoc) -> None:
    plan = plan_programme(doc)
    assert_respects_constraints(doc, plan)
    slots_short = {f.extra["slot"] for f in plan.findings}
    for slot in {s.slot for s in doc.sessions if s.slot is not None} - slots_short:
        placed = {p.email for p in plan.placements if p.slot == slot}
        assert placed == {p.key for p in doc.registrations}


@settings(max_examples=60, deadline=None)
@given(programmes(), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_input_order(doc: ProgrammeDoc, rnd: random.Random) -> None:
    def shuffled(items: Sequence[T]) -> tuple[T, ...]:
        return tuple(rnd.sample(list(items), len(items)))

    scrambled = replace(
        doc,
        sessions=shuffled(doc.sessions),
        registrations=tuple(
            replace(p, email=p.email.swapcase(), interests=shuffled(p.interests))
            for p in shuffled(doc.registrations)
        ),
    )
    assert plan_programme(scrambled) == plan_programme(doc)


@settings(max_examples=60, deadline=None)
@given(programmes(), st.data())
def test_withdrawal_moves_nobody_else(doc: ProgrammeDoc, data: st.DataObject) -> None:
    first = plan_programme(doc)
    if first.findings or not doc.registrations:
        return
    leaving = data.draw(st.sampled_from(doc.registrations))
    after = replace(doc, registrations=tuple(p for p in doc.registrations if p != leaving))

    second = plan_programme(after, previous=seats_of(first))

    assert second.moved == ()
    assert seats_of(second) == {
        key: s for key, s in seats_of(first).items() if key[1] != leaving.key
    }


@settings(max_examples=80, deadline=None)
@given(programmes(most_people=7), st.data())
def test_capacity_cut_moves_as_few_as_brute_force(doc: ProgrammeDoc, data: st.DataObject) -> None:
    first = plan_programme(doc)
    slotted = [s for s in doc.sessions if s.slot is not None and s.id.startswith("s0-")]
    cut = data.draw(st.sampled_from(slotted))
    new_capacity = data.draw(st.integers(0, 3))
    after = replace(
        doc,
        sessions=tuple(replace(s, capacity=new_capacity) if s == cut else s for s in doc.sessions),
    )

    second = plan_programme(after, previous=seats_of(first))
    assert_respects_constraints(after, second)

    slot = "slot-0"
    ids = {s.id for s in after.sessions if s.slot == slot}
    options = [SlotSession(s.id, s.capacity if s.capacity is not None else 100)
               for s in after.sessions if s.slot == slot]
    people = [
        SlotPerson(p.key, p.partner, choices=frozenset(p.sessions) & ids,
                   previous=seats_of(first).get((slot, p.key)))
        for p in after.registrations
    ]
    placed, kept, _, _ = brute_force_best(options, people)
    had_a_seat = sum(1 for p in people if p.previous is not None)
    moved_here = [m for m in second.moved if m.slot == slot]
    assert len([p for p in second.placements if p.slot == slot]) == placed
    assert len(moved_here) == had_a_seat - kept


def test_capacity_cut_moves_only_the_overflow() -> None:
    people = [person(f"p{n}@x.org", ("biocat", "stuns")[n % 2]) for n in range(6)]
    doc = programme_doc([session("a", "pm", 3), session("b", "pm", 3), session("c", "pm", 3)],
                        people)
    first = plan_programme(doc)
    cut = replace(doc, sessions=tuple(replace(s, capacity=1) if s.id == "a" else s
                                      for s in doc.sessions))
    in_a = sorted(p.email for p in first.placements if p.session == "a")

    second = plan_programme(cut, previous=seats_of(first))

    assert len(second.moved) == len(in_a) - 1
    assert {m.email for m in second.moved} < set(in_a)
    assert all(m.from_session == "a" and m.to_session in ("b", "c") for m in second.moved)


def test_a_removed_session_is_reported_as_moves() -> None:
    people = [person("ana@x.org"), person("bo@x.org")]
    doc = programme_doc([session("a", "pm", 5), session("b", "pm", 5)], people)
    previous = {("pm", "ANA@x.org"): "gone", ("pm", "bo@x.org"): "b"}

    plan = plan_programme(doc, previous=previous)

    ana_now = plan_seat(plan, "ana@x.org")
    assert plan.moved == (Move("cxc-test", "pm", "ana@x.org", "gone", ana_now),)


def plan_seat(plan: ProgrammePlan, email: str) -> str:
    return next(p.session for p in plan.placements if p.email == email)


def test_infeasible_slot_is_reported_and_partly_placed() -> None:
    people = [person(f"p{n}@x.org") for n in range(5)]
    doc = programme_doc(
        [session("opening", None), session("a", "pm", 2, line=12), session("b", "pm", 1, line=20)],
        people,
    )

    plan = plan_programme(doc)

    assert len(plan.placements) == 3
    (finding,) = plan.findings
    assert (finding.rule, finding.severity) == ("slot-infeasible", "error")
    assert (finding.file, finding.line, finding.programme) == (FILE, 12, "cxc-test")
    assert finding.extra["missing_seats"] == 2
    assert len(finding.extra["unplaced"]) == 2
    for words in ("2 seats", "`pm`", "a (2)", "b (1)"):
        assert words in finding.message


def test_overfilled_fixed_choice_is_reported_at_its_session() -> None:
    fixed = [person(f"f{n}@x.org", sessions=("a",)) for n in range(3)]
    free = [person(f"z{n}@x.org") for n in range(3)]
    doc = programme_doc(
        [session("a", "pm", 2, line=12), session("b", "pm", 10, line=20)], fixed + free
    )

    plan = plan_programme(doc)

    (finding,) = plan.findings
    assert finding.session == "a" and finding.line == 12
    assert finding.extra["missing_seats"] == 1
    assert finding.extra["unplaced"] == ["f2@x.org"]
    assert "1 seat short" in finding.message and "a (3 chose it, capacity 2)" in finding.message
    seats = {p.email: p.session for p in plan.placements}
    assert seats == {"f0@x.org": "a", "f1@x.org": "a", **{p.key: "b" for p in free}}


def test_interchangeable_people_are_dealt_out_by_lower_cased_email() -> None:
    people = [person(e) for e in ("Dora@x.org", "carl@x.org", "Bea@x.org", "anna@x.org")]
    doc = programme_doc([session("b", "pm", 2), session("a", "pm", 2)], people)

    seats = {p.email: p.session for p in plan_programme(doc).placements}

    assert seats == {"anna@x.org": "a", "bea@x.org": "a", "carl@x.org": "b", "dora@x.org": "b"}


def test_plenary_sessions_list_everyone_and_capacities_fall_back() -> None:
    venues = (Venue("hall", "cxc-test", "Hall", capacity=40), Venue("lab", "cxc-test", "Lab"))
    doc = programme_doc(
        [
            session("opening", None),
            session("a", "pm", 3, venue="hall"),
            session("b", "pm", venue="hall"),
            session("c", "pm", venue="lab"),
            session("d", "pm", venue=None),
        ],
        [person("B@x.org"), person("a@x.org")],
        venues,
    )

    plan = plan_programme(doc)

    fills = {f.session: f for f in plan.sessions}
    assert fills["opening"].attendees == ("a@x.org", "b@x.org")
    assert plan.sessions[0].session == "opening"
    assert {k: f.capacity for k, f in fills.items()} == {
        "opening": 40, "a": 3, "b": 40, "c": None, "d": None,
    }
    assert all(p.session != "opening" for p in plan.placements)


def test_attended_false_is_still_planned() -> None:
    doc = programme_doc([session("a", "pm", 1)], [replace(person("x@x.org"), attended=False)])
    assert [p.email for p in plan_programme(doc).placements] == ["x@x.org"]
