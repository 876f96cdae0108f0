"""What a participant reads in their calendar and printable page, and what everyone reads
in the programme's calendar (issue 13).

One story through the real CLI and a real store: a study visit in Stockholm, a
participant who flies in from Tallinn (07:05 there, 07:10 in Stockholm: a flight
of an hour and five minutes) and leaves by train (both ends in Stockholm's zone),
sleeps in a hotel, and is placed in one of two parallel sessions. The calendars
are read with the strict ``ical`` parser, the page as the HTML it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner

PID = "sv-2024-stockholm"
HOST_EMAIL = "desk@stockholm-life.example"
PARTNERSHIP = """\
partnership:
  id: baltic
  name: BALTIC - two life-science clusters
  funding: COSME
  start: 2024-01-01
  end: 2025-12-31
partners:
  - id: stockholm-life
    name: Stockholm Life
    country: SE
    city: Stockholm
    timezone: Europe/Stockholm
    contact:
      name: Programme desk
      email: desk@stockholm-life.example
  - id: tallinn-med
    name: Tallinn Med
    country: EE
    city: Tallinn
    timezone: Europe/Tallinn
"""
PROGRAMME = f"""\
programme:
  id: {PID}
  kind: study_visit
  title: Life science in Stockholm
  host: stockholm-life
  city: Stockholm
  country: SE
  timezone: Europe/Stockholm
  start: 2024-05-14
  end: 2024-05-15
  status: confirmed
venues:
  - id: hub
    name: Life science hub
    address: "Tomtebodavagen 23, Solna"
    capacity: 50
  - id: lab
    name: Imaging lab
    capacity: 10
  - id: clinic
    name: Karolinska clinic
    capacity: 10
sessions:
  - id: welcome
    title: Welcome
    kind: meeting
    venue: hub
    start: 2024-05-14 09:30
    end: 2024-05-14 11:00
    description: "Coffee from 09:15.\\nBring your badge."
  - id: lab-visit
    title: Imaging lab (group A)
    kind: visit
    venue: lab
    slot: tuesday-pm
    start: 2024-05-14 14:00
    end: 2024-05-14 16:00
    description: Wear flat shoes in the lab.
  - id: clinic-visit
    title: Clinic (group B)
    kind: visit
    venue: clinic
    slot: tuesday-pm
    start: 2024-05-14 14:00
    end: 2024-05-14 16:00
participants:
  - email: piret.kuusk@example.com
    name: Piret Kuusk
    organisation: Kuusk Medical OU
    org_type: sme
    country: EE
    partner: tallinn-med
    sessions: [lab-visit]
    travel:
      - mode: flight
        ref: SK1753
        from: Tallinn (TLL)
        to: Stockholm (ARN)
        depart: 2024-05-14 07:05
        depart_timezone: Europe/Tallinn
        arrive: 2024-05-14 07:10
        arrive_timezone: Europe/Stockholm
      - mode: train
        from: Stockholm Central
        to: Uppsala Central
        depart: 2024-05-15 17:00
        arrive: 2024-05-15 18:05
    stay:
      name: Hotel Birger
      address: "Birger Jarlsgatan 1, Stockholm"
      check_in: 2024-05-14
      check_out: 2024-05-15
  - email: mart.tamm@example.com
    name: Mart Tamm
    organisation: Tamm Bio OU
    org_type: sme
    country: EE
    partner: tallinn-med
    sessions: [clinic-visit]
