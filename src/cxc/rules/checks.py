"""The validation rules of PRODUCT.md: the registry, where each rule's id, severity and summary
are written once.

Each rule is a small function over a :class:`~cxc.rules.snapshot.Snapshot` (named SQL queries
over one read snapshot, in the vocabulary of the schema's views) that yields
:class:`~cxc.rules.snapshot.Breach` values; :func:`validate` turns them into
:class:`~cxc.errors.Finding` values with the rule's id and severity. Adding a rule is one
function in the module of its concern and one line in ``RULES``. The SQL does the counting,
joining and filtering, so Python only sees the rows that break a rule (or, for the checks on
time order, one small row per session).

Cancelled programmes are not checked and take part in no other programme's check.
The rules count and check seat holders only (the ``seat_holders`` view); a withdrawn,
still-waiting or forgotten person is seen by ``duplicate-id`` and ``unknown-reference``.
Where a file repeats an id (a duplicate-id error, flagged at the later row), lookups by id
take the first, as the plan and the calendars do.

Most rules find what is wrong in a file from that file's rows alone (``Rule.per_file``): their
findings are kept per file (:func:`validate_files`), and after one programme changed they run
for that file only, in the same queries leaving the other files' rows out; the rules that read across files run
on the whole store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from cxc import model as m
from cxc.errors import Finding
from cxc.rules.capacity import (
    programme_over_capacity,
    quota_exceeded,
    slot_infeasible,
    venue_over_capacity,
)
from cxc.rules.dates import (
    bad_dates,
    double_booked_across_programmes,
    double_booked_in_programme,
)
from cxc.rules.eligibility import ineligible_visitor, kind_rules, own_delegation, repeat_visit
from cxc.rules.identity import duplicate_activity, duplicate_id
from cxc.rules.references import no_partner_defined, unknown_reference
from cxc.rules.snapshot import Breach, Snapshot
from cxc.rules.travel import misses_sessions, tight_transfer

Check = Callable[[Snapshot], Iterable[Breach | Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: Check
    """A ``Finding`` passes as it is: a rule the plan computes too brings its own."""
    summary: str
    per_file: bool
    """Whether ``check`` finds what is wrong in a file from the rows of that file alone, with
    its display name, its programme's admissions and the partnership's rows (what the store's
    triggers forget that file's kept findings for, see
    :data:`~cxc.store.schema.VALIDATION_INPUTS`), and reports it at that file (the
    partnership's findings at the partnership file). On a snapshot that leaves out some
    files' rows (``Snapshot(conn, kept=...)``) it yields the other files' findings only."""
    why: str
    """Why it is per file, or not, in one line."""
    across: Check | None = None
    """The part of a per-file rule that reads across files: it runs on the whole store."""

    def findings(self, snapshot: Snapshot) -> Iterator[Finding]:
        """Every finding of the rule on ``snapshot``."""
        yield from self.in_files(snapshot)
        yield from self.across_files(snapshot)

    def in_files(self, snapshot: Snapshot) -> Iterator[Finding]:
        """The findings kept per file (none for a rule that is not per file)."""
        return self._found(self.check(snapshot)) if self.per_file else iter(())

    def across_files(self, snapshot: Snapshot) -> Iterator[Finding]:
        """The findings that read across files: run on the whole store."""
        check = self.across if self.per_file else self.check
        return self._found(check(snapshot)) if check is not None else iter(())

    def _found(self, breaches: Iterable[Breach | Finding]) -> Iterator[Finding]:
        for breach in breaches:
            if isinstance(breach, Finding):
                yield breach
                continue
            at = breach.at
            yield Finding(
                rule=self.id, severity=self.severity, message=breach.message,
                file=at.file or None, line=at.line or None, programme=breach.programme,
                participant=m.identity_key(breach.participant) if breach.participant else None,
                session=breach.session, venue=breach.venue)


RULES: tuple[Rule, ...] = (
    Rule("unknown-reference", "error", unknown_reference,
         "a host, partner, venue or session id that is not defined", True,
         "a file's ids against its own venues and sessions and the partnership's partners; "
         "the one finding that no partner is defined counts every file's",
         across=no_partner_defined),
    Rule("duplicate-id", "error", duplicate_id,
         "two things of the same kind share an id (participants: one email twice)", False,
         "a programme id, or the partnership, repeated in another file"),
    Rule("bad-dates", "error", bad_dates,
         "an end before its start, a date outside its period, a time in a DST gap", True,
         "a file's times against its programme's dates and the partnership's period; a DST "
         "gap is a property of the time itself"),
    Rule("programme-over-capacity", "error", programme_over_capacity,
         "more participants than the programme's capacity", True,
         "a programme's seat holders against its own capacity"),
    Rule("quota-exceeded", "error", quota_exceeded, "a partner sends more than its quota", True,
         "a programme's delegates against its own quotas"),
    Rule("venue-over-capacity", "error", venue_over_capacity,
         "a plenary session with more attendees than seats", True,
         "a programme's seat holders against its own sessions and venues"),
    Rule("slot-infeasible", "error", slot_infeasible,
         "a slot cannot seat its participants, or fixed choices overfill a session", True,
         "a programme's seat holders and fixed choices against its own slots"),
    Rule("participant-double-booked", "error", double_booked_in_programme,
         "one person in two overlapping sessions or programmes", True,
         "sessions and fixed choices of one programme; one person in two programmes reads "
         "both files", across=double_booked_across_programmes),
    Rule("tight-transfer", "warning", tight_transfer,
         "consecutive sessions at different venues closer than min_transfer_minutes", True,
         "a programme's sessions and venues"),
    Rule("misses-sessions", "warning", misses_sessions,
         "travel arrives after a session starts or leaves before it ends", True,
         "a programme's seat holders' travel against its own sessions"),
    Rule("kind-rules", "error", kind_rules, "the programme breaks its kind's rules", True,
         "a programme's dates, host and seat holders"),
    Rule("ineligible-visitor", "error", ineligible_visitor,
         "a cxc visitor whose organisation type may host but not visit", True,
         "a programme's seat holders"),
    Rule("repeat-visit", "warning", repeat_visit,
         "an organisation visits in more than one cxc", False,
         "an organisation's visits to every cxc, reported at the later one's file"),
    Rule("own-delegation", "warning", own_delegation,
         "a participant travels in the host's own delegation to a cxc", True,
         "a programme's seat holders and host"),
    Rule("duplicate-activity", "warning", duplicate_activity,
         "the same activity (kind, partner, date, title) listed twice: it would count twice",
         True, "the partnership file's activities, reported at that file"),
)

SEVERITY = {rule.id: rule.severity for rule in RULES}

MISFILED_WAITLISTS = """
SELECT DISTINCT r.file
FROM registrations r
JOIN programmes p ON p.file = r.file
WHERE r.status = 'waitlisted'
  AND r.programme != p.id
  AND (:kept IS NULL OR r.file NOT IN (SELECT value FROM json_each(:kept)))
"""
"""Files with a waitlisted registration that names another programme than its file's: whether
it holds a seat reads that programme's admissions, which the triggers forget that programme's
files for, not this one, so its findings are not kept per file."""


def in_order(findings: Iterable[Finding]) -> list[Finding]:
    """Sorted by programme, file, line, rule and message, then by the rest, so that the order
    does not depend on the order the rules ran in."""
    return sorted(findings, key=lambda f: (f.sort_key, f.severity, f.participant or "",
                                           f.session or "", f.venue or "",
                                           json.dumps(f.extra, sort_keys=True, default=str)))


def validate(conn: sqlite3.Connection) -> list[Finding]:
    """Every finding of every rule on the store, sorted by programme, file and line.

    Call it inside one read snapshot (:func:`cxc.store.read_snapshot`).
    """
    snapshot = Snapshot(conn)
    return in_order(f for rule in RULES for f in rule.findings(snapshot))


def validate_files(conn: sqlite3.Connection, kept: Mapping[str, list[Finding]],
                   ) -> tuple[list[Finding], dict[str, list[Finding]]]:
    """Every finding of every rule on the store, as :func:`validate`, with the per-file rules'
    findings of the files in ``kept`` (path -> their findings, as this returned them) taken
    from there: those rules run only for the other files.

    Also returns those other files' findings of the per-file rules, to keep (none when one
    cannot be told to which of them it belongs). Call it inside one read snapshot."""
    whole = Snapshot(conn)
    reused = {path: kept[path] for path in whole.paths if path in kept and path}
    todo = [path for path in whole.paths if path not in reused]
    scoped = whole if not reused else Snapshot(conn, kept=reused)
    computed = [f for rule in RULES for f in rule.in_files(scoped)]
    across = [f for rule in RULES for f in rule.across_files(whole)]
    findings = in_order([*(f for found in reused.values() for f in found), *computed, *across])
    return findings, _by_file(scoped, todo, computed)


def _by_file(snapshot: Snapshot, todo: list[str], found: list[Finding],
             ) -> dict[str, list[Finding]]:
    """``found`` (of the files ``todo``) by file; none when a display name is two files'."""
    path_of: dict[str | None, str] = {}
    for path in todo:
        shown = snapshot.at(path, None).file or None
        if shown in path_of:
            return {}
        path_of[shown] = path
    out: dict[str, list[Finding]] = {path: [] for path in todo if path}
    for finding in found:
        home = path_of.get(finding.file)
        if home is None or home not in out:
            return {}
        out[home].append(finding)
    for row in snapshot.rows(MISFILED_WAITLISTS):
        out.pop(row["file"], None)
    return out
