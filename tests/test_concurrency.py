"""Two cxc at once on one store: they take turns, or the second says so in one line; nothing breaks.

The store is SQLite in WAL mode with a busy timeout of 60 s and BEGIN
IMMEDIATE for every write, so a second writer waits for the first. Each test
starts real `cxc` processes together on a synthetic data set and accepts only
these outcomes: both succeed one after the other, or one exits 2 with a single
`cxc:` line saying the store is busy. Either way the store passes
``PRAGMA integrity_check`` and holds exactly what one of the possible orders
gives, and no process shows a traceback. Readers see one state, never half of
a load that commits while they read.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CXC
from store_helpers import Dump, canonical, copy_store, cxc, environment, generate, integrity, revise


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str


def together(*commands: tuple[Path, tuple[str | Path, ...]], stagger: float = 0.0,
             ) -> list[Outcome]:
    """Start every `cxc --db DB ARGS` at once (``stagger`` seconds apart), wait for all."""
    processes = []
    for db, args in commands:
        processes.append(subprocess.Popen(
            [str(CXC), "--db", str(db), *map(str, args)], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=environment()))
        time.sleep(stagger)
    outcomes = []
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        outcomes.append(Outcome(process.returncode, stderr))
    return outcomes


def assert_turns_or_busy(outcomes: list[Outcome]) -> list[bool]:
    """Each command succeeded, or refused in one line because the store was busy; who succeeded."""
    succeeded = []
    for outcome in outcomes:
        assert "Traceback" not in outcome.stderr, outcome.stderr
        assert "internal error" not in outcome.stderr, outcome.stderr
        if outcome.code == 2:
            lines = outcome.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("cxc: "), outcome.stderr
            assert "busy" in lines[0], lines
        else:
            assert outcome.code in (0, 1), outcome
        succeeded.append(outcome.code != 2)
    assert any(succeeded), outcomes
    return succeeded


# -- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    root: Path
    first: Path
    """A partnership and the programmes of 2022 to 2024."""
    second: Path
    """The same partnership and the programmes of 2025 to 2027."""
    base: Path
    """A store holding the partnership only."""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    root = tmp_path_factory.mktemp("concurrency")
    generated = generate(root / "generated", programmes=60, registrations=1200, seed=21)
    first, second = root / "first", root / "second"
    for half, years in ((first, ("2022", "2023", "2024")), (second, ("2025", "2026", "2027"))):
        half.mkdir()
        for year in years:
            shutil.copytree(generated / "programmes" / year, half / "programmes" / year)
    # one partnership file, named by both halves: the partnership of the store is the same
    partnership = root / "partnership.yaml"
    shutil.copy(generated / "partnership.yaml", partnership)
    (root / "store").mkdir()  # apart from the data: its file paths are kept absolute
    base = root / "store" / "base.db"
    cxc(base, "load", partnership)
    return Data(root, first, second, base)


def expected(data: Data, tmp_path: Path, *orders: tuple[tuple[str | Path, ...], ...]) -> list[Dump]:
    """What the store holds after each order of commands, run one after the other from ``base``."""
    dumps = []
    for number, order in enumerate(orders):
        db = tmp_path / f"expected-{number}.db"
        copy_store(data.base, db)
        for args in order:
            cxc(db, *args)
        dumps.append(canonical(db))
    return dumps


# -- two loads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stagger", [0.0, 0.3])
def test_two_loads_at_once_take_turns(data: Data, tmp_path: Path, stagger: float) -> None:
    one = ("load", data.root / "partnership.yaml", data.first)
    two = ("load", data.root / "partnership.yaml", data.second)
    both, only_one, only_two = expected(data, tmp_path, (one, two), (one,), (two,))
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)

    outcomes = together((db, one), (db, two), stagger=stagger)

    succeeded = assert_turns_or_busy(outcomes)
    assert integrity(db) == ["ok"]
    assert canonical(db) == {(True, True): both, (True, False): only_one,
                             (False, True): only_two}[tuple(succeeded)]


def test_two_loads_of_the_same_files_at_once(data: Data, tmp_path: Path) -> None:
    args = ("load", data.root / "partnership.yaml", data.first, data.second)
    (loaded,) = expected(data, tmp_path, (args,))
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)

    assert_turns_or_busy(together((db, args), (db, args), (db, args)))

    assert integrity(db) == ["ok"]
    assert canonical(db) == loaded


def test_two_loads_creating_the_store_at_once(data: Data, tmp_path: Path) -> None:
    one = ("load", data.root / "partnership.yaml", data.first)
    two = ("load", data.root / "partnership.yaml", data.second)
    db = tmp_path / "new.db"

    succeeded = assert_turns_or_busy(together((db, one), (db, two)))

    assert integrity(db) == ["ok"]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM _secrets WHERE name = 'secret'").fetchone()[0] == 1
        files = {p for (p,) in conn.execute("SELECT display FROM files")}
    finally:
        conn.close()
    loaded = [half for half, ok in zip((data.first, data.second), succeeded, strict=False) if ok]
    expected_files = {str(p) for half in loaded for p in half.rglob("*.yaml")}
    assert {f for f in files if not f.endswith("partnership.yaml")} == expected_files


# -- two plans ---------------------------------------------------------------------------------


def test_two_plans_at_once_take_turns(data: Data, tmp_path: Path) -> None:
    load = ("load", data.root / "partnership.yaml", data.first, data.second)
    plan = ("plan", "--format", "json")
    planned_once, planned_twice = expected(data, tmp_path, (load, plan), (load, plan, plan))
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    cxc(db, *load)

    assert_turns_or_busy(together((db, plan), (db, plan)))

    assert integrity(db) == ["ok"]
    assert canonical(db) in (planned_once, planned_twice)


def test_a_plan_and_a_load_at_once(data: Data, tmp_path: Path) -> None:
    """The plan is of the store before the load or after it, never of half a load."""
    load = ("load", data.root / "partnership.yaml", data.first, data.second)
    revised = revise(data.first, tmp_path / "revised-first")
    reload = ("load", data.root / "partnership.yaml", revised, data.second)
    plan = ("plan", "--format", "json")
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    cxc(db, *load)
    possible = []
    for number, order in enumerate([(plan, reload), (reload, plan), (reload,)]):
        copy = tmp_path / f"expected-{number}.db"
        copy_store(db, copy)
        for args in order:
            cxc(copy, *args)
        possible.append(canonical(copy))

    succeeded = assert_turns_or_busy(together((db, reload), (db, plan)))

    assert integrity(db) == ["ok"]
    if all(succeeded):
        assert canonical(db) in possible[:2]
    else:
        assert canonical(db) in possible


# -- readers while a load commits ----------------------------------------------------------------


def test_reports_during_a_load_see_the_store_before_or_after(data: Data, tmp_path: Path) -> None:
    load = ("load", data.root / "partnership.yaml", data.first, data.second)
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    report = ("report", "--format", "json")
    before = cxc(db, *report).stdout
    after_db = tmp_path / "after.db"
    copy_store(data.base, after_db)
    cxc(after_db, *load)
    after = cxc(after_db, *report).stdout
    assert before != after

    writer = subprocess.Popen([str(CXC), "--db", str(db), *map(str, load)],
                              stderr=subprocess.PIPE, text=True, env=environment())
    seen = []
    while writer.poll() is None:
        seen.append(cxc(db, *report).stdout)
    _, stderr = writer.communicate(timeout=600)

    assert writer.returncode == 0, stderr
    assert seen and set(seen) <= {before, after}
    assert cxc(db, *report).stdout == after


def test_a_reader_sees_one_state_while_a_load_commits(
    data: Data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A load that commits between two of the reader's queries is not half-seen (in process)."""
    from dataclasses import replace

    from cxc import store
    from cxc.format.files import find_files

    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    monkeypatch.chdir(tmp_path)
    store.load(store.open_store(db), find_files([data.first]).documents(), {})
    # the same files revised: the revised documents keep the original paths, so they replace
    originals = {p.name: str(p.resolve()) for p in data.first.rglob("*.yaml")}
    documents = [replace(doc, file=originals[Path(doc.file).name]) for doc in
                 find_files([revise(data.first, tmp_path / "revised")]).documents()]
    reader, writer = store.open_store(db), store.open_store(db)
    fired: list[str] = []

    def commit_a_load(statement: str) -> None:
        if "FROM sessions" in statement and not fired:
            fired.append(statement)
            store.load(writer, documents, {})

    reader.conn.set_trace_callback(commit_a_load)
    with store.read_snapshot(reader.conn):  # as plan and export read the programmes
        docs = list(store.read_programmes(reader))
    reader.conn.set_trace_callback(None)

    assert fired, "the load did not run while the reader read"
    programmes = {doc.programme.title.endswith("(revised)") for doc in docs}
    sessions = {s.title.endswith("(revised)") for doc in docs for s in doc.sessions}
    assert programmes == sessions == {False}, "the reader saw half of the load"
    later = list(store.read_programmes(store.open_store(db)))
    assert {doc.programme.title.endswith("(revised)") for doc in later} == {True}


