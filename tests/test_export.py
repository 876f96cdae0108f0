"""`cxc export`: the calendars and itineraries, read back by code cxc did not write.

One story, told once through the real `cxc` script and a real SQLite store
(the module-scoped ``story`` fixture), then examined by every test:

1. load a study visit in Bucharest (27-30 October 2023, the clocks go back in
   the night of Sunday 29 October), plan it, export it into ``out``;
2. export the same store again into ``again`` (a later SOURCE_DATE_EPOCH);
3. move the Sunday session from 09:00 to 10:00, re-load, re-plan, export into ``moved``;
4. delete the closing lunch, re-load, re-plan, export into ``removed``.

The files are checked with the strict ``ical`` parser, ``vobject``'s
validator, khal (a real client), libical's RFC 5546 restriction check
(system ``python3-gi`` + ``gir1.2-ical-3.0``, skipped when missing) and
ical.js (Thunderbird's parser, skipped when missing), and byte by byte.
libical and ical.js get a second copy of each file whose TZIDs are renamed
("cxc-test-Europe/Bucharest"), so the UTC instants they give come from the
exported VTIMEZONEs and not from zone data of their own.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vobject  # type: ignore[import-untyped]
from conftest import CXC, Result, edit

REPO = Path(__file__).resolve().parents[1]
PRIVATE = "cxc-test-"
PRODID = "-//cxc//cxc programme manager//EN"
PID = "sv-2023-bucharest"
TITLE = "Medical devices in Bucharest"

# Export times (SOURCE_DATE_EPOCH) of the four exports of the story.
FIRST_EXPORT = datetime(2023, 10, 1, tzinfo=UTC)
SECOND_EXPORT = datetime(2023, 10, 2, tzinfo=UTC)
MOVE_EXPORT = datetime(2023, 10, 3, tzinfo=UTC)
REMOVE_EXPORT = datetime(2023, 10, 4, tzinfo=UTC)

PARTNERSHIP = """\
partnership:
  id: danube
  name: DANUBE - a test partnership of two health clusters
  funding: COSME
  start: 2023-01-01
  end: 2024-12-31
partners:
  - id: bucharest-health
    name: Bucharest Health Cluster
    country: RO
    city: Bucharest
    timezone: Europe/Bucharest
    contact:
      name: Ioana Radu
      email: ioana.radu@bucharest-health.example
      phone: "+40 21 555 0100"
  - id: lisbon-bio
    name: Lisbon Bio
    country: PT
    city: Lisbon
    timezone: Europe/Lisbon
"""

CLOSING = """\
  - id: closing
    title: Closing lunch
    kind: networking
    venue: palace
    start: 2023-10-30 12:00
    end: 2023-10-30 14:00
"""

EVIL_NAME = '../../etc/passwd\nEvil <script>alert(1)</script> "quoted"'

# Saturday 28 October is summer time in Bucharest (UTC+3), Sunday 29 winter time (UTC+2).
PROGRAMME = f"""\
programme:
  id: {PID}
  kind: study_visit
  title: {TITLE}
  host: bucharest-health
  city: Bucharest
  country: RO
  timezone: Europe/Bucharest
  start: 2023-10-27
  end: 2023-10-30
  status: confirmed
venues:
  - id: palace
    name: Palace of the Parliament
    address: "Strada Izvor 2-4, Bucharest"
    capacity: 100
    geo: [44.4275, 26.0875]
  - id: lab
    name: Devices lab
    address: "Splaiul Independentei 313, Bucharest"
    capacity: 10
  - id: clinic
    name: Floreasca clinic
    capacity: 10
