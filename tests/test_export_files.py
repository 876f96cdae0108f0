"""`cxc export` and the files in DIR: only its own, only when they change, one history.

Stories told with the real `cxc` script on a real SQLite store (the valid
partnership and Cluster Exchange of conftest), always planned before export:

* files that are not cxc's (``random.txt``, other programs' temporary files
  such as ``.notes.abcdefgh.tmp``, at any depth of DIR) survive every export
  byte for byte, while the temporary file a killed export left in cxc's own
  folder (``DIR/.cxc/tmp``) is removed by the next export;
* a file whose bytes do not change is not rewritten: it keeps its
  modification time, so a copy to a web server moves only what changed;
* two exports of one store at the same moment, into two folders, take turns:
  one SEQUENCE of an event always means one content, and the store's history
  is that of the files;
* SEQUENCE goes up by one for any change a client shows (description, URL,
  organisations, organiser), for the events concerned only.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from conftest import (
    CXC,
    PARTNERSHIP,
    PROGRAMME,
    PROGRAMME_ID,
    Runner,
    edit,
    other_programme,
    participant_yaml,
)

Write = Callable[[str, str], Path]

EPOCH = 1_735_689_600
"""SOURCE_DATE_EPOCH of the first export (1 January 2025)."""
LATER = EPOCH + 86_400
OLD_NS = 1_000_000_000 * 1_000_000_000
"""A modification time long past (September 2001), in nanoseconds."""

SECOND_ID = "ddd-2024-tallinn"
SECOND = other_programme(SECOND_ID, host="tallinn-med",
                         participants=participant_yaml("piret.kuusk@example.com",
                                                       partner="tallinn-med"))
"""A second programme, hosted by a partner with no contact: what changes in the first
leaves it alone."""


def uid(session: str, programme: str = PROGRAMME_ID) -> str:
    return f"{programme}.session.{session}@cxc.invalid"


# -- the story's steps ---------------------------------------------------------------------------


def plan(run_cxc: Runner, write: Write, programme: str = PROGRAMME, *,
         partnership: str = PARTNERSHIP, second: str | None = None) -> None:
    """Write the files, and `cxc plan` them (which loads them): the store is ready to export."""
    paths = [write("partnership.yaml", partnership), write("programme.yaml", programme)]
    if second is not None:
        paths.append(write("second.yaml", second))
    done = run_cxc("plan", *paths)
    assert done.code == 0, done.output


def export(run_cxc: Runner, out: Path, monkeypatch: pytest.MonkeyPatch,
           epoch: int = EPOCH) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    done = run_cxc("export", "--out", out)
    assert done.code == 0, done.output


def files(out: Path) -> dict[Path, bytes]:
    """Every file under ``out``, cxc's own or not."""
    return {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def calendars(out: Path) -> dict[str, bytes]:
    """The calendars cxc exported (``DIR/.cxc`` left out), by path relative to ``out``."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.ics"))
            if ".cxc" not in p.relative_to(out).parts}


def vevents(data: bytes) -> dict[str, tuple[int, bytes]]:
    """UID -> (SEQUENCE, the whole VEVENT as icalendar writes it), read with icalendar."""
    from icalendar import Calendar

    found: dict[str, tuple[int, bytes]] = {}
    for event in Calendar.from_ical(data).walk("VEVENT"):
        key = str(event["UID"])
        assert key not in found, f"{key} twice in one calendar"
        found[key] = (int(event["SEQUENCE"]), bytes(event.to_ical()))
    return found


def sequences(out: Path) -> dict[tuple[str, str], int]:
    """(calendar, UID) -> SEQUENCE, for every event of every calendar under ``out``."""
    return {(name, key): seq for name, data in calendars(out).items()
            for key, (seq, _) in vevents(data).items()}


# -- 1. nothing in DIR but cxc's own files -------------------------------------------------------


def foreign_files(out: Path) -> dict[Path, bytes]:
    """Files of other programs in DIR, some named as editors name their temporary files."""
    return {
        out / "random.txt": b"the user's own notes\n",
        out / ".notes.abcdefgh.tmp": b"an editor's temporary file\n",
        out / PROGRAMME_ID / ".notes.abcdefgh.tmp": b"beside the programme's calendar\n",
        out / PROGRAMME_ID / "participants" / ".notes.abcdefgh.tmp": b"among the itineraries\n",
        out / PROGRAMME_ID / "participants" / ".ana-garcia.ics.abcdefgh.tmp": b"like cxc's own\n",
        out / "photos" / "2024" / ".notes.abcdefgh.tmp": b"deep in a folder of the user\n",
        out / "photos" / "2024" / ".notes.12345678.tmp": b"",
    }


def test_export_leaves_every_file_it_did_not_write_as_it_was(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = workdir / "out"
    foreign = foreign_files(out)
    for path, data in foreign.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(OLD_NS, OLD_NS))
    plan(run_cxc, write)

    export(run_cxc, out, monkeypatch)
    # and again, after a change: every calendar is rewritten beside the foreign files
    plan(run_cxc, write, edit(PROGRAMME, "Welcome and tour", "Welcome and a tour"))
    export(run_cxc, out, monkeypatch, LATER)

    for path, data in foreign.items():
        assert path.read_bytes() == data, path
        assert path.stat().st_mtime_ns == OLD_NS, path
    assert (out / PROGRAMME_ID / "programme.ics").read_bytes().count(b"Welcome and a tour") == 1
    assert len(calendars(out)) == 7
    # what cxc itself keeps in DIR is in one folder of its own, owner-only, and has no leftovers
    own = {p for p in out.rglob("*") if p not in foreign and p.is_file()
           and not p.name.endswith((".ics", ".html")) and p.name != "participants.csv"}
    assert all(p.relative_to(out).parts[0] == ".cxc" for p in own), own
    assert (out / ".cxc").stat().st_mode & 0o077 == 0
    assert list((out / ".cxc" / "tmp").iterdir()) == []


def test_the_next_export_removes_what_a_killed_export_left_in_its_own_folder(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = workdir / "out"
    plan(run_cxc, write)
    export(run_cxc, out, monkeypatch)
    before = calendars(out)
    # a cxc export killed between writing a temporary file and renaming it into place
    leftover = out / ".cxc" / "tmp" / ".cxc-export-k2x9_q7m.tmp"
    leftover.write_bytes(before[f"{PROGRAMME_ID}/programme.ics"][:100])

    export(run_cxc, out, monkeypatch)

    assert not leftover.exists()
    assert list((out / ".cxc" / "tmp").iterdir()) == []
    assert calendars(out) == before


def test_export_refuses_a_cxc_folder_that_is_a_link_to_another_folder(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DIR/.cxc`` made a link elsewhere: cxc would clean and write there; it refuses instead."""
    elsewhere = workdir / "elsewhere"
    (elsewhere / "tmp").mkdir(parents=True)
    theirs = elsewhere / "tmp" / ".cxc-export-abcdefgh.tmp"
    theirs.write_bytes(b"not cxc's\n")
    out = workdir / "out"
    out.mkdir()
    (out / ".cxc").symlink_to(elsewhere)
    plan(run_cxc, write)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))

    done = run_cxc("export", "--out", out)

    assert done.code == 2, done.output
    assert "out/.cxc: refused" in done.stderr and "Traceback" not in done.stderr
    assert theirs.read_bytes() == b"not cxc's\n"
    assert sorted(p.name for p in elsewhere.rglob("*")) == sorted(["tmp", theirs.name])
    assert sorted(p.name for p in out.iterdir()) == [".cxc"]


