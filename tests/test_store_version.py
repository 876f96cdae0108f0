"""The store knows its schema version, and cxc touches no file it cannot vouch for.

A store written by a newer cxc, an SQLite database of another program, and a
file that is not SQLite at all are each refused by every command with one line
(exit 2, no traceback) that says what to do, and are left byte for byte as
they were: cxc must not switch a stranger's database to WAL, nor stamp a
schema into it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from conftest import PROGRAMME, Result, Runner

# Every command that opens the store, with what it needs besides the store.
COMMANDS: dict[str, tuple[str, ...]] = {
    "load": ("load", "partnership.yaml", "programme.yaml"),
    "validate": ("validate",),
    "validate json": ("validate", "--format", "json"),
    "plan": ("plan",),
    "plan PATH": ("plan", "partnership.yaml", "programme.yaml"),
    "export": ("export", "--out", "out"),
    "report": ("report",),
    "report explain": ("report", "--explain", "participants"),
    "forget": ("forget", "ana.garcia@example.com"),
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_refused(result: Result, db: Path, *says: str) -> None:
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cxc: "), lines
    assert db.name in lines[0], lines
    for text in says:
        assert text in lines[0], (text, lines[0])
    assert "internal error" not in lines[0]


def _sidecars(db: Path) -> list[Path]:
    return [p for p in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                        db.with_name(db.name + "-journal")) if p.exists()]


@pytest.fixture
def files(partnership_file: Path, programme_file: Path) -> tuple[Path, Path]:
    return partnership_file, programme_file


# -- the version is recorded ---------------------------------------------------------------


def test_a_new_store_records_its_schema_version(run_cxc: Runner, loaded_store: Path) -> None:
    from cxc.store import SCHEMA_VERSION

    conn = sqlite3.connect(loaded_store)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert version == SCHEMA_VERSION >= 1
    assert mode == "wal"


def test_the_current_version_is_opened_again_unchanged(
    run_cxc: Runner, loaded_store: Path, files: tuple[Path, Path],
) -> None:
    from conftest import dump_store

    before = dump_store(loaded_store)
    assert run_cxc("load", *files).code == 0
    assert run_cxc("validate").code == 0
    assert dump_store(loaded_store) == before


# -- a store from a newer cxc ----------------------------------------------------------------


def _set_version(db: Path, version: int) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_store_from_a_newer_cxc_is_refused_and_left_alone(
    run: Runner, loaded_store: Path, files: tuple[Path, Path], workdir: Path,
    args: tuple[str, ...],
) -> None:
    _set_version(loaded_store, 99)
    before = _digest(loaded_store)

    result = run(*args)

    _assert_refused(result, loaded_store, "newer cxc", "99", "upgrade cxc")
    assert _digest(loaded_store) == before
    assert not (workdir / "out").exists()


def test_a_newer_store_is_refused_by_the_installed_script(
    run_cxc: Runner, loaded_store: Path, files: tuple[Path, Path],
) -> None:
    _set_version(loaded_store, 99)

    _assert_refused(run_cxc("load", *files), loaded_store, "newer cxc", "upgrade cxc")
    _assert_refused(run_cxc("report", "--format", "json"), loaded_store, "newer cxc")


# -- an SQLite database of another program -------------------------------------------------------


def _foreign_database(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('not cxc data')")
        conn.commit()
    finally:
        conn.close()
    return _digest(db)


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_another_programs_database_is_refused_and_left_untouched(
    run: Runner, db: Path, files: tuple[Path, Path], workdir: Path, args: tuple[str, ...],
) -> None:
    before = _foreign_database(db)

    result = run(*args)

    _assert_refused(result, db, "not a cxc store", "--db")
    assert _digest(db) == before  # no WAL switch, no schema, no version stamp
    assert _sidecars(db) == []
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT body FROM notes").fetchall() == [("not cxc data",)]
    finally:
        conn.close()
    assert not (workdir / "out").exists()


def test_another_programs_database_is_refused_by_the_installed_script(
    run_cxc: Runner, db: Path, files: tuple[Path, Path],
) -> None:
    before = _foreign_database(db)

    _assert_refused(run_cxc("load", *files), db, "not a cxc store")
    _assert_refused(run_cxc("validate"), db, "not a cxc store")
    assert _digest(db) == before


# -- a file that is not SQLite at all ------------------------------------------------------------

NOT_SQLITE: dict[str, bytes] = {
    "YAML": PROGRAMME.encode(),
    "text": b"hello\n",
    "random bytes": bytes((i * 97 + 13) % 256 for i in range(4096)),
    "NUL bytes": b"\x00" * 4096,
    "an SQLite header and nothing else": b"SQLite format 3\x00" + b"\xff" * 84,
}


@pytest.mark.parametrize("content", NOT_SQLITE.values(), ids=NOT_SQLITE.keys())
@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(
    run: Runner, db: Path, files: tuple[Path, Path], workdir: Path, args: tuple[str, ...],
    content: bytes,
) -> None:
    db.write_bytes(content)

    result = run(*args)

    _assert_refused(result, db)
    assert db.read_bytes() == content
    assert _sidecars(db) == []
    assert not (workdir / "out").exists()


def test_a_damaged_store_is_refused_cleanly(
    run_cxc: Runner, loaded_store: Path, files: tuple[Path, Path],
) -> None:
    """A store cut short (a full disk, a bad copy): one line, exit 2, for every command."""
    whole = loaded_store.read_bytes()
    loaded_store.write_bytes(whole[: len(whole) // 3])

    for args in (("validate",), ("report",), ("load", *files), ("export", "--out", "out")):
        result = run_cxc(*args)
        assert result.code == 2, (args, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("cxc: "), (args, result.stderr)
        assert "internal error" not in result.stderr


def test_a_truncated_header_is_refused_by_the_installed_script(
    run_cxc: Runner, db: Path, files: tuple[Path, Path],
) -> None:
    db.write_bytes(b"SQLite format 3\x00")

    _assert_refused(run_cxc("load", *files), db)
    assert db.read_bytes() == b"SQLite format 3\x00"


# -- where the store cannot be ----------------------------------------------------------------


def test_a_folder_as_the_store_is_refused(run: Runner, workdir: Path,
                                          files: tuple[Path, Path]) -> None:
    folder = workdir / "store.d"
    folder.mkdir()

    result = run("load", *files, db=folder)

    _assert_refused(result, folder, "folder")
    assert list(folder.iterdir()) == []


def test_a_store_in_a_missing_folder_is_refused(run: Runner, workdir: Path,
                                                files: tuple[Path, Path]) -> None:
    db = workdir / "no" / "such" / "cxc.db"

    result = run("load", *files, db=db)

    _assert_refused(result, db)
    assert not (workdir / "no").exists()
