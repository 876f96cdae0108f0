"""`cxc plan` over a store: validate, plan every programme, store the plan and what it was
made from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cxc import store
from cxc.errors import Finding
from cxc.plan.solver import ProgrammePlan, kept_plan, plan_programme
from cxc.plan.waitlist import admit_programme
from cxc.progress import Progress, no_progress
from cxc.rules import validate_store

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class PlanOutcome:
    plans: tuple[ProgrammePlan, ...]
    files: dict[str, str]
    """Programme id -> the file whose programme was planned."""
    findings: tuple[Finding, ...]
    """The rules' findings, with the planner's word on slots in place of the rules' estimate."""


def plan_store(db: sqlite_utils.Database,
               progress: Progress = no_progress) -> PlanOutcome:
    """Validate, plan every programme that is not cancelled, keep the plan in the store.

    A re-plan starts from the stored plan, so people who already have their
    calendars move only when they must. Only programmes whose data changed since their
    plan, or that have none, are solved and written: a current plan that seats everyone is
    what solving again would give (see :func:`kept_plan`), so it is read back and its rows
    stay untouched. Programmes are read and planned one at a time; ``progress`` hears
    (programmes planned, programmes to plan) after each.
    """
    files: dict[str, str] = {}
    made_from: dict[str, str] = {}
    # One write transaction: the admissions are stored before the rules run (they count
    # the admitted as seat holders), and land together with the plan, or not at all.
    with store.write_transaction(db):
        states = store.plan_states(db)
        for state in states:
            if state.status != "cancelled":
                files.setdefault(state.programme, state.file)  # a repeated id is a
                # duplicate-id error: plan the first
        rows = Counter(state.programme for state in states)
        current = {s.programme for s in states if s.current and rows[s.programme] == 1
                   and s.programme in files}
        stale = [file for pid, file in files.items() if pid not in current]
        admissions = {doc.programme.id: admit_programme(
            doc, store.read_admitted(db, doc.programme.id))
            for doc in store.read_programmes(db, stale, travel=False)}
        store.save_admissions(db, {pid: a.admitted for pid, a in admissions.items()},
                              keep=files)
        findings = validate_store(db)
        hashes = dict(db.conn.execute("SELECT file, data_hash FROM programmes"))
        plans = []
        solved: list[ProgrammePlan] = []
        # Planning never looks at travel legs or stays: they are not read.
        for doc in store.read_programmes(db, files.values(), travel=False):
            pid = doc.programme.id
            previous = store.read_placements(db, pid)
            planned: ProgrammePlan | None = None
            if pid in current:
                earlier = store.read_admitted(db, pid)
                admission = admissions[pid] = admit_programme(doc, earlier)
                if set(admission.admitted) == earlier:
                    planned = kept_plan(
                        replace(doc, participants=doc.seat_holders(admission.admitted)),
                        previous)
            if planned is None:
                seated = replace(doc, participants=doc.seat_holders(admissions[pid].admitted))
                planned = plan_programme(seated, previous)
                solved.append(planned)
                made_from[pid] = hashes[doc.file]
            plans.append(replace(planned, admitted=admissions[pid].admitted,
                                 waiting=admissions[pid].waiting))
            progress(len(plans), len(files))
        resolved = {p.programme for p in solved}
        store.save_admissions(db, {pid: admissions[pid].admitted for pid in resolved
                                   if pid in current}, keep=files)
        store.save_plan(db, {
            p.programme: [(x.slot, x.session, x.email) for x in p.placements] for p in solved},
            made_from, keep=files)
    kept = [f for f in findings
            if not (f.rule == "slot-infeasible" and f.participant is None
                    and f.programme in files)]
    merged = sorted(kept + [f for p in plans for f in p.findings], key=lambda f: f.sort_key)
    return PlanOutcome(tuple(plans), files, tuple(merged))