sessions:
  - id: opening
    title: Opening of the study visit
    kind: meeting
    venue: palace
    start: 2023-10-28 09:00
    end: 2023-10-28 11:00
    organisations: [Bucharest Health Cluster]
  - id: lab-visit
    title: Visit to the devices lab (group A)
    kind: visit
    venue: lab
    slot: saturday-pm
    start: 2023-10-28 14:00
    end: 2023-10-28 16:00
  - id: clinic-visit
    title: Visit to the clinic (group B)
    kind: visit
    venue: clinic
    slot: saturday-pm
    start: 2023-10-28 14:00
    end: 2023-10-28 16:00
  - id: matchmaking
    title: Matchmaking with Romanian SMEs
    kind: networking
    venue: palace
    start: 2023-10-29 09:00
    end: 2023-10-29 12:00
{CLOSING}\
participants:
  - email: ines.marques@example.com
    name: Inês Marques
    organisation: Lisboa Devices Lda
    org_type: sme
    country: PT
    partner: lisbon-bio
    sessions: [lab-visit]
    travel:
      - mode: flight
        ref: RO392
        from: Lisbon (LIS)
        to: Bucharest (OTP)
        depart: 2023-10-27 10:00
        depart_timezone: Europe/Lisbon
        arrive: 2023-10-27 15:40
        arrive_timezone: Europe/Bucharest
      - mode: flight
        ref: RO391
        from: Bucharest (OTP)
        to: Lisbon (LIS)
        depart: 2023-10-30 17:00
        arrive: 2023-10-30 19:20
        arrive_timezone: Europe/Lisbon
    stay:
      name: Hotel Athenee
      address: "Strada Episcopiei 1-3, Bucharest"
      check_in: 2023-10-27
      check_out: 2023-10-30
  - email: evil@example.com
    name: "../../etc/passwd\\nEvil <script>alert(1)</script> \\"quoted\\""
    organisation: Evil SA
    org_type: sme
    country: PT
    partner: lisbon-bio
  - email: maria.popescu@example.com
    name: Maria Popescu
    organisation: Medro Lda
    org_type: sme
    country: PT
    partner: lisbon-bio
  - email: maria.popescu2@example.com
    name: Maria Popescu
    organisation: Biotech Lda
    org_type: startup
    country: PT
    partner: lisbon-bio
    sessions: [clinic-visit]
"""

MOVED = edit(PROGRAMME, "start: 2023-10-29 09:00", "start: 2023-10-29 10:00")
REMOVED = edit(MOVED, CLOSING, "")

INES = "ines.marques@example.com"
EVIL = "evil@example.com"
ORGANISATIONS = {
    "Lisboa Devices Lda": INES,
    "Evil SA": EVIL,
    "Medro Lda": "maria.popescu@example.com",
    "Biotech Lda": "maria.popescu2@example.com",
}
SESSIONS = {
    "opening": "Opening of the study visit",
    "lab-visit": "Visit to the devices lab (group A)",
    "clinic-visit": "Visit to the clinic (group B)",
    "matchmaking": "Matchmaking with Romanian SMEs",
    "closing": "Closing lunch",
}
PLENARY = {"opening", "matchmaking", "closing"}
SLOT = {"lab-visit", "clinic-visit"}
HOST_EMAIL = "ioana.radu@bucharest-health.example"


# --- the story ---------------------------------------------------------------


def cxc(cwd: Path, *args: str | Path, at: datetime | None = None) -> Result:
    """Run the installed ``cxc`` on the store in ``cwd``; ``at`` becomes SOURCE_DATE_EPOCH."""
    env = {k: v for k, v in os.environ.items() if k not in ("CXC_DB", "SOURCE_DATE_EPOCH")}
    env.update(NO_COLOR="1", COLUMNS="120")
    if at is not None:
        env["SOURCE_DATE_EPOCH"] = str(int(at.timestamp()))
    done = subprocess.run(
        [str(CXC), "--db", "cxc.db", *map(str, args)], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=120, check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr)
    assert result.code == 0, f"cxc {' '.join(map(str, args))}: {result.output}"
    return result


@dataclass(frozen=True)
class Story:
    root: Path
    out: Path
    """The first export."""
    again: Path
    """The same store exported again, later."""
    moved: Path
    """After the Sunday session moved to 10:00."""
    removed: Path
    """After the closing lunch was deleted."""
    placed: dict[str, set[str]]
    """email -> the slot sessions the plan placed them in."""

    @property
    def exports(self) -> list[Path]:
        return [self.out, self.again, self.moved, self.removed]

    def slugs(self, out: Path | None = None) -> dict[str, str]:
        """email -> slug, told apart by the organisation each page names."""
        folder = (out or self.out) / PID / "participants"
        found = {}
        for page in folder.glob("*.html"):
            text = page.read_text(encoding="utf-8")
            match = re.search(r"Itinerary of <strong>.*?</strong>, (.*?)</p>", text, re.DOTALL)
            assert match, page
            found[ORGANISATIONS[match.group(1)]] = page.stem
        return found

    def person(self, email: str, out: Path | None = None) -> Path:
        return (out or self.out) / PID / "participants" / f"{self.slugs(out)[email]}.ics"

    def programme(self, out: Path | None = None) -> Path:
        return (out or self.out) / PID / "programme.ics"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    root = tmp_path_factory.mktemp("export")
    (root / "partnership.yaml").write_text(PARTNERSHIP, encoding="utf-8")
    programme = root / "programme.yaml"
    programme.write_text(PROGRAMME, encoding="utf-8")

    cxc(root, "load", "partnership.yaml", "programme.yaml")
    plan = json.loads(cxc(root, "plan", "--format", "json").stdout)
    cxc(root, "export", "--out", "out", at=FIRST_EXPORT)
    cxc(root, "export", "--out", "again", at=SECOND_EXPORT)

    programme.write_text(MOVED, encoding="utf-8")
    cxc(root, "load", "partnership.yaml", "programme.yaml")
    cxc(root, "plan")
    cxc(root, "export", "--out", "moved", at=MOVE_EXPORT)

    programme.write_text(REMOVED, encoding="utf-8")
    cxc(root, "load", "partnership.yaml", "programme.yaml")
    cxc(root, "plan")
    cxc(root, "export", "--out", "removed", at=REMOVE_EXPORT)

    (planned,) = plan["programmes"]
    placed: dict[str, set[str]] = {}
    for session in planned["sessions"]:
        if session["slot"] is not None:
            for email in session["attendees"]:
                placed.setdefault(email, set()).add(session["id"])
    return Story(root, root / "out", root / "again", root / "moved", root / "removed", placed)


# --- reading the files -------------------------------------------------------


def files(out: Path, pattern: str = "*") -> dict[str, bytes]:
    """Relative path -> bytes of every file exported under ``out`` matching ``pattern``
    (``out/.cxc``, cxc's own lock and temporary files, left out)."""
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob(pattern))
            if p.is_file() and p.relative_to(out).parts[0] != ".cxc"}


