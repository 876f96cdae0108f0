"""What the store keeps to skip work (schema 7), and that it never stands for a result it
is not: the rules' findings, kept by `cxc plan` until a table they read is written (by
anyone), and each file's stat, which spares a load reading a file it has."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner

import cxc.format.loader as loader
import cxc.rules as rules
from cxc.store.schema import VALIDATION_INPUTS

EXAMPLES = Path(__file__).parent.parent / "programmes" / "bright"


def rules_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry for every run of the rules from now on."""
    runs: list[int] = []
    real = rules.validate_files

    def counted(conn: sqlite3.Connection, kept: Any) -> Any:
        runs.append(1)
        return real(conn, kept)

    monkeypatch.setattr(rules, "validate_files", counted)
    return runs


def findings(result: Any) -> list[dict[str, Any]]:
    return list(result.json()["findings"])


@pytest.fixture
def examples(workdir: Path) -> Path:
    copy = workdir / "bright"
    shutil.copytree(EXAMPLES, copy)
    return copy


def test_after_plan_validate_and_export_read_the_kept_findings(
        run: Runner, db: Path, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = run("plan", examples, "--format", "json")
    assert planned.code in (0, 1), planned.output
    runs = rules_runs(monkeypatch)

    validated = run("validate", "--format", "json")
    exported = run("export", "--out", "out")

    assert runs == []
    assert exported.code == 0, exported.output
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM validations")
    assert findings(validated) == findings(run("validate", "--format", "json"))
    assert runs == [1]


LOWER_SEATS = "UPDATE venues SET capacity = 1 WHERE rowid = (SELECT min(rowid) FROM venues)"


def test_a_write_by_another_program_is_seen_at_once(run: Runner, db: Path, examples: Path) -> None:
    """Someone lowers a venue's seats in the sqlite3 shell: the kept findings are gone."""
    assert run("plan", examples, "--format", "json").code == 0
    assert findings(run("validate", "--format", "json")) == []
    with sqlite3.connect(db) as conn:
        conn.execute(LOWER_SEATS)

    after = run("validate", "--format", "json")

    assert after.code == 1, after.output
    assert "venue-over-capacity" in {f["rule"] for f in findings(after)}


def test_findings_kept_by_other_code_are_not_read(run: Runner, db: Path, examples: Path) -> None:
    assert run("load", examples).code == 0
    with sqlite3.connect(db) as conn:
        conn.execute(LOWER_SEATS)
        conn.execute("INSERT INTO validations (scope, made_by, findings) "
                     "VALUES ('', 'cxc of another day', '[]')")

    assert run("validate", "--format", "json").code == 1


def test_a_failed_plan_keeps_nothing(run: Runner, db: Path, examples: Path) -> None:
    assert run("load", examples).code == 0
    broken = examples / "cxc-2023-strasbourg.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\n  - : :\n", encoding="utf-8")

    assert run("plan", examples).code == 2

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM validations").fetchone() == (0,)


def test_every_table_the_rules_read_forgets_on_insert_update_and_delete(
        run: Runner, db: Path, examples: Path) -> None:
    assert run("load", examples).code == 0
    with sqlite3.connect(db) as conn:
        triggers = {(table, sql.split(" AFTER ")[1].split()[0]) for table, sql in conn.execute(
            "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'validations_%'")}
    assert triggers == {(table, event) for table in VALIDATION_INPUTS
                        for event in ("INSERT", "UPDATE", "DELETE")}


def test_touching_a_file_forgets_no_finding(
        run: Runner, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new mtime is no change: the file is hashed again, its new stat stored, and the
    findings stay kept."""
    assert run("plan", examples, "--format", "json").code == 0
    for path in examples.rglob("*.yaml"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    runs = rules_runs(monkeypatch)

    assert run("plan", examples, "--format", "json").code == 0

    assert runs == []


# -- a file's stat ------------------------------------------------------------------------------


def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose bytes a load reads from now on."""
    read: list[str] = []
    real = loader.read_raw

    def counted(path: Path, display: str) -> bytes:
        read.append(path.name)
        return real(path, display)

    monkeypatch.setattr(loader, "read_raw", counted)
    return read


def aged(folder: Path) -> None:
    """Make every file's times old enough for its stat to be trusted (the change time cannot
    be set back: trust a younger one)."""
    for path in folder.rglob("*.yaml"):
        os.utime(path, (time.time() - 3600, time.time() - 3600))


def stored_hash(db: Path, path: Path) -> str:
    with sqlite3.connect(db) as conn:
        (digest,) = conn.execute("SELECT sha256 FROM files WHERE display LIKE ?",
                                 (f"%{path.name}",)).fetchone()
    return str(digest)


def test_a_file_whose_stat_is_the_one_stored_is_not_read(
        run: Runner, db: Path, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "TRUSTED_AGE_NS", -10**12)  # the change time is now
    aged(examples)
    assert run("load", examples).code == 0
    read = reads(monkeypatch)

    assert run("load", examples).code == 0
    assert read == []

    strasbourg = examples / "cxc-2023-strasbourg.yaml"
    before = stored_hash(db, strasbourg)
    text = strasbourg.read_text(encoding="utf-8")
    strasbourg.write_text(text.replace("Strasbourg", "Strasbourq", 1), encoding="utf-8")
    os.utime(strasbourg, (time.time() - 3600, time.time() - 3600))  # the same size and mtime
    assert strasbourg.stat().st_size == len(text.encode())

    assert run("load", examples).code == 0
    assert read == ["cxc-2023-strasbourg.yaml"]
    assert stored_hash(db, strasbourg) != before


def test_a_file_written_just_now_is_read_again_whatever_its_stat(
        run: Runner, db: Path, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a coarse clock tick a file can be written again with the same size and times:
    a stat younger than that is not kept."""
    assert run("load", examples).code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM files WHERE stat IS NOT NULL"
                            ).fetchone() == (0,)
    read = reads(monkeypatch)

    assert run("load", examples).code == 0

    assert sorted(read) == sorted(p.name for p in examples.rglob("*.yaml"))
