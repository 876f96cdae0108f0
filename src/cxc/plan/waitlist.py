"""Admission from the waitlist: who of the waitlisted people gets a seat.

PRODUCT.md, Planning, Waitlists: waitlisted people are admitted in the order the
file lists them while the programme's capacity, their partner's quota and the seats
of every slot leave room; one who does not fit is skipped and the next one tried.
Admission is stable: whoever an earlier plan admitted is tried first (in file order),
so they keep their seat while there is room, whoever comes before them in the file.

A pure function over plain values, so that it can be checked against a brute force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cxc import model as m


@dataclass(frozen=True)
class Candidate:
    """A person of the programme, in file order, as admission sees them."""

    key: str
    """Email key (:func:`cxc.model.identity_key`)."""
    partner: str
    status: m.RegistrationStatus
    """``registered`` people already hold a seat; ``waitlisted`` ones may be admitted."""
    sessions: tuple[str, ...] = ()
    """Fixed choices: each takes a seat of that session."""


@dataclass(frozen=True)
class Room:
    """The limits admission keeps to."""

    capacity: int | None = None
    """The programme's capacity; None: unlimited."""
    quotas: Mapping[str, int] | None = None
    """Partner -> most delegates; a partner without a quota is unlimited."""
    slots: Mapping[str, Mapping[str, int | None]] | None = None
    """Slot -> its sessions -> their seats (None: unlimited)."""


@dataclass(frozen=True)
class Admission:
    admitted: tuple[str, ...]
    """Everyone admitted, by this plan or an earlier one, in file order."""
    waiting: tuple[str, ...]
    """The waitlisted people still waiting, in file order."""


def fits(room: Room, holders: Sequence[Candidate]) -> bool:
    """Whether ``holders`` together keep to every limit of ``room``."""
    if room.capacity is not None and len(holders) > room.capacity:
        return False
    partners = Counter(h.partner for h in holders)
    for partner, most in (room.quotas or {}).items():
        if partners[partner] > most:
            return False
    chosen = Counter(s for h in holders for s in set(h.sessions))
    for sessions in (room.slots or {}).values():
        if None not in sessions.values() and len(holders) > sum(
                seats or 0 for seats in sessions.values()):
            return False
        for session, seats in sessions.items():
            if seats is not None and chosen[session] > seats:
                return False
    return True


def admit(people: Sequence[Candidate], room: Room,
          earlier: Iterable[str] = ()) -> Admission:
    """Admit waitlisted ``people`` (file order) into ``room`` beside the registered ones,
    those in ``earlier`` (admitted by an earlier plan) first."""
    before = set(earlier)
    holders = [p for p in people if p.status == "registered"]
    waitlisted = [p for p in people if p.status == "waitlisted"]
    let_in: set[str] = set()
    for person in [p for p in waitlisted if p.key in before] + [
            p for p in waitlisted if p.key not in before]:
        if person.key in let_in:
            continue  # the same email twice: a duplicate-id error, admitted once
        if fits(room, [*holders, person]):
            holders.append(person)
            let_in.add(person.key)
    return Admission(
        tuple(dict.fromkeys(p.key for p in waitlisted if p.key in let_in)),
        tuple(dict.fromkeys(p.key for p in waitlisted if p.key not in let_in)))


def room_of(doc: m.ProgrammeDoc) -> Room:
    """The limits of a programme: capacity, quotas, and the seats of each slot's sessions."""
    venues = {v.id: v for v in doc.venues}
    return Room(
        doc.programme.capacity,
        {q.partner: q.count for q in doc.programme.quotas},
        {slot: {s.id: m.session_capacity(s, venues) for s in sessions}
         for slot, sessions in m.slots_of(doc.sessions).items()})


def admit_programme(doc: m.ProgrammeDoc, earlier: Iterable[str] = ()) -> Admission:
    """:func:`admit` over a programme's participants (forgotten people take no part)."""
    if not any(p.status == "waitlisted" for p in doc.registrations):
        return Admission((), ())  # no one to admit: most programmes, at every plan
    people = [Candidate(p.key, p.partner, p.status, p.sessions)
              for p in doc.registrations if not m.is_pseudonym(p.key)]
    return admit(people, room_of(doc), earlier)
