"""Benchmark the slot planner against an integer-programming reference.

Generates one seeded programme (default: 5,000 people, 50 parallel sessions in
one slot, 4-6 partner delegations, interests over 10 themes, capacities that
seat everyone), plans it with ``cxc.plan.plan_programme``, solves the same slot
as a person x session binary programme with scipy's ``milp`` (HiGHS) under the
same weighted objective, prints both times and objective values, and exits 1
if the objectives differ.

    python bench/bench_plan.py [--seed N] [--people N] [--sessions N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from cxc.model import LocalTime, Programme, ProgrammeDoc, Registration, Session, Venue
from cxc.plan import (
    SlotPerson,
    SlotSession,
    Weights,
    allowed_sessions,
    objective_weights,
    plan_programme,
    score_assignment,
    shared_themes,
)

THEMES = (
    "ai", "digital health", "genomics", "medtech", "e-health", "robotics",
    "biotech", "data", "diagnostics", "telemedicine",
)
SLOT = "workshops"
ZONE = "Europe/Paris"


def generate(seed: int, people: int, sessions: int) -> ProgrammeDoc:
    rng = random.Random(seed)
    partners = [f"partner-{n}" for n in range(rng.randint(4, 6))]
    mean = people // sessions
    capacities = [rng.randint(max(mean - 20, 1), mean + 20) for _ in range(sessions)]
    shortfall = people - sum(capacities)
    for n in range(max(shortfall, 0)):
        capacities[n % sessions] += 1
    start = LocalTime(datetime(2023, 10, 9, 14), ZONE)
    end = LocalTime(datetime(2023, 10, 9, 16), ZONE)
    programme = Programme(
        id="bench", kind="cxc", title="Benchmark", host=partners[0], city=None, country="FR",
        timezone=ZONE, start=date(2023, 10, 9), end=date(2023, 10, 11),
    )
    return ProgrammeDoc(
        file="bench.yaml",
        programme=programme,
        venues=(Venue("campus", "bench", "Campus"),),
        sessions=tuple(
            Session(
                id=f"session-{n:02d}", programme="bench", title=f"Session {n}", kind="meeting",
                venue="campus", start=start, end=end, slot=SLOT, capacity=capacity,
                themes=tuple(rng.sample(THEMES, rng.randint(1, 3))),
            )
            for n, capacity in enumerate(capacities)
        ),
        registrations=tuple(
            Registration(
                programme="bench", email=f"person-{n:05d}@example.org", name=f"Person {n}",
                partner=rng.choice(partners),
                interests=tuple(rng.sample(THEMES, rng.randint(1, 3))),
            )
            for n in range(people)
        ),
    )


def slot_view(doc: ProgrammeDoc) -> tuple[list[SlotSession], list[SlotPerson]]:
    """The solver's view of the one slot; themes are already lower-case and trimmed."""
    sessions = [SlotSession(s.id, s.capacity, frozenset(s.themes)) for s in doc.sessions]
    people = [SlotPerson(p.key, p.partner, frozenset(p.interests)) for p in doc.registrations]
    return sessions, people


def solve_milp(
    sessions: list[SlotSession], people: list[SlotPerson], weights: Weights
) -> dict[str, str | None]:
    """x[person, session] binary, y[session, partner] binary <= sum of that partner's x there."""
    by_id = {s.id: s for s in sessions}
    partners = sorted({p.partner for p in people})
    pairs = [(s.id, q) for s in sessions for q in partners]
    pair_index = {pair: n for n, pair in enumerate(pairs)}
    arcs = [(i, s) for i, p in enumerate(people) for s in allowed_sessions(p, sessions)]
    n_x, n_y = len(arcs), len(pair_index)
    gain = np.array(
        [
            weights.placed
            + weights.kept * (s == people[i].previous)
            + weights.interest * shared_themes(people[i], by_id[s])
            for i, s in arcs
        ]
        + [weights.mixing] * n_y,
        dtype=float,
    )
    session_row = {s.id: len(people) + n for n, s in enumerate(sessions)}
    first_pair_row = len(people) + len(sessions)
    rows, cols, values = [], [], []
    for column, (i, s) in enumerate(arcs):
        rows += [i, session_row[s], first_pair_row + pair_index[(s, people[i].partner)]]
        cols += [column] * 3
        values += [1.0, 1.0, -1.0]
    for n in pair_index.values():
        rows.append(first_pair_row + n)
        cols.append(n_x + n)
        values.append(1.0)
    matrix = coo_array((values, (rows, cols)), shape=(first_pair_row + n_y, n_x + n_y)).tocsr()
    upper = (
        [1.0] * len(people)
        + [float(s.capacity) if s.capacity is not None else np.inf for s in sessions]
        + [0.0] * n_y
    )
    result = milp(
        -gain,
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(n_x + n_y),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0},
    )
    if result.x is None:
        raise SystemExit(f"milp found no solution: {result.message}")
    assignment: dict[str, str | None] = {p.email: None for p in people}
    for column, (i, s) in enumerate(arcs):
        if result.x[column] > 0.5:
            assignment[people[i].email] = s
    return assignment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args()

    doc = generate(args.seed, args.people, args.sessions)
    sessions, people = slot_view(doc)
    weights = objective_weights(sessions, people)

    started = time.perf_counter()
    plan = plan_programme(doc)
    plan_seconds = time.perf_counter() - started
    planned = {p.email: None for p in people} | {p.email: p.session for p in plan.placements}
    plan_score = score_assignment(sessions, people, planned)

    started = time.perf_counter()
    reference = solve_milp(sessions, people, weights)
    milp_seconds = time.perf_counter() - started
    milp_score = score_assignment(sessions, people, reference)

    print(f"instance: seed {args.seed}, {len(people)} people, {len(sessions)} sessions, "
          f"{len({p.partner for p in people})} partners, "
          f"{sum(s.capacity or 0 for s in sessions)} seats")
    print(f"cxc.plan (networkx network simplex, aggregated): {plan_seconds:8.3f} s  "
          f"objective {weights.value(plan_score)}  {plan_score}")
    print(f"milp (scipy HiGHS, person x session binaries):   {milp_seconds:8.3f} s  "
          f"objective {weights.value(milp_score)}  {milp_score}")
    print(f"time ratio milp / plan: {milp_seconds / plan_seconds:.1f}")
    if weights.value(plan_score) != weights.value(milp_score):
        print("objectives differ", file=sys.stderr)
        return 1
    print("objectives equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
