"""Waitlists: the coordinator lists waitlisted people; `cxc plan` admits whoever fits.

The admission rule (PRODUCT.md, Planning, Waitlists) is checked against a brute force
on small random cases; the story runs through the real CLI and store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import product
from pathlib import Path
from typing import Any

from conftest import PROGRAMME, PROGRAMME_ID, Runner, edit
from hypothesis import given, settings
from hypothesis import strategies as st

from cxc.plan.waitlist import Candidate, Room, admit

Write = Callable[[str, str], Path]


def _waitlisted(email: str, partner: str, extra: str = "") -> str:
    return (f"  - email: {email}\n    name: Wait Listed\n    organisation: {email} Ltd\n"
            f"    org_type: sme\n    country: FR\n    partner: {partner}\n"
            f"    status: waitlisted\n{extra}")


# The fixture: capacity 10; quotas barna-bio 3, tallinn-med 3 (both full: three each);
# slot thursday-pm seats 3 (lab-a) + 5 (studio) = 8 for the six registered people.
WAITLIST = (_waitlisted("w1@example.com", "barna-bio")        # the quota is full
            + _waitlisted("W2@Example.com", "lille-health")   # fits (no quota)
            + _waitlisted("w3@example.com", "lille-health")   # fits: the slot is now full
            + _waitlisted("w4@example.com", "lille-health"))  # the slot is full


def _programme(waitlist: str = WAITLIST, text: str = PROGRAMME) -> str:
    return text.rstrip("\n") + "\n" + waitlist


def _plan(run: Runner, *paths: Path) -> dict[str, Any]:
    result = run("plan", *paths, "--format", "json")
    assert result.code == 0, result.output
    (programme,) = [p for p in result.json()["programmes"] if p["id"] == PROGRAMME_ID]
    return programme  # type: ignore[no-any-return]


def _attendees(programme: dict[str, Any]) -> set[str]:
    return {e for s in programme["sessions"] if s["slot"] for e in s["attendees"]}


def test_plan_admits_in_file_order_within_quota_and_slot_seats(
        run: Runner, write: Write, partnership_file: Path) -> None:
    path = write("programme.yaml", _programme())
    planned = _plan(run, partnership_file, path)
    assert planned["admitted"] == ["w2@example.com", "w3@example.com"]
    assert planned["waiting"] == ["w1@example.com", "w4@example.com"]
    assert {"w2@example.com", "w3@example.com"} <= _attendees(planned)
    assert not {"w1@example.com", "w4@example.com"} & _attendees(planned)
    text = run("plan")
    assert text.code == 0, text.output
    assert "admitted from the waitlist (2): w2@example.com, w3@example.com" in text.stdout
    assert "still waiting (2): w1@example.com, w4@example.com" in text.stdout


def test_a_withdrawal_admits_the_next_who_fits_and_keeps_those_admitted(
        run: Runner, write: Write, partnership_file: Path) -> None:
    path = write("programme.yaml", _programme())
    _plan(run, partnership_file, path)
    # A new waitlisted person is put first in the list: w2 and w3 keep their seats.
    text = _programme(_waitlisted("w0@example.com", "lille-health") + WAITLIST)
    planned = _plan(run, write("programme.yaml", text))
    assert planned["admitted"] == ["w2@example.com", "w3@example.com"]
    assert planned["waiting"] == ["w0@example.com", "w1@example.com", "w4@example.com"]
    # Jordi (barna-bio) withdraws: his seat in the slot goes to the first who fits, w0
    # (w1 would fit barna-bio's quota now, but comes after w0, who takes the last seat).
    text = edit(text, "    partner: barna-bio\n    travel:\n      - mode: train",
                "    partner: barna-bio\n    status: withdrawn\n    travel:\n      - mode: train")
    planned = _plan(run, write("programme.yaml", text))
    assert planned["admitted"] == ["w0@example.com", "w2@example.com", "w3@example.com"]
    assert planned["waiting"] == ["w1@example.com", "w4@example.com"]
    assert "jordi.puig@example.com" not in _attendees(planned)
    # lab-a gains a seat: w1 is admitted too, and nobody admitted before loses theirs.
    text = edit(text, "    capacity: 3\n    start: 2024-03-28 14:00",
                "    capacity: 4\n    start: 2024-03-28 14:00")
    planned = _plan(run, write("programme.yaml", text))
    assert planned["admitted"] == ["w0@example.com", "w1@example.com", "w2@example.com",
                                   "w3@example.com"]
    assert planned["waiting"] == ["w4@example.com"]


def test_capacity_limits_admission_and_a_fixed_choice_must_fit_its_session(
        run: Runner, write: Write, partnership_file: Path) -> None:
    text = edit(_programme(
        _waitlisted("full-lab@example.com", "lille-health", "    sessions: [lab-a]\n")
        + _waitlisted("fits@example.com", "lille-health")
        + _waitlisted("over@example.com", "lille-health")),
        "  capacity: 10\n  quotas:", "  capacity: 7\n  quotas:")
    planned = _plan(run, partnership_file, write("programme.yaml", text))
    # Two registered people chose lab-a (3 seats), so one more fits; capacity 7 is then full.
    assert planned["admitted"] == ["full-lab@example.com"]
    assert planned["waiting"] == ["fits@example.com", "over@example.com"]


def test_a_fixed_choice_of_a_full_session_is_skipped(
        run: Runner, write: Write, partnership_file: Path) -> None:
    three = "".join(_waitlisted(f"lab{i}@example.com", "lille-health", "    sessions: [lab-a]\n")
                    for i in range(3))
    planned = _plan(run, partnership_file, write("programme.yaml", _programme(
        three + _waitlisted("free@example.com", "lille-health"))))
    # lab-a seats 3 and two registered people chose it: one more fixed choice fits.
    assert planned["admitted"] == ["lab0@example.com", "free@example.com"]
    assert planned["waiting"] == ["lab1@example.com", "lab2@example.com"]


# -- the rule against a brute force -------------------------------------------------------


def _feasible(room: Room, holders: list[Candidate]) -> bool:
    """The contract's limits, written out again: capacity, quotas, slot seats, fixed choices."""
    if room.capacity is not None and len(holders) > room.capacity:
        return False
    for partner, most in (room.quotas or {}).items():
        if sum(h.partner == partner for h in holders) > most:
            return False
    for sessions in (room.slots or {}).values():
        seats = list(sessions.values())
        if all(s is not None for s in seats) and len(holders) > sum(s or 0 for s in seats):
            return False
        for session, seat in sessions.items():
            if seat is not None and sum(session in h.sessions for h in holders) > seat:
                return False
    return True


