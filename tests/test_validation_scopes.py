"""Validation by file (issue 17, item 4): the rules that read one file at a time keep their
findings per file, and after an edit run only for the files the store's triggers forgot; the
findings are those of a full run, whatever is edited, by cxc or by hand in SQL."""

from __future__ import annotations

import io
import random
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxc.errors import Finding
from cxc.rules import RULES, validate, validate_store
from cxc.store import read_snapshot, write_transaction
from cxc.store.connection import open_store
from cxc.store.schema import READ_COLUMNS, VALIDATION_INPUTS

NOT_EDITED = ("validations", "meta", "sqlite_")
"""The kept findings themselves, the store's identity, SQLite's own: a random edit leaves them."""


def _cxc(*args: str | Path) -> tuple[int, str]:
    """Run the CLI in this process (as the ``run`` fixture does)."""
    out, err = io.StringIO(), io.StringIO()
    from cxc import cli

    with mock.patch.object(sys, "argv", ["cxc", *map(str, args)]), \
            redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main()
        except SystemExit as exc:
            return (exc.code if isinstance(exc.code, int) else 0), out.getvalue() + err.getvalue()
    raise AssertionError("cxc.cli.main returned instead of exiting")


def _damage(conn: sqlite3.Connection) -> None:
    """Edits that make every rule fire, several of them across files: programmes that overlap,
    people and organisations in several of them, a repeated programme id."""
    files = [f for (f,) in conn.execute("SELECT file FROM programmes ORDER BY file")]
    a, b, c = files[0], files[1], files[2]
    conn.execute("UPDATE programmes SET kind = 'cxc', start = '2025-11-24', \"end\" = '2025-11-28'"
                 " WHERE file IN (?, ?, ?)", (a, b, c))
    conn.execute("UPDATE programmes SET min_transfer_minutes = 600, capacity = 20")
    conn.execute("UPDATE programmes SET id = (SELECT id FROM programmes WHERE file = ?) "
                 "WHERE file = ?", (a, files[3]))
    conn.execute("UPDATE quotas SET count = 1 WHERE rowid % 2 = 0")
    # people and organisations in two programmes at once
    conn.execute("UPDATE registrations SET email = (SELECT r.email FROM registrations r "
                 "WHERE r.file = ? AND r.position = registrations.position % 20) "
                 "WHERE file IN (?, ?) AND position % 3 = 0", (a, b, c))
    conn.execute("UPDATE registrations SET organisation_key = 'org-' || (position % 5), "
                 "organisation = 'Org ' || (position % 5) WHERE position % 4 = 1")
    conn.execute("UPDATE registrations SET org_type = 'public' WHERE position % 11 = 2")
    conn.execute("UPDATE registrations SET partner = (SELECT host FROM programmes p "
                 "WHERE p.file = registrations.file) WHERE position % 13 = 3")
    conn.execute("UPDATE registrations SET partner = 'nobody' WHERE position % 17 = 4")
    conn.execute("UPDATE registrations SET status = 'waitlisted' WHERE position % 19 = 5")
    conn.execute("INSERT OR IGNORE INTO admissions (programme, email) SELECT programme, email "
                 "FROM registrations WHERE status = 'waitlisted' AND position % 38 = 5")
    conn.execute("UPDATE registrations SET sessions = (SELECT json_group_array(id) FROM "
                 "(SELECT id FROM sessions s WHERE s.file = registrations.file LIMIT 3)) "
                 "WHERE position % 7 = 6")
    # sessions: too small, overlapping, in a DST gap, at no or an unknown venue, repeated
    conn.execute("UPDATE sessions SET capacity = 1 WHERE position % 3 = 0")
    conn.execute("UPDATE sessions SET venue = 'typo' WHERE position % 9 = 4")
    conn.execute("UPDATE sessions SET venue = NULL WHERE position % 9 = 5")
    conn.execute("UPDATE sessions SET id = (SELECT s.id FROM sessions s WHERE s.file = "
                 "sessions.file AND s.position = 0) WHERE position = 1")
    conn.execute("UPDATE sessions SET start_local = '2024-03-31 02:30', start_tz = "
                 "'Europe/Paris' WHERE position = 2")
    conn.execute("UPDATE sessions SET end_utc = start_utc WHERE position = 3")
    conn.execute("UPDATE travel_legs SET arrive_utc = strftime('%Y-%m-%dT%H:%M:%SZ', arrive_utc, "
                 "'+2 days') WHERE position = 0 AND registration % 5 = 0")
    conn.execute("UPDATE stays SET check_out = date(check_in, '-1 day') WHERE registration % 9 = 0")
    conn.execute("INSERT INTO activities (kind, partner, date, title, url, file, line, position) "
                 "SELECT kind, partner, date, upper(title), url, file, line + 1, position + 1000 "
                 "FROM activities WHERE rowid % 3 = 0")


