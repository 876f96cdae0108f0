"""`cxc load`: broken input is refused with one line per problem, and the store never half-changes.

These tests run the installed ``cxc`` script in a subprocess (``run_cxc``), on
real files in ``tmp_path`` and a real SQLite store, the way a coordinator does.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    PARTNERSHIP,
    PROGRAMME,
    PROGRAMME_ID,
    Result,
    Runner,
    data,
    dump,
    dump_store,
    edit,
    line_of,
    other_programme,
    participant_yaml,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "programmes"

Write = Callable[[str, str], Path]


def assert_refused(result: Result, file: str, *problems: tuple[int | None, str]) -> None:
    """Exit 2, no traceback, and exactly one stderr line per problem: ``(line or None, text)``.

    Each line names ``file``, and ``line:column`` where the problem has a line.
    """
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == len(problems), result.stderr
    for text, (line, needle) in zip(lines, problems, strict=False):
        where = re.escape(file) + (rf":{line}:\d+: " if line else r": ")
        assert re.search(where, text), (text, file, line)
        assert needle in text, (text, needle)


# -- malformed input: one case each -----------------------------------------------------------

BOMB = """\
programme:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

# name: (the broken programme text, the line the problem is reported at (None: none), text)
MALFORMED: dict[str, tuple[str, int | None, str]] = {
    "YAML syntax error": (
        edit(PROGRAMME, "  kind: cxc", "\tkind: cxc"), 3, "YAML syntax"),
    "unknown key": (
        edit(PROGRAMME, "min_transfer_minutes: 30", "min_transfer_minute: 30"),
        line_of(PROGRAMME, "min_transfer_minutes"), "did you mean `min_transfer_minutes`?"),
    "wrong type: text for a number": (
        edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: ten\n  quotas"),
        line_of(PROGRAMME, "capacity: 10"), "whole number"),
    "bad time zone": (
        edit(PROGRAMME, "timezone: Europe/Paris", "timezone: Europe/Pari"),
        line_of(PROGRAMME, "timezone: Europe/Paris"), "did you mean `Europe/Paris`?"),
    "impossible date": (
        edit(PROGRAMME, "start: 2024-03-28\n", "start: 2023-02-30\n"),
        line_of(PROGRAMME, "start: 2024-03-28", exact=True), "2023-02-30"),
    "time written day first": (
        edit(PROGRAMME, "start: 2024-03-28 09:30", "start: 28/03/2024 09:30"),
        line_of(PROGRAMME, "start: 2024-03-28 09:30"), "YYYY-MM-DD HH:MM"),
    "bad country code": (
        edit(PROGRAMME, "country: FR", "country: FRA"),
        line_of(PROGRAMME, "country: FR"), "ISO 3166-1"),
    "bad slug id": (
        edit(PROGRAMME, "id: cxc-2024-lille", "id: CXC 2024 Lille"),
        line_of(PROGRAMME, "id: cxc-2024-lille"), "`cxc-2024-lille`"),
    "alias bomb": (BOMB, 2, "alias bomb"),
    "list at the top": ("- programme\n- venues\n", 1, "found a list"),
    "empty file": ("", None, "empty"),
}

