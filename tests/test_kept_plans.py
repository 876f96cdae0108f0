"""A current plan is kept without solving (issue 17), and keeping it is exactly solving it:
the same sessions, attendees, placements and stored rows, in text (with and without
``--people``) and JSON, as a plan made by the solver from the same store."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from unicodedata import normalize

import pytest
from conftest import Runner
from rich.console import Console
from rich.text import Text
from test_incremental import PLAN_ROWS, move_a_session, rows

from cxc import store
from cxc.cli import render
from cxc.format.loader import read_file
from cxc.model import ProgrammeDoc, Source, identity_key
from cxc.plan import kept_plan, plan_programme
from cxc.plan.waitlist import Candidate, admit, admit_programme, room_of

Stored = dict[tuple[str, str], str]


def seating_of(stored: Stored) -> dict[str, dict[str, tuple[str, ...]]]:
    """A plan as (slot, email) -> session, as slot -> session -> emails (sorted)."""
    seating: dict[str, dict[str, list[str]]] = {}
    for (slot, email), session in sorted(stored.items()):
        seating.setdefault(slot, {}).setdefault(session, []).append(email)
    return {slot: {s: tuple(e) for s, e in sessions.items()} for slot, sessions in seating.items()}


def seated_docs(db: Path) -> list[tuple[ProgrammeDoc, Stored]]:
    """Each planned programme's seat holders, as planning sees them, and its stored plan."""
    handle = store.open_store(db)
    out = []
    for doc in store.read_programmes(handle, travel=False):
        if doc.programme.status == "cancelled":
            continue
        admission = admit_programme(doc, store.read_admitted(handle, doc.programme.id))
        seated = replace(doc, registrations=doc.seat_holders(admission.admitted))
        out.append((seated, store.read_placements(handle, doc.programme.id)))
    handle.close()
    return out


def with_slots(docs: list[tuple[ProgrammeDoc, Stored]]) -> tuple[ProgrammeDoc, Stored]:
    """The programme with the most stored placements (it has parallel sessions)."""
    doc, stored = max(docs, key=lambda pair: len(pair[1]))
    assert len(stored) > 10
    return doc, stored


def test_every_kept_plan_of_a_data_set_is_what_the_solver_gives(
        run: Runner, folder: Path, db: Path) -> None:
    assert run("plan", folder).code == 0
    docs = seated_docs(db)
    assert len(docs) >= 4

    for doc, stored in docs:
        kept = kept_plan(doc, seating_of(stored))
        solved = plan_programme(doc, stored)
        assert kept is not None, doc.programme.id
        assert kept == solved, doc.programme.id
        assert kept.placements == solved.placements
        assert {(p.slot, p.email): p.session for p in kept.placements} == stored
        assert [(p.slot, p.session, p.email) for p in kept.placements] == rows(
            db, "SELECT slot, session, email FROM placements WHERE programme = "
            f"'{doc.programme.id}' ORDER BY slot, session, email")


def test_a_plans_placements_are_its_sessions_attendees(run: Runner, folder: Path,
                                                        db: Path) -> None:
    assert run("plan", folder).code == 0
    doc, stored = with_slots(seated_docs(db))
    plan = plan_programme(doc, stored)

    by_session = {f.session: f.attendees for f in plan.sessions if f.slot is not None}
    assert sorted((p.slot, p.session, p.email) for p in plan.placements) == [
        (p.slot, p.session, p.email) for p in plan.placements]
    assert {s: tuple(p.email for p in plan.placements if p.session == s)
            for s in by_session} == by_session
    assert not [p for p in plan.placements if p.session not in by_session]


@pytest.mark.parametrize("change", ["someone missing", "an unknown slot", "an unknown session",
                                    "over capacity", "against a fixed choice",
                                    "an email not as its key"])
def test_a_stored_plan_that_is_not_the_solvers_is_not_kept(
        run: Runner, folder: Path, db: Path, change: str) -> None:
    assert run("plan", folder).code == 0
    doc, stored = with_slots(seated_docs(db))
    assert kept_plan(doc, seating_of(stored)) is not None
    (slot, email), session = sorted(stored.items())[0]
    others = sorted({s for (sl, _), s in stored.items() if sl == slot} - {session})
    assert others  # a slot of parallel sessions
    edited = dict(stored)
    if change == "someone missing":
        del edited[slot, email]
    elif change == "an unknown slot":
        del edited[slot, email]
        edited["no-such-slot", email] = session
    elif change == "an unknown session":
        edited[slot, email] = "no-such-session"
    elif change == "over capacity":
        doc = replace(doc, sessions=tuple(
            replace(s, capacity=0) if s.id == session else s for s in doc.sessions))
    elif change == "an email not as its key":  # cxc stores none: the solver reads it as one
        del edited[slot, email]
        edited[slot, email.upper()] = session
        assert plan_programme(doc, edited) == plan_programme(doc, stored)
    else:
        doc = replace(doc, registrations=tuple(
            replace(r, sessions=(others[0],)) if r.key == email else r
            for r in doc.registrations))

    assert kept_plan(doc, seating_of(edited)) is None


def test_the_seating_read_back_is_the_stored_plan_by_slot_and_session(
        run: Runner, folder: Path, db: Path) -> None:
    assert run("plan", folder).code == 0
    handle = store.open_store(db)
    pids = [pid for pid, _ in store.programme_files(handle, active=True)]
    assert pids
    for pid in [*pids, "no-such-programme"]:
        seating = store.read_seating(handle, pid)
        assert {slot: {s: tuple(sorted(e)) for s, e in sessions.items()}
                for slot, sessions in seating.items()} == seating_of(
            store.read_placements(handle, pid))
        assert bool(seating) == (pid != "no-such-programme") or not store.read_placements(
            handle, pid)
    handle.close()