def _best(people: list[Candidate], room: Room, earlier: set[str]) -> set[str]:
    """Of every set of waitlisted people that fits beside the registered, the first in the
    order of preference: earlier admissions first, then file order (lexicographic)."""
    registered = [p for p in people if p.status == "registered"]
    waiting = [p for p in people if p.status == "waitlisted"]
    order = ([p for p in waiting if p.key in earlier]
             + [p for p in waiting if p.key not in earlier])
    best: tuple[bool, ...] | None = None
    for chosen in product((True, False), repeat=len(order)):  # lexicographically best first
        if _feasible(room, registered + [p for p, c in zip(order, chosen, strict=True) if c]):
            best = chosen
            break
    assert best is not None  # the empty set always fits... when the registered fit
    return {p.key for p, c in zip(order, best, strict=True) if c}


PARTNERS = ("a", "b", "c")


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Candidate], Room, set[str]]:
    count = draw(st.integers(0, 8))
    people = [Candidate(f"p{i}", draw(st.sampled_from(PARTNERS)),
                        draw(st.sampled_from(("registered", "waitlisted", "waitlisted",
                                              "withdrawn"))),
                        tuple(draw(st.lists(st.sampled_from(("s1", "s2", "t1")), max_size=1))))
              for i in range(count)]
    seats = st.one_of(st.none(), st.integers(0, 4))
    room = Room(draw(st.one_of(st.none(), st.integers(0, 8))),
                draw(st.dictionaries(st.sampled_from(PARTNERS), st.integers(0, 3))),
                {"s": {"s1": draw(seats), "s2": draw(seats)}, "t": {"t1": draw(seats)}})
    earlier = set(draw(st.lists(st.sampled_from([p.key for p in people] or ["x"]))))
    return people, room, earlier


@settings(max_examples=400, deadline=None)
@given(cases())
def test_admission_is_the_first_set_that_fits_in_the_order_of_preference(
        case: tuple[list[Candidate], Room, set[str]]) -> None:
    people, room, earlier = case
    registered = [p for p in people if p.status == "registered"]
    result = admit(people, room, earlier)
    waitlisted = [p.key for p in people if p.status == "waitlisted"]
    assert Counter(result.admitted + result.waiting) == Counter(waitlisted)
    assert list(result.admitted) == [k for k in waitlisted if k in set(result.admitted)]
    if not _feasible(room, registered):
        assert result.admitted == ()  # no room at all
        return
    assert set(result.admitted) == _best(people, room, earlier)
