"""`cxc plan`: the coordinator loads the programme, plans it, reads the plan, and re-plans.

The solver's optimality is proved against brute force in test_plan_solver.py;
these tests tell the coordinator's story through the real CLI and store.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import PROGRAMME, PROGRAMME_ID, Runner, data, dump, edit

Write = Callable[[str, str], Path]

SLOT_SESSIONS = {"lab-a", "lab-b"}
EVERYONE = {
    "ana.garcia@example.com", "jordi.puig@example.com", "marta.soler@example.com",
    "kadri.tamm@example.com", "jaan.kask@example.com", "liis.saar@example.com",
}


def _plan(run: Runner, *paths: Path) -> dict[str, Any]:
    result = run("plan", *paths, "--format", "json")
    assert result.code == 0, result.output
    return result.json()  # type: ignore[no-any-return]


def _sessions(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (programme,) = [p for p in payload["programmes"] if p["id"] == PROGRAMME_ID]
    return {s["id"]: s for s in programme["sessions"]}


def _programme(payload: dict[str, Any]) -> dict[str, Any]:
    (programme,) = [p for p in payload["programmes"] if p["id"] == PROGRAMME_ID]
    return programme  # type: ignore[no-any-return]


def test_plan_places_everyone_once_per_slot_within_capacity(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    payload = _plan(run, partnership_file, programme_file)

    sessions = _sessions(payload)
    placed = [e for sid in SLOT_SESSIONS for e in sessions[sid]["attendees"]]
    assert Counter(placed) == Counter(EVERYONE)  # each exactly once
    for sid in SLOT_SESSIONS:
        capacity = sessions[sid]["capacity"]
        assert len(sessions[sid]["attendees"]) <= capacity
    # the brief's shape
    assert set(payload) == {"programmes", "findings", "errors", "warnings"}
    assert sessions["lab-a"]["capacity"] == 3  # the session's own capacity
    assert sessions["lab-b"]["capacity"] == 5  # else its venue's
    assert set(sessions["welcome"]["attendees"]) == EVERYONE  # plenary: everyone


def test_plan_keeps_fixed_choices_and_honours_interests(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    sessions = _sessions(_plan(run, partnership_file, programme_file))

    # Ana and Marta chose lab-a; Kadri is interested in digital health (lab-b's theme).
    assert {"ana.garcia@example.com", "marta.soler@example.com"} <= set(
        sessions["lab-a"]["attendees"])
    assert "kadri.tamm@example.com" in sessions["lab-b"]["attendees"]


def test_plan_mixes_delegations_in_every_group(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    sessions = _sessions(_plan(run, partnership_file, programme_file))

    # lab-a has a third seat beside the two Barcelona choices: an Estonian takes it,
    # so neither group is made of one delegation.
    domains = {"barna-bio": {"ana.garcia", "jordi.puig", "marta.soler"}}
    for sid in SLOT_SESSIONS:
        people = {e.split("@")[0] for e in sessions[sid]["attendees"]}
        assert people - domains["barna-bio"], f"{sid} holds only the Barcelona delegation"
        assert people & domains["barna-bio"], f"{sid} holds only the Tallinn delegation"


def test_plan_json_is_identical_on_rerun(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    first = run("plan", partnership_file, programme_file, "--format", "json")
    second = run("plan", "--format", "json")

    assert first.code == second.code == 0
    assert first.stdout == second.stdout


def test_plan_is_stored_for_exports_and_reports(
        run: Runner, db: Path, partnership_file: Path, programme_file: Path) -> None:
    sessions = _sessions(_plan(run, partnership_file, programme_file))

    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT session, email FROM placements WHERE programme = ?", (PROGRAMME_ID,)
        ).fetchall()
    assert sorted(stored) == sorted(
        (sid, e) for sid in SLOT_SESSIONS for e in sessions[sid]["attendees"])


HEADING = ("\ncxc-2024-lille  Digital health in the Hauts-de-France  Lille 2024-03-28 to 2024-04-01,"
           " confirmed\n")
RULE = ("────────────────┼─────────────┼─────────────┼────────────────────────────────────┼"
        "─────────────────────┼──────┼────────────────────────────\n")


def _table(group_b: str = "3/5  │ tallinn-med 2 · barna-bio 1") -> str:
    """The fixture's plan as one table: a section a day, a blank slot for plenary sessions."""
    return (
        HEADING
        + "day             ┃ time        ┃ slot        ┃ session                            ┃ venue"
          "               ┃ fill ┃ mix\n"
        + "━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇"
          "━━━━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n"
        + "Thu 28 Mar 2024 │ 09:30-11:00 │             │ Welcome and tour of the campus     │"
          " Eurasante campus    │ 6/40 │ everyone\n"
        + "                │ 14:00-16:00 │ thursday-pm │ AI in medical imaging (group A)    │"
          " Imaging lab         │ 3/3  │ barna-bio 2 · tallinn-med 1\n"
        + "                │ 14:00-16:00 │ thursday-pm │ Telemedicine in practice (group B) │"
          f" Telemedicine studio │ {group_b}\n"
        + RULE
        + "Fri 29 Mar 2024 │ 09:00-17:00 │             │ Health innovation convention       │"
          " Grand Palais        │ 6/30 │ everyone\n"
        + RULE
        + "Sun 31 Mar 2024 │ 11:00-13:00 │             │ Sunday brunch with the start-ups   │"
          " Eurasante campus    │ 6/40 │ everyone\n"
        + RULE
        + "Mon 01 Apr 2024 │ 10:00-12:00 │             │ Wrap-up and next steps             │"
          " Eurasante campus    │ 6/40 │ everyone\n")


