"""Killed at any moment, cxc loses nothing: the store and the export folder are old or new.

A synthetic data set of 100 programmes (bench/generate.py) is loaded, then a
revised version of every file (titles changed, one participant fewer per
programme) is loaded over it by a real `cxc` process that is killed with
SIGKILL after a seeded random delay, spread over the time a whole load takes,
and a few times just as the store starts to write. After each kill the store
passes ``PRAGMA integrity_check`` and holds, table for table, either exactly
what it held before or exactly what the finished load gives; and cxc keeps
working: the same load run again ends as a load that was never interrupted.

The same for `cxc plan` (the stored placements are the old plan or the new
one, nothing else changes) and for `cxc export` (every file in the folder is
the old one or the new one byte for byte; a temporary file a killed export
could not rename stays in cxc's own folder ``DIR/.cxc/tmp``, and the next
export removes it).
"""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CXC
from store_helpers import (
    Dump,
    canonical,
    copy_store,
    cxc,
    environment,
    generate,
    integrity,
    revise,
)

pytestmark = pytest.mark.slow  # about a minute: some fifty cxc processes, most of them killed
KILLS = 12
"""Kills at delays spread over a whole run."""
WRITE_KILLS = 3
"""Further kills as soon as the command writes (the store's log grows, a folder changes)."""
TEMPORARY = re.compile(r"\..+\.tmp\Z")


# -- killing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """When to kill: after ``delay`` seconds, counted from the start or from the first write."""

    delay: float
    after_first_write: bool = False


def kills(duration: float, seed: int) -> list[Kill]:
    """KILLS delays, one in each of KILLS equal parts of [0, 1.1 x duration], then WRITE_KILLS."""
    rnd = random.Random(seed)
    span = 1.1 * duration / KILLS
    spread = [Kill(rnd.uniform(i * span, (i + 1) * span)) for i in range(KILLS)]
    return spread + [Kill(rnd.uniform(0, 0.05), after_first_write=True)
                     for _ in range(WRITE_KILLS)]


def store_written(db: Path) -> Callable[[], bool]:
    """Whether the store's write-ahead log has grown: a transaction is under way or done."""
    wal = db.with_name(db.name + "-wal")
    return lambda: wal.exists() and wal.stat().st_size > 0


def folder_written(out: Path) -> Callable[[], bool]:
    """Whether a file has appeared, or been renamed, in any folder under ``out``."""
    def stamps() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in (out, *out.rglob("*")) if p.is_dir()}

    before = stamps()
    return lambda: stamps() != before


