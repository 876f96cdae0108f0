"""The constraints of a slot, defined once: the planner builds its network from them, and the
``slot-infeasible`` rule reports where they cannot all hold.

As in conference_scheduler (its constraints are generated once, then given to the solver
and used to find a schedule's violations), the planner and the rules read the same
definitions here:

- a person attends exactly one session of each slot (:func:`allowed`): one of their fixed
  choices among the slot's sessions, else any of them;
- a session seats at most its capacity (:func:`seat_limit`): its own, else its venue's,
  else unlimited;
- fixed choices count against the seats of the sessions chosen;
- a plenary session seats every seat holder (:func:`over_seats`, the
  ``venue-over-capacity`` rule).

:func:`most_seated` is the exact number of people a slot can seat under these constraints
(a maximum flow, which is what the planner's first goal reaches), and :func:`shortfall`
the verdict both ``cxc validate`` and ``cxc plan`` report, with one wording
(:func:`infeasible_finding`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cxc.errors import Finding
from cxc.model import overfilled_phrase, slot_short_message

RULE = "slot-infeasible"


@dataclass(frozen=True)
class SlotSeats:
    """One session of a slot as the constraints see it, and where it is written."""

    id: str
    capacity: int | None
    """None: unlimited."""
    file: str | None = None
    line: int | None = None
    venue: str | None = None


@dataclass(frozen=True)
class Shortfall:
    """A slot that cannot seat all its people."""

    slot: str
    missing: int
    people: int
    sessions: tuple[SlotSeats, ...]
    """In file order."""
    overfilled: tuple[tuple[str, int, int], ...]
    """(session, people who can go nowhere else, capacity) where those are more than its seats."""

    @property
    def at(self) -> SlotSeats:
        """Where the finding points: the first overfilled session, else the slot's first."""
        over = {sid for sid, _, _ in self.overfilled}
        return next((s for s in self.sessions if s.id in over), self.sessions[0])


def allowed(choices: Iterable[str], sessions: Sequence[str]) -> tuple[str, ...]:
    """The sessions of a slot a person may attend: their fixed choices among them, else all."""
    chosen = frozenset(choices)
    fixed = tuple(s for s in sessions if s in chosen)
    return fixed or tuple(sessions)


def seat_limit(capacity: int | None) -> int | None:
    """The people a session may seat: its capacity (never below 0), None for unlimited."""
    return None if capacity is None else max(capacity, 0)


def over_seats(capacity: int | None, people: int) -> bool:
    """Whether ``people`` in one session are more than it seats (a plenary session seats
    every seat holder; a session of a slot, those placed or fixed there)."""
    limit = seat_limit(capacity)
    return limit is not None and people > limit


def most_seated(sessions: Sequence[SlotSeats], people: int,
                fixed: Iterable[Iterable[str]] = ()) -> int:
    """How many of ``people`` the slot can seat at most; ``fixed`` lists the fixed choices of
    those who have some (the others may take any session).

    A maximum flow: people, grouped by the sessions they may attend, to sessions, to their
    seats. Most people have no fixed choice, so the groups, and the flow, are small; and
    when seating the groups greedily (fewest sessions first) seats everyone, that is the
    maximum without a flow.
    """
    ids = [s.id for s in sessions]
    groups = Counter(allowed(c, ids) for c in fixed)
    groups[tuple(ids)] += people - sum(groups.values())
    limits = [seat_limit(s.capacity) for s in sessions]
    if set(groups) <= {tuple(ids)}:
        return people if None in limits else min(people, sum(n or 0 for n in limits))
    seats = [people if n is None else n for n in limits]
    if _greedy(groups, ids, seats) == people:
        return people
    return _max_flow([g for g in groups.items() if g[1]], ids, seats)


def _greedy(groups: Mapping[tuple[str, ...], int], ids: list[str], seats: list[int]) -> int:
    """People seated by filling, group by group (fewest sessions first), the free seats."""
    left = dict(zip(ids, seats, strict=True))
    seated = 0
    for sessions, size in sorted(groups.items(), key=lambda g: (len(g[0]), g[0])):
        for sid in sessions:
            take = min(size, left[sid])
            left[sid] -= take
            size -= take
            seated += take
    return seated


def _max_flow(groups: list[tuple[tuple[str, ...], int]], ids: list[str],
              seats: list[int]) -> int:
    """Edmonds-Karp on source -> group (its size) -> session (unbounded) -> sink (seats)."""
    index = {sid: len(groups) + i for i, sid in enumerate(ids)}
    source, sink = len(groups) + len(ids), len(groups) + len(ids) + 1
    residual: dict[int, dict[int, int]] = {n: {} for n in range(sink + 1)}

    def arc(a: int, b: int, capacity: int) -> None:
        residual[a][b] = residual[a].get(b, 0) + capacity
        residual[b].setdefault(a, 0)

    unbounded = sum(size for _, size in groups)
    for g, (sessions, size) in enumerate(groups):
        arc(source, g, size)
        for sid in sessions:
            arc(g, index[sid], unbounded)
    for sid, n in zip(ids, seats, strict=True):
        arc(index[sid], sink, n)
    flow = 0
    while True:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, left in residual[node].items():
                if left > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            return flow
        path = [sink]
        while path[-1] != source:
            path.append(parent[path[-1]])
        pushed = min(residual[parent[n]][n] for n in path[:-1])
        for n in path[:-1]:
            residual[parent[n]][n] -= pushed
            residual[n][parent[n]] += pushed
        flow += pushed


def shortfall(slot: str, sessions: Sequence[SlotSeats], people: int,
              fixed: Sequence[Iterable[str]] = ()) -> Shortfall | None:
    """The verdict on one slot: None when it can seat everyone.

    ``sessions`` are the slot's sessions in file order (one per id); of its ``people``,
    ``fixed`` lists the fixed choices (of any slot: those outside this one play no part) of
    those who have some.
    """
    ids = [s.id for s in sessions]
    chosen = [tuple(s for s in ids if s in frozenset(c)) for c in fixed]
    missing = people - most_seated(sessions, people, chosen)
    if missing <= 0:
        return None
    only = Counter(c[0] for c in chosen if len(c) == 1)
    overfilled = tuple(
        (s.id, only[s.id], s.capacity) for s in sorted(sessions, key=lambda s: s.id)
        if s.capacity is not None and only[s.id] > s.capacity)
    return Shortfall(slot, missing, people, tuple(sessions), overfilled)


def infeasible_finding(programme: str, short: Shortfall) -> Finding:
    """The one ``slot-infeasible`` error of a slot, as `validate` and `plan` both report it."""
    message = slot_short_message(short.slot, short.missing,
                                 [(s.id, s.capacity) for s in short.sessions], short.people)
    if short.overfilled:
        message += "; " + overfilled_phrase(short.overfilled)
    where = short.at
    return Finding(
        rule=RULE,
        severity="error",
        message=message,
        file=where.file,
        line=where.line or None,
        programme=programme,
        session=where.id,
        venue=where.venue,
        extra={
            "slot": short.slot,
            "missing_seats": short.missing,
            "sessions": [s.id for s in short.sessions],
        },
    )