# More of the same, run in process to keep the suite quick.
MORE_MALFORMED: dict[str, tuple[str, int | None, str]] = {
    "unclosed list": (
        # noticed on the next line; the message names the line the list opened on
        edit(PROGRAMME, "themes: [digital health, ai]", "themes: [digital health, ai"),
        line_of(PROGRAMME, "themes: [digital") + 1,
        f"flow sequence at line {line_of(PROGRAMME, 'themes: [digital')}"),
    "wrong type: quoted number": (
        edit(PROGRAMME, "capacity: 10\n  quotas", 'capacity: "10"\n  quotas'),
        line_of(PROGRAMME, "capacity: 10"), "whole number"),
    "wrong type: a mapping for a list": (
        edit(PROGRAMME, "themes: [digital health, ai]", "themes: {digital: health}"),
        line_of(PROGRAMME, "themes: [digital"), "list"),
    "time with seconds": (
        edit(PROGRAMME, "start: 2024-03-28 09:30", "start: 2024-03-28 09:30:00"),
        line_of(PROGRAMME, "start: 2024-03-28 09:30"), "YYYY-MM-DD HH:MM"),
    "time without a date": (
        edit(PROGRAMME, "start: 2024-03-28 09:30", "start: 09:30"),
        line_of(PROGRAMME, "start: 2024-03-28 09:30"), "YYYY-MM-DD HH:MM"),
    "hour 25": (
        edit(PROGRAMME, "start: 2024-03-28 09:30", "start: 2024-03-28 25:30"),
        line_of(PROGRAMME, "start: 2024-03-28 09:30"), "2024-03-28 25:30"),
    "the EU's code for the United Kingdom": (
        edit(PROGRAMME, "country: FR", "country: UK"),
        line_of(PROGRAMME, "country: FR"), "did you mean `GB`?"),
    "unknown session kind": (
        edit(PROGRAMME, "kind: networking", "kind: networkng"),
        line_of(PROGRAMME, "kind: networking"), "did you mean `networking`?"),
    "key given twice": (
        edit(PROGRAMME, "  kind: cxc\n", "  kind: cxc\n  kind: cxc\n"),
        line_of(PROGRAMME, "kind: cxc") + 1, "twice"),
    "bad email": (
        edit(PROGRAMME, "email: jordi.puig@example.com", "email: jordi.puig"),
        line_of(PROGRAMME, "email: jordi.puig"), "email"),
    "merge key": (
        edit(PROGRAMME, "  - id: hall\n", "  - <<: {capacity: 3}\n    id: hall\n"),
        line_of(PROGRAMME, "- id: hall"), "merge keys"),
    "neither programme nor partnership": ("programmes:\n  id: x\n", 1, "`programme:`"),
    "only a comment": ("# nothing here yet\n", None, "empty"),
}


@pytest.mark.parametrize(("text", "line", "says"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_programme_is_refused(
    run_cxc: Runner, write: Write, text: str, line: int | None, says: str,
) -> None:
    result = run_cxc("load", write("bad.yaml", text))

    assert_refused(result, "bad.yaml", (line, says))


@pytest.mark.parametrize(("text", "line", "says"), MORE_MALFORMED.values(),
                         ids=MORE_MALFORMED.keys())
def test_more_malformed_programmes_are_refused(
    run: Runner, write: Write, text: str, line: int | None, says: str,
) -> None:
    result = run("load", write("bad.yaml", text))

    assert_refused(result, "bad.yaml", (line, says))


def test_a_python_tag_is_refused_and_never_runs(run_cxc: Runner, write: Write,
                                                 workdir: Path) -> None:
    text = edit(PROGRAMME, "title: Digital health in the Hauts-de-France",
                'title: !!python/object/apply:os.system ["echo hi > pwned"]')

    result = run_cxc("load", write("bad.yaml", text))

    assert_refused(result, "bad.yaml", (line_of(PROGRAMME, "title: Digital"), "not allowed"))
    assert not (workdir / "pwned").exists()
    assert "hi" not in result.stdout


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
    bytes(range(256)) * 4,
], ids=["png", "all bytes"])
def test_a_binary_file_is_refused(run_cxc: Runner, workdir: Path, content: bytes) -> None:
    (workdir / "logo.yaml").write_bytes(content)

    assert_refused(run_cxc("load", "logo.yaml"), "logo.yaml", (None, "not a text file"))