def all_ics(story: Story) -> Iterator[tuple[str, bytes]]:
    for out in story.exports:
        for name, data in files(out, "*.ics").items():
            yield f"{out.name}/{name}", data


def unfolded(data: bytes) -> list[str]:
    return re.sub(r"\r\n[ \t]", "", data.decode("utf-8")).split("\r\n")[:-1]


def strict(data: bytes) -> Any:
    from ical.calendar_stream import IcsCalendarStream

    return IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))


def events(data: bytes) -> dict[str, Any]:
    """UID -> event, as the strict parser reads it (each UID once)."""
    parsed = strict(data).events
    by_uid = {e.uid: e for e in parsed}
    assert len(by_uid) == len(parsed), "a UID is used twice"
    return by_uid


def by_summary(data: bytes) -> dict[str, Any]:
    return {e.summary: e for e in events(data).values()}


def vevent_blocks(data: bytes) -> dict[str, str]:
    """UID -> the VEVENT's text as written (folded)."""
    found = {}
    for block in re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", data.decode("utf-8"),
                            re.DOTALL):
        (uid,) = [line[4:] for line in unfolded(block.encode()) if line.startswith("UID:")]
        found[uid] = block
    return found


def private_tzids(text: str) -> str:
    """``text`` with every TZID renamed, so a checker can only use the file's VTIMEZONEs."""
    return re.sub(r"(TZID[:=]|X-LIC-LOCATION:)", rf"\g<1>{PRIVATE}", text)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# --- parsers we did not write ------------------------------------------------


def test_every_calendar_parses_strictly_and_validates_with_vobject(story: Story) -> None:
    checked = 0
    for name, data in all_ics(story):
        text = data.decode("utf-8")
        calendar = strict(data)
        assert calendar.prodid == PRODID, name
        assert calendar.events, name
        parsed = vobject.readOne(text, validate=True)
        assert parsed.validate(raiseException=True), name
        assert len(parsed.vevent_list) == len(calendar.events), name
        checked += 1
    # programme.ics and four participants, in each of the four exports
    assert checked == 4 * 5


def test_every_event_has_uid_dtstamp_sequence_status_and_each_session_the_host_as_organizer(
        story: Story) -> None:
    for name, data in all_ics(story):
        for uid, event in events(data).items():
            assert uid.strip(), name
            assert event.dtstamp.utcoffset() == timedelta(0), (name, uid)
            assert event.sequence is not None and event.sequence >= 0, (name, uid)
            assert event.status is not None, (name, uid)
            if ".session." not in uid:  # the person's own journey or stay: not the host's
                assert event.organizer is None, (name, uid)
                continue
            assert event.organizer is not None, (name, uid)
            assert event.organizer.uri == f"mailto:{HOST_EMAIL}", (name, uid)
            assert "Ioana Radu" in event.organizer.common_name, (name, uid)


def test_files_are_crlf_folded_at_75_octets_with_fixed_prodid_no_method_no_attendee(
        story: Story) -> None:
    folded = 0
    for name, data in all_ics(story):
        assert data.endswith(b"\r\n"), name
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r"), name
        for raw in data.split(b"\r\n")[:-1]:
            assert len(raw) <= 75, (name, raw)
            raw.decode("utf-8")  # a fold never splits a character
            folded += raw.startswith(b" ")
        lines = unfolded(data)
        assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR", name
        assert "VERSION:2.0" in lines, name
        assert [line for line in lines if line.startswith("PRODID")] == [f"PRODID:{PRODID}"]
        # no METHOD: PUBLISH would need an ORGANIZER on the person's own journeys and stay
        assert not [line for line in lines if line.startswith("METHOD")], name
        assert not [line for line in lines if line.startswith("ATTENDEE")], name
        assert not [line for line in lines if re.fullmatch(r"[A-Z-]+(;[^:]*)?:", line)], name
    assert folded > 0  # long lines were there to fold