@pytest.fixture(scope="module")
def damaged(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated data set's folder and a store of it, loaded by cxc, where every rule fires."""
    work = tmp_path_factory.mktemp("damaged")
    shutil.copytree(dataset, work / "data")
    db = work / "cxc.db"
    code, output = _cxc("--db", db, "load", work / "data")
    assert code == 0, output
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    _damage(conn)
    conn.execute("COMMIT")
    with read_snapshot(conn):
        fired = {f.rule for f in validate(conn)}
    conn.close()
    assert fired == {rule.id for rule in RULES}
    return work


def _as_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.as_json() for f in findings]


# -- random edits --------------------------------------------------------------------------------


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
            if not t.startswith(NOT_EDITED)]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _table(conn: sqlite3.Connection, rng: random.Random) -> str:
    """Mostly one whose rows belong to a file (whether the rules read it or not), else any."""
    tables = _tables(conn)
    of_files = [t for t in tables if "file" in _columns(conn, t) or t in ("files", "admissions")]
    return rng.choice(of_files if rng.random() < 0.8 else tables)


def _update(conn: sqlite3.Connection, rng: random.Random) -> None:
    """One to three columns of one row set to their values in another row."""
    table = _table(conn, rng)
    rowids = [r for (r,) in conn.execute(f"SELECT rowid FROM {table}")]
    if len(rowids) < 2:
        return
    target, source = rng.sample(rowids, 2)
    columns = _columns(conn, table)
    for column in rng.sample(columns, min(len(columns), rng.randint(1, 3))):
        conn.execute(f'UPDATE {table} SET "{column}" = (SELECT "{column}" FROM {table} '
                     f"WHERE rowid = ?) WHERE rowid = ?", (source, target))


def _delete(conn: sqlite3.Connection, rng: random.Random) -> None:
    table = _table(conn, rng)
    rowids = [r for (r,) in conn.execute(f"SELECT rowid FROM {table}")]
    if rowids:
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rng.choice(rowids),))


def _sql(db: Path, rng: random.Random, edit: Any) -> None:
    """One to six random edits, each its own transaction, as a person with sqlite3 makes them."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        for _ in range(rng.randint(1, 6)):
            conn.execute("BEGIN")
            try:
                edit(conn, rng)
            except sqlite3.IntegrityError:  # a constraint refuses it: skip the edit
                conn.execute("ROLLBACK")
            else:
                conn.execute("COMMIT")
    finally:
        conn.close()


def _yaml(db: Path, folder: Path, rng: random.Random) -> None:
    """One programme file edited as a coordinator would, then `cxc load` of the folder."""
    paths = sorted((folder / "programmes").rglob("*.yaml"))
    path = rng.choice(paths)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sessions, people = data.get("sessions") or [], data.get("participants") or []
    what = rng.choice(["move", "capacity", "drop", "borrow"])
    if what == "move" and sessions:  # one session moved 30 minutes
        session = rng.choice(sessions)
        for end in ("start", "end"):
            session[end] = _later(str(session[end]))
    elif what == "capacity":
        data["programme"]["capacity"] = rng.choice([1, 5, 500])
    elif what == "drop" and people:
        people.pop(rng.randrange(len(people)))
    elif what == "borrow" and people:  # someone of another programme registers here too
        other = yaml.safe_load(rng.choice(paths).read_text(encoding="utf-8"))
        if other.get("participants"):
            people.append(dict(rng.choice(other["participants"])))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    code, output = _cxc("--db", db, "load", folder)
    assert code in (0, 1, 2), output


def _later(wall: str) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(wall) + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")


@contextmanager
def _copy(damaged: Path) -> Iterator[tuple[Path, Path]]:
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        shutil.copytree(damaged / "data", Path(work) / "data")
        shutil.copyfile(damaged / "cxc.db", Path(work) / "cxc.db")
        yield Path(work) / "cxc.db", Path(work) / "data"


def _check(db: Path) -> None:
    """The findings validate_store gives, keeping them, and then reads back, are a full run's."""
    store = open_store(db)
    try:
        with write_transaction(store):
            kept = validate_store(store, keep=True)
        with read_snapshot(store.conn):
            full = validate(store.conn)
        assert _as_json(kept) == _as_json(full)
        assert _as_json(validate_store(store)) == _as_json(full)
    finally:
        store.conn.close()