def test_text_that_is_not_utf8_is_refused(run_cxc: Runner, workdir: Path) -> None:
    latin1 = edit(PROGRAMME, "name: Eurasante campus", "name: Eurasanté campus").encode("latin-1")
    (workdir / "bad.yaml").write_bytes(latin1)

    result = run_cxc("load", "bad.yaml")

    assert result.code == 2
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert f"bad.yaml:{line_of(PROGRAMME, 'Eurasante campus')}" in result.stderr
    assert "UTF-8" in result.stderr


def test_utf8_with_a_byte_order_mark_is_read(run: Runner, workdir: Path) -> None:
    (workdir / "partnership.yaml").write_bytes(b"\xef\xbb\xbf" + PARTNERSHIP.encode())

    assert run("load", "partnership.yaml").code == 0


def test_a_huge_file_is_refused_before_it_is_read(run_cxc: Runner, workdir: Path) -> None:
    path = workdir / "huge.yaml"
    with path.open("wb") as out:
        out.write(PROGRAMME.encode())
        out.write(b"# padding\n" * (16 * 1024 * 1024 // 10 + 1))
    assert path.stat().st_size > 16 * 1024 * 1024

    assert_refused(run_cxc("load", "huge.yaml"), "huge.yaml", (None, "largest"))


def test_every_problem_of_a_file_is_reported(run_cxc: Runner, write: Write) -> None:
    text = edit(edit(edit(PROGRAMME, "capacity: 10\n  quotas", "capacity: ten\n  quotas"),
                     "timezone: Europe/Paris", "timezone: Paris"),
                "email: jordi.puig@example.com", "email: jordi.puig")

    result = run_cxc("load", write("bad.yaml", text))

    assert_refused(result, "bad.yaml",
                   (line_of(PROGRAMME, "timezone: Europe/Paris"), "time zone"),
                   (line_of(PROGRAMME, "capacity: 10"), "whole number"),
                   (line_of(PROGRAMME, "email: jordi.puig"), "email"))


def test_every_problem_of_every_file_is_reported(run_cxc: Runner, write: Write) -> None:
    partnership = edit(PARTNERSHIP, "country: EE", "country: ee")
    programme = edit(PROGRAMME, "end: 2024-04-01\n", "end: 2024-04-31\n")

    result = run_cxc("load", write("a.yaml", partnership), write("b.yaml", programme))

    assert result.code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert f"a.yaml:{line_of(PARTNERSHIP, 'country: EE')}:" in lines[0]
    assert "did you mean `EE`?" in lines[0]
    assert f"b.yaml:{line_of(PROGRAMME, 'end: 2024-04-01', exact=True)}:" in lines[1]


def test_a_missing_path_is_refused(run_cxc: Runner) -> None:
    result = run_cxc("load", "nowhere.yaml")

    assert result.code == 2
    assert "Traceback" not in result.output
    assert "nowhere.yaml" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_folder_without_yaml_is_refused(run_cxc: Runner, workdir: Path) -> None:
    (workdir / "empty").mkdir()
    (workdir / "empty" / "notes.txt").write_text("programme: nope\n")

    result = run_cxc("load", "empty")

    assert result.code == 2
    assert "empty" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# -- one transaction --------------------------------------------------------------------------


def test_a_failed_load_leaves_the_store_as_it_was(
    run_cxc: Runner, write: Write, loaded_store: Path,
) -> None:
    before = dump_store(loaded_store)
    good = write("good2.yaml", other_programme(
        "d3-2024-tallinn", participants=participant_yaml("ana.garcia@example.com")))
    changed = write("programme.yaml", edit(PROGRAMME, "capacity: 10\n  quotas",
                                           "capacity: 12\n  quotas"))
    broken = write("broken.yaml", edit(PROGRAMME, "kind: cxc", "kind: exchange"))

    result = run_cxc("load", good, changed, broken)

    assert_refused(result, "broken.yaml", (line_of(PROGRAMME, "kind: cxc"), "exchange"))
    assert dump_store(loaded_store) == before


def test_a_load_refused_by_the_store_changes_nothing(
    run_cxc: Runner, write: Write, loaded_store: Path,
) -> None:
    """Files that parse but cannot go together (a second partnership) roll the whole load back."""
    before = dump_store(loaded_store)
    good = write("good2.yaml", other_programme("d3-2024-tallinn"))
    other = write("other.yaml", edit(PARTNERSHIP, "id: demo", "id: another"))

    result = run_cxc("load", good, other)

    assert result.code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert "demo" in result.stderr and "another" in result.stderr
    assert dump_store(loaded_store) == before


def test_a_broken_file_in_a_folder_stops_the_whole_folder(
    run_cxc: Runner, write: Write, db: Path,
) -> None:
    write("programmes/partnership.yaml", PARTNERSHIP)
    write("programmes/a/programme.yaml", PROGRAMME)
    write("programmes/b/broken.yml", edit(PROGRAMME, "id: cxc-2024-lille", "id: Lille!"))

    result = run_cxc("load", "programmes")

    assert_refused(result, str(Path("programmes/b/broken.yml")),
                   (line_of(PROGRAMME, "id: cxc-2024-lille"), "not an id"))
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM programmes").fetchone() == (0,)


def test_a_failed_first_load_creates_no_store(run_cxc: Runner, write: Write, db: Path) -> None:
    result = run_cxc("load", write("broken.yaml", "- not a programme\n"))

    assert result.code == 2
    assert not db.exists()
    # nor the store it was building aside, nor its journal
    assert sorted(p.name for p in db.parent.iterdir()) == ["broken.yaml"]


# -- re-loading (in process: the subprocess tests above cover the real entry point) ------------


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def loaded(run: Runner, db: Path, partnership_file: Path, programme_file: Path) -> Path:
    """The valid partnership and programme, loaded in process."""
    result = run("load", partnership_file, programme_file)
    assert result.code == 0, result.output
    return db


def test_loading_the_same_files_again_changes_nothing(
    run: Runner, loaded: Path, partnership_file: Path, programme_file: Path,
) -> None:
    before = dump_store(loaded)

    assert run("load", partnership_file, programme_file).code == 0

    assert dump_store(loaded) == before


def test_reloading_an_edited_file_replaces_what_it_defined(
    run: Runner, write: Write, loaded: Path,
) -> None:
    programme = data()
    programme["participants"] = [
        p for p in programme["participants"] if p["email"] != "jordi.puig@example.com"]
    programme["sessions"] = [s for s in programme["sessions"] if s["id"] != "brunch"]
    programme["programme"]["title"] = "Digital health, revised"
    write("programme.yaml", dump(programme))

    result = run("load", "programme.yaml")

    assert result.code == 0, result.output
    db = loaded
    assert _rows(db, "SELECT id, title FROM programmes") == [
        (PROGRAMME_ID, "Digital health, revised")]
    assert _rows(db, "SELECT id FROM sessions ORDER BY id") == [
        ("convention",), ("lab-a",), ("lab-b",), ("welcome",), ("wrap-up",)]
    assert _rows(db, "SELECT count(*), count(DISTINCT email) FROM registrations") == [(5, 5)]
    assert _rows(db, "SELECT count(*) FROM people WHERE email LIKE 'jordi%'") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM travel_legs WHERE email LIKE 'jordi%'") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM stays WHERE email LIKE 'jordi%'") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM travel_legs") == [(10,)]
    assert _rows(db, "SELECT count(*) FROM venues") == [(4,)]
    assert _rows(db, "SELECT count(*) FROM quotas") == [(2,)]
    assert _rows(db, "SELECT count(*) FROM partners") == [(3,)]


def test_a_person_is_one_row_across_programmes(
    run: Runner, write: Write, loaded: Path,
) -> None:
    d3 = write("d3.yaml", other_programme(
        "d3-2024-tallinn", participants=participant_yaml("  Ana.GARCIA@Example.com")))

    assert run("load", d3).code == 0

    db = loaded
    assert _rows(db, "SELECT email FROM people WHERE email LIKE '%garcia%'") == [
        ("ana.garcia@example.com",)]
    assert _rows(db, "SELECT count(*) FROM people") == [(6,)]
    assert _rows(db, "SELECT programme FROM registrations WHERE email = 'ana.garcia@example.com' "
                     "ORDER BY programme") == [(PROGRAMME_ID,), ("d3-2024-tallinn",)]

    # Ana leaves the exchange: she is still a person, through the deep dive day ...
    programme = data()
    programme["participants"] = programme["participants"][1:]
    write("programme.yaml", dump(programme))
    assert run("load", "programme.yaml").code == 0
    assert _rows(db, "SELECT count(*) FROM people WHERE email = 'ana.garcia@example.com'") == [
        (1,)]

    # ... until she leaves that too.
    write("d3.yaml", other_programme("d3-2024-tallinn"))
    assert run("load", "d3.yaml").code == 0
    assert _rows(db, "SELECT count(*) FROM people WHERE email = 'ana.garcia@example.com'") == [
        (0,)]
    assert _rows(db, "SELECT count(*) FROM people") == [(5,)]


# -- the store file ---------------------------------------------------------------------------


def _modes(db: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
            if p.exists()}


def test_the_store_is_readable_by_its_owner_only(run_cxc: Runner, loaded_store: Path) -> None:
    assert _modes(loaded_store) == {name: 0o600 for name in _modes(loaded_store)}
    assert "cxc.db" in _modes(loaded_store)


def test_the_store_is_owner_only_even_with_an_open_umask(
    run_cxc: Runner, partnership_file: Path, db: Path,
) -> None:
    old = os.umask(0)
    try:
        assert run_cxc("load", partnership_file).code == 0
    finally:
        os.umask(old)

    assert _modes(db)["cxc.db"] == 0o600


def test_validate_without_a_store_says_how_to_make_one(run_cxc: Runner, db: Path) -> None:
    result = run_cxc("validate")

    assert result.code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert "cxc.db" in result.stderr
    assert "cxc load" in result.stderr
    assert not db.exists()


def test_a_file_that_is_not_a_store_is_refused(run_cxc: Runner, db: Path) -> None:
    db.write_text(PROGRAMME)

    result = run_cxc("validate")

    assert result.code == 2
    assert "Traceback" not in result.output
    assert "cxc.db" in result.stderr
    assert db.read_text() == PROGRAMME


# -- the command line itself -------------------------------------------------------------------


def test_version(run_cxc: Runner) -> None:
    from importlib.metadata import version

    result = run_cxc("--version", db=None)

    assert result.code == 0
    assert result.stdout.strip() == f"cxc {version('cxc')}"


def _commands() -> list[str]:
    import typer.main

    from cxc.cli import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_the_commands_of_this_issue_exist() -> None:
    assert {"load", "validate"} <= set(_commands())


@pytest.mark.parametrize("command", [[], *([c] for c in _commands())],
                         ids=lambda c: " ".join(["cxc", *c]))
def test_help(run: Runner, command: list[str]) -> None:
    result = run(*command, "--help", db=None)

    assert result.code == 0, result.output
    assert "Usage" in result.stdout
    assert "Traceback" not in result.output


def test_an_unknown_option_is_a_usage_error(run_cxc: Runner) -> None:
    result = run_cxc("validate", "--format", "xml")

    assert result.code == 2
    assert "Traceback" not in result.output
    assert "xml" in result.stderr


# -- the examples -----------------------------------------------------------------------------


def test_the_example_programmes_load_and_validate(run_cxc: Runner) -> None:
    loaded = run_cxc("load", EXAMPLES)
    assert loaded.code == 0, loaded.output

    checked = run_cxc("validate", "--format", "json")

    assert checked.code == 0, checked.output
    assert checked.json()["errors"] == 0, checked.stdout
