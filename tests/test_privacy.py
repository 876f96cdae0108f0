"""Personal data: owner-only files, reports without people, and erasure that sticks.

The store and the export folder hold names, emails, travel and hotels, so they
are readable by their owner only whatever the umask. Reports count people but
never name them. `cxc forget EMAIL` erases a person from every table (and from
the bytes of the store file), keeps the deliverable counts of held programmes,
and a re-load of the YAML that still lists them keeps them erased.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import PARTNERSHIP, PROGRAMME, Runner, edit, other_programme

EXAMPLES = Path(__file__).resolve().parents[1] / "programmes" / "bright"
FORMATS = ("table", "json", "csv", "markdown")
Write = Callable[[str, str], Path]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def people_in(*folders_or_files: Path) -> set[str]:
    """Every participant's name and email in the YAML, lower-cased."""
    import yaml

    files: list[Path] = []
    for path in folders_or_files:
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    found: set[str] = set()
    for file in files:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        for person in doc.get("participants") or []:
            found.update({person["email"].lower(), person["name"].lower()})
    assert found, "the data names nobody: the test would prove nothing"
    return found


def text_cells(db: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text value of every table of the store."""
    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        cells = []
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                cells.extend((table, column, value) for column, value in zip(columns, row, strict=False)
                             if isinstance(value, str))
        return cells
    finally:
        conn.close()


def store_bytes(db: Path) -> bytes:
    """The bytes of the store on disk, once every committed change is in the main file."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


# -- owner-only files -------------------------------------------------------------------------


def test_the_store_and_its_journal_are_owner_only_with_an_open_umask(
    run_cxc: Runner, db: Path, partnership_file: Path, programme_file: Path,
) -> None:
    with umask(0):
        assert run_cxc("load", partnership_file, programme_file).code == 0
        assert mode(db) == 0o600
        # while a reader holds it open, the write-ahead log and its index exist: owner-only too
        reader = sqlite3.connect(db)
        try:
            reader.execute("SELECT count(*) FROM registrations").fetchone()
            assert run_cxc("load", programme_file).code == 0
            sidecars = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in sidecars)
            assert {p.name: mode(p) for p in sidecars} == {p.name: 0o600 for p in sidecars}
        finally:
            reader.close()
    assert mode(db) == 0o600


def test_an_empty_file_made_beforehand_becomes_an_owner_only_store(
    run_cxc: Runner, db: Path, partnership_file: Path,
) -> None:
    db.touch(mode=0o644)
    os.chmod(db, 0o644)

    assert run_cxc("load", partnership_file).code == 0

    assert mode(db) == 0o600


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_export_folders_and_files_are_owner_only(
    run_cxc: Runner, workdir: Path, partnership_file: Path, programme_file: Path, mask: int,
) -> None:
    assert run_cxc("plan", partnership_file, programme_file).code == 0
    out = workdir / "deep" / "out"

    with umask(mask):
        result = run_cxc("export", "--out", out)

    assert result.code == 0, result.output
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(folders) >= 3 and len(files) >= 13, (folders, files)
    assert {str(p): mode(p) for p in folders} == {str(p): 0o700 for p in folders}
    assert {str(p): mode(p) for p in files} == {str(p): 0o600 for p in files}
    assert mode(workdir / "deep") == 0o700  # every folder cxc makes on the way, too


def test_a_second_export_keeps_files_owner_only(
    run_cxc: Runner, workdir: Path, partnership_file: Path, programme_file: Path,
) -> None:
    assert run_cxc("plan", partnership_file, programme_file).code == 0
    with umask(0):
        assert run_cxc("export", "--out", "out").code == 0
        programme_file.write_text(edit(PROGRAMME, "Wrap-up and next steps", "Wrap-up"))
        assert run_cxc("plan", programme_file).code == 0
        assert run_cxc("export", "--out", "out").code == 0

    files = [p for p in (workdir / "out").rglob("*") if p.is_file()]
    assert files and all(mode(p) == 0o600 for p in files)
    # no temporary file left: they are made in cxc's own folder, which keeps only its lock
    out = workdir / "out"
    assert not [p for p in out.rglob("*") if p.name.startswith(".") and p != out / ".cxc"]
    assert sorted(p.relative_to(out).as_posix() for p in (out / ".cxc").rglob("*")) == [
        ".cxc/lock", ".cxc/tmp"]


# -- reports name nobody ------------------------------------------------------------------------

HELD = edit(PROGRAMME, "status: confirmed", "status: held")


def _held_examples(target: Path) -> Path:
    """The BRIGHT examples with every programme held, so every registration is counted."""
    for source in EXAMPLES.rglob("*.yaml"):
        copy = target / source.relative_to(EXAMPLES)
        copy.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        copy.write_text(text.replace("status: confirmed", "status: held")
                        .replace("status: planned", "status: held"), encoding="utf-8")
    return target


def _keys() -> list[str]:
    from cxc.report import MEASURES

    return list(MEASURES)