# -- 2. only the files whose bytes change are rewritten ------------------------------------------


def test_export_rewrites_only_the_files_whose_bytes_change(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = workdir / "out"
    plan(run_cxc, write)
    export(run_cxc, out, monkeypatch)
    first = files(out)
    for path in first:
        os.utime(path, ns=(OLD_NS, OLD_NS))

    export(run_cxc, out, monkeypatch)  # the same data, the same time

    assert files(out) == first
    assert {p for p in first if p.stat().st_mtime_ns != OLD_NS} == set()

    # one parallel session's title changes: its calendar entries and pages change, no others
    attendees = [p for p in (out / PROGRAMME_ID / "participants").glob("*.ics")
                 if uid("lab-a") in vevents(p.read_bytes())]
    assert 0 < len(attendees) < 6
    plan(run_cxc, write, edit(PROGRAMME, "AI in medical imaging (group A)",
                              "AI in medical imaging and radiology (group A)"))
    export(run_cxc, out, monkeypatch, LATER)

    now = files(out)
    assert set(now) == set(first)
    changed = {p for p in now if p.stat().st_mtime_ns != OLD_NS}
    assert changed == {out / PROGRAMME_ID / "programme.ics", *attendees,
                       *(p.with_suffix(".html") for p in attendees)}
    assert {p for p in now if now[p] != first[p]} == changed
    for path in attendees:
        assert b"AI in medical imaging and radiology" in now[path]


def test_an_unchanged_file_made_readable_by_others_is_made_owner_only_again_in_place(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = workdir / "out"
    plan(run_cxc, write)
    export(run_cxc, out, monkeypatch)
    calendar = out / PROGRAMME_ID / "programme.ics"
    calendar.chmod(0o644)
    os.utime(calendar, ns=(OLD_NS, OLD_NS))

    export(run_cxc, out, monkeypatch)

    assert calendar.stat().st_mode & 0o777 == 0o600
    assert calendar.stat().st_mtime_ns == OLD_NS


# -- 3. two exports of one store at once keep one history ----------------------------------------


def start_export(db: Path, out: Path, epoch: int, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    return subprocess.Popen([str(CXC), "--db", str(db), "export", "--out", str(out)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def test_two_exports_at_once_into_two_folders_never_give_one_sequence_two_contents(
    run_cxc: Runner, write: Write, workdir: Path, db: Path,
) -> None:
    from icalendar import Calendar

    one, two = workdir / "one", workdir / "two"
    versions: dict[tuple[str, int], set[bytes]] = {}  # across every calendar of both folders
    for round_ in range(6):
        plan(run_cxc, write, edit(PROGRAMME, "Welcome and tour of the campus",
                                  f"Welcome and tour of the campus ({round_})"))
        # two clocks a minute apart, as two exports started by two people or two jobs
        epoch = EPOCH + 3600 * round_
        processes = [start_export(db, one, epoch, workdir),
                     start_export(db, two, epoch + 60, workdir)]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        for out in (one, two):
            for data in calendars(out).values():
                for key, (seq, body) in vevents(data).items():
                    versions.setdefault((key, seq), set()).add(body)

    twice = {version: len(bodies) for version, bodies in versions.items() if len(bodies) > 1}
    assert twice == {}, "one SEQUENCE of an event was sent with two contents"
    welcome = {seq for key, seq in versions if key == uid("welcome")}
    assert welcome == set(range(6))

    # the history in the store is what the last files say
    conn = sqlite3.connect(db)
    try:
        paths = dict(conn.execute("SELECT calendar, path FROM exported_calendars").fetchall())
        history: dict[str, dict[str, tuple[int, str]]] = {}
        for calendar, key, seq, stamp in conn.execute(
                "SELECT calendar, uid, sequence, stamp FROM exported_events"):
            history.setdefault(paths[calendar], {})[key] = (seq, stamp)
    finally:
        conn.close()
    for out in (one, two):
        sent = calendars(out)
        assert set(sent) == set(history)
        for name, data in sent.items():
            found = {str(e["UID"]): (int(e["SEQUENCE"]), e.decoded("DTSTAMP"))
                     for e in Calendar.from_ical(data).walk("VEVENT")}
            assert found == {k: (seq, datetime.fromisoformat(stamp))
                             for k, (seq, stamp) in history[name].items()}, (out, name)


# -- 4. SEQUENCE goes up for any change a client shows -------------------------------------------


def _contact(text: str) -> str:
    return edit(text, "email: desk@lille-health.example", "email: visits@lille-health.example")


CHANGES: dict[str, tuple[Callable[[str], str], Callable[[str], str], Callable[[str], bool]]] = {
    # name: (change to the programme, change to the partnership, which UIDs it concerns)
    "description": (
        lambda p: edit(p, "    venue: campus\n    start: 2024-03-28 09:30",
                       "    venue: campus\n    description: Coffee at the entrance.\n"
                       "    start: 2024-03-28 09:30"),
        lambda t: t, lambda key: key == uid("welcome")),
    "url": (
        lambda p: edit(p, "    venue: studio\n",
                       "    venue: studio\n    url: https://studio.example/visit\n"),
        lambda t: t, lambda key: key == uid("lab-b")),
    "organisations": (
        lambda p: edit(p, "organisations: [Eurasante, CHU Lille]",
                       "organisations: [Eurasante, CHU Lille, Institut Pasteur de Lille]"),
        lambda t: t, lambda key: key == uid("welcome")),
    "organiser": (
        # the host desk organises the sessions, not a participant's journeys or stay
        lambda p: p, _contact, lambda key: key.startswith(f"{PROGRAMME_ID}.session.")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_a_client_shows_raises_the_sequence_of_those_events_only(
    run_cxc: Runner, write: Write, workdir: Path, monkeypatch: pytest.MonkeyPatch, change: str,
) -> None:
    programme_change, partnership_change, concerned = CHANGES[change]
    out = workdir / "out"
    plan(run_cxc, write, second=SECOND)
    export(run_cxc, out, monkeypatch)
    before = sequences(out)
    assert {name.split("/")[0] for name, _ in before} == {PROGRAMME_ID, SECOND_ID}

    plan(run_cxc, write, programme_change(PROGRAMME),
         partnership=partnership_change(PARTNERSHIP), second=SECOND)
    export(run_cxc, out, monkeypatch, LATER)

    after = sequences(out)
    assert set(after) == set(before)
    raised = {key for key in after if concerned(key[1])}
    assert raised, "the change concerns no event"
    assert {key for key in after if after[key] != before[key]} == raised
    assert all(after[key] == before[key] + 1 for key in raised)
    # exported again, later, with nothing changed: the same bytes
    sent = calendars(out)
    export(run_cxc, out, monkeypatch, LATER + 86_400)
    assert calendars(out) == sent


def test_a_history_written_without_a_field_since_added_raises_no_sequence(
    run_cxc: Runner, write: Write, workdir: Path, db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An older cxc stored each event's JSON without `url` (all empty then): the events are
    the same, so the next export keeps their SEQUENCE and DTSTAMP, and its bytes."""
    out = workdir / "out"
    plan(run_cxc, write)
    export(run_cxc, out, monkeypatch)
    sent = calendars(out)
    conn = sqlite3.connect(db)
    try:
        with conn:
            changed = conn.execute(
                "UPDATE exported_events SET body = json_remove(body, '$.url') "
                "WHERE json_extract(body, '$.url') IS NULL").rowcount
    finally:
        conn.close()
    assert changed > 30

    export(run_cxc, out, monkeypatch, LATER)

    assert calendars(out) == sent
