"""A newcomer's mistakes in the YAML: each message names the place and the fix (issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PARTNERSHIP, PROGRAMME, Runner, edit, line_of

Write = Callable[[str, str], Path]


def _refused(result: object, file: str, line: int) -> str:
    """The one message of a refused load, checked to name ``file:line:``."""
    assert result.code == 2, result.output  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    [message] = stderr.splitlines()
    assert message.startswith(f"cxc: {file}:{line}:"), message
    return message


ZONE_LINE = line_of(PROGRAMME, "timezone: Europe/Paris")


@pytest.mark.parametrize("offset", ["UTC+2", "GMT+1", "UTC+01:00", "CEST"])
def test_an_offset_for_a_time_zone_suggests_the_place_never_utc(
    run: Runner, write: Write, offset: str,
) -> None:
    text = edit(PROGRAMME, "timezone: Europe/Paris", f'timezone: "{offset}"')

    message = _refused(run("load", write("p.yaml", text)), "p.yaml", ZONE_LINE)

    assert "summer time" in message
    assert "`Europe/Paris`" in message  # the programme is in Lille, FR
    assert "`UTC`" not in message and "`GMT`" not in message and "Etc/" not in message


def test_an_offset_suggests_the_zone_of_the_programmes_own_country(
    run: Runner, write: Write,
) -> None:
    text = edit(edit(edit(PROGRAMME, "timezone: Europe/Paris", "timezone: UTC+2"),
                     "  country: FR\n", "  country: RO\n"), "city: Lille", "city: Cluj")

    message = _refused(run("load", write("p.yaml", text)), "p.yaml", ZONE_LINE)

    assert "`Europe/Bucharest`" in message, message


@pytest.mark.parametrize(("written", "meant"), [
    ("Paris", "Europe/Paris"), ("paris", "Europe/Paris"), ("Lisbon", "Europe/Lisbon"),
    ("Bucharest", "Europe/Bucharest"), ("Spain", "Europe/Madrid"), ("Europe/paris", "Europe/Paris"),
])
def test_a_city_or_country_for_a_time_zone_suggests_its_iana_zone(
    run: Runner, write: Write, written: str, meant: str,
) -> None:
    text = edit(PROGRAMME, "timezone: Europe/Paris", f"timezone: {written}")

    message = _refused(run("load", write("p.yaml", text)), "p.yaml", ZONE_LINE)

    assert f"did you mean `{meant}`?" in message, message


@pytest.mark.parametrize(("written", "code"), [
    ("France", "FR"), ("Deutschland", "DE"), ("España", "ES"), ("Roumania", "RO"),
    ("sweden", "SE"), ("Eesti", "EE"), ("fr", "FR"),
])
def test_a_country_name_suggests_its_iso_code(
    run: Runner, write: Write, written: str, code: str,
) -> None:
    text = edit(PROGRAMME, "  country: FR\n", f"  country: {written}\n")

    message = _refused(run("load", write("p.yaml", text)), "p.yaml",
                       line_of(PROGRAMME, "  country: FR", exact=True))

    assert f"did you mean `{code}`?" in message, message


def test_an_unquoted_colon_in_a_title_says_to_quote_it(run: Runner, write: Write) -> None:
    text = edit(PROGRAMME, "title: Sunday brunch with the start-ups",
                "title: Brunch: meet the start-ups")

    message = _refused(run("load", write("p.yaml", text)), "p.yaml",
                       line_of(PROGRAMME, "title: Sunday brunch"))

    assert 'quoted, e.g. `title: "Brunch: meet the start-ups"`' in message, message


def test_a_tab_in_the_indentation_says_to_use_spaces(run: Runner, write: Write) -> None:
    text = edit(PROGRAMME, "  kind: cxc\n", "\tkind: cxc\n")

    message = _refused(run("load", write("p.yaml", text)), "p.yaml",
                       line_of(PROGRAMME, "  kind: cxc", exact=True))

    assert "spaces, not tabs" in message, message


def test_a_latin1_file_names_the_line_and_column_of_the_bad_byte(
    run: Runner, workdir: Path,
) -> None:
    text = edit(PROGRAMME, "name: Eurasante campus", "name: Eurasanté campus")
    (workdir / "p.yaml").write_bytes(text.encode("latin-1"))
    line = line_of(text, "Eurasanté campus")
    column = text.splitlines()[line - 1].index("é") + 1

    message = _refused(run("load", "p.yaml"), "p.yaml", line)

    assert message.startswith(f"cxc: p.yaml:{line}:{column}: "), message
    assert "save the file as UTF-8" in message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_as_notepad_saves_it_is_read(
    run: Runner, workdir: Path, encoding: str,
) -> None:
    text = edit(PROGRAMME, "name: Eurasante campus", "name: Eurasanté campus")
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    (workdir / "partnership.yaml").write_text(PARTNERSHIP, encoding="utf-8")
    (workdir / "p.yaml").write_bytes(bom + text.encode(encoding))

    loaded = run("load", "partnership.yaml", "p.yaml")

    assert loaded.code == 0, loaded.output
    assert run("validate").code == 0


def test_a_duplicate_programme_id_names_the_first_file_with_no_zero_column(
    run: Runner, write: Write,
) -> None:
    write("partnership.yaml", PARTNERSHIP)
    write("a.yaml", PROGRAMME)
    write("b.yaml", PROGRAMME)
    assert run("load", "partnership.yaml", "a.yaml", "b.yaml").code == 0

    result = run("validate", "--format", "json")

    [finding] = [f for f in result.json()["findings"] if f["rule"] == "duplicate-id"]
    assert f"already used in a.yaml:{line_of(PROGRAMME, 'id: cxc-2024-lille')}" in finding["message"]
    assert ":0" not in finding["message"], finding["message"]


# -- ids that refer to nothing: the rules suggest the id meant ------------------------------


@pytest.mark.parametrize(("old", "new", "meant"), [
    ("    venue: studio\n", "    venue: studoi\n", "studio"),
    ("    sessions: [lab-a]\n", "    sessions: [lab-aa]\n", "lab-a"),
    ("    partner: tallinn-med\n", "    partner: talinn-med\n", "tallinn-med"),
    ("  host: lille-health\n", "  host: lile-health\n", "lille-health"),
])
def test_a_mistyped_id_gets_a_did_you_mean(
    check: Callable[..., object], old: str, new: str, meant: str,
) -> None:
    checked = check(PROGRAMME.replace(old, new, 1))

    [finding] = checked.of("unknown-reference")  # type: ignore[attr-defined]
    assert f"did you mean `{meant}`?" in finding["message"], finding["message"]


def test_an_id_like_no_other_gets_no_suggestion(check: Callable[..., object]) -> None:
    checked = check(edit(PROGRAMME, "    venue: studio\n", "    venue: moon-base\n"))

    [finding] = checked.of("unknown-reference")  # type: ignore[attr-defined]
    assert "did you mean" not in finding["message"]