@pytest.mark.parametrize("data", ["fixture", "bright"])
def test_reports_in_every_format_name_no_participant(
    run: Runner, workdir: Path, write: Write, data: str,
) -> None:
    if data == "fixture":
        paths = [write("partnership.yaml", PARTNERSHIP), write("programme.yaml", HELD)]
    else:
        paths = [_held_examples(workdir / "bright")]
    assert run("load", *paths).code == 0
    people = people_in(*paths)
    counted = run("report", "--format", "json").json()
    assert {d["key"]: d["actual"] for d in counted["deliverables"]}["participants"] > 0

    outputs: dict[str, str] = {}
    for fmt in FORMATS:
        outputs[fmt] = run("report", "--format", fmt).output
        for key in _keys():
            outputs[f"{fmt} --explain {key}"] = run(
                "report", "--format", fmt, "--explain", key).output

    for what, text in outputs.items():
        assert "Traceback" not in text
        leaked = sorted(p for p in people if p in text.lower())
        assert not leaked, (what, leaked)


# -- forgetting a person --------------------------------------------------------------------------

ANA = ("ana.garcia@example.com", "ana garcia", "ana-garcia")
SECOND = other_programme(
    "d3-2024-tallinn", status="held", participants="""\
  - email: Ana.Garcia@Example.com
    name: Ana Garcia
    organisation: Mediscan SL
    org_type: sme
    country: ES
    partner: barna-bio
    interests: [imaging]
    travel:
      - mode: flight
        ref: AG0001
        from: Barcelona (BCN)
        to: Tallinn (TLL)
        depart: 2024-06-04 09:00
        depart_timezone: Europe/Madrid
        arrive: 2024-06-04 14:00
    stay:
      name: Ana's Hotel Tallinn
      check_in: 2024-06-04
      check_out: 2024-06-06
  - email: kadri.tamm@example.com
    name: Kadri Tamm
    organisation: Medtech OU
    org_type: sme
    country: EE
    partner: tallinn-med
""")


def _leaks(db: Path, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(table, column, value) for table, column, value in text_cells(db)
            if any(n in value.lower() for n in needles)]


def _report(run: Runner) -> dict[str, Any]:
    payload: dict[str, Any] = {"report": run("report", "--format", "json").json()}
    for key in _keys():
        payload[key] = run("report", "--format", "json", "--explain", key).json()
    return payload


@pytest.fixture
def story(run: Runner, write: Write, workdir: Path) -> list[Path]:
    """Ana in two held programmes, planned and exported: her data is in every table it can be."""
    paths = [write("partnership.yaml", PARTNERSHIP), write("programme.yaml", HELD),
             write("second.yaml", SECOND)]
    assert run("plan", *paths).code == 0
    exported = run("export", "--out", "out")
    assert exported.code == 0, exported.output
    return paths


def test_the_story_holds_ana_everywhere_before_she_is_forgotten(
    story: list[Path], db: Path,
) -> None:
    tables = {table for table, _, _ in _leaks(db, ANA)}
    assert {"people", "registrations", "placements", "exported_calendars"} <= tables
    conn = sqlite3.connect(db)
    try:
        legs = conn.execute("SELECT count(*) FROM travel_legs WHERE email = ?", (ANA[0],))
        assert legs.fetchone()[0] == 3
    finally:
        conn.close()
    assert ANA[0].encode() in store_bytes(db)


def test_forget_erases_the_person_from_every_table_and_keeps_the_counts(
    run: Runner, run_cxc: Runner, story: list[Path], db: Path,
) -> None:
    before = _report(run)

    result = run_cxc("forget", "ANA.Garcia@example.com ")

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "2 registrations" in result.stderr
    assert _leaks(db, ANA) == []
    assert _leaks(db, ("ag0001", "ana's hotel")) == []  # her own travel and stay
    assert _report(run) == before
    other = [value for _, _, value in text_cells(db)]
    assert "kadri.tamm@example.com" in other and "Jordi Puig" in other  # nobody else is touched


def test_forget_leaves_no_trace_in_the_bytes_of_the_store(
    run_cxc: Runner, story: list[Path], db: Path,
) -> None:
    assert run_cxc("forget", ANA[0]).code == 0

    raw = store_bytes(db).lower()

    assert ANA[0].encode() not in raw
    assert ANA[1].encode() not in raw


def test_a_reload_keeps_the_person_forgotten(
    run: Runner, run_cxc: Runner, story: list[Path], db: Path,
) -> None:
    before = _report(run)
    assert run_cxc("forget", ANA[0]).code == 0

    for command in (("load", *story), ("plan", *story), ("export", "--out", "out")):
        result = run_cxc(*command)
        assert result.code in (0, 1), (command, result.output)
        assert _leaks(db, ANA) == [], command
    assert _report(run) == before
    raw = store_bytes(db).lower()
    assert ANA[0].encode() not in raw and ANA[1].encode() not in raw


def test_forgetting_twice_or_an_unknown_email_is_one_line_and_changes_nothing(
    run_cxc: Runner, story: list[Path], db: Path,
) -> None:
    from conftest import dump_store

    assert run_cxc("forget", ANA[0]).code == 0
    for email in (ANA[0], "nobody@example.com", "not an email", ""):
        before = dump_store(db)

        result = run_cxc("forget", email)

        assert result.code == 2, (email, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("cxc: "), (email, result.stderr)
        assert dump_store(db) == before


def test_forget_without_a_store_creates_none(run_cxc: Runner, db: Path) -> None:
    result = run_cxc("forget", ANA[0])

    assert result.code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "cxc load" in result.stderr
    assert not db.exists()
