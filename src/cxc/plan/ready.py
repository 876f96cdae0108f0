"""Provenance: whether a programme's stored plan is the one its data asks for, checked
before anything is written from it (export, send, sheets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cxc import store
from cxc.errors import EXIT_FINDINGS, CxcError, plural, them
from cxc.rules import validate_store

if TYPE_CHECKING:
    import sqlite_utils


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
    or changed since it was planned, in the store or in its file (edited, or gone from
    its folder, since it was loaded). ``programmes``: the ids to check (default: all).

    Cancelled programmes need no plan: they are written cancelled. Errors that no
    programme owns (the partnership's) stop everything: partners and hosts come from it.
    Call it inside the read snapshot the output is made from."""
    wanted = None if programmes is None else set(programmes)
    errors: dict[str | None, int] = {}
    for finding in validate_store(db):
        if finding.severity == "error":
            errors[finding.programme] = errors.get(finding.programme, 0) + 1
    reasons = []
    changed: dict[str | None, str] = {}
    for change in store.changed_on_disk(db):  # None: the partnership's file
        if change.out_of_date and (change.kind == "partnership" or change.programme):
            changed.setdefault(change.programme if change.kind == "programme" else None,
                               change.reason())
    if None in changed:
        reasons.append(f"the partnership file {changed[None]}")
    if errors.get(None):
        reasons.append(f"the partnership has {plural(errors[None], 'error')} (see `cxc validate`); "
                       f"fix {them(errors[None])}, then run `cxc plan`")
    seen: set[str] = set()
    for state in store.plan_states(db):
        pid = state.programme
        if pid in seen or (wanted is not None and pid not in wanted):
            continue
        seen.add(pid)
        if pid in changed:
            reasons.append(f"programme `{pid}`: {changed[pid]}")
            continue
        if state.status == "cancelled":
            continue
        if errors.get(pid):
            reasons.append(f"programme `{pid}` has {plural(errors[pid], 'error')} (see `cxc validate`); "
                           f"fix {them(errors[pid])}, then run `cxc plan`")
        elif not state.planned:
            reasons.append(f"programme `{pid}` was never planned; run `cxc plan` first")
        elif not state.current:
            reasons.append(f"programme `{pid}` changed since it was planned; run `cxc plan` "
                           f"to bring its plan up to date")
    if reasons:
        raise NotReady(reasons)
