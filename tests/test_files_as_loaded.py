"""A store whose files were edited (or moved away) since they were loaded gives no result
of data the folder no longer has (issue 17's trust: the cost of knowing is a stat a file):
export, sheets and report stop and say what to run; validate says which file changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import Runner
from store_helpers import copy_store

EXAMPLES = Path(__file__).parent.parent / "programmes" / "bright"
STRASBOURG = "cxc-2023-strasbourg"


@pytest.fixture
def planned(run: Runner, workdir: Path) -> Path:
    """The BRIGHT programmes copied to `bright/`, planned."""
    copy = workdir / "bright"
    shutil.copytree(EXAMPLES, copy)
    done = run("plan", "bright/")
    assert done.code == 0, done.output
    return copy


def edit(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("capacity: 40", "capacity: 41", 1), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text


def test_export_after_an_edit_without_plan_is_refused_and_writes_nothing(
        run: Runner, planned: Path) -> None:
    edit(planned / f"{STRASBOURG}.yaml")

    result = run("export", "--out", "out")

    assert result.code == 1
    assert result.stderr == (
        f"cxc: programme `{STRASBOURG}`: bright/{STRASBOURG}.yaml changed since it was loaded; "
        f"run `cxc plan bright/` to load it again\n")
    assert not Path("out").exists()
    assert run("plan", "bright/").code == 0
    assert run("export", "--out", "out").code == 0


def test_a_touched_file_is_no_change(run: Runner, planned: Path) -> None:
    os.utime(planned / f"{STRASBOURG}.yaml", (1_600_000_000, 1_600_000_000))

    assert run("export", "--out", "out").code == 0


def test_an_edited_partnership_file_stops_every_export(run: Runner, planned: Path) -> None:
    path = planned / "partnership.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")

    result = run("export", "--out", "out", "--programme", STRASBOURG)

    assert result.code == 1
    assert ("the partnership file bright/partnership.yaml changed since it was loaded; "
            "run `cxc plan bright/` to load it again") in result.stderr


def test_a_file_gone_from_its_folder_stops_export(run: Runner, planned: Path) -> None:
    (planned / f"{STRASBOURG}.yaml").rename(planned.parent / "elsewhere.yaml")

    result = run("export", "--out", "out")

    assert result.code == 1
    assert (f"bright/{STRASBOURG}.yaml is gone since it was loaded (moved or deleted); "
            f"run `cxc plan bright/`") in result.stderr


def test_a_store_moved_without_its_folder_still_exports(
        run: Runner, planned: Path, db: Path, workdir: Path) -> None:
    """Reporting staff given the store alone: no file is there, nor any folder of them."""
    alone = workdir / "elsewhere"
    alone.mkdir()
    copy_store(db, alone / "cxc.db")
    shutil.rmtree(planned)

    result = run("export", "--out", "out", db=alone / "cxc.db")

    assert result.code == 0, result.output


def test_sheets_are_refused_too(run: Runner, planned: Path) -> None:
    edit(planned / f"{STRASBOURG}.yaml")

    result = run("sheets", "--out", "sheets")

    assert result.code == 1
    assert f"bright/{STRASBOURG}.yaml changed since it was loaded" in result.stderr
    assert not Path("sheets").exists()


def test_report_after_an_edit_gives_no_numbers_unless_forced(run: Runner, planned: Path) -> None:
    edit(planned / f"{STRASBOURG}.yaml")

    refused = run("report", "--format", "json")
    forced = run("report", "--format", "json", "--force")

    assert refused.code == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        f"cxc: bright/{STRASBOURG}.yaml changed since it was loaded; run `cxc plan bright/` "
        f"to load the files as they are, or report the store as it is with --force\n")
    assert forced.code == 0
    assert [d["key"] for d in forced.json()["deliverables"]][:1] == ["study_visits"]
    assert forced.stderr == (
        f"cxc: warning: bright/{STRASBOURG}.yaml changed since it was loaded; reported the "
        f"store as it is (--force), the counts may be out of date\n")


def test_validate_says_its_findings_are_of_the_store_as_loaded(
        run: Runner, planned: Path) -> None:
    edit(planned / f"{STRASBOURG}.yaml")
    (planned / "d3-2023-barcelona-imaging.yaml").unlink()

    result = run("validate")

    assert result.code == 0
    assert result.stderr == (
        f"cxc: note: bright/{STRASBOURG}.yaml (and 1 other file) changed since it was "
        f"loaded: this is what the store holds; run `cxc plan bright/` to load the files "
        f"as they are\n")
