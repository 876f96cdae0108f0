"""The steps the commands share: load paths into a store, validate what it holds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import loader, rules, store
from .errors import EXIT_FINDINGS, CxcError, Finding, UsageError
from .model import Document
from .progress import Progress, no_progress

if TYPE_CHECKING:
    import sqlite_utils

    from .plan import ProgrammePlan


@dataclass(frozen=True)
class InputFiles:
    """The YAML files named on the command line, found but not read yet."""

    paths: list[Path]
    keys: dict[Path, str]
    """Each path -> how the store names it (relative to the store's folder when under it)."""
    displays: dict[str, str]
    """Store key -> the path as the user should read it."""
    mirrored: list[Path]
    """The folders named: the store holds exactly the files under them after the load."""

    def documents(self, progress: Progress = no_progress) -> Iterator[Document]:
        """Each file's document in turn; FormatError, at the end, carries every problem of every file."""
        return loader.read_documents(self.paths, progress, self.keys)


def find_files(paths: Sequence[Path], store_file: Path = Path("cxc.db")) -> InputFiles:
    """The YAML files under ``paths``; UsageError for a path that is not there, or no file at all.

    ``store_file`` is the store they go into: file keys are relative to its folder."""
    files = loader.yaml_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(map(str, paths))}")
    root = store.store_root(store_file)
    keys = {p: store.file_key(p, root) for p in files}
    return InputFiles(files, keys, {keys[p]: loader.display_name(p) for p in files},
                      [p for p in paths if p.is_dir()])


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
    made_from: dict[str, str] = {}
    with store.read_snapshot(db.conn):  # the plan starts from what was validated
        findings = validate_store(db)
        for state in store.plan_states(db):
            if state.status != "cancelled":
                files.setdefault(state.programme, state.file)  # a repeated id is a
                # duplicate-id error: plan the first
        hashes = dict(db.conn.execute("SELECT file, data_hash FROM programmes"))
        plans = []
        for doc in store.read_programmes(db, files.values()):
            pid = doc.programme.id
            seated = replace(doc, participants=doc.seat_holders(store.read_admitted(db, pid)))
            plans.append(plan_programme(seated, store.read_placements(db, pid)))
            made_from[pid] = hashes[doc.file]
            progress(len(plans), len(files))
    store.save_plan(db, {
        p.programme: [(x.slot, x.session, x.email) for x in p.placements] for p in plans},
        made_from)
    kept = [f for f in findings
            if not (f.rule == "slot-infeasible" and f.participant is None
                    and f.programme in files)]
    merged = sorted(kept + [f for p in plans for f in p.findings], key=lambda f: f.sort_key)
    return PlanOutcome(tuple(plans), files, tuple(merged))


class NotReady(CxcError):
    """Programmes that cannot be exported or sent as they are: each line says why and
    what to do."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))

    def lines(self) -> list[str]:
        return self.reasons


def check_ready(db: sqlite_utils.Database, programmes: Sequence[str] | None = None) -> None:
    """Refuse (NotReady) when a programme to be written has errors, was never planned,
    or changed since it was planned. ``programmes``: the ids to check (default: all).

    Cancelled programmes need no plan: they are written cancelled. Errors that no
    programme owns (the partnership's) stop everything: partners and hosts come from it.
    Call it inside the read snapshot the output is made from."""
    wanted = None if programmes is None else set(programmes)
    errors: dict[str | None, int] = {}
    for finding in validate_store(db):
        if finding.severity == "error":
            errors[finding.programme] = errors.get(finding.programme, 0) + 1
    reasons = []
    if errors.get(None):
        reasons.append(f"the partnership has {_errors(errors[None])} (see `cxc validate`); "
                       f"fix them, then run `cxc plan`")
    seen: set[str] = set()
    for state in store.plan_states(db):
        pid = state.programme
        if pid in seen or (wanted is not None and pid not in wanted):
            continue
        seen.add(pid)
        if state.status == "cancelled":
            continue
        if errors.get(pid):
            reasons.append(f"programme `{pid}` has {_errors(errors[pid])} (see `cxc validate`); "
                           f"fix them, then run `cxc plan`")
        elif not state.planned:
            reasons.append(f"programme `{pid}` was never planned; run `cxc plan` first")
        elif not state.current:
            reasons.append(f"programme `{pid}` changed since it was planned; run `cxc plan` "
                           f"to bring its plan up to date")
    if reasons:
        raise NotReady(reasons)


def _errors(n: int) -> str:
    return f"{n} error{'s' * (n != 1)}"
