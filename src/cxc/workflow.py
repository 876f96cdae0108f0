"""The steps the commands share: load paths into a store, validate what it holds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import loader, rules, store
from .errors import Finding, UsageError
from .model import Document
from .progress import Progress, no_progress

if TYPE_CHECKING:
    import sqlite_utils

    from .plan import ProgrammePlan


@dataclass(frozen=True)
class InputFiles:
    """The YAML files named on the command line, found but not read yet."""

    paths: list[Path]
    displays: dict[str, str]
    """Absolute path -> the path as the user should read it."""

    def documents(self, progress: Progress = no_progress) -> Iterator[Document]:
        """Each file's document in turn; FormatError, at the end, carries every problem of every file."""
        return loader.read_documents(self.paths, progress)


def find_files(paths: Sequence[Path]) -> InputFiles:
    """The YAML files under ``paths``; UsageError for a path that is not there, or no file at all."""
    files = loader.yaml_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(map(str, paths))}")
    return InputFiles(files, {str(p.resolve()): loader.display_name(p) for p in files})


def validate_store(db: sqlite_utils.Database) -> list[Finding]:
    """Every finding of the rules on what the store holds, read in one snapshot."""
    with store.read_snapshot(db.conn):
        return rules.validate(db.conn)


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
    calendars move only when they must. Programmes are read and planned one at a time;
    ``progress`` hears (programmes planned, programmes to plan) after each.
    """
    from .plan import plan_programme

    files: dict[str, str] = {}
    with store.read_snapshot(db.conn):  # the plan starts from what was validated
        findings = validate_store(db)
        for pid, file in store.programme_files(db, active=True):
            files.setdefault(pid, file)  # a repeated id is a duplicate-id error: plan the first
        plans = []
        for doc in store.read_programmes(db, files.values()):
            pid = doc.programme.id
            plans.append(plan_programme(doc, store.read_placements(db, pid)))
            progress(len(plans), len(files))
    store.save_placements(db, {
        p.programme: [(x.slot, x.session, x.email) for x in p.placements] for p in plans})
    kept = [f for f in findings
            if not (f.rule == "slot-infeasible" and f.participant is None
                    and f.programme in files)]
    merged = sorted(kept + [f for p in plans for f in p.findings], key=lambda f: f.sort_key)
    return PlanOutcome(tuple(plans), files, tuple(merged))
