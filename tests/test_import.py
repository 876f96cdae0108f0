"""`cxc import`: a coordinator merges form exports into a programme file, again and again.

Real export files of each tool's shape live in tests/data/forms/; the programme file is
the conftest's, with a comment the coordinator wrote; the partnership is in the store.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROGRAMME, Runner, edit

FORMS = Path(__file__).parent / "data" / "forms"
Write = Callable[[str, str], Path]
COMMENTED = edit(PROGRAMME, "participants:\n", "participants:  # from the registration form\n")


@pytest.fixture
def story(run: Runner, write: Write, partnership_file: Path) -> Path:
    """The partnership loaded into the store; the programme file written, with a comment."""
    loaded = run("load", partnership_file)
    assert loaded.code == 0, loaded.output
    return write("programme.yaml", COMMENTED)


def _people(path: Path) -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {p["email"].lower(): p for p in loaded["participants"]}


def _import(run: Runner, name: str, into: Path, *extra: str) -> Any:
    form = Path(shutil.copy(FORMS / name, into.parent / name))
    result = run("import", form, "--into", into, *extra)
    assert result.code == 0, result.output
    return result


def test_google_forms_native_country_names_and_a_reimport_that_changes_nothing(
        run: Runner, story: Path) -> None:
    result = _import(run, "google-forms.csv", story)
    assert "3 added, 1 updated, 0 unchanged" in result.stderr
    people = _people(story)
    assert people["max.muster@example.de"] == {
        "email": "max.muster@example.de", "name": "Max Mustermann",
        "organisation": "Muster Medtech GmbH", "org_type": "startup", "country": "DE",
        "partner": "barna-bio", "interests": ["digital health"]}
    assert people["eleni.papadopoulou@example.gr"]["country"] == "GR"
    assert people["eleni.papadopoulou@example.gr"]["org_type"] == "research"
    assert people["eleni.papadopoulou@example.gr"]["partner"] == "tallinn-med"
    assert people["aino.virtanen@example.fi"]["country"] == "FI"
    assert "interests" not in people["aino.virtanen@example.fi"]  # an empty cell
    # Ana was there already: the form's fields are updated, her travel, stay and fixed
    # choice are kept, and her email stays as the file wrote it.
    ana = people["ana.garcia@example.com"]
    assert ana["name"] == "Ana García" and ana["interests"] == ["ai", "imaging"]
    assert ana["sessions"] == ["lab-a"] and len(ana["travel"]) == 2
    assert ana["stay"]["name"] == "Hotel Lille Centre"
    text = story.read_text(encoding="utf-8")
    assert "participants:  # from the registration form\n" in text
    assert text.startswith(COMMENTED.split("participants:")[0])  # the rest is as it was
    # The file still loads and validates.
    checked = run("load", story)
    assert checked.code == 0, checked.output
    # Re-importing the same export changes no byte (and no modification time).
    before, mtime = story.read_bytes(), story.stat().st_mtime_ns
    again = _import(run, "google-forms.csv", story)
    assert "0 added, 0 updated, 4 unchanged" in again.stderr
    assert story.read_bytes() == before and story.stat().st_mtime_ns == mtime


def test_hand_added_travel_is_kept_through_a_reimport(run: Runner, story: Path) -> None:
    _import(run, "google-forms.csv", story)
    text = story.read_text(encoding="utf-8").replace(
        "    partner: barna-bio\n    interests: [digital health]\n",
        "    partner: barna-bio\n    interests: [digital health]\n    travel:  # booked by hand\n"
        "      - mode: train\n        from: Köln Hbf\n        to: Lille Europe\n"
        "        depart: 2024-03-27 09:00\n        arrive: 2024-03-27 13:00\n")
    story.write_text(text, encoding="utf-8")
    again = _import(run, "google-forms.csv", story)
    assert "4 unchanged" in again.stderr
    assert story.read_text(encoding="utf-8") == text
    assert _people(story)["max.muster@example.de"]["travel"][0]["from"] == "Köln Hbf"


def test_eventbrite_semicolons_bom_and_cancelled_attendees(run: Runner, story: Path) -> None:
    result = _import(run, "eventbrite.csv", story, "--partner", "barna-bio")
    assert "2 added, 1 updated, 0 unchanged" in result.stderr
    people = _people(story)
    assert people["jordi.puig@example.com"]["status"] == "withdrawn"
    assert people["jordi.puig@example.com"]["travel"]  # kept
    assert people["pau.ferrer@example.es"]["status"] == "withdrawn"
    nuria = people["nuria.vidal@example.es"]
    assert nuria == {"email": "nuria.vidal@example.es", "name": "Núria Vidal",
                     "organisation": "Vidal Bio SL", "org_type": "sme", "country": "ES",
                     "partner": "barna-bio"}
    assert run("load", story).code == 0


def test_utf16_tab_separated(run: Runner, story: Path) -> None:
    result = _import(run, "utf16.csv", story, "--partner", "tallinn-med")
    assert "0 added, 2 updated" in result.stderr
    people = _people(story)
    assert people["kadri.tamm@example.com"]["organisation"] == "Tartu Bio OÜ"
    assert people["kadri.tamm@example.com"]["org_type"] == "cluster"
    assert people["liis.saar@example.com"]["org_type"] == "public"
    assert people["liis.saar@example.com"]["country"] == "EE"


def test_eusurvey_header_on_row_4_and_microsoft_forms(run: Runner, story: Path) -> None:
    result = _import(run, "eusurvey.xlsx", story)
    assert "1 added, 1 updated" in result.stderr
    people = _people(story)
    assert people["sven.berg@example.se"] == {
        "email": "sven.berg@example.se", "name": "Sven Berg",
        "organisation": "Berg Diagnostics AB", "org_type": "sme", "country": "SE",
        "partner": "tallinn-med", "interests": ["ai", "imaging"]}
    assert people["jaan.kask@example.com"]["org_type"] == "startup"
    result = _import(run, "microsoft-forms.xlsx", story, "--partner", "lille-health")
    assert "2 added" in result.stderr
    people = _people(story)
    assert people["marie.dupont@example.fr"]["org_type"] == "hospital"
    assert people["lucas.martin@example.fr"]["country"] == "BE"
    assert people["lucas.martin@example.fr"]["partner"] == "lille-health"


def test_a_row_that_cannot_be_mapped_writes_nothing(run_cxc: Runner, story: Path) -> None:
    shutil.copy(FORMS / "bad-row.csv", story.parent / "bad-row.csv")
    before = story.read_bytes()
    result = run_cxc("import", "bad-row.csv", "--into", story.name, "--partner", "barna-bio")
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert "bad-row.csv:3: Email Address: `not-an-email` is not an email address" in result.stderr
    assert "bad-row.csv:4: Country: `Atlantis` is no country I know" in result.stderr
    assert story.read_bytes() == before


def test_dry_run_shows_a_diff_and_writes_nothing(run: Runner, story: Path) -> None:
    before = story.read_bytes()
    result = _import(run, "eventbrite.csv", story, "--partner", "barna-bio", "--dry-run")
    assert result.stdout.startswith("--- a/")
    assert "+  - email: nuria.vidal@example.es\n" in result.stdout
    assert "+    status: withdrawn\n" in result.stdout
    assert "would import" in result.stderr
    assert story.read_bytes() == before


def test_a_mapping_file_names_columns_values_and_defaults(
        run: Runner, story: Path, write: Write) -> None:
    write("form.csv", "E-post;Förnamn;Efternamn;Bolag;Typ\n"
          "anna.lind@example.se;Anna;Lind;Lind AB;Litet företag\n")
    write("map.yaml", "columns:\n  email: E-post\n  name: [Förnamn, Efternamn]\n"
          "  organisation: Bolag\n  org_type: Typ\nvalues:\n  org_type: {Litet företag: sme}\n"
          "defaults:\n  partner: tallinn-med\n  country: SE\n")
    result = run("import", "form.csv", "--into", story, "--map", "map.yaml")
    assert result.code == 0, result.output
    assert _people(story)["anna.lind@example.se"] == {
        "email": "anna.lind@example.se", "name": "Anna Lind", "organisation": "Lind AB",
        "org_type": "sme", "country": "SE", "partner": "tallinn-med"}


def test_the_file_keeps_its_permissions(run: Runner, story: Path) -> None:
    story.chmod(0o640)
    _import(run, "google-forms.csv", story)
    assert story.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in story.parent.iterdir() if p.name.startswith(".programme")] == []
