"""The rules' SQL: the vocabulary views in the store, their migration, the indexes the hot
queries use, one policy for repeated ids, and the messages of issue 13 that should fix the
mistake (an unknown venue, a session with no venue, no partnership loaded)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PROGRAMME, Checked, Runner, edit, line_of

from cxc.rules import dates, references, snapshot, travel
from cxc.store import SCHEMA_VERSION

VIEWS = {"active_programmes", "partnership_partners", "partnership_activities", "session_seats",
         "visitors", "repeated_ids"}


def _views(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}


def _version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version


# -- the vocabulary, as views ---------------------------------------------------------------


def test_a_new_store_has_the_rules_vocabulary_as_views(loaded_store: Path) -> None:
    assert _views(loaded_store) >= VIEWS
    with sqlite3.connect(loaded_store) as conn:
        seats = dict(conn.execute("SELECT id, seats FROM session_seats"))
        visitors = {email for (email,) in conn.execute("SELECT email FROM visitors")}
    # own capacity, else the venue's: lab-a 3 (its own), lab-b 5 (studio), welcome 40 (campus)
    assert (seats["lab-a"], seats["lab-b"], seats["welcome"]) == (3, 5, 40)
    assert "ana.garcia@example.com" in visitors


def test_a_store_of_the_schema_before_gets_the_views_and_validates_the_same(run: Runner,
                                                               loaded_store: Path) -> None:
    fresh = run("validate", "--format", "json").json()
    with sqlite3.connect(loaded_store) as conn:
        for view in sorted(VIEWS):
            conn.execute(f"DROP VIEW {view}")
        conn.execute("PRAGMA user_version = 5")  # the schema before the views
    assert not _views(loaded_store) & VIEWS

    migrated = run("validate", "--format", "json")

    assert migrated.json() == fresh
    assert _version(loaded_store) == SCHEMA_VERSION
    assert _views(loaded_store) >= VIEWS


# -- the hot queries use their indexes --------------------------------------------------------

BIG_TABLES = ("sessions", "registrations", "travel_legs", "venues", "stays")

HOT_QUERIES: dict[str, tuple[str, dict[str, object], str]] = {
    "venue ids of a file": (references.VENUE_IDS_OF_FILE, {"file": "f"}, "(file=?)"),
    "session ids of a file": (references.SESSION_IDS_OF_FILE, {"file": "f"}, "(file=?)"),
    "a seat holder by file and position": (
        travel.SEAT_HOLDER_AT, {"file": "f", "position": 1}, "(file=? AND position=?)"),
    "the travel legs of a registration": (
        travel.TRAVEL_LEGS_OF, {"file": "f", "registration": 1}, "(file=? AND registration=?)"),
    "the seats of each session (its venue by file and id)": (
        snapshot.CHECKED_SESSIONS, {"kept": None}, "(file=? AND id=?)"),
    "registrations by email (people in two programmes)": (
        dates.OVERLAPPING_PROGRAMMES, {}, "(email=?)"),
}
"""Each query, and the key its lookup must SEARCH an index by (the table's own or its
primary key's)."""


@pytest.mark.parametrize("name", HOT_QUERIES)
def test_the_hot_queries_use_their_indexes(loaded_store: Path, name: str) -> None:
    sql, params, key = HOT_QUERIES[name]
    with sqlite3.connect(loaded_store) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    # a lookup by key is a SEARCH of an index; no big table is read whole without one
    assert any(step.startswith("SEARCH") and step.endswith(key) and (
        "USING INDEX" in step or "USING COVERING INDEX" in step
        or "USING PRIMARY KEY" in step) for step in plan), plan
    whole = [step for step in plan if step.startswith("SCAN")
             and step.split()[1] in BIG_TABLES + ("r", "s", "l", "v", "y") and "INDEX" not in step]
    if sql is snapshot.CHECKED_SESSIONS:  # reads every session once, and looks its venue up
        assert not whole or whole == ["SCAN s"], plan
    else:
        assert not whole, plan


# -- one policy for a repeated id: its first row -------------------------------------------


def test_a_repeated_venue_id_seats_as_its_first_venue(check: Callable[..., Checked]) -> None:
    programme = edit(PROGRAMME, "  - id: hall\n",
                     "  - id: campus\n    name: Campus annex\n    capacity: 2\n  - id: hall\n")

    checked = check(programme)

    # the plenaries at `campus` seat 40 (the first campus), not 2: only the repeat is wrong
    assert checked.rules == {"duplicate-id"}, checked.findings
    (repeat,) = checked.of("duplicate-id")
    assert repeat["venue"] == "campus"
    assert repeat["line"] == line_of(programme, "- id: campus", 2)


def test_a_repeated_session_id_is_its_first_session_for_fixed_choices(
        check: Callable[..., Checked]) -> None:
    saturday = (
        "  - id: sat-a\n    title: Saturday lab\n    kind: meeting\n    venue: lab\n"
        "    slot: saturday\n    start: 2024-03-30 10:00\n    end: 2024-03-30 12:00\n"
        "  - id: lab-a\n    title: Saturday studio\n    kind: meeting\n    venue: studio\n"
        "    slot: saturday\n    start: 2024-03-30 10:00\n    end: 2024-03-30 12:00\n"
        "  - id: brunch\n")
    programme = edit(edit(PROGRAMME, "  - id: brunch\n", saturday),
                     "interests: [ai]\n    sessions: [lab-a]", "interests: [ai]\n    sessions: [lab-a, sat-a]")

    checked = check(programme)

    # Ana's `lab-a` is Thursday's (the first), so she is fixed to one Saturday session, not two
    assert "slot-infeasible" not in checked.rules, checked.of("slot-infeasible")
    assert [f["session"] for f in checked.of("duplicate-id")] == ["lab-a"]


# -- issue 13: messages that should fix the mistake -----------------------------------------

TIGHT = edit(PROGRAMME, "end: 2024-03-28 11:00", "end: 2024-03-28 13:45")
"""Welcome at the campus ends 15 minutes before the parallel labs start (30 needed)."""


def test_no_tight_transfer_is_computed_for_an_unknown_venue(check: Callable[..., Checked]) -> None:
    checked = check(edit(TIGHT, "venue: studio", "venue: studo"))

    assert [f["venue"] for f in checked.of("tight-transfer")] == ["lab"]
    (unknown,) = checked.of("unknown-reference")
    assert unknown["message"] == ("session `lab-b`: venue `studo` is not defined in this "
                                  "programme; did you mean `studio`?")


def test_a_session_with_no_venue_is_a_warning_that_names_the_venues(
        check: Callable[..., Checked]) -> None:
    programme = edit(edit(PROGRAMME, "    venue: hall\n", ""),
                     "    kind: networking\n    venue: campus\n", "    kind: networking\n")

    checked = check(programme)

    assert (checked.result.code, checked.strict.code) == (0, 1)  # a warning: --strict fails
    venues = "add `venue:` with one of `campus`, `lab`, `studio`, `hall`"
    where = ("has no venue, so its calendar entry gives only the city and no transfer to or "
             "from it is checked")
    assert [(f["severity"], f["session"], f["line"], f["message"])
            for f in checked.of("tight-transfer")] == [
        ("warning", "convention", line_of(programme, "- id: convention"),
         f"session `convention` {where}; {venues}"),
        ("warning", "brunch", line_of(programme, "- id: brunch"),
         f"session `brunch` {where}; as a plenary with no capacity either, its seats are "
         f"unknown; {venues}"),
    ]


def test_a_travel_session_needs_no_venue(check: Callable[..., Checked]) -> None:
    checked = check(edit(PROGRAMME, "    kind: conference\n    venue: hall\n",
                         "    kind: travel\n"))

    assert "tight-transfer" not in checked.rules, checked.of("tight-transfer")


def test_a_programme_that_lists_no_venues_is_held_in_its_city(
        check: Callable[..., Checked]) -> None:
    programme = PROGRAMME
    for venue in ("campus", "lab", "studio", "hall"):
        programme = programme.replace(f"    venue: {venue}\n", "")
    programme = programme[:programme.index("venues:")] + programme[programme.index("sessions:"):]

    checked = check(programme)

    assert "tight-transfer" not in checked.rules, checked.of("tight-transfer")
    assert "venues:" not in programme and "venue:" not in programme


def test_no_partnership_loaded_is_said_once(run: Runner,
                                            write: Callable[[str, str], Path]) -> None:
    assert run("load", write("programme.yaml", PROGRAMME)).code == 0

    result = run("validate")

    lines = result.stdout.splitlines()
    hints = [line for line in lines if "partnership" in line]
    assert hints == [
        "error unknown-reference: no partner is defined (no partnership file is loaded), so no "
        "host, quota or delegation can name one: load the partnership file with the programmes "
        "(cxc load partnership.yaml programmes/)"], lines
    assert f"programme.yaml:{line_of(PROGRAMME, 'id: cxc-2024-lille')}: error unknown-reference: " \
           "host `lille-health` is not a partner" in lines
    assert result.code == 1
