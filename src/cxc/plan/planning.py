"""`cxc plan` over a store: validate, plan every programme, store the plan and what it was
made from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cxc import store
from cxc.errors import Finding
from cxc.model import ProgrammeDoc
from cxc.plan.solver import INFEASIBLE_RULE, ProgrammePlan, kept_plan, plan_programme
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
    """The rules' findings; a slot that cannot seat everyone also says whom the plan left out."""


def plan_store(db: sqlite_utils.Database, progress: Progress = no_progress,
               shown: Callable[[ProgrammeDoc, ProgrammePlan], None] | None = None,
               ) -> PlanOutcome:
    """Validate, plan every programme that is not cancelled, keep the plan in the store.

    A re-plan starts from the stored plan, so people who already have their
    calendars move only when they must. Only programmes whose data changed since their
    plan, or that have none, are solved and written: a current plan that seats everyone is
    what solving again would give (see :func:`kept_plan`), so it is read back and its rows
    stay untouched. Programmes are read and planned one at a time; ``progress`` hears
    (programmes planned, programmes to plan) after each; ``shown``, when given, is handed each
    programme as read (without travel) with its plan, to keep what showing it needs: the
    programmes are not read again, nor kept.
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
        findings = validate_store(db, keep=True)
        hashes = dict(db.conn.execute("SELECT file, data_hash FROM programmes"))
        plans = []
        solved: list[ProgrammePlan] = []
        # Planning never looks at travel legs or stays: they are not read.
        for doc in store.read_programmes(db, files.values(), travel=False):
            pid = doc.programme.id
            planned: ProgrammePlan | None = None
            if pid in current:
                earlier = store.read_admitted(db, pid)
                admission = admissions[pid] = admit_programme(doc, earlier)
                if set(admission.admitted) == earlier:
                    planned = kept_plan(
                        replace(doc, registrations=doc.seat_holders(admission.admitted)),
                        store.read_seating(db, pid))
            if planned is None:
                seated = replace(doc, registrations=doc.seat_holders(admissions[pid].admitted))
                planned = plan_programme(seated, store.read_placements(db, pid))
                solved.append(planned)
                made_from[pid] = hashes[doc.file]
            plans.append(replace(planned, admitted=admissions[pid].admitted,
                                 waiting=admissions[pid].waiting))
            if shown is not None:
                shown(doc, plans[-1])
            progress(len(plans), len(files))
        resolved = {p.programme for p in solved}
        store.save_admissions(db, {pid: admissions[pid].admitted for pid in resolved
                                   if pid in current}, keep=files)
        store.save_plan(db, {
            p.programme: [(x.slot, x.session, x.email) for x in p.placements] for p in solved},
            made_from, keep=files)
    return PlanOutcome(tuple(plans), files, tuple(_with_unplaced(findings, plans)))


def _with_unplaced(findings: Iterable[Finding], plans: Iterable[ProgrammePlan]) -> list[Finding]:
    """The rules' findings, each ``slot-infeasible`` error of a planned slot telling whom the
    plan left out (the rules and the planner reach the same verdict from the same
    constraints: see :mod:`cxc.rules.constraints`)."""
    unplaced = {(f.programme, f.file, f.line, f.message): f.extra["unplaced"]
                for p in plans for f in p.findings if "unplaced" in f.extra}
    out = []
    for finding in findings:
        left_out = unplaced.get((finding.programme, finding.file, finding.line, finding.message))
        if finding.rule == INFEASIBLE_RULE and left_out is not None:
            finding = replace(finding, extra={**finding.extra, "unplaced": left_out})
        out.append(finding)
    return out
