"""Placement of a programme's participants in its parallel sessions: pure, exact, deterministic.

Sessions that share a ``slot`` are alternatives: every registered participant
(``attended`` plays no part) goes in exactly one of them, fixed choices
(``participant.sessions``) are kept, and no session goes over its capacity: the
constraints of :mod:`cxc.rules.constraints`, which give the network its arcs and
capacities here and the ``slot-infeasible`` verdict to `cxc validate` and `cxc plan`
alike.
Among the placements that fit, the planner maximises, in this order
(lexicographically):

a. the number of people placed (a slot that cannot seat everyone seats whom it
   can, and yields a ``slot-infeasible`` finding);
b. the number of people kept in the session a previous plan gave them (so a
   re-plan after a withdrawal or a capacity cut moves as few people as it can);
c. the interest match: for each placed person, the number of their
   ``interests`` among the session's ``themes`` (counted, not just 0/1, so a
   session matching two interests beats one matching one; themes compare
   case-insensitively);
d. the mix of delegations: the number of distinct (session, partner) pairs, so
   no group is made of one delegation while another arrangement could mix it.

Every goal is linear in the placement except (d), which is concave per
(session, partner), so one min-cost flow solves the slot exactly::

   cohort --placed, kept, interest--> (session, partner) --first seat: +1--> session --seats--> sink
      |                                                  --other seats: 0--/
      `--not placed: 0------------------------------------------------------------------> sink

People who are interchangeable (same partner, same fixed choices, same
interests among the slot's themes, same previous session) are merged into one
*cohort*: 5,000 people with random interests in 50 sessions make about 850
cohorts and 40,000 arcs, not 250,000 person-session arcs. The flow says how many of a cohort
go to each session; the cohort's members are then dealt out in order of
lower-cased email over the sessions in order of id. Sessions, cohorts and arcs
are built in a canonical order, so the same programme gives the same plan
whatever order its file lists things in.

Solver: networkx's ``network_simplex``, on the network as plain data
(:func:`network`, :func:`network_simplex`). It is exact (pure integer arithmetic
on Python ints, so the large lexicographic weights below never overflow or
round), deterministic, well kept, pure Python with no dependencies (a 2 MB wheel).
``bench/solver.py`` hands the same networks to compiled solvers
(figures in ``bench/README.md``, "Solver"): at EU scale OR-Tools'
``SimpleMinCostFlow`` (Apache-2.0) solves them about 15 times faster, exactly, but
the whole ``cxc plan`` only about 1.5 times (in CPU time: reading the programmes and
building the networks remain), for about 210 MB installed (OR-Tools, pandas,
numpy) and a peak memory over the 300 MB target; scipy's HiGHS (in floating
point, so exact only with the goals solved in stages) is slower than networkx.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from cxc.errors import Finding
from cxc.model import (
    ProgrammeDoc,
    Registration,
    Session,
    Venue,
    identity_key,
    session_capacity,
    slots_of,
)
from cxc.rules.constraints import (
    RULE,
    SlotSeats,
    allowed,
    infeasible_finding,
    over_seats,
    seat_limit,
    shortfall,
)

INFEASIBLE_RULE = RULE


@dataclass(frozen=True)
class Placement:
    """One person in one of a slot's sessions."""

    programme: str
    slot: str
    session: str
    email: str
    """Lower-cased."""


@dataclass(frozen=True)
class Move:
    """Someone a re-plan put elsewhere than the previous plan did."""

    programme: str
    slot: str
    email: str
    """Lower-cased."""
    from_session: str
    to_session: str | None
    """None when the slot can no longer seat them."""


@dataclass(frozen=True)
class SessionFill:
    """Who attends one session: everyone for a plenary session, the placed people otherwise."""

    session: str
    slot: str | None
    capacity: int | None
    """None: unlimited."""
    attendees: tuple[str, ...]
    """Lower-cased emails, sorted."""