# -- a store held too long ----------------------------------------------------------------------


@pytest.mark.slow  # it waits out a busy timeout
def test_a_store_locked_longer_than_the_timeout_is_one_line_and_exit_2(
    data: Data, tmp_path: Path,
) -> None:
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    before = canonical(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")
    try:
        done = subprocess.run(
            [str(CXC), "--db", str(db), "load", data.root / "partnership.yaml", data.first],
            capture_output=True, text=True, env={**environment(), "CXC_BUSY_TIMEOUT": "3"},
            timeout=120, check=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("cxc: ") and "busy" in line and "try again" in line
    assert "waited 3 s" in line
    assert integrity(db) == ["ok"]
    assert canonical(db) == before
    # and once the other writer is gone, the same load works
    cxc(db, "load", data.root / "partnership.yaml", data.first)


# -- two exports into one folder ----------------------------------------------------------------


def test_two_exports_into_one_folder_at_once(data: Data, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    for path in sorted((data.first / "programmes" / "2022").glob("*.yaml"))[:3]:
        shutil.copy(path, small)
    db = tmp_path / "cxc.db"
    copy_store(data.base, db)
    cxc(db, "plan", small)
    alone = tmp_path / "alone.db"
    copy_store(db, alone)
    cxc(alone, "export", "--out", tmp_path / "expected")
    expected_files = {str(p.relative_to(tmp_path / "expected")): p.read_bytes()
                      for p in (tmp_path / "expected").rglob("*") if p.is_file()}
    out = tmp_path / "out"

    outcomes = together((db, ("export", "--out", out)), (db, ("export", "--out", out)))

    assert all(o.code == 0 for o in outcomes), outcomes
    assert integrity(db) == ["ok"]
    found = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert found == expected_files
