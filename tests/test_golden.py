"""The calendars a small study visit exports, compared whole with the golden files.

The story, told through the real `cxc` script and a real store: load the study visit of
``tests/data/golden/programme.yaml`` (with the partnership of ``tests/data/``), plan it,
export it; then load ``programme-changed.yaml`` (the dinner called off, the welcome half
an hour later, the return flight an hour later), plan and export again into the same folder.
The programme's calendar and Ana's are then compared with ``tests/data/golden/`` as
normalised property lines:

- folded lines are unfolded and line ends are ``\\n``;
- DTSTAMP is pinned, not masked: each export runs at its own SOURCE_DATE_EPOCH, so a
  DTSTAMP says which export first wrote that version of the event;
- the person tokens in UIDs (an HMAC under the store's random secret) are masked as
  ``<person-1>``, ``<person-2>``, ... in the order they first appear.

After a deliberate change to what export writes, regenerate the files with
``pytest tests/test_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATA, Runner

GOLDEN = DATA / "golden"
PROGRAMME_ID = "sv-2024-lille"
FIRST_EXPORT = 1714000000
"""SOURCE_DATE_EPOCH of the first export: 2024-04-24 23:06:40 UTC."""
SECOND_EXPORT = 1715000000
"""SOURCE_DATE_EPOCH of the export after the change: 2024-05-06 12:53:20 UTC."""

CALENDARS = {
    "programme.ics": f"{PROGRAMME_ID}/programme.ics",
    "ana-garcia.ics": f"{PROGRAMME_ID}/participants/ana-garcia.ics",
}
"""Golden file -> the exported file it holds, relative to the export folder."""

TOKEN = re.compile(r"(?<=\.)[0-9a-f]{16}(?=[.@])")
"""A person token inside a UID: ``sv-2024-lille.travel.<token>.0@cxc.invalid``."""


def normalise(ics: bytes) -> str:
    """The calendar as one property a line: unfolded, person tokens masked, ``\\n`` ends."""
    text = ics.decode("utf-8")
    assert "\r\n" in text, "an .ics file ends its lines with CRLF"
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    tokens: dict[str, str] = {}

    def mask(line: str) -> str:
        if not line.startswith("UID:"):
            return line
        return TOKEN.sub(lambda m: tokens.setdefault(m[0], f"<person-{len(tokens) + 1}>"), line)

    return "\n".join(mask(line) for line in unfolded.split("\r\n")).rstrip("\n") + "\n"


def _export_the_story(run_cxc: Runner, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(DATA / "partnership.yaml", workdir / "partnership.yaml")
    programme = workdir / "programme.yaml"
    out = workdir / "out"
    for epoch, source in ((FIRST_EXPORT, "programme.yaml"),
                          (SECOND_EXPORT, "programme-changed.yaml")):
        shutil.copy(GOLDEN / source, programme)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
        for args in (("load", "partnership.yaml", "programme.yaml"), ("plan",),
                     ("export", "--out", out)):
            done = run_cxc(*args)
            assert done.code == 0, done.output
    return out


def _difference(name: str, golden: str, exported: str) -> str:
    diff = difflib.unified_diff(golden.splitlines(), exported.splitlines(),
                                f"tests/data/golden/{name} (golden)", f"{name} (exported now)",
                                lineterm="")
    return "\n".join(diff)


def test_the_exported_calendars_are_the_golden_ones(
        run_cxc: Runner, workdir: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest,
) -> None:
    out = _export_the_story(run_cxc, workdir, monkeypatch)
    exported = {name: normalise((out / path).read_bytes()) for name, path in CALENDARS.items()}
    if request.config.getoption("--update-golden"):
        for name, text in exported.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    differences = [_difference(name, (GOLDEN / name).read_text(encoding="utf-8"), text)
                   for name, text in exported.items()
                   if (GOLDEN / name).read_text(encoding="utf-8") != text]
    if differences:
        pytest.fail("the export differs from the golden calendars (if the change is meant, run "
                    "`pytest tests/test_golden.py --update-golden` and review the diff):\n"
                    + "\n".join(differences), pytrace=False)


def _event(calendar: str, uid: str) -> list[str]:
    """The property lines of the event with this UID."""
    for block in calendar.split("BEGIN:VEVENT\n")[1:]:
        lines = block.split("END:VEVENT\n")[0].splitlines()
        if f"UID:{uid}" in lines:
            return lines
    raise AssertionError(f"no event {uid} in the calendar")


@pytest.mark.parametrize("name", CALENDARS)
def test_the_golden_calendars_tell_the_change(name: str) -> None:
    calendar = (GOLDEN / name).read_text(encoding="utf-8")
    dinner = _event(calendar, f"{PROGRAMME_ID}.session.dinner@cxc.invalid")
    assert {"STATUS:CANCELLED", "SEQUENCE:1", "DTSTAMP:20240506T125320Z"} <= set(dinner)
    welcome = _event(calendar, f"{PROGRAMME_ID}.session.welcome@cxc.invalid")
    assert {"DTSTART;TZID=Europe/Paris:20240514T100000", "SEQUENCE:1",
            "STATUS:CONFIRMED"} <= set(welcome)
    wrap_up = _event(calendar, f"{PROGRAMME_ID}.session.wrap-up@cxc.invalid")
    assert {"SEQUENCE:0", "DTSTAMP:20240424T230640Z"} <= set(wrap_up)


def test_normalising_unfolds_lines_and_masks_person_tokens_in_order() -> None:
    ics = (b"BEGIN:VEVENT\r\nUID:p.travel.0123456789abcdef.0@cxc.invalid\r\n"
           b"DESCRIPTION:a long\r\n  line\r\nUID:p.stay.fedcba9876543210@cxc.invalid\r\n"
           b"UID:p.travel.0123456789abcdef.1@cxc.invalid\r\nEND:VEVENT\r\n")
    assert normalise(ics) == (
        "BEGIN:VEVENT\nUID:p.travel.<person-1>.0@cxc.invalid\nDESCRIPTION:a long line\n"
        "UID:p.stay.<person-2>@cxc.invalid\nUID:p.travel.<person-1>.1@cxc.invalid\n"
        "END:VEVENT\n")