STEPS = st.lists(st.tuples(st.sampled_from(["update", "update", "delete", "yaml"]),
                           st.randoms()), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_random_edits_give_the_findings_of_a_full_run(
        damaged: Path, steps: list[tuple[str, random.Random]]) -> None:
    with _copy(damaged) as (db, folder):
        _check(db)
        for kind, rng in steps:
            if kind == "yaml":
                _yaml(db, folder, rng)
            else:
                _sql(db, rng, _update if kind == "update" else _delete)
            _check(db)


# -- what the rules read ---------------------------------------------------------------------


def _reads(db: Path, files: list[str] | None) -> set[tuple[str, str]]:
    """(table, column) of every SQLITE_READ while the rules run, on the whole store or
    limited to ``files``; a view's reads are its base tables'."""
    from cxc.rules.checks import validate_files

    seen: set[tuple[str, str]] = set()

    def authorize(action: int, table: str | None, column: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table is not None:
            seen.add((table, column or ""))
        return sqlite3.SQLITE_OK

    store = open_store(db)
    try:
        conn = store.conn
        paths = [p for (p,) in conn.execute("SELECT path FROM files")]
        with read_snapshot(conn):
            conn.set_authorizer(authorize)
            try:
                if files is None:
                    validate(conn)
                else:  # every file kept but these
                    validate_files(conn, {p: [] for p in paths if p not in files})
            finally:
                conn.set_authorizer(None)
    finally:
        store.conn.close()
    views = {"active_programmes", "partnership_partners", "partnership_activities",
             "session_seats", "visitors", "repeated_ids", "holders", "seat_holders"}
    return {(t, c) for t, c in seen if t not in views | {"sqlite_master", "json_each"}}


@pytest.mark.parametrize("limited", [False, True], ids=["whole store", "one file"])
def test_the_rules_read_only_what_the_triggers_watch(damaged: Path, limited: bool) -> None:
    with _copy(damaged) as (db, _):
        conn = sqlite3.connect(db)
        one = conn.execute("SELECT file FROM programmes ORDER BY file LIMIT 1").fetchone()[0]
        conn.close()
        reads = _reads(db, [one] if limited else None)
    tables = {t for t, _ in reads}
    assert {"registrations", "sessions", "admissions", "files"} <= tables  # the hook sees them
    assert tables <= set(VALIDATION_INPUTS), tables - set(VALIDATION_INPUTS)
    for table, columns in READ_COLUMNS.items():
        read = {c for t, c in reads if t == table}
        assert read <= {c.strip() for c in columns.split(",")}, read


# -- a seat that another programme's admissions give ------------------------------------------


def test_a_waitlisted_registration_naming_another_programme_is_seen_when_that_one_admits(
        damaged: Path) -> None:
    """Whether a waitlisted person holds a seat reads the admissions of the programme their
    registration names; the triggers forget that programme's files for them. A file whose
    registration names another programme is not kept per file, so an admission there counts."""
    with _copy(damaged) as (db, _):
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        here, there = [r for (r,) in conn.execute(
            "SELECT file FROM programmes WHERE status != 'cancelled' ORDER BY file LIMIT 2")]
        other = conn.execute("SELECT id FROM programmes WHERE file = ?", (there,)).fetchone()[0]
        email = conn.execute("SELECT email FROM registrations WHERE file = ? ORDER BY position "
                             "LIMIT 1", (here,)).fetchone()[0]
        conn.execute("DELETE FROM admissions")
        conn.execute("UPDATE registrations SET status = 'waitlisted', programme = ? "
                     "WHERE file = ? AND email = ?", (other, here, email))
        holders = conn.execute("SELECT count(*) FROM seat_holders WHERE file = ?",
                               (here,)).fetchone()[0]
        conn.execute("UPDATE programmes SET capacity = ? WHERE file = ?", (holders, here))
        shown = conn.execute("SELECT display FROM files WHERE path = ?", (here,)).fetchone()[0]
        conn.close()
        _check(db)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("INSERT INTO admissions (programme, email) VALUES (?, ?)", (other, email))
        conn.close()
        store = open_store(db)
        try:
            with read_snapshot(store.conn):
                over = [f for f in validate(store.conn) if f.rule == "programme-over-capacity"
                        and f.file == shown]
        finally:
            store.conn.close()
        assert over  # one seat holder more than the capacity
        _check(db)


def test_the_rows_of_a_file_the_store_no_longer_lists_are_checked_as_by_a_full_run(
        damaged: Path) -> None:
    """The sqlite3 shell writes with foreign keys off: a file's row deleted there leaves its
    programme's rows behind, which a full run checks; so does a run on the files not kept."""
    with _copy(damaged) as (db, _):
        _check(db)
        conn = sqlite3.connect(db, isolation_level=None)  # foreign keys off, as in the shell
        gone = conn.execute("SELECT file FROM programmes WHERE status != 'cancelled' "
                            "ORDER BY file LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM files WHERE path = ?", (gone,))
        assert conn.execute("SELECT count(*) FROM registrations WHERE file = ?",
                            (gone,)).fetchone()[0]
        conn.close()
        store = open_store(db)
        try:
            with read_snapshot(store.conn):
                orphans = [f for f in validate(store.conn) if f.file == gone]
        finally:
            store.conn.close()
        assert orphans  # shown at its path
        _check(db)