@dataclass(frozen=True)
class ProgrammePlan:
    """The plan of one programme."""

    programme: str
    moved: tuple[Move, ...]
    """Sorted by slot, email; empty without a previous plan."""
    findings: tuple[Finding, ...]
    """One ``slot-infeasible`` error per slot that cannot seat everyone."""
    sessions: tuple[SessionFill, ...]
    """Every session, plenary ones included, by start time then id."""
    admitted: tuple[str, ...] = ()
    """Waitlisted people admitted, by this plan or an earlier one (email keys, file order)."""
    waiting: tuple[str, ...] = ()
    """Waitlisted people still waiting (email keys, file order)."""

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Who sits in which session of each slot (read off :attr:`sessions`), sorted by slot,
        session, email; plenary sessions are not listed (everyone attends)."""
        return tuple(sorted(
            (Placement(self.programme, fill.slot, fill.session, email)
             for fill in self.sessions if fill.slot is not None for email in fill.attendees),
            key=lambda p: (p.slot, p.session, p.email)))


@dataclass(frozen=True)
class SlotSession:
    """One alternative in a slot, as the solver sees it."""

    id: str
    capacity: int | None
    """None: unlimited."""
    themes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SlotPerson:
    """One person to seat in a slot, as the solver sees it."""

    email: str
    partner: str
    interests: frozenset[str] = frozenset()
    choices: frozenset[str] = frozenset()
    """Fixed choices among the slot's sessions; empty: any session."""
    previous: str | None = None
    """The session a previous plan gave them in this slot, if any."""


@dataclass(frozen=True, order=True)
class Score:
    """The goals of a placement, compared lexicographically in field order."""

    placed: int
    kept: int
    interest: int
    mixing: int


@dataclass(frozen=True)
class Weights:
    """Integer weights whose sum over a :class:`Score` orders placements lexicographically."""

    placed: int
    kept: int
    interest: int
    mixing: int = 1

    def value(self, score: Score) -> int:
        return (
            self.placed * score.placed
            + self.kept * score.kept
            + self.interest * score.interest
            + self.mixing * score.mixing
        )


@dataclass(frozen=True)
class SlotResult:
    """Where the solver put each person of a slot."""

    seats: tuple[tuple[str, str], ...]
    """(email, session) for every placed person, by email."""
    unplaced: tuple[str, ...]
    """Emails of the people the slot could not seat, sorted."""
    score: Score


def shared_themes(person: SlotPerson, session: SlotSession) -> int:
    """The interest match of one person in one session."""
    return len(person.interests & session.themes)


def allowed_sessions(person: SlotPerson, sessions: Sequence[SlotSession]) -> tuple[str, ...]:
    """The sessions a person may be placed in: their fixed choices, else all."""
    return allowed(person.choices, [s.id for s in sessions])


def score_assignment(
    sessions: Sequence[SlotSession],
    people: Sequence[SlotPerson],
    assignment: Mapping[str, str | None],
) -> Score:
    """The goals an assignment (email -> session id or None) reaches; feasibility is not checked."""
    by_id = {s.id: s for s in sessions}
    placed = kept = interest = 0
    pairs: set[tuple[str, str]] = set()
    for person in people:
        session_id = assignment.get(person.email)
        if session_id is None:
            continue
        placed += 1
        kept += session_id == person.previous
        interest += shared_themes(person, by_id[session_id])
        pairs.add((session_id, person.partner))
    return Score(placed, kept, interest, len(pairs))


def objective_weights(sessions: Sequence[SlotSession], people: Sequence[SlotPerson]) -> Weights:
    """Weights small enough to stay exact, large enough that each goal outranks all later ones.

    With N people, the mixing goal is at most D = min(N, sessions x partners),
    the interest goal at most I = sum over people of their best match, the
    kept goal at most K = the people whose previous session they may still
    take. Take w_mixing = 1, w_interest = D + 1, w_kept = (I + 1) * w_interest,
    w_placed = (K + 1) * w_kept. Then the later goals together weigh less than
    one unit of an earlier one:
      mixing <= D < w_interest;
      interest * w_interest + mixing <= I * w_interest + D < (I + 1) * w_interest = w_kept;
      kept * w_kept + (the above) < K * w_kept + w_kept = w_placed.
    So a placement that is lexicographically better has a strictly larger
    weighted sum (mixed-radix argument), and maximising the sum is exact.
    """
    partners = {p.partner for p in people}
    most_mixing = min(len(people), len(sessions) * len(partners))
    by_id = {s.id: s for s in sessions}
    most_interest = 0
    most_kept = 0
    for person in people:
        allowed = allowed_sessions(person, sessions)
        most_interest += max((shared_themes(person, by_id[i]) for i in allowed), default=0)
        most_kept += person.previous in allowed
    interest = most_mixing + 1
    kept = (most_interest + 1) * interest
    return Weights(placed=(most_kept + 1) * kept, kept=kept, interest=interest)