def run_and_kill(db: Path, args: tuple[str | Path, ...], kill: Kill,
                 epoch: int | None = None, written: Callable[[], bool] | None = None) -> int:
    """Start `cxc --db db ARGS`, SIGKILL it as told; its exit status (-9 when killed)."""
    env = environment(epoch)
    written = written or store_written(db)
    process = subprocess.Popen([str(CXC), "--db", str(db), *map(str, args)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        if kill.after_first_write:
            while process.poll() is None and not written():
                time.sleep(0.0005)
        time.sleep(kill.delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:  # pragma: no cover - only if the test itself failed
            process.kill()
            process.wait()
    code = process.returncode
    assert code in (0, 1, -signal.SIGKILL), (args, code, stderr.decode(errors="replace")[-3000:])
    assert b"Traceback" not in stderr
    return code


def timed(action: Callable[[], Any]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


# -- the data sets, once per module ------------------------------------------------------------


@dataclass(frozen=True)
class LoadCase:
    base: Path
    """The store holding the original data set."""
    revised: Path
    before: Dump
    after: Dump
    """What loading the revised data set over ``base`` gives."""
    duration: float


@pytest.fixture(scope="module")
def load_case(tmp_path_factory: pytest.TempPathFactory) -> LoadCase:
    root = tmp_path_factory.mktemp("crash-load")
    data = generate(root / "data", programmes=100, registrations=2000, seed=11)
    (root / "store").mkdir()  # apart from the data: its file paths are kept absolute
    base = root / "store" / "base.db"
    cxc(base, "load", data)
    revised = revise(data, data)  # the same files, edited: a load replaces what they defined
    expected = root / "store" / "expected.db"
    copy_store(base, expected)
    duration = timed(lambda: cxc(expected, "load", revised))
    before, after = canonical(base), canonical(expected)
    assert before != after
    assert integrity(base) == integrity(expected) == ["ok"]
    return LoadCase(base, revised, before, after, duration)


def test_a_killed_load_leaves_the_store_as_it_was_or_as_loaded(
    load_case: LoadCase, tmp_path: Path,
) -> None:
    outcomes = []
    for number, kill in enumerate(kills(load_case.duration, seed=1)):
        db = tmp_path / f"trial-{number}.db"
        copy_store(load_case.base, db)

        code = run_and_kill(db, ("load", load_case.revised), kill)

        assert integrity(db) == ["ok"], (number, kill)
        dump = canonical(db)
        assert dump in (load_case.before, load_case.after), (number, kill, code)
        if code == 0:
            assert dump == load_case.after, (number, kill)
        outcomes.append("new" if dump == load_case.after else "old")
        if number % 6 == 0:
            # it keeps working: the load again ends where an uninterrupted one does
            cxc(db, "load", load_case.revised)
            assert canonical(db) == load_case.after, (number, kill)
            assert integrity(db) == ["ok"]
    assert len(outcomes) == KILLS + WRITE_KILLS


# -- plan -------------------------------------------------------------------------------------


PLAN = ("plan", "--format", "json")
"""JSON: the plan is stored before it is shown, and a table for 2,000 people takes long to draw."""


@dataclass(frozen=True)
class PlanCase:
    base: Path
    """The original data set loaded and planned, then the revised one loaded: not planned yet."""
    before: Dump
    after: Dump
    duration: float


@pytest.fixture(scope="module")
def plan_case(load_case: LoadCase, tmp_path_factory: pytest.TempPathFactory) -> PlanCase:
    root = tmp_path_factory.mktemp("crash-plan")
    (root / "store").mkdir()  # apart from the data: its file paths are kept absolute
    base = root / "store" / "base.db"
    copy_store(load_case.base, base)
    cxc(base, "plan")
    cxc(base, "load", load_case.revised)
    expected = root / "store" / "expected.db"
    copy_store(base, expected)
    duration = timed(lambda: cxc(expected, *PLAN))
    before, after = canonical(base), canonical(expected)
    plan_tables = ("placements", "plans")  # the plan, and the data it was made from
    for table in plan_tables:
        assert before[table] and after[table]
        assert before[table] != after[table]
    assert {t: r for t, r in before.items() if t not in plan_tables} == {
        t: r for t, r in after.items() if t not in plan_tables}
    return PlanCase(base, before, after, duration)


def test_a_killed_plan_keeps_the_old_plan_or_stores_the_new_one(
    plan_case: PlanCase, tmp_path: Path,
) -> None:
    for number, kill in enumerate(kills(plan_case.duration, seed=2)):
        db = tmp_path / f"trial-{number}.db"
        copy_store(plan_case.base, db)

        code = run_and_kill(db, PLAN, kill)

        assert integrity(db) == ["ok"], (number, kill)
        dump = canonical(db)
        assert dump in (plan_case.before, plan_case.after), (number, kill, code)
        if code != -signal.SIGKILL:
            assert dump == plan_case.after, (number, kill)
        if number % 6 == 0:
            cxc(db, *PLAN)
            assert canonical(db) == plan_case.after, (number, kill)


# -- export -----------------------------------------------------------------------------------

OLD_EPOCH, NEW_EPOCH = 1_735_689_600, 1_738_368_000


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@dataclass(frozen=True)
class ExportCase:
    base: Path
    """The revised data set loaded over an export of the original one."""
    old_out: Path
    old: dict[str, bytes]
    new: dict[str, bytes]
    after: Dump
    """The store once the new export has run."""
    before: Dump
    duration: float


@pytest.fixture(scope="module")
def export_case(tmp_path_factory: pytest.TempPathFactory) -> ExportCase:
    root = tmp_path_factory.mktemp("crash-export")
    data = generate(root / "data", programmes=4, registrations=80, seed=12)
    (root / "store").mkdir()  # apart from the data: its file paths are kept absolute
    base = root / "store" / "base.db"
    old_out = root / "old"
    cxc(base, "plan", data)
    cxc(base, "export", "--out", old_out, epoch=OLD_EPOCH)
    cxc(base, "plan", revise(data, data))
    expected, new_out = root / "store" / "expected.db", root / "new"
    copy_store(base, expected)
    shutil.copytree(old_out, new_out)
    duration = timed(lambda: cxc(expected, "export", "--out", new_out, epoch=NEW_EPOCH))
    old, new = files(old_out), files(new_out)
    assert len(old) > 150
    assert set(old) <= set(new)
    changed = [name for name in old if old[name] != new[name]]
    assert len(changed) > len(old) // 2, "the new export must differ from the old one"
    return ExportCase(base, old_out, old, new, _stored(expected), _stored(base), duration)


def _stored(db: Path) -> Dump:
    """The store's tables but the names of its export folders (each trial has its own) and
    the fingerprints kept per folder (they name it, and hold its files' times): whether the
    fingerprints are there, one per programme exported, is kept."""
    dump = {table: rows for table, rows in canonical(db).items() if table != "export_folders"}
    dump["meta"] = sorted(((key.split(":")[-1], "") if str(key).startswith("export:")
                           else (key, value) for key, value in dump["meta"]), key=repr)
    return dump


def test_a_killed_export_leaves_every_file_old_or_new_and_hides_the_unfinished(
    export_case: ExportCase, tmp_path: Path,
) -> None:
    for number, kill in enumerate(kills(export_case.duration, seed=3)):
        db, out = tmp_path / f"trial-{number}.db", tmp_path / f"out-{number}"
        copy_store(export_case.base, db)
        shutil.copytree(export_case.old_out, out)

        code = run_and_kill(db, ("export", "--out", out), kill, epoch=NEW_EPOCH,
                            written=folder_written(out))

        assert integrity(db) == ["ok"], (number, kill)
        assert _stored(db) in (export_case.before, export_case.after), (number, kill, code)
        found = files(out)
        unfinished = [name for name in found if TEMPORARY.match(Path(name).name)]
        assert len(unfinished) <= 1, unfinished  # one file is written at a time
        # in cxc's own folder for them, never among the files of DIR
        assert all(Path(name).parent == Path(".cxc", "tmp") for name in unfinished), unfinished
        for name, data in found.items():
            if name in unfinished:
                continue
            assert data in (export_case.old.get(name), export_case.new.get(name)), (
                number, kill, name)
        assert set(found) - set(unfinished) >= set(export_case.old)
        if code == 0:
            assert found == export_case.new, (number, kill)
        if unfinished or number % 6 == 0:
            # the next export finishes the job and leaves nothing behind
            cxc(db, "export", "--out", out, epoch=NEW_EPOCH)
            assert files(out) == export_case.new, (number, kill)