def test_text_plan_is_one_table_with_stable_columns_and_the_summary_first(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    # Issue 13: the same column widths on every day, "(plenary)" not on every row, and the
    # summary before the long tables, not after them.
    result = run("plan", partnership_file, programme_file)

    assert result.code == 0, result.output
    assert result.stdout == "no problems found\n" + _table()


def test_plan_people_lists_who_is_in_each_group(
        run: Runner, partnership_file: Path, programme_file: Path) -> None:
    result = run("plan", partnership_file, programme_file, "--people")

    assert result.code == 0, result.output
    assert result.stdout == "no problems found\n" + _table() + (
        "\nwho is in each group\n"
        "  thursday-pm, Thu 28 Mar 2024\n"
        "    14:00-16:00 AI in medical imaging (group A) (3): Ana Garcia (barna-bio),"
        " Jaan Kask (tallinn-med), Marta Soler (barna-bio)\n"
        "    14:00-16:00 Telemedicine in practice (group B) (3): Jordi Puig (barna-bio),"
        " Kadri Tamm (tallinn-med), Liis Saar (tallinn-med)\n")
    # The JSON already lists the attendees: --people leaves it byte for byte as it is.
    assert run("plan", "--people", "--format", "json").stdout == run(
        "plan", "--format", "json").stdout


def test_text_plan_starts_with_its_errors_place_first(
        run: Runner, write: Write, partnership_file: Path, programme_file: Path) -> None:
    assert run("plan", partnership_file, programme_file).code == 0
    squeezed = edit(PROGRAMME, "    capacity: 5\n", "    capacity: 1\n")

    result = run("plan", write("programme.yaml", squeezed))

    assert result.code == 1
    assert result.stdout == (
        "programme.yaml:43: error slot-infeasible: slot `thursday-pm`"
        " is 2 seats short: its sessions lab-a (3), lab-b (1) seat 4 of its 6"
        " participants\n"
        "1 error, 0 warnings\n") + _table("1/1  │ tallinn-med 1") + (
        "  moved: jordi.puig@example.com in thursday-pm: lab-b -> nowhere (no seat left)\n"
        "  moved: liis.saar@example.com in thursday-pm: lab-b -> nowhere (no seat left)\n")


def test_text_plan_off_a_terminal_is_as_wide_as_its_content(
        run: Runner, write: Write, partnership_file: Path) -> None:
    # Piped or in a file, a row stays one line, even wider than COLUMNS (120 here).
    title = "Health innovation convention, with the regional agencies, start-ups and hospitals"
    wide = edit(PROGRAMME, "title: Health innovation convention", f"title: {title}")

    result = run("plan", partnership_file, write("programme.yaml", wide))

    assert result.code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if title in line]
    assert row.startswith("Fri 29 Mar 2024 │ 09:00-17:00 │             │ Health innovation")
    assert row.endswith(f"{title} │ Grand Palais        │ 6/30 │ everyone")
    assert len(row) > 120
    assert all(not line.endswith(" ") for line in result.stdout.splitlines())