def test_a_replan_after_an_unrelated_edit_shows_and_stores_what_a_full_replan_does(
        run: Runner, folder: Path, db: Path, workdir: Path) -> None:
    """Text with ``--people``, text and JSON of a run keeping every plan but one are those of
    a run solving every programme again from the same store."""
    assert run("plan", folder).code == 0
    move_a_session(sorted(folder.glob("programmes/*/*.yaml"))[-1])
    full_db = workdir / "full.db"
    with sqlite3.connect(db) as source, sqlite3.connect(full_db) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    formats = (("--people",), (), ("--format", "json"))

    kept = [run("plan", folder, *extra) for extra in formats]
    full = []
    for extra in formats:
        with sqlite3.connect(full_db) as conn:  # every plan stale: every programme solved
            conn.execute("UPDATE plans SET data_hash = 'stale'")
        conn.close()
        full.append(run("--db", full_db, "plan", folder, *extra, db=None))

    assert [r.code for r in kept] == [r.code for r in full] == [0, 0, 0]
    for ours, theirs in zip(kept, full, strict=True):
        assert ours.stdout == theirs.stdout
    assert "who is in each group" in kept[0].stdout
    for name, sql in PLAN_ROWS.items():
        assert rows(db, sql) == rows(full_db, sql), name


def placeless(value: Any) -> Any:
    """``value`` with every place reduced to its line (the store keeps no column or path)."""
    if isinstance(value, Source):
        return Source("", value.line)
    if isinstance(value, ProgrammeDoc):
        value = replace(value, file="")
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: placeless(getattr(value, f.name))
                                 for f in fields(value) if f.init})
    if isinstance(value, tuple):
        return tuple(placeless(item) for item in value)
    return value


def test_a_programme_read_back_is_the_programme_its_file_defines(
        run: Runner, folder: Path, db: Path) -> None:
    """Every field of every session and registration in its place (they are read by position)."""
    assert run("load", folder).code == 0
    handle = store.open_store(db)
    stored = {doc.programme.id: placeless(doc) for doc in store.read_programmes(handle)}
    handle.close()
    parsed = [read_file(path) for path in sorted(folder.glob("programmes/*/*.yaml"))]

    assert len(parsed) == len(stored) >= 4
    for doc in parsed:
        assert isinstance(doc, ProgrammeDoc)
        assert stored[doc.programme.id] == placeless(doc)
    people = [r for doc in parsed for r in doc.registrations]  # fields worth comparing
    assert any(r.interests and r.organisation and r.sessions for r in people)
    assert any(s.slot and s.themes for doc in parsed for s in doc.sessions)


def test_an_ascii_email_key_is_the_unicode_definitions() -> None:
    """ASCII text is keyed by lower-casing it: the same as NFC and case-folding it."""
    ascii_text = [chr(a) + chr(b) for a in range(128) for b in range(128)]
    for text in [*ascii_text, " Ana.Lopez@Example.ORG\t", ""]:
        assert identity_key(text) == normalize("NFC", normalize("NFC", text.strip()).casefold())
    assert identity_key("STRASSE@x.de") == identity_key("Straße@x.de")


def test_admitting_from_no_waitlist_is_admitting_no_one(run: Runner, folder: Path,
                                                         db: Path) -> None:
    path = sorted(folder.glob("programmes/*/*.yaml"))[0]
    head, people = path.read_text(encoding="utf-8").split("\nparticipants:\n")
    path.write_text(head + "\nparticipants:\n" + people.replace(
        "\n  name: ", "\n  status: waitlisted\n  name: ", 2), encoding="utf-8")
    assert run("load", folder).code == 0
    handle = store.open_store(db)
    docs = list(store.read_programmes(handle, travel=False))
    handle.close()
    waitlisted = [d for d in docs if any(r.status == "waitlisted" for r in d.registrations)]
    assert len(waitlisted) == 1 and len(docs) > 1
    for doc in docs:
        people = [Candidate(p.key, p.partner, p.status, p.sessions) for p in doc.registrations]
        assert admit_programme(doc) == admit(people, room_of(doc))


def printed_people(lines: list[tuple[str, str, str]], *, plain: bool) -> str:
    """What ``cxc plan --people`` prints off a terminal for these lines: by cxc's own path
    (``plain``), or by printing each line with rich, as a terminal-less console does."""
    console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, force_terminal=False)
    if plain:
        render._print_people(console, lines)
    else:
        console.print(Text("\nwho is in each group", style="bold"))
        for head, tail, style in lines:
            line = Text(head, style=style if not tail else "")
            line.append(tail, style=style)
            console.print(line)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("lines", [
    [("  d1-a, Mon 14 Mar 2022", "", "bold"),
     ("    09:00-10:30 Visit [one] (2): ", "Ana (barna-bio), Ελένη (tallinn-med)", ""),
     ("    09:00-10:30 中文会议 and more (0): ", "nobody", "dim")],
    [("  slot ", "", "bold"), ("    11:00-12:00 a very long title " * 12 + "(1): ",
                                "Jo  (x) ", "")],
])
def test_who_is_in_each_group_is_printed_as_rich_prints_it(
        lines: list[tuple[str, str, str]]) -> None:
    assert printed_people(lines, plain=True) == printed_people(lines, plain=False)


def test_a_name_with_a_control_character_is_left_to_rich() -> None:
    lines = [("  s, Mon 14 Mar 2022", "", "bold"), ("    09:00-10:00 T (1): ", "A\rB (p)", "")]
    console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, force_terminal=False)
    render._print_people(console, lines)
    assert "\r" not in console.file.getvalue()  # type: ignore[attr-defined]
    assert console.file.getvalue() == printed_people(lines, plain=False)  # type: ignore[attr-defined]