def test_one_rrule_vtimezone_for_every_tzid_used_before_the_events(story: Story) -> None:
    from icalendar import Calendar

    seen: set[str] = set()
    for name, data in all_ics(story):
        cal = Calendar.from_ical(data)
        assert cal.get_missing_tzids() == set(), name
        lines = unfolded(data)
        used = {m for line in lines for m in re.findall(r";TZID=([^;:]+)", line)}
        defined = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
        assert sorted(defined) == sorted(used), name  # each once, none unused
        names = [c.name for c in cal.subcomponents]
        assert names == sorted(names, key=lambda n: n != "VTIMEZONE"), name
        for tz in cal.walk("VTIMEZONE"):
            text = tz.to_ical().decode()
            tz_lines = unfolded(tz.to_ical())
            assert "RDATE" not in text and "COMMENT" not in text, (name, tz["TZID"])
            assert tz_lines.count("BEGIN:STANDARD") == tz_lines.count("BEGIN:DAYLIGHT") == 1
            assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in tz_lines, name
            assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in tz_lines, name
        seen |= used
    assert seen == {"Europe/Bucharest", "Europe/Lisbon"}


# --- the instants ------------------------------------------------------------


def test_sessions_either_side_of_the_october_change_are_at_their_utc_instants(
        story: Story) -> None:
    for path in (story.programme(), story.person(INES)):
        found = by_summary(path.read_bytes())
        saturday = found[SESSIONS["opening"]]
        sunday = found[SESSIONS["matchmaking"]]
        assert utc(saturday.dtstart) == datetime(2023, 10, 28, 6, 0, tzinfo=UTC)  # EEST, +3
        assert utc(sunday.dtstart) == datetime(2023, 10, 29, 7, 0, tzinfo=UTC)  # EET, +2
        lines = unfolded(path.read_bytes())
        assert "DTSTART;TZID=Europe/Bucharest:20231028T090000" in lines
        assert "DTSTART;TZID=Europe/Bucharest:20231029T090000" in lines


def test_travel_leg_departs_and_arrives_in_its_own_zones(story: Story) -> None:
    data = story.person(INES).read_bytes()
    (leg,) = [e for e in events(data).values() if "RO392" in e.summary]
    assert utc(leg.dtstart) == datetime(2023, 10, 27, 9, 0, tzinfo=UTC)
    assert utc(leg.dtend) == datetime(2023, 10, 27, 12, 40, tzinfo=UTC)
    assert str(leg.dtstart.tzinfo) == "Europe/Lisbon"
    assert str(leg.dtend.tzinfo) == "Europe/Bucharest"
    lines = unfolded(data)
    assert "DTSTART;TZID=Europe/Lisbon:20231027T100000" in lines
    assert "DTEND;TZID=Europe/Bucharest:20231027T154000" in lines


# --- what a participant's calendar holds -------------------------------------


def test_each_participant_gets_every_plenary_and_only_their_placed_session(
        story: Story) -> None:
    programme = {e.summary: uid for uid, e in events(story.programme().read_bytes()).items()}
    assert set(programme) == set(SESSIONS.values())
    titles = {title: sid for sid, title in SESSIONS.items()}
    slugs = story.slugs()
    assert set(slugs) == set(ORGANISATIONS.values()) == set(story.placed)
    for email in slugs:
        (placed,) = story.placed[email]  # one session in the one slot
        found = events(story.person(email).read_bytes())
        sessions = {titles[e.summary]: uid for uid, e in found.items() if e.summary in titles}
        assert set(sessions) == PLENARY | {placed}, email
        assert len(set(sessions) & SLOT) == 1, email
        assert all(programme[SESSIONS[sid]] == uid for sid, uid in sessions.items())
    assert story.placed[INES] == {"lab-visit"}  # their own choices
    assert story.placed["maria.popescu2@example.com"] == {"clinic-visit"}


def test_stay_is_an_all_day_transparent_event_ending_on_check_out(story: Story) -> None:
    data = story.person(INES).read_bytes()
    (stay,) = [e for e in events(data).values() if "Hotel Athenee" in e.summary]
    assert type(stay.dtstart) is date and type(stay.dtend) is date
    assert (stay.dtstart, stay.dtend) == (date(2023, 10, 27), date(2023, 10, 30))
    assert stay.transparency == "TRANSPARENT"
    assert "Strada Episcopiei 1-3" in stay.location
    lines = unfolded(data)
    assert "DTSTART;VALUE=DATE:20231027" in lines
    assert "DTEND;VALUE=DATE:20231030" in lines