def test_withdrawal_moves_nobody_else(
        run: Runner, write: Write, partnership_file: Path, programme_file: Path) -> None:
    before = _sessions(_plan(run, partnership_file, programme_file))

    # Jaan withdraws: the calendars already sent must stay right for everyone else.
    withdrawn = data(PROGRAMME)
    withdrawn["participants"] = [p for p in withdrawn["participants"]
                                 if p["email"] != "jaan.kask@example.com"]
    after_payload = _plan(run, write("programme.yaml", dump(withdrawn)))
    after = _sessions(after_payload)

    for sid in SLOT_SESSIONS:
        assert set(after[sid]["attendees"]) == set(before[sid]["attendees"]) - {
            "jaan.kask@example.com"}
    assert _programme(after_payload)["moved"] == []


def test_capacity_cut_moves_as_few_as_possible_and_says_who(
        run: Runner, write: Write, partnership_file: Path, programme_file: Path) -> None:
    before = _sessions(_plan(run, partnership_file, programme_file))
    assert len(before["lab-b"]["attendees"]) == 3

    # The studio shrinks to two seats and lab-a grows to four: exactly one person must move.
    cut = edit(edit(PROGRAMME, "    capacity: 5\n", "    capacity: 2\n"),
               "    capacity: 3\n", "    capacity: 4\n")
    payload = _plan(run, write("programme.yaml", cut))
    after = _sessions(payload)

    moved = _programme(payload)["moved"]
    assert len(moved) == 1
    (move,) = moved
    assert move["from"] == "lab-b" and move["to"] == "lab-a"
    assert move["email"] in before["lab-b"]["attendees"]
    assert set(after["lab-a"]["attendees"]) == set(before["lab-a"]["attendees"]) | {
        move["email"]}
    text = run("plan").stdout
    assert "moved" not in text  # the stored plan is now the new one: nobody moves again


def test_infeasible_slot_places_whom_it_can_and_says_how_many_seats_are_missing(
        run: Runner, write: Write, partnership_file: Path) -> None:
    squeezed = edit(PROGRAMME, "    capacity: 5\n", "    capacity: 1\n")
    result = run("plan", partnership_file, write("programme.yaml", squeezed), "--format", "json")

    assert result.code == 1
    payload = result.json()
    sessions = _sessions(payload)
    placed = [e for sid in SLOT_SESSIONS for e in sessions[sid]["attendees"]]
    assert len(placed) == 4 and len(set(placed)) == 4  # 3 + 1 seats, each used once
    (finding,) = [f for f in payload["findings"] if f["rule"] == "slot-infeasible"]
    assert finding["severity"] == "error"
    assert finding["programme"] == PROGRAMME_ID
    assert "2 seats" in finding["message"] and "thursday-pm" in finding["message"]
    assert finding["file"] == "programme.yaml" and finding["line"]
    assert payload["errors"] >= 1


def test_plan_without_paths_uses_the_store_and_a_missing_store_is_a_clear_error(
        run: Runner, db: Path) -> None:
    result = run("plan")

    assert result.code == 2
    assert "no store" in result.stderr
    assert not db.exists()


def test_load_plan_and_export_show_their_progress_on_a_terminal_only(
        run: Runner, partnership_file: Path, programme_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cxc import cli

    monkeypatch.setattr(cli, "PROGRESS_AFTER_S", 0.0)  # a small programme takes no second
    piped = run("plan", partnership_file, programme_file, "--format", "json")
    assert piped.code == 0 and "loading" not in piped.stderr and "planning" not in piped.stderr

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown = Terminal()
    with redirect_stdout(io.StringIO()) as out:
        monkeypatch.setattr(sys, "stderr", shown)
        monkeypatch.setattr(sys, "argv", ["cxc", "--db", str(partnership_file.parent / "cxc.db"),
                                          "plan", str(partnership_file), str(programme_file),
                                          "--format", "json"])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    assert exit_.value.code == 0
    assert "loading" in shown.getvalue() and "planning" in shown.getvalue()
    assert json.loads(out.getvalue())["programmes"]  # the plan itself still goes to stdout

    shown.seek(0)
    shown.truncate()
    monkeypatch.setattr(sys, "argv", ["cxc", "--db", str(partnership_file.parent / "cxc.db"),
                                      "export", "--out", str(partnership_file.parent / "out")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert "exporting" in shown.getvalue()
