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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cxc import model as m
from cxc.errors import Finding
from cxc.rules.capacity import (
    programme_over_capacity,
    quota_exceeded,
    slot_infeasible,
    venue_over_capacity,
)
from cxc.rules.dates import bad_dates, participant_double_booked
from cxc.rules.eligibility import ineligible_visitor, kind_rules, own_delegation, repeat_visit
from cxc.rules.identity import duplicate_activity, duplicate_id
from cxc.rules.references import unknown_reference
from cxc.rules.snapshot import Breach, Snapshot
from cxc.rules.travel import misses_sessions, tight_transfer


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: Callable[[Snapshot], Iterable[Breach | Finding]]
    """A ``Finding`` passes as it is: a rule the plan computes too brings its own."""
    summary: str

    def findings(self, snapshot: Snapshot) -> Iterable[Finding]:
        for breach in self.check(snapshot):
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
         "a host, partner, venue or session id that is not defined"),
    Rule("duplicate-id", "error", duplicate_id,
         "two things of the same kind share an id (participants: one email twice)"),
    Rule("bad-dates", "error", bad_dates,
         "an end before its start, a date outside its period, a time in a DST gap"),
    Rule("programme-over-capacity", "error", programme_over_capacity,
         "more participants than the programme's capacity"),
    Rule("quota-exceeded", "error", quota_exceeded, "a partner sends more than its quota"),
    Rule("venue-over-capacity", "error", venue_over_capacity,
         "a plenary session with more attendees than seats"),
    Rule("slot-infeasible", "error", slot_infeasible,
         "a slot cannot seat its participants, or fixed choices overfill a session"),
    Rule("participant-double-booked", "error", participant_double_booked,
         "one person in two overlapping sessions or programmes"),
    Rule("tight-transfer", "warning", tight_transfer,
         "consecutive sessions at different venues closer than min_transfer_minutes"),
    Rule("misses-sessions", "warning", misses_sessions,
         "travel arrives after a session starts or leaves before it ends"),
    Rule("kind-rules", "error", kind_rules, "the programme breaks its kind's rules"),
    Rule("ineligible-visitor", "error", ineligible_visitor,
         "a cxc visitor whose organisation type may host but not visit"),
    Rule("repeat-visit", "warning", repeat_visit,
         "an organisation visits in more than one cxc"),
    Rule("own-delegation", "warning", own_delegation,
         "a participant travels in the host's own delegation to a cxc"),
    Rule("duplicate-activity", "warning", duplicate_activity,
         "the same activity (kind, partner, date, title) listed twice: it would count twice"),
)

SEVERITY = {rule.id: rule.severity for rule in RULES}


def validate(conn: sqlite3.Connection) -> list[Finding]:
    """Every finding of every rule on the store, sorted by programme, file and line.

    Call it inside one read snapshot (:func:`cxc.store.read_snapshot`).
    """
    snapshot = Snapshot(conn)
    findings = [f for rule in RULES for f in rule.findings(snapshot)]
    return sorted(findings, key=lambda f: f.sort_key)
