"""The planner's min-cost flows, solved by networkx and by compiled solvers, in one run.

    python bench/solver.py [--scale eu|small] [--repeat N] [--big-slot PEOPLE]

Builds, for every slot of every programme of the data set of ``bench/generate.py``
(kept in ``bench/data/<scale>/`` as ``bench/run.py`` keeps it), the network the planner
builds (``cxc.plan.solver.network``, from the same cohorts and weights), plus one large
slot like ``bench/bench_plan.py``'s (5,000 people in 50 sessions); then solves every
network with each solver and prints each solver's time as a ratio of networkx's, measured
in the same run (best of ``--repeat``). For each solver it checks, slot by slot, that the
optimal cost equals networkx's (so every goal of the plan is reached), and counts the slots
whose placements differ (another optimum among equal ones), and whether two runs give the
same flows (determinism).

Solvers: networkx's ``network_simplex`` (what cxc uses), OR-Tools' ``SimpleMinCostFlow``
(``pip install ortools``) on the same integer costs, and scipy's HiGHS (``milp``) with the
goals solved in stages (placed, kept, interest, mixing: each one fixed before the next)
on all slots at once, since floating point cannot hold the weighted sum exactly.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cxc.format.loader import read_documents, yaml_files
from cxc.model import ProgrammeDoc, slots_of
from cxc.plan.solver import (
    Network,
    Weights,
    _cohorts,
    _distinct_participants,
    _distinct_sessions,
    _slot_view,
    network,
    network_simplex,
    objective_weights,
)

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_plan  # noqa: E402
import run as bench_run  # noqa: E402

Solver = Callable[[Sequence[Network]], list[list[int]]]
WEIGHTS: dict[int, Weights] = {}
"""id of a network -> the weights it was built with (HiGHS solves the goals one by one)."""


def networks_of(doc: ProgrammeDoc) -> list[Network]:
    """The networks plan_programme solves for a programme without a previous plan."""
    venues = {v.id: v for v in doc.venues}
    sessions = _distinct_sessions(doc.sessions)
    participants = _distinct_participants(doc.seat_holders())
    out = []
    for slot, slot_sessions in sorted(slots_of(sessions).items()):
        options, people = _slot_view(slot, slot_sessions, participants, venues, {})
        ordered = sorted(options, key=lambda s: s.id)
        weights = objective_weights(ordered, people)
        out.append(network(ordered, _cohorts(ordered, people), weights))
        WEIGHTS[id(out[-1])] = weights
    return out


def load_networks(data: Path, big_slot: int) -> tuple[list[Network], int]:
    files = yaml_files([data])
    nets: list[Network] = []
    programmes = 0
    for document in read_documents(files):
        if isinstance(document, ProgrammeDoc) and document.programme.status != "cancelled":
            programmes += 1
            nets.extend(networks_of(document))
    if big_slot:
        nets.extend(networks_of(bench_plan.generate(2024, big_slot, 50)))
    return nets, programmes


def solve_networkx(nets: Sequence[Network]) -> list[list[int]]:
    return [network_simplex(net) for net in nets]


def solve_ortools(nets: Sequence[Network]) -> list[list[int]]:
    from ortools.graph.python import min_cost_flow

    flows = []
    for net in nets:
        flow = min_cost_flow.SimpleMinCostFlow()
        unbounded = sum(s for s in net.supply if s > 0)
        flow.add_arcs_with_capacity_and_unit_cost(
            np.array([a.tail for a in net.arcs], dtype=np.int32),
            np.array([a.head for a in net.arcs], dtype=np.int32),
            np.array([unbounded if a.capacity is None else a.capacity for a in net.arcs],
                     dtype=np.int64),
            np.array([a.cost for a in net.arcs], dtype=np.int64))
        flow.set_nodes_supplies(np.arange(len(net.nodes), dtype=np.int32),
                                np.array(net.supply, dtype=np.int64))
        status = flow.solve()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"OR-Tools: status {status}")
        flows.append([int(x) for x in flow.flows(np.arange(len(net.arcs), dtype=np.int32))])
    return flows


def _goals(net: Network) -> list[np.ndarray]:
    """Each goal's gain per arc, recovered from the costs: placed, kept, interest, mixing."""
    placing = {arc for seats in net.placing for _, arc in seats}
    gains: list[list[int]] = [[0] * len(net.arcs) for _ in range(4)]
    weights = WEIGHTS[id(net)]
    for index, arc in enumerate(net.arcs):
        gain = -arc.cost
        if index in placing:
            gains[0][index] = 1
            gains[1][index], rest = divmod(gain - weights.placed, weights.kept)
            gains[2][index] = rest // weights.interest
        elif gain:
            gains[3][index] = gain // weights.mixing
    return [np.array(g, dtype=float) for g in gains]


