"""No silent wrong result (issue 11): the store mirrors its folders, each file belongs to
one person, and outputs know what they were made from.

Each story starts from a project folder as a coordinator keeps it in git
(``programmes/partnership.yaml`` and one file per programme), changes it the way
people do (move, rename, delete, copy, fix a typo), and runs the real CLI on a real
store.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PARTNERSHIP, PROGRAMME, PROGRAMME_ID, Result, Runner, edit, other_programme

Write = Callable[[str, str], Path]


@pytest.fixture
def project(write: Write) -> Path:
    """``programmes/`` with the partnership and the Lille exchange."""
    write("programmes/partnership.yaml", PARTNERSHIP)
    write("programmes/cxc-2024-lille.yaml", PROGRAMME)
    return Path("programmes")


def _ok(result: Result) -> Result:
    assert result.code == 0, result.output
    return result


def _planned(run: Runner, *paths: str | Path) -> None:
    _ok(run("plan", *(paths or ("programmes",)), "--format", "json"))


def _calendar(out: Path, name: str) -> str:
    return (out / PROGRAMME_ID / "participants" / f"{name}.ics").read_text(encoding="utf-8")


def _events(text: str) -> dict[str, tuple[str, int]]:
    """UID -> (STATUS, SEQUENCE) of every event, read with icalendar."""
    from icalendar import Calendar

    return {str(e["UID"]): (str(e["STATUS"]), int(e["SEQUENCE"]))
            for e in Calendar.from_ical(text).walk("VEVENT")}


def _rows(out: Path, programme: str = PROGRAMME_ID) -> list[dict[str, str]]:
    text = (out / programme / "participants.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. the store mirrors its folders ----------------------------------------------------------


def test_a_programme_moved_into_a_subfolder_keeps_its_plan_and_history(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    first = _tree(workdir / "out")

    (project / "2024").mkdir()
    shutil.move(project / "cxc-2024-lille.yaml", project / "2024" / "cxc-2024-lille.yaml")
    loaded = _ok(run("load", "programmes"))
    assert "dropped 1 file no longer there" in loaded.stderr  # its old name
    validated = run("validate", "--format", "json")
    assert validated.json()["errors"] == 0, validated.stdout

    exported = _ok(run("export", "--out", "out"))  # the plan is still current
    assert "exported 1 programme" in exported.stderr
    assert _tree(workdir / "out") == first


def test_a_moved_file_that_is_then_edited_exports_the_edit(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    (project / "2024").mkdir()
    moved = project / "2024" / "lille.yaml"
    shutil.move(project / "cxc-2024-lille.yaml", moved)
    moved.write_text(edit(PROGRAMME, "title: Wrap-up and next steps",
                          "title: Wrap-up and farewell"), encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    calendar = (workdir / "out" / PROGRAMME_ID / "programme.ics").read_text(encoding="utf-8")
    assert "Wrap-up and farewell" in calendar
    assert "Wrap-up and next steps" not in calendar


def test_a_deleted_programme_is_dropped_and_no_longer_counted(
    run: Runner, project: Path, write: Write,
) -> None:
    write("programmes/d3.yaml", other_programme("d3-2024-tallinn", status="held"))
    _ok(run("load", "programmes"))
    before = {d["key"]: d["actual"] for d in run("report", "--format", "json").json()[
        "deliverables"]}
    assert before["deep_dive_days"] == 1

    (project / "d3.yaml").unlink()
    loaded = _ok(run("load", "programmes"))
    assert "dropped 1 file no longer there" in loaded.stderr

    after = {d["key"]: d["actual"] for d in run("report", "--format", "json").json()[
        "deliverables"]}
    assert after["deep_dive_days"] == 0


def test_a_file_given_by_name_is_added_and_drops_nothing(
    run: Runner, project: Path, write: Write,
) -> None:
    _ok(run("load", "programmes"))
    extra = write("elsewhere/d3.yaml", other_programme("d3-2024-tallinn"))
    loaded = _ok(run("load", extra))
    assert "dropped" not in loaded.stderr
    programmes = run("plan", "--format", "json").json()["programmes"]
    assert [p["id"] for p in programmes] == ["cxc-2024-lille", "d3-2024-tallinn"]


def test_a_project_copied_with_its_store_keeps_working(
    run: Runner, project: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _planned(run, "programmes")
    copy = workdir / "copy"
    copy.mkdir()
    shutil.copytree(project, copy / "programmes")
    for store_file in workdir.glob("cxc.db*"):  # the store, and its write-ahead log
        shutil.copy(store_file, copy / store_file.name)
    monkeypatch.chdir(copy)

    loaded = _ok(run("load", "programmes", db=copy / "cxc.db"))
    assert "dropped" not in loaded.stderr
    assert run("validate", "--format", "json", db=copy / "cxc.db").json()["errors"] == 0
    _ok(run("export", "--out", "out", db=copy / "cxc.db"))  # the plan came along


# -- 2. one partnership ---------------------------------------------------------------------


def test_a_backup_copy_of_the_partnership_is_a_duplicate_id_naming_both_files(
    run: Runner, project: Path, write: Write,
) -> None:
    write("programmes/partnership (copy).yaml", PARTNERSHIP)
    _ok(run("load", "programmes"))
    result = run("validate", "--format", "json")
    assert result.code == 1
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "duplicate-id"]
    assert finding["file"] == "programmes/partnership.yaml"
    assert "programmes/partnership (copy).yaml" in finding["message"]


# -- 3. export knows whether the plan is current ---------------------------------------------


def test_export_before_any_plan_refuses_and_writes_nothing(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _ok(run("load", "programmes"))
    result = run("export", "--out", "out")
    assert result.code == 1
    assert result.stderr == (f"cxc: programme `{PROGRAMME_ID}` was never planned; "
                             f"run `cxc plan` first\n")
    assert not (workdir / "out").exists()


def test_export_after_a_change_that_was_not_planned_refuses(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    (project / "cxc-2024-lille.yaml").write_text(
        edit(PROGRAMME, "    capacity: 3\n", "    capacity: 2\n"), encoding="utf-8")
    _ok(run("load", "programmes"))
    result = run("export", "--out", "out")
    assert result.code == 1
    assert f"programme `{PROGRAMME_ID}` changed since it was planned" in result.stderr
    assert "run `cxc plan`" in result.stderr
    assert not (workdir / "out").exists()

    _planned(run)
    _ok(run("export", "--out", "out"))


def test_a_comment_or_a_move_does_not_make_the_plan_stale(run: Runner, project: Path) -> None:
    _planned(run)
    path = project / "cxc-2024-lille.yaml"
    path.write_text("# reviewed by the coordinator\n\n" + PROGRAMME, encoding="utf-8")
    _ok(run("load", "programmes"))
    _ok(run("export", "--out", "out"))


def test_export_refuses_a_programme_with_errors(
    run: Runner, project: Path, workdir: Path,
) -> None:
    (project / "cxc-2024-lille.yaml").write_text(
        edit(PROGRAMME, "  capacity: 10\n  quotas", "  capacity: 4\n  quotas"),
        encoding="utf-8")
    assert run("plan", "programmes").code == 1
    result = run("export", "--out", "out")
    assert result.code == 1
    assert f"programme `{PROGRAMME_ID}` has 1 error (see `cxc validate`)" in result.stderr
    assert not (workdir / "out").exists()


# -- 4. a file belongs to one person ---------------------------------------------------------


def test_an_email_typo_fixed_gives_the_person_a_file_of_their_own(
    run: Runner, project: Path, workdir: Path,
) -> None:
    path = project / "cxc-2024-lille.yaml"
    path.write_text(edit(PROGRAMME, "jordi.puig@example.com", "jordi.puig@exmaple.com"),
                    encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    path.write_text(PROGRAMME, encoding="utf-8")  # the typo fixed
    _planned(run)
    _ok(run("export", "--out", "out"))
    out = workdir / "out"

    old = _events(_calendar(out, "jordi-puig"))
    assert old and all(status == "CANCELLED" for status, _ in old.values())
    assert "Cancelled" in (out / PROGRAMME_ID / "participants" / "jordi-puig.html").read_text()
    new = _events(_calendar(out, "jordi-puig-2"))
    assert new and all(status == "CONFIRMED" for status, _ in new.values())
    rows = {r["email"]: r for r in _rows(out)}
    assert rows["jordi.puig@exmaple.com"]["status"] == "removed"
    assert rows["jordi.puig@exmaple.com"]["ics"] == "participants/jordi-puig.ics"
    assert rows["jordi.puig@example.com"]["status"] == "registered"
    assert rows["jordi.puig@example.com"]["ics"] == "participants/jordi-puig-2.ics"

    _ok(run("export", "--out", "out"))  # and at every later export
    assert _events(_calendar(out, "jordi-puig-2")) == new


def test_two_people_of_the_same_name_keep_their_own_files_when_one_withdraws(
    run: Runner, project: Path, workdir: Path,
) -> None:
    path = project / "cxc-2024-lille.yaml"
    twins = edit(PROGRAMME, "name: Kadri Tamm", "name: Ana Garcia")
    path.write_text(twins, encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    out = workdir / "out"
    owners = {r["email"]: r["ics"] for r in _rows(out)}
    ana, kadri = owners["ana.garcia@example.com"], owners["kadri.tamm@example.com"]
    assert ana != kadri
    kadri_before = (out / PROGRAMME_ID / kadri).read_text()

    withdrawn = edit(twins, "    partner: barna-bio\n    interests: [ai]\n",
                     "    partner: barna-bio\n    status: withdrawn\n    interests: [ai]\n")
    path.write_text(withdrawn, encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))

    assert {r["email"]: r["ics"] for r in _rows(out)} == owners
    assert (out / PROGRAMME_ID / kadri).read_text() == kadri_before
    cancelled = _events((out / PROGRAMME_ID / ana).read_text())
    assert all(status == "CANCELLED" for status, _ in cancelled.values())
    assert {r["email"]: r["status"] for r in _rows(out)}["ana.garcia@example.com"] == "withdrawn"


def test_names_in_other_scripts_give_readable_file_names(
    run: Runner, project: Path, workdir: Path,
) -> None:
    text = edit(PROGRAMME, "name: Ana Garcia", "name: Ελένη Παπαδοπούλου")
    text = edit(text, "name: Jordi Puig", "name: Олена Шевченко")
    text = edit(text, "name: Marta Soler", "name: 王小明")
    (project / "cxc-2024-lille.yaml").write_text(text, encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    names = sorted(p.stem for p in (workdir / "out" / PROGRAMME_ID / "participants").glob(
        "*.ics"))
    assert names == ["eleni-papadopoyloy", "jaan-kask", "kadri-tamm", "liis-saar",
                     "olena-shevchenko", "wangxiaoming"]


def test_a_newcomer_whose_email_sorts_first_takes_no_one_s_file(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    out = workdir / "out"
    ana_before = _calendar(out, "ana-garcia")

    newcomer = ("  - email: aaa.garcia@example.com\n    name: Ana Garcia\n"
                "    organisation: Other SL\n    org_type: sme\n    country: ES\n"
                "    partner: lille-health\n")
    (project / "cxc-2024-lille.yaml").write_text(
        edit(PROGRAMME, "participants:\n", "participants:\n" + newcomer), encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))

    owners = {r["email"]: r["ics"] for r in _rows(out)}
    assert owners["ana.garcia@example.com"] == "participants/ana-garcia.ics"
    assert owners["aaa.garcia@example.com"] == "participants/ana-garcia-2.ics"
    assert _calendar(out, "ana-garcia") == ana_before


# -- 5. a programme whose id changes ----------------------------------------------------------


def test_a_programme_whose_id_changes_is_cancelled_in_its_old_folder(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    path = project / "cxc-2024-lille.yaml"
    path.write_text(edit(PROGRAMME, f"id: {PROGRAMME_ID}", "id: cxc-2024-hauts-de-france"),
                    encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    out = workdir / "out"

    old = _events((out / PROGRAMME_ID / "programme.ics").read_text())
    assert old and all(status == "CANCELLED" for status, _ in old.values())
    assert all(seq == 1 for _, seq in old.values())
    for ics in (out / PROGRAMME_ID / "participants").glob("*.ics"):
        assert all(s == "CANCELLED" for s, _ in _events(ics.read_text()).values()), ics
    new = _events((out / "cxc-2024-hauts-de-france" / "programme.ics").read_text())
    assert new and all(status == "CONFIRMED" for status, _ in new.values())

    again = _tree(out)
    _ok(run("export", "--out", "out"))  # re-importing the old folder duplicates nothing
    assert _tree(out) == again


# -- 9. identities ----------------------------------------------------------------------------


def test_emails_and_organisations_in_nfc_and_nfd_are_one(run: Runner, write: Write) -> None:
    nfc = unicodedata.normalize("NFC", "josé.núñez@example.com")
    nfd = unicodedata.normalize("NFD", "JOSÉ.NÚÑEZ@example.com")
    org_nfc = unicodedata.normalize("NFC", "Clínica Ñ")
    org_nfd = unicodedata.normalize("NFD", "CLÍNICA Ñ ")
    person = ("  - email: {email}\n    name: José Núñez\n    organisation: {org}\n"
              "    org_type: sme\n    country: ES\n    partner: barna-bio\n")
    write("partnership.yaml", PARTNERSHIP)
    write("a.yaml", other_programme("d3-2024-a", status="held", start="2024-06-05",
                                    participants=person.format(email=nfc, org=org_nfc)))
    write("b.yaml", other_programme("d3-2024-b", status="held", start="2024-06-12",
                                    participants=person.format(email=nfd, org=org_nfd)))
    _ok(run("load", "partnership.yaml", "a.yaml", "b.yaml"))
    counts = {d["key"]: d["actual"] for d in run("report", "--format", "json").json()[
        "deliverables"]}
    assert counts["participants"] == 1
    assert counts["organisations"] == 1


# -- 10. a stranger's database ------------------------------------------------------------------


def test_another_programs_database_with_user_version_1_is_left_byte_for_byte(
    run: Runner, workdir: Path, project: Path,
) -> None:
    other = workdir / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    for args in (("load", "programmes"), ("validate",), ("report",)):
        result = run(*args, db=other)
        assert result.code == 2, result.output
        assert "not a cxc store" in result.stderr
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert not Path(f"{other}-wal").exists()


# -- 12. privacy ---------------------------------------------------------------------------------


def test_uids_reveal_no_email(run: Runner, project: Path, workdir: Path) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    every = "".join(p.read_text() for p in (workdir / "out").rglob("*.ics"))
    for email in ("ana.garcia@example.com", "jordi.puig@example.com"):
        digest = hashlib.sha256(email.encode()).hexdigest()
        assert digest[:8] not in every


def test_forget_removes_the_person_s_files_and_takes_their_seat_back(
    run: Runner, project: Path, workdir: Path,
) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    _ok(run("export", "--out", "second"))
    for out in ("out", "second"):
        assert (workdir / out / PROGRAMME_ID / "participants" / "ana-garcia.ics").exists()

    forgotten = _ok(run("forget", "Ana.Garcia@example.com"))
    assert "4 exported files of theirs removed" in forgotten.stderr
    for out in ("out", "second"):
        folder = workdir / out / PROGRAMME_ID
        assert not (folder / "participants" / "ana-garcia.ics").exists()
        assert not (folder / "participants" / "ana-garcia.html").exists()
        assert "ana.garcia" not in (folder / "participants.csv").read_text()

    _ok(run("export", "--out", "out"))  # the plan is still current: she only left it
    plan = run("plan", "--format", "json").json()
    attendees = [a for s in plan["programmes"][0]["sessions"] for a in s["attendees"]]
    assert not [a for a in attendees if a.startswith("forgotten-")]
    names = {p.stem for p in (workdir / "out" / PROGRAMME_ID / "participants").iterdir()}
    assert not [n for n in names if "forgotten" in n or n.startswith("ana")]
    assert "forgotten" not in (workdir / "out" / PROGRAMME_ID / "participants.csv").read_text()


def test_a_cancelled_programme_s_pages_say_so(run: Runner, project: Path, workdir: Path) -> None:
    _planned(run)
    _ok(run("export", "--out", "out"))
    (project / "cxc-2024-lille.yaml").write_text(
        edit(PROGRAMME, "status: confirmed", "status: cancelled"), encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    page = (workdir / "out" / PROGRAMME_ID / "participants" / "ana-garcia.html").read_text()
    assert "Cancelled: this programme will not take place." in page
    events = _events(_calendar(workdir / "out", "ana-garcia"))
    assert events and all(status == "CANCELLED" for status, _ in events.values())


def test_participants_csv_is_safe_to_open_in_a_spreadsheet(
    run: Runner, project: Path, workdir: Path,
) -> None:
    (project / "cxc-2024-lille.yaml").write_text(
        edit(PROGRAMME, "name: Jordi Puig", """name: '=HYPERLINK("http://evil.example")'"""),
        encoding="utf-8")
    _planned(run)
    _ok(run("export", "--out", "out"))
    names = [r["name"] for r in _rows(workdir / "out")]
    assert "'=HYPERLINK(\"http://evil.example\")" in names
    assert not [n for n in names if n.startswith("=")]


@pytest.mark.parametrize("status", ["withdrawn", "waitlisted"])
def test_a_person_without_a_seat_is_checked_by_no_seat_rule(
    run: Runner, project: Path, status: str,
) -> None:
    late = edit(PROGRAMME, "        depart: 2024-03-28 06:00\n", "        depart: 2024-03-28 16:00\n")
    late = edit(late, "        arrive: 2024-03-28 09:15\n", "        arrive: 2024-03-28 19:15\n")
    (project / "cxc-2024-lille.yaml").write_text(
        edit(late, "    partner: tallinn-med\n    attended: true\n",
             f"    partner: tallinn-med\n    status: {status}\n    attended: true\n"),
        encoding="utf-8")
    _ok(run("load", "programmes"))
    result = run("validate", "--format", "json")
    assert result.code == 0, result.output
    assert [f for f in result.json()["findings"] if f["participant"] == "liis.saar@example.com"] == []