@dataclass(frozen=True)
class _Cohort:
    """Interchangeable people: same partner, allowed sessions, interests and previous session."""

    partner: str
    allowed: tuple[str, ...]
    interests: tuple[str, ...]
    previous: str | None
    emails: tuple[str, ...]
    """Sorted."""


def _cohorts(sessions: Sequence[SlotSession], people: Sequence[SlotPerson]) -> list[_Cohort]:
    slot_themes = frozenset().union(*(s.themes for s in sessions))
    slot_ids = {s.id for s in sessions}
    members: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], list[str]]
    members = defaultdict(list)
    for person in people:
        key = (
            person.partner,
            allowed_sessions(person, sessions),
            tuple(sorted(person.interests & slot_themes)),
            person.previous if person.previous in slot_ids else "",
        )
        members[key].append(person.email)
    cohorts = []
    for key in sorted(members):
        partner, allowed, interests, previous = key
        emails = tuple(sorted(members[key]))
        cohorts.append(_Cohort(partner, allowed, interests, previous or None, emails))
    return cohorts


Node = tuple[str | int, ...]


@dataclass(frozen=True)
class Arc:
    tail: int
    head: int
    capacity: int | None
    """None: unbounded."""
    cost: int


@dataclass
class Network:
    """A slot's min-cost flow as plain data (see the module docstring), for any exact solver."""

    nodes: list[Node]
    """In the order they are first met (networkx's simplex depends on the order)."""
    supply: list[int]
    """Per node: the people it sends (a cohort), minus those it takes (the sink)."""
    arcs: list[Arc]
    placing: list[list[tuple[str, int]]]
    """Per cohort: (session, index of the arc that seats its members there)."""

    def node(self, name: Node) -> int:
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = len(self.nodes)
            self.nodes.append(name)
            self.supply.append(0)
        return index

    def arc(self, tail: Node, head: Node, cost: int, capacity: int | None = None) -> int:
        self.arcs.append(Arc(self.node(tail), self.node(head), capacity, cost))
        return len(self.arcs) - 1

    def __post_init__(self) -> None:
        self._index: dict[Node, int] = {}


def network(
    sessions: Sequence[SlotSession], cohorts: Sequence[_Cohort], weights: Weights
) -> Network:
    """The min-cost flow whose optimum is the slot's best placement: costs are minus gains."""
    themes = {s.id: s.themes for s in sessions}
    net = Network([], [], [], [])
    sink = ("sink",)
    net.supply[net.node(sink)] = -sum(len(c.emails) for c in cohorts)
    pairs: set[tuple[str, str]] = set()
    for index, cohort in enumerate(cohorts):
        cohort_node = ("cohort", index)
        net.supply[net.node(cohort_node)] = len(cohort.emails)
        net.arc(cohort_node, sink, 0)
        seats = []
        for session_id in cohort.allowed:
            gain = (
                weights.placed
                + weights.kept * (session_id == cohort.previous)
                + weights.interest * len(themes[session_id].intersection(cohort.interests))
            )
            pair = ("pair", session_id, cohort.partner)
            seats.append((session_id, net.arc(cohort_node, pair, -gain)))
            pairs.add((session_id, cohort.partner))
        net.placing.append(seats)
    for session_id, partner in sorted(pairs):
        # No parallel arcs (networkx's DiGraph has none): the bonus seat has a node of its own.
        pair, first = ("pair", session_id, partner), ("first", session_id, partner)
        net.arc(pair, first, -weights.mixing, capacity=1)
        net.arc(first, ("session", session_id), 0)
        net.arc(pair, ("session", session_id), 0)
    for session in sessions:
        net.arc(("session", session.id), sink, 0, capacity=seat_limit(session.capacity))
    return net


def network_simplex(net: Network) -> list[int]:
    """The flow on each arc of an optimal solution, by networkx's network simplex."""
    import networkx as nx

    graph: nx.DiGraph[Node] = nx.DiGraph()
    for name, supply in zip(net.nodes, net.supply, strict=True):
        graph.add_node(name, demand=-supply)
    for arc in net.arcs:
        tail, head = net.nodes[arc.tail], net.nodes[arc.head]
        if arc.capacity is None:
            graph.add_edge(tail, head, weight=arc.cost)
        else:
            graph.add_edge(tail, head, capacity=arc.capacity, weight=arc.cost)
    _, flow = nx.network_simplex(graph)
    return [flow[net.nodes[a.tail]][net.nodes[a.head]] for a in net.arcs]