def test_travel_has_a_display_alarm_before_departure(story: Story) -> None:
    found = events(story.person(INES).read_bytes())
    legs = [e for e in found.values() if e.summary.startswith("Flight")]
    assert len(legs) == 2
    for leg in legs:
        (alarm,) = leg.alarm
        assert alarm.action == "DISPLAY"
        assert isinstance(alarm.trigger, timedelta) and alarm.trigger < timedelta(0)
    text = story.person(INES).read_bytes().decode()
    assert text.count("BEGIN:VALARM") == text.count("TRIGGER:-") == 2


def test_venue_geo_is_written_with_a_semicolon(story: Story) -> None:
    data = story.person(INES).read_bytes()
    found = by_summary(data)
    opening = found[SESSIONS["opening"]]
    assert (opening.geo.lat, opening.geo.lng) == (44.4275, 26.0875)
    assert found[SESSIONS["lab-visit"]].geo is None  # its venue has no coordinates
    geo = [line for line in unfolded(data) if line.startswith("GEO")]
    assert geo and set(geo) == {"GEO:44.4275;26.0875"}
    assert opening.location == "Palace of the Parliament, Strada Izvor 2-4, Bucharest"


# --- the update story --------------------------------------------------------


def test_each_calendar_is_exactly_what_icalendar_writes_for_it(story: Story) -> None:
    """cxc joins the bytes icalendar gave for each event (encoded once per programme):
    the file must be what icalendar writes for the whole calendar it holds."""
    from icalendar import Calendar

    checked = [name for name, data in all_ics(story)
               if Calendar.from_ical(data).to_ical() == data]
    assert checked == [name for name, _ in all_ics(story)]


def test_exporting_the_same_store_again_gives_the_same_bytes(story: Story) -> None:
    first, second = files(story.out), files(story.again)
    assert sorted(first) == sorted(second)
    assert len(first) == 1 + 2 * 4 + 1  # programme.ics, four people, participants.csv
    assert [name for name in first if first[name] != second[name]] == []
    stamp = FIRST_EXPORT.strftime("DTSTAMP:%Y%m%dT%H%M%SZ")
    assert {line for line in unfolded(first[f"{PID}/programme.ics"])
            if line.startswith("DTSTAMP")} == {stamp}


def test_moved_session_keeps_its_uid_and_raises_its_sequence(story: Story) -> None:
    for before_path, after_path in [(story.programme(), story.programme(story.moved)),
                                    (story.person(INES), story.person(INES, story.moved))]:
        before, after = events(before_path.read_bytes()), events(after_path.read_bytes())
        assert set(after) == set(before)  # same UIDs: nothing new, nothing lost
        (uid,) = [u for u, e in before.items() if e.summary == SESSIONS["matchmaking"]]
        assert after[uid].sequence == before[uid].sequence + 1
        assert utc(after[uid].dtstart) == datetime(2023, 10, 29, 8, 0, tzinfo=UTC)
        assert utc(after[uid].dtstamp) == MOVE_EXPORT
        blocks_before = vevent_blocks(before_path.read_bytes())
        blocks_after = vevent_blocks(after_path.read_bytes())
        for other in set(before) - {uid}:
            assert after[other].sequence == before[other].sequence == 0
            assert utc(after[other].dtstamp) == FIRST_EXPORT
            assert blocks_after[other] == blocks_before[other]


def test_removed_session_comes_back_cancelled_with_the_same_uid(story: Story) -> None:
    from ical.event import EventStatus

    calendars = [(story.programme(story.moved), story.programme(story.removed))]
    calendars += [(story.person(email, story.moved), story.person(email, story.removed))
                  for email in ORGANISATIONS.values()]
    for before_path, after_path in calendars:
        before, after = events(before_path.read_bytes()), events(after_path.read_bytes())
        assert set(after) == set(before), after_path
        (uid,) = [u for u, e in before.items() if e.summary == SESSIONS["closing"]]
        assert before[uid].status == EventStatus.CONFIRMED
        assert after[uid].status == EventStatus.CANCELLED, after_path
        assert after[uid].sequence == before[uid].sequence + 1
        for other in set(before) - {uid}:  # the moved session keeps the SEQUENCE it got
            assert after[other].sequence == before[other].sequence, (after_path, other)
            assert after[other].status == EventStatus.CONFIRMED
    assert "STATUS:CANCELLED" in unfolded(story.programme(story.removed).read_bytes())
    page = story.person(INES, story.removed).with_suffix(".html").read_text(encoding="utf-8")
    assert SESSIONS["closing"] not in page


