"""Cost grows with the change (issue 17): load parses only changed files, plan solves and
writes only programmes whose data changed, and both give what a full run gives."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner, dump_store

import cxc.format.loader as loader
import cxc.plan.planning as planning
import cxc.plan.solver as solver
from cxc import store


def count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Every call of ``module.name`` from now on, by its first argument (a file or a doc)."""
    calls: list[str] = []
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(getattr(args[0], "file", args[2] if len(args) > 2 else args[0])))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def first_programme(folder: Path) -> Path:
    return sorted(folder.glob("programmes/*/*.yaml"))[0]


def move_a_session(path: Path) -> None:
    """One session a quarter of an hour later: the edit a coordinator makes most."""
    text = path.read_text(encoding="utf-8")
    moved = re.sub(r"(\n  start: \d{4}-\d\d-\d\d) 09:00", r"\1 09:15", text, count=1)
    assert moved != text
    path.write_text(moved, encoding="utf-8")


def test_plan_on_an_unchanged_folder_parses_nothing(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run("plan", folder, "--format", "json")
    assert first.code == 0, first.output
    before = dump_store(db)
    parsed = count_calls(monkeypatch, loader, "parse_document")
    for path in folder.rglob("*.yaml"):  # a new mtime alone is no change
        os.utime(path, (1_900_000_000, 1_900_000_000))

    again = run("plan", folder, "--format", "json")

    assert again.code == 0, again.output
    assert parsed == []
    assert again.stdout == first.stdout
    assert dump_store(db) == before
    summary = run("load", folder)  # unchanged files count as loaded, as they did when read
    assert parsed == []
    assert summary.stderr.startswith("loaded 7 files: 6 programmes"), summary.stderr
    assert rows(db, "SELECT count(*) FROM files WHERE sha256 IS NULL") == [(0,)]


def test_an_edited_file_is_the_only_one_parsed_and_a_removed_one_is_dropped(
        run: Runner, folder: Path, db: Path, workdir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("load", folder).code == 0
    edited, *others = sorted(folder.glob("programmes/*/*.yaml"))
    move_a_session(edited)
    others[-1].unlink()
    parsed = count_calls(monkeypatch, loader, "parse_document")

    result = run("load", folder)

    assert result.code == 0, result.output
    assert [Path(p).name for p in parsed] == [edited.name]
    assert rows(db, "SELECT count(*) FROM programmes") == [(5,)]
    fresh = workdir / "fresh.db"
    assert run("--db", fresh, "load", folder, db=None).code == 0
    content = "SELECT * FROM sessions ORDER BY programme, id, file"
    assert rows(db, content) == rows(fresh, content)
    hashes = "SELECT path, sha256 FROM files ORDER BY path"
    assert rows(db, hashes) == rows(fresh, hashes)


def test_a_forgotten_person_stays_forgotten_when_the_file_is_skipped_or_read_again(
        run: Runner, folder: Path, db: Path) -> None:
    assert run("plan", folder).code in (0, 1)
    path = first_programme(folder)
    (email,) = rows(db, f"SELECT email FROM registrations WHERE file LIKE '%{path.name}' "
                    "ORDER BY email LIMIT 1")[0]
    assert run("forget", email).code == 0
    forgotten = "SELECT count(*) FROM registrations WHERE email = ?"

    for step in ("unchanged", "edited"):
        if step == "edited":
            path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
        result = run("plan", folder)
        assert result.code in (0, 1), result.output
        with sqlite3.connect(db) as conn:
            assert conn.execute(forgotten, (email,)).fetchone() == (0,), step
            assert conn.execute("SELECT count(*) FROM registrations WHERE forgotten = 1"
                                ).fetchone() == (1,), step


PLAN_ROWS = {
    "placements": "SELECT programme, slot, session, email FROM placements ORDER BY 1, 2, 4",
    "admissions": "SELECT programme, email FROM admissions ORDER BY 1, 2",
    "plans": "SELECT programme, data_hash FROM plans ORDER BY 1",
}


def test_an_incremental_plan_is_the_full_plan_and_touches_only_the_changed_programme(
        run: Runner, folder: Path, db: Path, workdir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("plan", folder).code == 0
    edited = first_programme(folder)
    move_a_session(edited)
    text = edited.read_text(encoding="utf-8")  # and someone withdraws
    edited.write_text(text.replace("\n    status: registered", "\n    status: withdrawn", 1)
                      if "status: registered" in text else text, encoding="utf-8")
    (pid,) = rows(db, f"SELECT id FROM programmes WHERE file LIKE '%{edited.name}'")[0]
    untouched = f"SELECT rowid, * FROM placements WHERE programme != '{pid}' ORDER BY rowid"
    before = rows(db, untouched)
    before_admissions = rows(db, "SELECT rowid, * FROM admissions WHERE programme != "
                             f"'{pid}' ORDER BY rowid")
    full_db = workdir / "full.db"
    with sqlite3.connect(db) as source, sqlite3.connect(full_db) as copy:
        source.backup(copy)
    solved = count_calls(monkeypatch, planning, "plan_programme")

    incremental = [run("plan", folder, "--format", fmt) for fmt in ("json", "text")]

    assert [Path(f).name for f in solved] == [edited.name]  # the text run solves nothing
    assert rows(db, untouched) == before
    assert rows(db, "SELECT rowid, * FROM admissions WHERE programme != "
                f"'{pid}' ORDER BY rowid") == before_admissions
    with sqlite3.connect(full_db) as conn:  # the same store, every plan forgotten as stale
        conn.execute("UPDATE plans SET data_hash = 'stale'")
    full = [run("--db", full_db, "plan", folder, "--format", fmt, db=None)
            for fmt in ("json", "text")]
    assert [r.code for r in incremental] == [r.code for r in full] == [0, 0]
    assert json.loads(incremental[0].stdout) == json.loads(full[0].stdout)
    assert incremental[1].stdout == full[1].stdout
    for name, sql in PLAN_ROWS.items():
        assert rows(db, sql) == rows(full_db, sql), name


def test_a_current_plan_is_kept_without_the_solvers_view_of_its_slots(
        run: Runner, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeping a current plan only checks that everyone still has a session of each slot within
    its seats and choices: the themes, interests and partners the solver weighs are not built."""
    first = run("plan", folder, "--format", "json")
    assert first.code == 0, first.output
    views = count_calls(monkeypatch, solver, "_slot_view")
    themes = count_calls(monkeypatch, solver, "_themes")
    kept = count_calls(monkeypatch, solver, "kept_plan")
    monkeypatch.setattr(planning, "kept_plan", solver.kept_plan)  # planning's name, counted

    again = run("plan", folder, "--format", "json")

    assert again.code == 0, again.output
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert len(kept) == len(json.loads(first.stdout)["programmes"])
    assert views == [] and themes == []


def test_the_distinct_people_and_sessions_of_a_programme_without_duplicates_are_all_of_them(
        run: Runner, folder: Path, db: Path) -> None:
    """Without a repeated email or session id, keeping the first of each (by place in the
    file) is keeping every one, in key order; with one, the first in the file."""
    assert run("load", folder).code == 0
    doc = max(store.read_programmes(store.open_store(db)), key=lambda d: len(d.registrations))
    people = list(reversed(doc.registrations))
    sessions = list(reversed(doc.sessions))
    assert len({p.key for p in people}) == len(people) and len(people) > 3

    assert solver._distinct_participants(people) == sorted(people, key=lambda p: p.key)
    assert solver._distinct_sessions(sessions) == sorted(sessions, key=lambda s: s.id)
    later = replace(people[0], name="Another", source=replace(people[0].source, line=10**6))
    chosen = solver._distinct_participants([later, *people])  # a duplicate, later in the file
    assert chosen == sorted(people, key=lambda p: p.key)
