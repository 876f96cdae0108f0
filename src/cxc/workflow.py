"""The steps the commands share: load paths into a store, validate what it holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import loader, rules, store
from .errors import Finding, UsageError
from .model import Document, World

if TYPE_CHECKING:
    import sqlite_utils

    from .plan import ProgrammePlan


@dataclass(frozen=True)
class InputFiles:
    """The YAML files named on the command line, found but not read yet."""

    paths: list[Path]
    displays: dict[str, str]
    """Absolute path -> the path as the user should read it."""

    def documents(self, done: Callable[[], None] = lambda: None) -> Iterator[Document]:
        """Each file's document in turn; FormatError, at the end, carries every problem of every file."""
        return loader.read_documents(self.paths, done)


@dataclass(frozen=True)
class ReadFiles:
    """Documents parsed from disk, ready to load."""

    documents: list[Document]
    displays: dict[str, str]
    """Absolute path -> the path as the user should read it."""


def find_files(paths: Sequence[Path]) -> InputFiles:
    """The YAML files under ``paths``; UsageError for a path that is not there, or no file at all."""
    files = loader.yaml_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(map(str, paths))}")
    return InputFiles(files, {str(p.resolve()): loader.display_name(p) for p in files})


def read_paths(paths: Sequence[Path]) -> ReadFiles:
    """Parse every YAML file under ``paths``; FormatError carries every problem of every file."""
    found = find_files(paths)
    return ReadFiles(loader.load_documents(found.paths), found.displays)


def validate_store(db: sqlite_utils.Database) -> tuple[World, list[Finding]]:
    world = store.read_world(db)
    return world, rules.validate(world)


@dataclass(frozen=True)
class PlanOutcome:
    world: World
    plans: tuple[ProgrammePlan, ...]
    findings: tuple[Finding, ...]
    """The rules' findings, with the planner's word on slots in place of the rules' estimate."""


def plan_store(db: sqlite_utils.Database) -> PlanOutcome:
    """Validate, plan every programme that is not cancelled, keep the plan in the store.

    A re-plan starts from the stored plan, so people who already have their
    calendars move only when they must.
    """
    from .plan import plan_programme

    world, findings = validate_store(db)
    previous = store.read_placements(db)
    plans: list[ProgrammePlan] = []
    seen: set[str] = set()
    for doc in world.programmes:
        pid = doc.programme.id
        if doc.programme.status == "cancelled" or pid in seen:
            continue  # a repeated id is a duplicate-id error; its first file is planned
        seen.add(pid)
        plans.append(plan_programme(doc, previous.get(pid)))
    store.save_placements(db, {
        p.programme: [(x.slot, x.session, x.email) for x in p.placements] for p in plans})
    planned = {p.programme for p in plans}
    kept = [f for f in findings
            if not (f.rule == "slot-infeasible" and f.participant is None
                    and f.programme in planned)]
    merged = sorted(kept + [f for p in plans for f in p.findings], key=lambda f: f.sort_key)
    return PlanOutcome(world, tuple(plans), tuple(merged))
