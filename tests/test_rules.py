"""`cxc validate`: every rule of PRODUCT.md, fired by one change to a valid programme.

Each case is a story: take the valid Cluster Exchange of ``conftest``, change
one thing, `cxc load` it, `cxc validate --format json`: the rule is reported,
with its severity, programme, file and line; errors exit 1, warnings exit 0
(and 1 with --strict). The valid programme itself raises nothing, and a few
near misses (a capacity met exactly, a gap of exactly the minimum) raise
nothing either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import (
    PARTNERSHIP,
    PROGRAMME,
    PROGRAMME_ID,
    Checked,
    Runner,
    data,
    dump,
    edit,
    line_of,
    other_programme,
    participant_yaml,
)

# The contract, written out again on purpose: the library's table must agree with it.
SEVERITY = {
    "unknown-reference": "error",
    "duplicate-id": "error",
    "bad-dates": "error",
    "programme-over-capacity": "error",
    "quota-exceeded": "error",
    "venue-over-capacity": "error",
    "slot-infeasible": "error",
    "participant-double-booked": "error",
    "tight-transfer": "warning",
    "misses-sessions": "warning",
    "kind-rules": "error",
    "ineligible-visitor": "error",
    "repeat-visit": "warning",
    "own-delegation": "warning",
    "duplicate-activity": "warning",
}

PROGRAMME_LINE = ("programme.yaml", "id: cxc-2024-lille")


@dataclass(frozen=True)
class Case:
    """One change to the valid files, and what `cxc validate` must say about it."""

    rule: str
    programme: str = PROGRAMME
    partnership: str = PARTNERSHIP
    extra: dict[str, str] = field(default_factory=dict)
    at: tuple[tuple[str, str] | tuple[str, str, int], ...] = ()
    """Where the findings point: (file, a text on that line[, which occurrence]), one per finding."""
    exact: bool = True
    """The findings are exactly those of ``at``; else ``at`` names some of them."""
    programme_id: str | None = PROGRAMME_ID
    also: frozenset[str] = frozenset()
    """Other rules the same change rightly triggers."""
    expect: dict[str, Any] = field(default_factory=dict)
    """Fields every finding of the rule must have (participant, session, venue)."""
    says: str = ""
    """Text one of the messages must contain."""

    def text(self, file: str) -> str:
        if file == "programme.yaml":
            return self.programme
        if file == "partnership.yaml":
            return self.partnership
        return self.extra[file]


def _with_second_slot(fixed: list[str]) -> str:
    """The programme with a second afternoon slot (15:00-17:00), Ana fixed to ``fixed``."""
    programme = data()
    programme["sessions"].insert(3, {
        "id": "lab-c", "title": "Genomics lab tour", "kind": "visit", "venue": "lab",
        "slot": "thursday-late", "start": "2024-03-28 15:00", "end": "2024-03-28 17:00",
    })
    programme["sessions"].insert(4, {
        "id": "lab-d", "title": "Genomics talks", "kind": "conference", "venue": "lab",
        "slot": "thursday-late", "start": "2024-03-28 15:00", "end": "2024-03-28 17:00",
    })
    programme["participants"][0]["sessions"] = fixed
    return dump(programme)


def _two_working_days() -> str:
    """The exchange cut to Thursday and Friday, with the later sessions dropped."""
    programme = data()
    programme["programme"]["end"] = programme["programme"]["start"].replace(day=29)
    programme["sessions"] = [s for s in programme["sessions"] if s["end"] < "2024-03-30"]
    return dump(programme)


ANA = "interests: [ai]\n    sessions: [lab-a]"
JORDI_TRAIN_BACK = "depart: 2024-04-01 13:30"
JAAN = "org_type: hospital\n    country: EE\n    partner: tallinn-med"
ACTIVITY = ("  - kind: eccp_post\n    partner: lille-health\n    date: 2024-04-15\n"
            '    title: "Lille Health: our first Cluster Exchange"\n')


FAREWELL = ("  - id: farewell\n    title: Farewell dinner\n    kind: meal\n    venue: campus\n"
            "    start: 2024-04-01 20:00\n    end: 2024-04-02 01:00\nparticipants:\n")
"""A dinner on the last day (Monday 1 April) that ends after midnight, on the day after."""


def _activity_again(old: str = "", new: str = "") -> str:
    """The partnership with its one activity listed a second time, ``old`` changed to ``new``."""
    return edit(PARTNERSHIP, ACTIVITY, ACTIVITY + (ACTIVITY.replace(old, new) if old else ACTIVITY))


CASES: dict[str, Case] = {
    # -- unknown-reference ------------------------------------------------------------------
    "unknown host": Case(
        "unknown-reference", edit(PROGRAMME, "host: lille-health", "host: lille-heath"),
        at=(PROGRAMME_LINE,), says="lille-heath"),
    "unknown partner in quotas": Case(
        "unknown-reference", edit(PROGRAMME, "    tallinn-med: 3", "    tallinn-med: 3\n    stuns: 2"),
        at=(("programme.yaml", "stuns: 2"),), says="stuns"),
    "unknown venue of a session": Case(
        "unknown-reference", edit(PROGRAMME, "venue: studio", "venue: studo"),
        at=(("programme.yaml", "- id: lab-b"),), expect={"session": "lab-b", "venue": "studo"}),
    "unknown partner of a participant": Case(
        "unknown-reference",
        edit(PROGRAMME, "partner: barna-bio\n    " + ANA, "partner: barnabio\n    " + ANA),
        at=(("programme.yaml", "email: ana.garcia@example.com"),),
        expect={"participant": "ana.garcia@example.com"}, says="barnabio"),
    "unknown session chosen by a participant": Case(
        "unknown-reference", edit(PROGRAMME, ANA, "interests: [ai]\n    sessions: [lab-z]"),
        at=(("programme.yaml", "email: ana.garcia@example.com"),),
        expect={"participant": "ana.garcia@example.com", "session": "lab-z"}),
    "unknown partner of an activity": Case(
        "unknown-reference", partnership=edit(PARTNERSHIP, "partner: lille-health",
                                              "partner: lille"),
        at=(("partnership.yaml", "- kind: eccp_post"),), programme_id=None),
    # -- duplicate-id -------------------------------------------------------------------------
    "duplicate venue": Case(
        "duplicate-id",
        edit(PROGRAMME, "  - id: hall\n", "  - id: lab\n    name: Another lab\n  - id: hall\n"),
        at=(("programme.yaml", "- id: lab", 2),), expect={"venue": "lab"}),
    "duplicate session": Case(
        "duplicate-id", edit(PROGRAMME, "- id: brunch", "- id: welcome"),
        at=(("programme.yaml", "- id: welcome", 2),), expect={"session": "welcome"}),
    "participant registered twice, email in another case": Case(
        "duplicate-id",
        edit(PROGRAMME, "email: jaan.kask@example.com", "email: Kadri.Tamm@Example.COM"),
        at=(("programme.yaml", "email: Kadri.Tamm@Example.COM"),),
        expect={"participant": "kadri.tamm@example.com"}),
    "duplicate partner": Case(
        "duplicate-id", partnership=edit(
            PARTNERSHIP, "targets:", "  - id: barna-bio\n    name: Barna Bio\n    country: ES\n"
            "targets:"),
        at=(("partnership.yaml", "- id: barna-bio", 2),), programme_id=None),
    "duplicate programme id in two files": Case(
        "duplicate-id", extra={"z-copy.yaml": other_programme(PROGRAMME_ID)},
        at=(("z-copy.yaml", "id: cxc-2024-lille"),), says="programme.yaml"),
    # -- bad-dates ----------------------------------------------------------------------------
    "programme ends before it starts": Case(
        "bad-dates", edit(edit(PROGRAMME, "start: 2024-03-28\n", "start: 2024-04-01\n"),
                          "end: 2024-04-01\n", "end: 2024-03-28\n"),
        at=(PROGRAMME_LINE,), exact=False, says="before it starts"),
    "session ends before it starts": Case(
        "bad-dates", edit(PROGRAMME, "end: 2024-03-29 17:00", "end: 2024-03-29 08:00"),
        at=(("programme.yaml", "- id: convention"),), expect={"session": "convention"},
        says="before it starts"),
    "session outside the programme's dates": Case(
        "bad-dates", edit(edit(PROGRAMME, "start: 2024-03-28 09:30", "start: 2024-03-27 20:00"),
                          "end: 2024-03-28 11:00", "end: 2024-03-27 21:00"),
        at=(("programme.yaml", "- id: welcome"),), expect={"session": "welcome"},
        also=frozenset({"misses-sessions"}), says="outside"),  # Liis lands on the 28th
    "session ending two days after the programme's last day": Case(
        "bad-dates", edit(PROGRAMME, "end: 2024-04-01 12:00", "end: 2024-04-03 01:00"),
        at=(("programme.yaml", "- id: wrap-up"),), expect={"session": "wrap-up"},
        also=frozenset({"misses-sessions"}), says="outside"),  # everyone has left by then
    "session from the day before the last into the day after": Case(
        "bad-dates", edit(edit(PROGRAMME, "start: 2024-03-31 11:00", "start: 2024-03-31 20:00"),
                          "end: 2024-03-31 13:00", "end: 2024-04-02 01:00"),
        at=(("programme.yaml", "- id: brunch"),), expect={"session": "brunch"},
        also=frozenset({"participant-double-booked", "misses-sessions"}), says="outside"),
    "programme outside the partnership's period": Case(
        "bad-dates", partnership=edit(PARTNERSHIP, "end: 2025-01-31", "end: 2024-03-31"),
        at=(PROGRAMME_LINE,), says="partnership"),
    "session in the spring-forward gap": Case(
        "bad-dates", edit(edit(PROGRAMME, "start: 2024-03-31 11:00", "start: 2024-03-31 02:30"),
                          "end: 2024-03-31 13:00", "end: 2024-03-31 03:30"),
        at=(("programme.yaml", "- id: brunch"),), expect={"session": "brunch"},
        says="2024-03-31 02:30 does not exist in Europe/Paris"),
    "session in the gap of its own zone": Case(
        "bad-dates", edit(PROGRAMME, "    start: 2024-03-31 11:00\n    end: 2024-03-31 13:00",
                          "    timezone: Europe/Tallinn\n"
                          "    start: 2024-03-31 03:30\n    end: 2024-03-31 05:00"),
        at=(("programme.yaml", "- id: brunch"),), expect={"session": "brunch"},
        says="Europe/Tallinn"),
    "stay checks out before checking in": Case(
        "bad-dates", edit(PROGRAMME, "check_in: 2024-03-28", "check_in: 2024-04-03"),
        at=(("programme.yaml", "name: Hotel Lille Centre", 6),),
        expect={"participant": "liis.saar@example.com"}),
    "travel arrives before it departs": Case(
        "bad-dates", edit(PROGRAMME, "arrive: 2024-03-27 17:30", "arrive: 2024-03-27 07:30"),
        at=(("programme.yaml", "- mode: train", 1),),
        expect={"participant": "jordi.puig@example.com"}),
    # -- capacities and quotas ---------------------------------------------------------------
    "more participants than the programme's capacity": Case(
        "programme-over-capacity", edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: 5\n  quotas"),
        at=(PROGRAMME_LINE,), says="6"),
    "a no-show still counts against the capacity": Case(
        "programme-over-capacity",
        edit(edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: 5\n  quotas"),
             "attended: true", "attended: false"),
        at=(PROGRAMME_LINE,)),
    "a partner over its quota": Case(
        "quota-exceeded", edit(PROGRAMME, "barna-bio: 3", "barna-bio: 2"),
        at=(("programme.yaml", "barna-bio: 2"),), says="barna-bio"),
    "a plenary session over its own capacity": Case(
        "venue-over-capacity", edit(PROGRAMME, "capacity: 30", "capacity: 5"),
        at=(("programme.yaml", "- id: convention"),),
        expect={"session": "convention", "venue": "hall"}),
    "plenary sessions over their venue's capacity": Case(
        "venue-over-capacity", edit(PROGRAMME, "capacity: 40", "capacity: 4"),
        at=(("programme.yaml", "- id: welcome"), ("programme.yaml", "- id: brunch"),
            ("programme.yaml", "- id: wrap-up")),
        expect={"venue": "campus"}),
    # -- slot-infeasible ---------------------------------------------------------------------
    "a slot without seats for everyone": Case(
        "slot-infeasible", edit(PROGRAMME, "capacity: 5\n", "capacity: 2\n"),
        at=(("programme.yaml", "- id: lab-a"),), says="thursday-pm"),
    "fixed choices overfill a session": Case(
        "slot-infeasible", edit(PROGRAMME, "capacity: 3\n", "capacity: 1\n"),
        at=(("programme.yaml", "- id: lab-a"),), expect={"session": "lab-a"}),
    "one person fixed to two sessions of a slot": Case(
        "slot-infeasible", edit(PROGRAMME, ANA, "interests: [ai]\n    sessions: [lab-a, lab-b]"),
        at=(("programme.yaml", "email: ana.garcia@example.com"),),
        expect={"participant": "ana.garcia@example.com"}),
    # -- participant-double-booked ---------------------------------------------------------
    "two plenary sessions overlap": Case(
        "participant-double-booked",
        edit(edit(PROGRAMME, "start: 2024-03-31 11:00", "start: 2024-03-29 12:00"),
             "end: 2024-03-31 13:00", "end: 2024-03-29 13:00"),
        at=(("programme.yaml", "- id: brunch"),), says="every participant"),
    "a plenary session runs into a slot": Case(
        "participant-double-booked", edit(PROGRAMME, "end: 2024-03-28 11:00", "end: 2024-03-28 14:30"),
        at=(("programme.yaml", "- id: lab-a"), ("programme.yaml", "- id: lab-b"))),
    "two slots overlap": Case(
        "participant-double-booked", _with_second_slot(["lab-a"]),
        at=(("programme.yaml", "- id: lab-c"), ("programme.yaml", "- id: lab-c"),
            ("programme.yaml", "- id: lab-d"), ("programme.yaml", "- id: lab-d")),
        says="whoever is placed in both"),
    "fixed choices in two overlapping slots": Case(
        "participant-double-booked", _with_second_slot(["lab-a", "lab-c"]),
        at=(("programme.yaml", "email: ana.garcia@example.com"),
            ("programme.yaml", "- id: lab-c"), ("programme.yaml", "- id: lab-c"),
            ("programme.yaml", "- id: lab-d"), ("programme.yaml", "- id: lab-d")),
        says="ana.garcia@example.com is fixed to `lab-a` and `lab-c`"),
    "registered in two programmes whose dates overlap": Case(
        "participant-double-booked",
        extra={"d3.yaml": other_programme(
            "d3-2024-tallinn", start="2024-04-01",
            participants=participant_yaml("Ana.Garcia@Example.com"))},
        at=(("d3.yaml", "email: Ana.Garcia@Example.com"),), programme_id="d3-2024-tallinn",
        expect={"participant": "ana.garcia@example.com"}, says=PROGRAMME_ID),
    # -- warnings about the day's flow -------------------------------------------------------
    "too little time to change venue": Case(
        "tight-transfer", edit(PROGRAMME, "end: 2024-03-28 11:00", "end: 2024-03-28 13:45"),
        at=(("programme.yaml", "- id: lab-a"), ("programme.yaml", "- id: lab-b")),
        says="15 min"),
    "arrives after a session starts": Case(
        "misses-sessions", edit(PROGRAMME, "arrive: 2024-03-28 09:15", "arrive: 2024-03-28 10:15"),
        at=(("programme.yaml", "email: liis.saar@example.com"),),
        expect={"participant": "liis.saar@example.com", "session": "welcome"}),
    "leaves before a session ends": Case(
        "misses-sessions", edit(PROGRAMME, JORDI_TRAIN_BACK, "depart: 2024-04-01 11:30"),
        at=(("programme.yaml", "email: jordi.puig@example.com"),),
        expect={"participant": "jordi.puig@example.com", "session": "wrap-up"}),
    # -- kind-rules --------------------------------------------------------------------------
    "a deep dive day over several dates": Case(
        "kind-rules", edit(PROGRAMME, "kind: cxc", "kind: deep_dive_day"),
        at=(PROGRAMME_LINE,), says="one date"),
    "a study visit with a visitor from the host": Case(
        "kind-rules", edit(edit(PROGRAMME, "kind: cxc", "kind: study_visit"),
                           JAAN, JAAN.replace("tallinn-med", "lille-health")),
        at=(("programme.yaml", "email: jaan.kask@example.com"),),
        expect={"participant": "jaan.kask@example.com"}),
    "a cxc of two working days": Case(
        "kind-rules", _two_working_days(), at=(PROGRAMME_LINE,), says="3 working days"),
    "a cxc longer than a month": Case(
        "kind-rules", edit(PROGRAMME, "end: 2024-04-01\n", "end: 2024-04-29\n"),
        at=(PROGRAMME_LINE,), says="one month"),
    # -- the ClusterXchange scheme -----------------------------------------------------------
    **{
        f"a {org_type} visitor": Case(
            "ineligible-visitor", edit(PROGRAMME, "org_type: hospital", f"org_type: {org_type}"),
            at=(("programme.yaml", "email: jaan.kask@example.com"),),
            expect={"participant": "jaan.kask@example.com"}, says=org_type)
        for org_type in ("large_company", "public", "other")
    },
    "an organisation visits in two exchanges": Case(
        "repeat-visit",
        extra={"z-cxc.yaml": other_programme(
            "cxc-2024-tallinn", kind="cxc", start="2024-06-03", end="2024-06-05",
            participants=participant_yaml("eva.roca@example.com",
                                          organisation='"  MEDISCAN sl "'))},
        at=(("z-cxc.yaml", "email: eva.roca@example.com"),), programme_id="cxc-2024-tallinn",
        expect={"participant": "eva.roca@example.com"}, says=PROGRAMME_ID),
    "a participant in the host's own delegation": Case(
        "own-delegation", edit(PROGRAMME, JAAN, JAAN.replace("tallinn-med", "lille-health")),
        at=(("programme.yaml", "email: jaan.kask@example.com"),),
        expect={"participant": "jaan.kask@example.com"}),
    # -- the deliverables --------------------------------------------------------------------
    "an activity listed twice, its title in other case and spacing": Case(
        "duplicate-activity", partnership=_activity_again(
            '"Lille Health: our first Cluster Exchange"',
            '"  lille health: OUR FIRST cluster exchange "'),
        at=(("partnership.yaml", "- kind: eccp_post", 2),), programme_id=None,
        says=f"already listed at line {line_of(PARTNERSHIP, '- kind: eccp_post')}"),
}


def test_every_rule_has_a_case() -> None:
    assert {case.rule for case in CASES.values()} == set(SEVERITY)


def test_the_library_lists_the_rules_of_the_contract() -> None:
    from cxc.rules import RULES

    assert {rule.id: rule.severity for rule in RULES} == SEVERITY


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_fires(check: Callable[..., Checked], case: Case) -> None:
    checked = check(case.programme, partnership=case.partnership, extra=case.extra)

    assert checked.rules == {case.rule, *case.also}, checked.findings
    found = checked.of(case.rule)
    expected_lines = sorted(
        (where[0], line_of(case.text(where[0]), where[1], *where[2:])) for where in case.at)
    if case.exact:
        assert sorted((f["file"], f["line"]) for f in found) == expected_lines, found
    else:
        assert set(expected_lines) <= {(f["file"], f["line"]) for f in found}, found
    for finding in found:
        assert finding["severity"] == SEVERITY[case.rule]
        assert finding["programme"] == case.programme_id
        for key, value in case.expect.items():
            assert finding[key] == value, (key, finding)
    assert any(case.says in f["message"] for f in found), found

    severities = {SEVERITY[rule] for rule in checked.rules}
    assert checked.result.code == (1 if "error" in severities else 0)
    assert checked.strict.code == 1
    payload = checked.result.json()
    assert payload["errors"] == sum(f["severity"] == "error" for f in checked.findings)
    assert payload["warnings"] == sum(f["severity"] == "warning" for f in checked.findings)


# -- what must not fire --------------------------------------------------------------------


def test_the_valid_programme_breaks_no_rule(check: Callable[..., Checked]) -> None:
    checked = check()

    assert checked.findings == []
    assert checked.result.code == 0
    assert checked.strict.code == 0
    assert checked.result.json() == {"findings": [], "errors": 0, "warnings": 0}


NEAR_MISSES: dict[str, tuple[str, dict[str, Any]]] = {
    "capacity met exactly": ("programme-over-capacity", {"programme": edit(
        PROGRAMME, "capacity: 10\n  quotas", "capacity: 6\n  quotas")}),
    "quotas met exactly (3 of 3, 0 of 0)": ("quota-exceeded", {"programme": edit(
        PROGRAMME, "tallinn-med: 3", "tallinn-med: 3\n    lille-health: 0")}),
    "plenary seats met exactly": ("venue-over-capacity", {"programme": edit(
        PROGRAMME, "capacity: 30", "capacity: 6")}),
    "a slot seats everyone exactly": ("slot-infeasible", {"programme": edit(
        PROGRAMME, "capacity: 5\n", "capacity: 3\n")}),
    "fixed choices fill a session exactly": ("slot-infeasible", {"programme": edit(
        PROGRAMME, "capacity: 3\n", "capacity: 2\n")}),
    "sessions end to end": ("participant-double-booked", {"programme": edit(
        edit(PROGRAMME, "start: 2024-03-31 11:00", "start: 2024-03-29 17:00"),
        "end: 2024-03-31 13:00", "end: 2024-03-29 18:00")}),
    "programmes on consecutive days": ("participant-double-booked", {"extra": {
        "d3.yaml": other_programme("d3-2024-tallinn", start="2024-04-02",
                                   participants=participant_yaml("ana.garcia@example.com"))}}),
    "exactly the minimum transfer time": ("tight-transfer", {"programme": edit(
        PROGRAMME, "end: 2024-03-28 11:00", "end: 2024-03-28 13:30")}),
    "an arrival written in another zone": ("misses-sessions", {"programme": edit(
        PROGRAMME, "arrive: 2024-03-28 09:15",
        "arrive: 2024-03-28 10:15\n        arrive_timezone: Europe/Tallinn")}),
    "arrives as the session starts": ("misses-sessions", {"programme": edit(
        PROGRAMME, "arrive: 2024-03-28 09:15", "arrive: 2024-03-28 09:30")}),
    "a farewell dinner on the last day ends after midnight": ("bad-dates", {"programme": edit(
        PROGRAMME, "participants:\n", FAREWELL)}),
    "03:30 exists in Paris on the night of the change": ("bad-dates", {"programme": edit(
        edit(PROGRAMME, "start: 2024-03-31 11:00", "start: 2024-03-31 03:30"),
        "end: 2024-03-31 13:00", "end: 2024-03-31 04:30")}),
    "a study visit from the other partners": ("kind-rules", {"programme": edit(
        PROGRAMME, "kind: cxc", "kind: study_visit")}),
    "a cxc of exactly one month": ("kind-rules", {"programme": edit(
        PROGRAMME, "end: 2024-04-01\n", "end: 2024-04-28\n")}),
    "the host's own public body": ("ineligible-visitor", {"programme": edit(
        PROGRAMME, JAAN, JAAN.replace("tallinn-med", "lille-health").replace(
            "hospital", "public"))}),
    "an organisation in a cxc and a deep dive day": ("repeat-visit", {"extra": {
        "d3.yaml": other_programme(
            "d3-2024-tallinn", participants=participant_yaml(
                "eva.roca@example.com", organisation="Mediscan SL"))}}),
    "the host's delegation at a deep dive day": ("own-delegation", {"programme": edit(
        edit(PROGRAMME, "kind: cxc", "kind: deep_dive_day"),
        JAAN, JAAN.replace("tallinn-med", "lille-health"))}),
    "the same title on another day": ("duplicate-activity", {"partnership": _activity_again(
        "date: 2024-04-15", "date: 2024-04-16")}),
    "the same day and title, another kind": ("duplicate-activity", {
        "partnership": _activity_again("kind: eccp_post", "kind: promotional_event")}),
}


@pytest.mark.parametrize("rule", sorted(SEVERITY))
def test_rule_is_silent_on_the_valid_programme(check: Callable[..., Checked], rule: str) -> None:
    assert check().of(rule) == []


@pytest.mark.parametrize(("rule", "files"), NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_near_miss_does_not_fire(
    check: Callable[..., Checked], rule: str, files: dict[str, Any],
) -> None:
    assert check(**files).of(rule) == []


# -- cancelled programmes --------------------------------------------------------------------


def test_a_cancelled_programme_is_not_checked(check: Callable[..., Checked]) -> None:
    broken = edit(edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: 2\n  quotas"),
                  "host: lille-health", "host: nobody")
    checked = check(edit(broken, "status: confirmed", "status: cancelled"))

    assert checked.findings == []
    assert checked.result.code == 0


def test_a_cancelled_programme_takes_part_in_no_other_check(
    check: Callable[..., Checked],
) -> None:
    same_person_same_days = other_programme(
        "d3-2024-tallinn", start="2024-03-29", status="cancelled",
        participants=participant_yaml("ana.garcia@example.com"))
    same_id = other_programme(PROGRAMME_ID, status="cancelled")
    same_organisation = other_programme(
        "cxc-2024-tallinn", kind="cxc", start="2024-06-03", end="2024-06-05", status="cancelled",
        participants=participant_yaml("eva.roca@example.com", organisation="Mediscan SL"))
    checked = check(extra={"d3.yaml": same_person_same_days, "z-copy.yaml": same_id,
                           "z-cxc.yaml": same_organisation})

    assert checked.findings == []


def test_the_same_files_uncancelled_are_checked(check: Callable[..., Checked]) -> None:
    """The counterpart of the test above: without `cancelled` each of them is a finding."""
    checked = check(extra={
        "d3.yaml": other_programme("d3-2024-tallinn", start="2024-03-29",
                                   participants=participant_yaml("ana.garcia@example.com")),
        "z-copy.yaml": other_programme(PROGRAMME_ID),
        "z-cxc.yaml": other_programme(
            "cxc-2024-tallinn", kind="cxc", start="2024-06-03", end="2024-06-05",
            participants=participant_yaml("eva.roca@example.com", organisation="Mediscan SL")),
    })

    assert checked.rules == {"participant-double-booked", "duplicate-id", "repeat-visit"}


# -- the two output formats ------------------------------------------------------------------


def test_json_output_has_the_documented_shape(check: Callable[..., Checked]) -> None:
    checked = check(edit(edit(PROGRAMME, "barna-bio: 3", "barna-bio: 2"),
                         "end: 2024-03-28 11:00", "end: 2024-03-28 13:45"))
    payload = checked.result.json()

    assert set(payload) == {"findings", "errors", "warnings"}
    assert (payload["errors"], payload["warnings"]) == (1, 2)
    for finding in payload["findings"]:
        assert {"rule", "severity", "message", "file", "line", "programme", "participant",
                "session", "venue"} <= set(finding)
        assert finding["severity"] in ("error", "warning")
        assert isinstance(finding["line"], int)
        assert finding["file"] == "programme.yaml"
    assert checked.result.stderr == ""


def test_text_output_is_compiler_style_errors_first_then_the_summary(
    run: Runner, write: Callable[[str, str], Any],
) -> None:
    # Issue 13: the place first (editors make `file:line` clickable), errors before warnings.
    programme = edit(edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: 5\n  quotas"),
                     "end: 2024-03-28 11:00", "end: 2024-03-28 13:45")
    partnership = edit(PARTNERSHIP, "partner: lille-health", "partner: lille")
    extra = other_programme("d3-2024-tallinn", start="2024-03-29",
                            participants=participant_yaml("ana.garcia@example.com"))
    files = [write("partnership.yaml", partnership), write("programme.yaml", programme),
             write("tallinn.yaml", extra)]
    assert run("load", *files).code == 0

    result = run("validate")

    assert result.code == 1
    assert result.stdout == (
        "partnership.yaml:30: error unknown-reference: activity `Lille Health: our first Cluster"
        " Exchange`: partner `lille` is not defined (partners: barna-bio, lille-health,"
        " tallinn-med)\n"
        "programme.yaml:2: error programme-over-capacity: 6 participants registered; the host"
        " can receive 5\n"
        "tallinn.yaml:22: error participant-double-booked: ana.garcia@example.com is registered"
        " in `cxc-2024-lille` (2024-03-28 to 2024-04-01) and `d3-2024-tallinn` (2024-03-29 to"
        " 2024-03-29), which overlap\n"
        f"programme.yaml:{line_of(programme, '- id: lab-a')}: warning tight-transfer: `welcome`"
        " at `campus` ends 13:45 and `lab-a` at `lab` starts 14:00: 15 min to move, 30 needed\n"
        f"programme.yaml:{line_of(programme, '- id: lab-b')}: warning tight-transfer: `welcome`"
        " at `campus` ends 13:45 and `lab-b` at `studio` starts 14:00: 15 min to move, 30"
        " needed\n"
        "3 errors, 2 warnings\n")


def test_text_output_of_a_clean_store(run: Runner, partnership_file: Any,
                                      programme_file: Any) -> None:
    assert run("load", partnership_file, programme_file).code == 0

    result = run("validate")

    assert (result.code, result.stdout) == (0, "no problems found\n")


def test_warnings_fail_only_with_strict(run: Runner, write: Callable[[str, str], Any]) -> None:
    programme = edit(PROGRAMME, "end: 2024-03-28 11:00", "end: 2024-03-28 13:45")
    assert run("load", write("partnership.yaml", PARTNERSHIP),
               write("programme.yaml", programme)).code == 0

    assert run("validate").code == 0
    strict = run("validate", "--strict")
    assert strict.code == 1
    assert strict.stdout.splitlines()[-1] == "0 errors, 2 warnings"


def test_counts_of_one_read_in_the_singular(check: Callable[..., Checked]) -> None:
    # "1 seats", "1 delegates" read wrong: each count agrees with its noun
    one_seat = edit(PROGRAMME, "    name: Eurasante campus\n    address: 310 avenue Eugene Avinee, Loos\n"
                    "    capacity: 40", "    name: Eurasante campus\n"
                    "    address: 310 avenue Eugene Avinee, Loos\n    capacity: 1")

    messages = [f["message"] for f in check(one_seat).of("venue-over-capacity")]

    assert "plenary session `welcome` has 6 attendees and 1 seat" in messages, messages