def _solve_flow(
    sessions: Sequence[SlotSession], cohorts: Sequence[_Cohort], weights: Weights
) -> list[dict[str, int]]:
    """For each cohort, how many of its members go to each session."""
    net = network(sessions, cohorts, weights)
    flow = network_simplex(net)
    return [{session_id: flow[arc] for session_id, arc in seats} for seats in net.placing]


def solve_slot(sessions: Sequence[SlotSession], people: Sequence[SlotPerson]) -> SlotResult:
    """Place each person in at most one session of a slot, optimally (see the module docstring)."""
    if len({p.email for p in people}) != len(people):
        raise ValueError("solve_slot: two people share an email")
    if len({s.id for s in sessions}) != len(sessions):
        raise ValueError("solve_slot: two sessions share an id")
    ordered = sorted(sessions, key=lambda s: s.id)
    cohorts = _cohorts(ordered, people)
    counts = _solve_flow(ordered, cohorts, objective_weights(ordered, people))
    seats: list[tuple[str, str]] = []
    unplaced: list[str] = []
    for cohort, per_session in zip(cohorts, counts, strict=True):
        emails = iter(cohort.emails)
        for session_id in cohort.allowed:
            seats.extend((next(emails), session_id) for _ in range(per_session.get(session_id, 0)))
        unplaced.extend(emails)
    seats.sort()
    unplaced.sort()
    score = score_assignment(ordered, people, dict(seats))
    return SlotResult(tuple(seats), tuple(unplaced), score)


def plan_programme(
    doc: ProgrammeDoc, previous: Mapping[tuple[str, str], str] | None = None
) -> ProgrammePlan:
    """Plan every slot of a programme.

    ``previous`` maps (slot, email) to the session a former plan gave, to keep people there.
    """
    programme = doc.programme.id
    venues = {v.id: v for v in doc.venues}
    sessions = _distinct_sessions(doc.sessions)
    participants = _distinct_participants(doc.registrations)
    before = {(slot, identity_key(email)): s for (slot, email), s in (previous or {}).items()}

    placed: dict[str, list[str]] = defaultdict(list)
    moves: list[Move] = []
    findings: list[Finding] = []
    for slot, slot_sessions in sorted(slots_of(sessions).items()):
        options, people = _slot_view(slot, slot_sessions, participants, venues, before)
        result = solve_slot(options, people)
        for email, session in result.seats:
            placed[session].append(email)
        moves.extend(_moves(programme, slot, people, dict(result.seats)))
        finding = _infeasible(doc, slot, slot_sessions, options, people, result)
        if finding is not None:
            findings.append(finding)

    moves.sort(key=lambda m: (m.slot, m.email))
    fills = _fills(sessions, participants, placed, venues)
    return ProgrammePlan(programme, tuple(moves), tuple(findings), fills)


def kept_plan(
    doc: ProgrammeDoc, seating: Mapping[str, Mapping[str, Collection[str]]]
) -> ProgrammePlan | None:
    """The plan :func:`plan_programme` gives when the stored plan ``seating`` (slot -> session
    -> the email keys placed there) already seats everyone, read off it without solving; None
    when it does not (then solve).

    Previous placements that place every person of every slot, in one of its sessions, within
    its capacities and fixed choices, are what the solver returns: placing everyone and
    keeping everyone come first in its order (goals a and b), and only one placement keeps
    everyone. Nobody moves and no slot is infeasible. A stored email that is not an email key
    (cxc stores none) is not matched to anyone here: the solver reads it as a key.
    """
    venues = {v.id: v for v in doc.venues}
    sessions = _distinct_sessions(doc.sessions)
    participants = _distinct_participants(doc.registrations)
    slots = slots_of(sessions)
    if not seating.keys() <= slots.keys():
        return None
    everyone = {p.key for p in participants}
    choosers = [(p.key, p.sessions) for p in participants if p.sessions]
    placed: dict[str, Collection[str]] = {}
    for slot, slot_sessions in slots.items():
        ids = [s.id for s in slot_sessions]
        held = seating.get(slot, {})
        if not held.keys() <= set(ids):
            return None
        seated = {i: held.get(i, ()) for i in ids}
        if not _seats_each_once(seated.values(), everyone) or any(
                over_seats(session_capacity(s, venues), len(seated[s.id])) for s in slot_sessions):
            return None
        if choosers:
            members = {i: frozenset(emails) for i, emails in seated.items()}
            if not all(any(email in members[i] for i in allowed(choices, ids))
                       for email, choices in choosers):
                return None
        placed.update(seated)
    return ProgrammePlan(doc.programme.id, (), (), _fills(sessions, participants, placed, venues))