# --- khal ---------------------------------------------------------------------


def test_khal_imports_the_itinerary_and_updates_it_on_reimport(
        story: Story, tmp_path: Path) -> None:
    khal = Path(sys.executable).with_name("khal")
    assert khal.exists(), f"{khal} is not installed: pip install khal"
    folder = tmp_path / "calendars" / "cxc"
    folder.mkdir(parents=True)
    config = tmp_path / "khal.conf"
    config.write_text(f"""\
[calendars]
[[cxc]]
path = {folder}
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
default_timezone = Europe/Bucharest
local_timezone = Europe/Bucharest
[sqlite]
path = {tmp_path / "khal.db"}
""")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path)}

    def khal_run(*args: str | Path) -> str:
        done = subprocess.run([str(khal), "-c", str(config), *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def imported(path: Path) -> list[str]:
        khal_run("import", "--batch", "-a", "cxc", path)
        assert len(list(folder.glob("*.ics"))) == 7  # one file a UID, never a second copy
        listed = khal_run("list", "--once", "--day-format", "",
                          "--format", "{start} {cancelled}{title}", "2023-10-26", "6d")
        return listed.splitlines()

    expected = [
        "2023-10-27 Stay: Hotel Athenee",
        "2023-10-27 12:00 Flight RO392 Lisbon (LIS) → Bucharest (OTP)",  # 10:00 in Lisbon
        "2023-10-28 09:00 Opening of the study visit",
        "2023-10-28 14:00 Visit to the devices lab (group A)",
        "2023-10-29 09:00 Matchmaking with Romanian SMEs",
        "2023-10-30 12:00 Closing lunch",
        "2023-10-30 17:00 Flight RO391 Bucharest (OTP) → Lisbon (LIS)",
    ]
    assert imported(story.person(INES)) == expected
    moved = [line.replace("2023-10-29 09:00", "2023-10-29 10:00") for line in expected]
    assert imported(story.person(INES, story.moved)) == moved
    removed = [line.replace("12:00 Closing", "12:00 CANCELLED Closing") for line in moved]
    assert imported(story.person(INES, story.removed)) == removed


# --- libical ------------------------------------------------------------------

LIBICAL_SCRIPT = r"""
import json, sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as I

out = []
for text in json.load(sys.stdin):
    root = I.Component.new_from_string(text)
    I.restriction_check(root)
    flat = root.as_ical_string().replace("\r\n", "\n").replace("\n ", "")
    errors = [line for line in flat.splitlines() if "X-LIC-ERROR" in line]
    events = {}
    event = root.get_first_component(I.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        start, end = event.get_dtstart(), event.get_dtend()
        events[event.get_uid()] = [start.as_timet_with_zone(start.get_timezone()),
                                   end.as_timet_with_zone(end.get_timezone()), start.is_date()]
        event = root.get_next_component(I.ComponentKind.VEVENT_COMPONENT)
    out.append({"errors": errors, "events": events})
json.dump(out, sys.stdout)
"""


def libical(texts: list[str]) -> list[dict[str, Any]]:
    """For each text: libical's X-LIC-ERROR lines after the restriction check, event instants."""
    python = "/usr/bin/python3"
    probe = [python, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"]
    if not os.path.exists(python) or subprocess.run(probe, capture_output=True, check=False).returncode:
        pytest.skip("libical GObject bindings missing: apt-get install gir1.2-ical-3.0 python3-gi")
    done = subprocess.run([python, "-c", LIBICAL_SCRIPT], input=json.dumps(texts),
                          capture_output=True, text=True, check=True)
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def publish(text: str) -> str:
    return text.replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:PUBLISH\r\n", 1)


def expected_instants(data: bytes) -> dict[str, list[int]]:
    """UID -> [start, end] in epoch seconds of every timed event, by the strict parser (zoneinfo)."""
    return {uid: [int(e.dtstart.timestamp()), int(e.dtend.timestamp())]
            for uid, e in events(data).items() if isinstance(e.dtstart, datetime)}


def test_libical_restriction_check_passes_and_vtimezones_give_the_instants(
        story: Story) -> None:
    exported = files(story.out, "*.ics")
    texts = [d.decode("utf-8") for d in exported.values()]
    # libical applies the RFC 5546 tables only under a METHOD: as PUBLISH too every file
    # whose events all have an ORGANIZER (PUBLISH demands one, and a person's own journeys
    # and stay have none: which is why cxc writes no METHOD), then a control (ORGANIZER
    # turned into ATTENDEE) that the check must reject.
    organised = {name: text for name, text in zip(exported, texts, strict=True)
                 if text.count("BEGIN:VEVENT") == text.count("\r\nORGANIZER;")}
    assert f"{PID}/programme.ics" in organised and len(organised) < len(texts)
    ines = story.person(INES).relative_to(story.out).as_posix()
    control = publish(texts[0]).replace("ORGANIZER;", "ATTENDEE;")
    results = libical(texts + [publish(t) for t in organised.values()]
                      + [private_tzids(t) for t in texts] + [control, publish(exported[ines]
                                                                              .decode())])
    n, k = len(texts), len(organised)
    for name, result in zip([*exported, *organised], results[:n + k], strict=True):
        assert result["errors"] == [], name
    assert any("ORGANIZER" in line for line in results[-1]["errors"])  # PUBLISH needs it
    results = results[:n] + results[n + k:]
    assert any("ATTENDEE" in line for line in results[-2]["errors"])
    assert any("ORGANIZER" in line for line in results[-2]["errors"])
    for (name, data), result in zip(exported.items(), results[n:2 * n], strict=True):
        got = {uid: times[:2] for uid, times in result["events"].items() if not times[2]}
        assert got == expected_instants(data), name
    leg_events = results[n + list(exported).index(ines)]["events"]
    (leg,) = [v for k, v in leg_events.items() if k.endswith(".0@cxc.invalid") and ".travel." in k]
    assert leg[:2] == [int(datetime(2023, 10, 27, 9, 0, tzinfo=UTC).timestamp()),
                       int(datetime(2023, 10, 27, 12, 40, tzinfo=UTC).timestamp())]


# --- ical.js ------------------------------------------------------------------

ICALJS_SCRIPT = r"""
import fs from "node:fs";
import { pathToFileURL } from "node:url";
const ICAL = (await import(pathToFileURL(process.argv[2]).href)).default;
const out = [];
for (const text of JSON.parse(fs.readFileSync(0, "utf8"))) {
  ICAL.TimezoneService.reset();
  const root = new ICAL.Component(ICAL.parse(text));
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  }
  const events = {};
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    events[event.uid] = [event.startDate.toUnixTime(), event.endDate.toUnixTime(),
                         event.startDate.isDate];
  }
  out.push(events);
}
process.stdout.write(JSON.stringify(out));
"""


def icaljs(workdir: Path, texts: list[str]) -> list[dict[str, list[Any]]]:
    """For each text: UID -> [start, end, is a date] as ical.js reads them."""
    library = Path(os.environ.get(
        "CXC_ICALJS", REPO / ".cache/icaljs/node_modules/ical.js/dist/ical.js"
    ))
    node = shutil.which("node")
    if node is None or not library.is_file():
        pytest.skip("ical.js missing: npm install --prefix .cache/icaljs ical.js@2")
    script = workdir / "check.mjs"
    script.write_text(ICALJS_SCRIPT)
    done = subprocess.run([node, str(script), str(library)], input=json.dumps(texts),
                          capture_output=True, text=True, check=True)
    result: list[dict[str, list[Any]]] = json.loads(done.stdout)
    return result


def test_icaljs_parses_every_file_and_its_vtimezones_give_the_instants(
        story: Story, tmp_path: Path) -> None:
    exported = dict(all_ics(story))
    texts = [d.decode("utf-8") for d in exported.values()]
    results = icaljs(tmp_path, texts + [private_tzids(t) for t in texts])
    n = len(texts)
    for (name, data), plain, private in zip(exported.items(), results[:n], results[n:],
                                            strict=True):
        assert set(plain) == set(private) == set(events(data)), name
        got = {uid: times[:2] for uid, times in private.items() if not times[2]}
        assert got == expected_instants(data), name
    ines = results[n + list(exported).index(
        "out/" + story.person(INES).relative_to(story.out).as_posix())]
    by_title = {e.summary: ines[uid] for uid, e in events(story.person(INES).read_bytes()).items()}
    assert by_title[SESSIONS["opening"]][0] == datetime(2023, 10, 28, 6, tzinfo=UTC).timestamp()
    assert by_title[SESSIONS["matchmaking"]][0] == datetime(
        2023, 10, 29, 7, tzinfo=UTC).timestamp()


# --- safety -------------------------------------------------------------------


def test_hostile_name_stays_inside_the_folder_and_is_escaped(story: Story) -> None:
    participants = (story.out / PID / "participants").resolve()
    for out in story.exports:
        for path in out.rglob("*"):
            assert not path.is_symlink(), path
            assert path.resolve().is_relative_to(out.resolve()), path
        for path in (out / PID / "participants").iterdir():
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]*\.(ics|html)", path.name), path
    # nothing was written beside the export folders (but the lock of exports of the store)
    assert sorted(p.name for p in story.root.iterdir()) == sorted(
        ["partnership.yaml", "programme.yaml", "cxc.db", "cxc.db-export.lock",
         "out", "again", "moved", "removed"])

    slug = story.slugs()[EVIL]
    assert (participants / f"{slug}.ics").resolve().parent == participants
    page = (participants / f"{slug}.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert '"quoted"' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert EVIL_NAME in html.unescape(page)

    data = (participants / f"{slug}.ics").read_bytes()
    strict(data)
    parsed = vobject.readOne(data.decode("utf-8"), validate=True)
    for key in ("name", "x-wr-calname"):
        assert [p.value for p in parsed.contents[key]] == [f"{TITLE}: {EVIL_NAME}"]


def test_two_people_with_the_same_name_get_two_files(story: Story) -> None:
    slugs = story.slugs()
    first, second = slugs["maria.popescu@example.com"], slugs["maria.popescu2@example.com"]
    assert first != second
    assert first.startswith("maria-popescu") and second.startswith("maria-popescu")
    assert len(set(slugs.values())) == len(slugs) == 4
    participants = story.out / PID / "participants"
    assert sorted(p.name for p in participants.iterdir()) == sorted(
        f"{s}.{ext}" for s in slugs.values() for ext in ("ics", "html"))


def test_export_is_owner_only_and_leaves_no_temporary_files(story: Story) -> None:
    for out in story.exports:
        for path in [out, *out.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
            if path.relative_to(out).parts[:1] != (".cxc",):  # cxc's own: a lock, temporary files
                assert not path.name.startswith(".") and not path.name.endswith(".tmp"), path
        assert {p.relative_to(out / ".cxc").as_posix() for p in (out / ".cxc").rglob("*")} == {
            "lock", "tmp"}


# --- the printable page ------------------------------------------------------


def test_one_printable_page_per_participant(story: Story) -> None:
    slugs = story.slugs()
    names = {INES: "Inês Marques", EVIL: EVIL_NAME, "maria.popescu@example.com": "Maria Popescu",
             "maria.popescu2@example.com": "Maria Popescu"}
    assert len(slugs) == len(names)
    for email, slug in slugs.items():
        page = (story.out / PID / "participants" / f"{slug}.html").read_text(encoding="utf-8")
        assert page.count("<html") == 1
        assert f"Itinerary of <strong>{names[email]}</strong>" in html.unescape(page)
        assert "@media print" in page
        assert "Ioana Radu" in page and HOST_EMAIL in page and "+40 21 555 0100" in page
        placed = SESSIONS[next(iter(story.placed[email]))]
        other = SESSIONS[next(iter(SLOT - story.placed[email]))]
        assert placed in page and other not in page


def test_itinerary_shows_days_sessions_venues_travel_stay_and_host(story: Story) -> None:
    page = story.person(INES).with_suffix(".html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ["Friday 27 October 2023", "Saturday 28 October 2023",
                        "Sunday 29 October 2023", "Monday 30 October 2023"]
    days = dict(zip(headings, re.split(r"<h2>.*?</h2>", page)[1:], strict=True))

    friday = days["Friday 27 October 2023"]
    assert "RO392" in friday and "Lisbon (LIS)" in friday and "Bucharest (OTP)" in friday
    assert "10:00" in friday and "15:40" in friday  # each end in its own local time
    assert "Hotel Athenee" in friday and "Strada Episcopiei 1-3, Bucharest" in friday

    saturday = days["Saturday 28 October 2023"]
    for text in (SESSIONS["opening"], "09:00", "Palace of the Parliament",
                 "Strada Izvor 2-4, Bucharest", SESSIONS["lab-visit"], "14:00",
                 "Devices lab", "Splaiul Independentei 313, Bucharest"):
        assert text in saturday, text
    assert saturday.index(SESSIONS["opening"]) < saturday.index(SESSIONS["lab-visit"])
    assert SESSIONS["clinic-visit"] not in page

    sunday = days["Sunday 29 October 2023"]
    assert SESSIONS["matchmaking"] in sunday and "09:00" in sunday

    monday = days["Monday 30 October 2023"]
    assert SESSIONS["closing"] in monday and "RO391" in monday and "Hotel Athenee" in monday
    assert monday.index(SESSIONS["closing"]) < monday.index("RO391")

    footer = page[page.index("<footer"):]
    assert "Bucharest Health Cluster" in footer and "Ioana Radu" in footer
    assert f"mailto:{HOST_EMAIL}" in footer and "+40 21 555 0100" in footer
    assert re.search(r"@media print\s*{", page)
