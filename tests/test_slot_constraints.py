"""`slot-infeasible` has one author: `cxc validate` and `cxc plan` say the same about a slot.

Each case is a programme file under ``tests/data/slots/`` (its first line says what it
holds): load it with the partnership, then `cxc validate` and `cxc plan` must report the same
``slot-infeasible`` findings, word for word and at the same place, and that verdict is the
exact one (how many people the slot can really seat), not an estimate from its seats.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from conftest import PARTNERSHIP, Runner, line_of

from cxc.plan import SlotPerson, SlotSession, solve_slot
from cxc.rules.constraints import SlotSeats, most_seated, shortfall

SLOTS = Path(__file__).parent / "data" / "slots"

CASES: dict[str, list[tuple[str, str]]] = {
    "fixed-choices-overfill-one": [(
        "slot `morning` is 1 seat short: its sessions ws-b (10), ws-a (2) seat 5 of its 6 "
        "participants; fixed choices overfill ws-a (3 chose it, capacity 2)", "ws-a")],
    "short-and-overfilled": [(
        "slot `morning` is 2 seats short: its sessions ws-b (2), ws-a (1) seat 2 of its 4 "
        "participants; fixed choices overfill ws-a (3 chose it, capacity 1)", "ws-a")],
    "two-choices-in-one-slot": [],
    "one-person-registered-twice": [],
    "too-few-seats": [(
        "slot `morning` is 2 seats short: its sessions ws-b (1), ws-a (2) seat 3 of its 5 "
        "participants", "ws-b")],
    "seats-everyone-exactly": [],
}
"""Case -> the slot's findings: (message, the session it points at)."""


def _slot_findings(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in payload["findings"]
            if f["rule"] == "slot-infeasible" and f["participant"] is None]


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_plan_give_the_same_exact_verdict(
        case: str, run: Runner, write: Any) -> None:
    text = (SLOTS / f"{case}.yaml").read_text(encoding="utf-8")
    loaded = run("load", write("partnership.yaml", PARTNERSHIP), write("programme.yaml", text))
    assert loaded.code == 0, loaded.output

    validated = run("validate", "--format", "json")
    planned = run("plan", "--format", "json")

    found = _slot_findings(validated.json())
    assert [(f["message"], f["session"]) for f in found] == CASES[case]
    for finding in found:
        assert finding["file"] == "programme.yaml"
        assert finding["line"] == line_of(text, f"- id: {finding['session']}")
        assert finding["missing_seats"] == int(finding["message"].split(" is ")[1].split()[0])
    plan_found = _slot_findings(planned.json())
    assert [{k: v for k, v in f.items() if k != "unplaced"} for f in plan_found] == found
    for finding in plan_found:  # the plan also says whom it left out
        assert len(finding["unplaced"]) == finding["missing_seats"]
    # Everything else the two report agrees too, the per-person `slot-infeasible` included.
    rest = [f for f in validated.json()["findings"] if f not in found]
    assert [f for f in planned.json()["findings"] if f not in plan_found] == rest
    assert validated.code == planned.code == (1 if found else planned.code)


def test_the_plan_leaves_out_exactly_as_many_as_the_verdict_says(run: Runner, write: Any) -> None:
    text = (SLOTS / "short-and-overfilled.yaml").read_text(encoding="utf-8")
    assert run("load", write("partnership.yaml", PARTNERSHIP),
               write("programme.yaml", text)).code == 0

    (programme,) = run("plan", "--format", "json").json()["programmes"]

    seated = {s["id"]: s["attendees"] for s in programme["sessions"] if s["id"] != "keynote"}
    assert sorted(len(a) for a in seated.values()) == [1, 1]  # 2 of 4: ws-a 1, ws-b 1


def test_the_rules_verdict_is_the_number_the_solver_places() -> None:
    # Random slots with fixed choices of one, two or no sessions: the constraints' maximum
    # flow and the planner's min-cost flow (placing the most people first) agree.
    rng = random.Random(12)
    for _ in range(300):
        ids = [f"s{n}" for n in range(rng.randint(1, 4))]
        capacity = {i: rng.choice([None, 0, 1, 2, 3, 5]) for i in ids}
        people = [SlotPerson(f"p{n}@x.org", rng.choice("ab"),
                             choices=frozenset(rng.sample(ids, rng.choice([0, 0, 1, 1, 2]))
                                               if len(ids) > 1 else []))
                  for n in range(rng.randint(0, 9))]
        seats = [SlotSeats(i, capacity[i]) for i in ids]
        fixed = [p.choices for p in people if p.choices]

        placed = len(solve_slot([SlotSession(i, capacity[i]) for i in ids], people).seats)

        assert most_seated(seats, len(people), fixed) == placed
        short = shortfall("pm", seats, len(people), fixed)
        assert (short.missing if short else 0) == len(people) - placed