def _seats_each_once(groups: Collection[Collection[str]], everyone: Collection[str]) -> bool:
    """Whether ``groups`` hold every one of ``everyone`` exactly once, and no one else."""
    return sum(map(len, groups)) == len(everyone) and set().union(*groups) == everyone


def _slot_view(
    slot: str,
    slot_sessions: Sequence[Session],
    participants: Iterable[Registration],
    venues: Mapping[str, Venue],
    before: Mapping[tuple[str, str], str],
) -> tuple[list[SlotSession], list[SlotPerson]]:
    """A slot's sessions and people as the solver sees them."""
    options = [
        SlotSession(s.id, session_capacity(s, venues), _themes(s.themes)) for s in slot_sessions
    ]
    ids = frozenset(s.id for s in slot_sessions)
    people = [
        SlotPerson(
            email=p.key,
            partner=p.partner,
            interests=_themes(p.interests),
            choices=frozenset(p.sessions) & ids,
            previous=before.get((slot, p.key)),
        )
        for p in participants
    ]
    return options, people


def _fills(
    sessions: Iterable[Session],
    participants: Iterable[Registration],
    placed: Mapping[str, Collection[str]],
    venues: Mapping[str, Venue],
) -> tuple[SessionFill, ...]:
    """Every session with who attends it; ``placed``: session -> the emails placed there."""
    everyone = tuple(sorted(p.key for p in participants))
    return tuple(
        SessionFill(
            s.id,
            s.slot,
            session_capacity(s, venues),
            everyone if s.plenary else tuple(sorted(placed.get(s.id, ()))),
        )
        for s in sorted(sessions, key=lambda s: (s.start.wall, s.end.wall, s.id))
    )


def _themes(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w.strip().casefold() for w in words)


def _distinct_sessions(sessions: Sequence[Session]) -> list[Session]:
    """One session per id (a duplicate id is the rules' finding): the first in the file."""
    by_id = {s.id: s for s in sessions}
    if len(by_id) == len(sessions):  # no duplicate: the first of each id is the only one
        return sorted(by_id.values(), key=lambda s: s.id)
    chosen: dict[str, Session] = {}
    for session in sorted(sessions, key=_session_order):
        chosen.setdefault(session.id, session)
    return sorted(chosen.values(), key=lambda s: s.id)


def _session_order(session: Session) -> tuple[str, int, int, str, str]:
    return (session.source.file, session.source.line, session.source.column, session.id,
            repr(session))


def _distinct_participants(participants: Sequence[Registration]) -> list[Registration]:
    """One registration per email (a duplicate is the rules' finding): the first in the file."""
    by_key = {p.key: p for p in participants}
    if len(by_key) == len(participants):  # no duplicate: the first of each email is the only one
        return [by_key[key] for key in sorted(by_key)]
    chosen: dict[str, Registration] = {}
    ordered = sorted(participants, key=lambda p: (p.source.file, p.source.line, p.source.column,
                                                  p.key, repr(p)))
    for participant in ordered:
        chosen.setdefault(participant.key, participant)
    return sorted(chosen.values(), key=lambda p: p.key)


def _moves(
    programme: str, slot: str, people: Iterable[SlotPerson], seats: Mapping[str, str]
) -> Iterable[Move]:
    for person in people:
        now = seats.get(person.email)
        if person.previous is not None and now != person.previous:
            yield Move(programme, slot, person.email, person.previous, now)


def _infeasible(
    doc: ProgrammeDoc,
    slot: str,
    slot_sessions: Sequence[Session],
    options: Sequence[SlotSession],
    people: Sequence[SlotPerson],
    result: SlotResult,
) -> Finding | None:
    """The rules' ``slot-infeasible`` error for the slot, if any, with whom it leaves out.

    The verdict is the constraints' (the one `cxc validate` gives); the solver, maximising
    the people placed first, leaves exactly that many out.
    """
    capacity = {o.id: o.capacity for o in options}
    seats = [SlotSeats(s.id, capacity[s.id], s.source.file or doc.file, s.source.line or None,
                       s.venue) for s in sorted(slot_sessions, key=_session_order)]
    short = shortfall(slot, seats, len(people), [p.choices for p in people if p.choices])
    if short is None:
        return None
    finding = infeasible_finding(doc.programme.id, short)
    return replace(finding, extra={**finding.extra, "unplaced": list(result.unplaced)})