def solve_highs(nets: Sequence[Network]) -> list[list[int]]:
    """All slots in one block-diagonal programme; the goals maximised one after the other."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array, vstack

    rows, cols, vals, rhs, upper, goals = [], [], [], [], [], [[], [], [], []]
    node_base = arc_base = 0
    for net in nets:
        for index, arc in enumerate(net.arcs):
            rows += [node_base + arc.tail, node_base + arc.head]
            cols += [arc_base + index, arc_base + index]
            vals += [1.0, -1.0]
            upper.append(np.inf if arc.capacity is None else arc.capacity)
        rhs += net.supply
        for goal, gain in zip(goals, _goals(net), strict=True):
            goal.append(gain)
        node_base += len(net.nodes)
        arc_base += len(net.arcs)
    a_eq = coo_array((vals, (rows, cols)), shape=(node_base, arc_base)).tocsr()
    b_eq = np.array(rhs, dtype=float)
    constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
    bounds = Bounds(np.zeros(arc_base), np.array(upper))
    integral = np.ones(arc_base)
    x = None
    for gain in (np.concatenate(g) for g in goals):
        result = milp(-gain, constraints=constraints, bounds=bounds, integrality=integral)
        if not result.success:
            raise RuntimeError(f"HiGHS: {result.message}")
        x = np.round(result.x)
        best = float(gain @ x)
        constraints.append(LinearConstraint(vstack([coo_array(gain.reshape(1, -1))]), best, best))
    assert x is not None
    flows, start = [], 0
    for net in nets:
        flows.append([int(v) for v in x[start:start + len(net.arcs)]])
        start += len(net.arcs)
    return flows


def cost(net: Network, flow: Sequence[int]) -> int:
    return sum(a.cost * f for a, f in zip(net.arcs, flow, strict=True))


def placements(net: Network, flow: Sequence[int]) -> list[list[int]]:
    return [[flow[arc] for _, arc in seats] for seats in net.placing]


def timed(solver: Solver, nets: Sequence[Network], repeat: int) -> tuple[float, list[list[int]]]:
    best, flows = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        flows = solver(nets)
        best = min(best, time.perf_counter() - started)
    return best, flows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(bench_run.SCALES), default="eu")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--big-slot", type=int, default=5000,
                        help="people in the extra one-slot programme (0: none)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--solvers", default="networkx,ortools,highs")
    args = parser.parse_args(argv)

    programmes, registrations = bench_run.SCALES[args.scale]
    data = BENCH / "data" / args.scale
    bench_run.ensure_data(data, programmes, registrations, args.seed, regenerate=False)
    started = time.perf_counter()
    nets, planned = load_networks(data, args.big_slot)
    print(f"networks: {len(nets):,} slots of {planned:,} programmes (+1 of {args.big_slot:,} "
          f"people), {sum(len(n.arcs) for n in nets):,} arcs, "
          f"{sum(len(n.nodes) for n in nets):,} nodes; read and built in "
          f"{time.perf_counter() - started:.1f} s")
    print(f"machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at the start, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")

    solvers: dict[str, Solver] = {
        "networkx": solve_networkx, "ortools": solve_ortools, "highs": solve_highs}
    wanted = ["networkx", *(s for s in args.solvers.split(",") if s != "networkx")]
    base_time, base = timed(solve_networkx, nets, args.repeat)
    print(f"{'solver':<10} {'time':>9} {'ratio':>7}  exact  same placements  deterministic")
    print(f"{'networkx':<10} {base_time:>8.2f}s {1.0:>6.3f}x  -      -                "
          f"{timed(solve_networkx, nets, 1)[1] == base}")
    for name in wanted[1:]:
        try:
            seconds, flows = timed(solvers[name], nets, args.repeat)
        except ImportError as exc:
            print(f"{name:<10} not installed ({exc.name}): pip install ortools, or the test extras")
            continue
        exact = sum(cost(n, f) == cost(n, b) for n, f, b in zip(nets, flows, base, strict=True))
        same = sum(placements(n, f) == placements(n, b)
                   for n, f, b in zip(nets, flows, base, strict=True))
        again = timed(solvers[name], nets, 1)[1] == flows
        print(f"{name:<10} {seconds:>8.2f}s {seconds / base_time:>6.3f}x  "
              f"{exact}/{len(nets)}  {same}/{len(nets)} slots  {again}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