"""


@pytest.fixture
def out(run: Runner, write: Callable[[str, str], Path], workdir: Path,
        monkeypatch: pytest.MonkeyPatch) -> Path:
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", PROGRAMME)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714000000")
    for args in (("load", "partnership.yaml", "programme.yaml"), ("plan",),
                 ("export", "--out", "out")):
        result = run(*args)
        assert result.code == 0, result.output
    return workdir / "out" / PID


def events(path: Path) -> dict[str, Any]:
    from ical.calendar_stream import IcsCalendarStream

    calendar = IcsCalendarStream.calendar_from_ics(path.read_text(encoding="utf-8"))
    return {e.summary: e for e in calendar.events}


def person(out: Path, name: str) -> Path:
    (path,) = [p for p in (out / "participants").glob("*.ics")
               if name in p.read_text(encoding="utf-8")]
    return path


def page_rows(out: Path) -> list[str]:
    """Each row of Piret's page as the text a reader sees, white space collapsed."""
    page = person(out, "Piret").with_suffix(".html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def row(rows: list[str], text: str) -> str:
    (found,) = [r for r in rows if text in r]
    return found


def test_the_programme_calendar_tells_no_one_they_were_placed_in_a_parallel_group(
        out: Path) -> None:
    programme = events(out / "programme.ics")
    for title in ("Imaging lab (group A)", "Clinic (group B)"):
        text = programme[title].description
        assert "Parallel session (tuesday-pm): one of several groups" in text, title
        assert "placed" not in text and "your group among" not in text, title
    mine = events(person(out, "Piret"))
    assert "Clinic (group B)" not in mine  # a person's calendar holds only their group
    # one UID, one SEQUENCE, one content: the person's event is the programme's
    theirs, everyones = mine["Imaging lab (group A)"], programme["Imaging lab (group A)"]
    assert (theirs.uid, theirs.sequence, theirs.description) == (
        everyones.uid, everyones.sequence, everyones.description)
    # a plenary session is the same event, byte for byte, in both calendars
    blocks = [[b for b in p.read_bytes().split(b"BEGIN:VEVENT")
               if b"UID:sv-2024-stockholm.session.welcome@" in b]
              for p in (out / "programme.ics", person(out, "Piret"))]
    assert len(blocks[0]) == 1 and blocks[0] == blocks[1]


def test_travel_and_stay_carry_no_organizer_sessions_the_host_desk(out: Path) -> None:
    mine = events(person(out, "Piret"))
    for summary, event in mine.items():
        if summary.startswith(("Flight", "Train", "Stay")):
            assert event.organizer is None, summary
        else:
            assert event.organizer is not None, summary
            assert event.organizer.uri == f"mailto:{HOST_EMAIL}", summary
    assert {s.split(" ")[0] for s in mine} >= {"Flight", "Train", "Stay:"}


def test_the_page_shows_the_session_description_the_calendar_carries(out: Path) -> None:
    rows = page_rows(out)
    assert "Coffee from 09:15. Bring your badge." in row(rows, "Welcome")
    assert "Wear flat shoes in the lab." in row(rows, "Imaging lab (group A)")
    page = person(out, "Piret").with_suffix(".html").read_text(encoding="utf-8")
    assert "Coffee from 09:15.\nBring your badge." in html.unescape(page)  # its lines kept


def test_a_leg_across_zones_shows_each_zone_and_its_duration(out: Path) -> None:
    flight = row(page_rows(out), "SK1753")
    assert "07:05 (Europe/Tallinn) – 07:10 (Europe/Stockholm), 1 h 05" in flight
    train = row(page_rows(out), "Uppsala Central")
    assert "17:00 – 18:05, 1 h 05" in train
    assert "Europe/" not in train


def test_the_hotel_name_is_not_repeated_on_its_address_line(out: Path) -> None:
    page = person(out, "Piret").with_suffix(".html").read_text(encoding="utf-8")
    places = re.findall(r'<div class="place">(.*?)</div>', page)
    assert "Birger Jarlsgatan 1, Stockholm" in places
    assert not [p for p in places if "Hotel Birger" in p]
    assert "Check in: Hotel Birger" in html.unescape(page)


def test_a_second_export_of_the_same_data_gives_the_same_bytes(
        out: Path, run: Runner, workdir: Path) -> None:
    assert run("export", "--out", "again").code == 0
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again_root = workdir / "again" / PID
    again = {p.relative_to(again_root): p.read_bytes() for p in again_root.rglob("*")
             if p.is_file()}
    assert first == again
