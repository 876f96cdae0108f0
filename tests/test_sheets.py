"""`cxc sheets`: attendance sheets to sign, one PDF per programme, a page (or more) a day.

The story: the Lille exchange (five days, 28 March to 1 April 2024) has delegates from
Barcelona and Tallinn, among them Ελένη Παπαδοπούλου and Олена Шевченко (admitted from
the waitlist), someone who withdrew and someone still waiting. The coordinator plans,
writes the sheets, and prints them. The PDF is read back with pypdf, an independent reader.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from tests.conftest import PARTNERSHIP, PROGRAMME, PROGRAMME_ID, Runner, edit, other_programme

Write = Callable[[str, str], Path]

GREEK = "Ελένη Παπαδοπούλου"
CYRILLIC = "Олена Шевченко"
ACCENTS = "Żaneta Łukasiewicz-Øvergård"
SEAT_HOLDERS = ["Ana Garcia", "Jordi Puig", "Marta Soler",  # barna-bio, by name
                "Jaan Kask", "Kadri Tamm", "Liis Saar", ACCENTS, GREEK, CYRILLIC]
"""Sorted by partner id, then full name: what every day's table lists, in this order."""
NOT_LISTED = ["Wanda Withdrawn", "Walter Waiting"]
DAYS = ["Thursday 28 March 2024", "Friday 29 March 2024", "Saturday 30 March 2024",
        "Sunday 31 March 2024", "Monday 1 April 2024"]


def _person(email: str, name: str, *, country: str, status: str = "registered",
            partner: str = "tallinn-med", org: str = "Tallinn Med") -> str:
    return (f"  - email: {email}\n    name: {name}\n    organisation: {org}\n"
            f"    org_type: cluster\n    country: {country}\n    partner: {partner}\n"
            f"    status: {status}\n")


def _programme() -> str:
    text = edit(PROGRAMME, "    tallinn-med: 3\n", "    tallinn-med: 6\n")
    text = edit(text, "    capacity: 5\n", "    capacity: 6\n")  # the studio: room for the slot
    # Jaan did not come: a sheet is signed at the event, so he is listed all the same
    text = edit(text, "    org_type: hospital\n", "    org_type: hospital\n    attended: false\n")
    return text + "".join([
        _person("eleni@example.gr", GREEK, country="GR"),
        _person("zaneta@example.pl", ACCENTS, country="PL"),
        _person("wanda@example.ee", "Wanda Withdrawn", country="EE", status="withdrawn"),
        _person("olena@example.ua", CYRILLIC, country="UA", status="waitlisted"),
        _person("walter@example.ee", "Walter Waiting", country="EE", status="waitlisted"),
    ])


def _pages(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _in_order(text: str, names: list[str]) -> bool:
    positions = [text.find(name) for name in names]
    return -1 not in positions and positions == sorted(positions)


@pytest.fixture
def planned(run: Runner, write: Write) -> Runner:
    """The partnership and the Lille exchange, loaded and planned."""
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", _programme())
    planned = run("plan", "partnership.yaml", "programme.yaml", "--format", "json")
    assert planned.code == 0, planned.output
    assert planned.json()["programmes"][0]["admitted"] == ["olena@example.ua"], planned.stdout
    return run


def test_every_day_has_a_page_listing_every_seat_holder_and_no_one_else(
        planned: Runner, workdir: Path) -> None:
    done = planned("sheets", "--out", "out")
    assert done.code == 0, done.output
    assert done.stdout == ""
    assert done.stderr == "wrote attendance sheets of 1 programme (5 pages) into out\n"
    pages = _pages(workdir / "out" / PROGRAMME_ID / "attendance.pdf")
    assert len(pages) == len(DAYS)
    for number, (text, day) in enumerate(zip(pages, DAYS, strict=True), 1):
        assert "DEMO - a test partnership of three health clusters, funded by COSME" in text
        assert "Digital health in the Hauts-de-France" in text
        assert "Cluster Exchange (CXC) hosted by Lille Health Cluster, Lille, FR" in text
        assert day in text
        assert "Name Organisation Type Country Signature" in text
        assert _in_order(text, SEAT_HOLDERS), text  # Greek and Cyrillic extracted as written
        assert not any(name in text for name in NOT_LISTED)
        assert f"page {number} of {len(DAYS)}" in text
        assert "collected by Lille Health Cluster (desk@lille-health.example)" in text
    assert "09:30–11:00  Welcome and tour of the campus (Eurasante campus)" in pages[0]
    assert "14:00–16:00  AI in medical imaging (group A) (Imaging lab)" in pages[0]
    assert "Health innovation convention" in pages[1]
    assert "No sessions this day." in pages[2]
    assert "Wrap-up and next steps" in pages[4] and "Wrap-up" not in pages[0]


def test_a_long_list_runs_over_pages_repeating_its_header(
        run: Runner, write: Write, workdir: Path) -> None:
    people = "".join(_person(f"p{i:02}@example.es", f"Delegate {i:02}", country="ES",
                             partner="barna-bio", org="Barna Bio") for i in range(40))
    write("partnership.yaml", PARTNERSHIP)
    write("d3.yaml", other_programme("d3-2024-tallinn", kind="study_visit", start="2024-06-05", end="2024-06-06",
                                     participants=people))
    assert run("plan", "partnership.yaml", "d3.yaml").code == 0
    done = run("sheets", "--out", "out", "--programme", "d3-2024-tallinn")
    assert done.code == 0, done.output
    pages = _pages(workdir / "out" / "d3-2024-tallinn" / "attendance.pdf")
    for number, text in enumerate(pages, 1):
        assert "Name Organisation Type Country Signature" in text
        assert f"page {number} of {len(pages)}" in text
    for day in ("Wednesday 5 June 2024", "Thursday 6 June 2024"):
        of_day = [text for text in pages if day in text]
        assert len(of_day) >= 2, f"{day}: {len(of_day)} page(s)"
        assert all("(continued)" in text for text in of_day[1:])
        assert "(continued)" not in of_day[0]
        listed = re.findall(r"Delegate \d\d", "".join(of_day))
        assert listed == [f"Delegate {i:02}" for i in range(40)]
    assert len(pages) == sum(1 for text in pages for day in ("5 June", "6 June") if day in text)
    assert "collected by Tallinn Med, the host" in pages[0]  # it gives no contact


def test_a_cancelled_programme_gets_no_sheets(run: Runner, write: Write, workdir: Path) -> None:
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", _programme())
    write("d3.yaml", other_programme("d3-2024-tallinn", status="cancelled"))
    assert run("plan", "partnership.yaml", "programme.yaml", "d3.yaml").code == 0
    done = run("sheets", "--out", "out")
    assert done.code == 0, done.output
    assert sorted(p.name for p in (workdir / "out").iterdir()) == [PROGRAMME_ID]
    alone = run("sheets", "--out", "alone", "--programme", "d3-2024-tallinn")
    assert alone.code == 0, alone.output
    assert not (workdir / "alone").exists()


def test_sheets_are_refused_without_a_current_plan_and_for_an_unknown_programme(
        run: Runner, write: Write, workdir: Path) -> None:
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", _programme())
    assert run("load", "partnership.yaml", "programme.yaml").code == 0
    never = run("sheets", "--out", "out")
    assert (never.code, never.stderr) == (
        1, f"cxc: programme `{PROGRAMME_ID}` was never planned; run `cxc plan` first\n")
    assert run("plan").code == 0
    write("programme.yaml", edit(_programme(), "Wrap-up and next steps", "Farewell"))
    assert run("load", "programme.yaml").code == 0
    stale = run("sheets", "--out", "out")
    assert stale.code == 1 and "changed since it was planned" in stale.stderr
    write("programme.yaml", edit(_programme(), "    venue: hall\n", "    venue: nowhere\n"))
    assert run("load", "programme.yaml").code == 0
    broken = run("sheets", "--out", "out")
    assert broken.code == 1 and "error" in broken.stderr and "cxc validate" in broken.stderr
    unknown = run("sheets", "--out", "out", "--programme", "nope")
    assert (unknown.code, unknown.stderr) == (
        2, f"cxc: no programme `nope` in the store (programmes: {PROGRAMME_ID})\n")
    assert not (workdir / "out").exists()


def test_sheets_are_owner_only_and_leave_no_temporary_file(
        planned: Runner, run_cxc: Runner, workdir: Path) -> None:
    done = run_cxc("sheets", "--out", "out/sheets")
    assert done.code == 0, done.output
    folder = workdir / "out" / "sheets" / PROGRAMME_ID
    for path in (workdir / "out", folder.parent, folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE((folder / "attendance.pdf").stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["attendance.pdf"]
    before = (folder / "attendance.pdf").read_bytes()
    assert run_cxc("sheets", "--out", "out/sheets").code == 0
    assert (folder / "attendance.pdf").read_bytes() == before  # the same data, the same bytes


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
def test_a_page_renders_to_an_image(planned: Runner, workdir: Path) -> None:
    assert planned("sheets", "--out", "out").code == 0
    pdf = workdir / "out" / PROGRAMME_ID / "attendance.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(workdir / "page")], check=True, timeout=60)
    png = next(workdir.glob("page*.png"))
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert re.fullmatch(r"1\.4\d*", f"{height / width:.3f}")  # A4 portrait: 297 / 210


# -- the report as a page -------------------------------------------------------------------


class _Page(HTMLParser):
    """What an HTML report holds: charts by figure id, and every link to elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.figure: str | None = None
        self.charts: dict[str, list[dict[str, str | None]]] = {}
        self.external: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "figure":
            self.figure = attr.get("id")
        if tag == "svg" and self.figure:
            self.charts[self.figure] = []
        if self.figure in self.charts and tag in ("rect", "line"):
            self.charts[self.figure].append({"tag": tag, **attr})
        if tag == "script":
            self.scripts.append(attr)
        for name in ("src", "href"):
            value = attr.get(name) or ""
            if re.match(r"\s*(https?:)?//", value):
                self.external.append(f"<{tag} {name}={value}>")
        if tag == "link":
            self.external.append(f"<link {attr}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self.figure = None


def test_the_html_report_has_a_chart_for_every_key_with_a_target_and_nothing_from_elsewhere(
        run: Runner, write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", edit(_programme(), "  status: confirmed\n", "  status: held\n"))
    assert run("plan", "partnership.yaml", "programme.yaml").code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1712000000")  # 1 April 2024
    done = run("report", "--format", "html")
    assert done.code == 0, done.output
    page = _Page()
    page.feed(done.stdout)
    assert done.stdout.startswith("<!DOCTYPE html>")
    assert sorted(page.charts) == ["cxc", "study_visits"]  # the partnership's two targets
    assert page.external == [] and page.scripts == []
    months = 24  # February 2023 to January 2025
    for key, marks in page.charts.items():
        bars = [m for m in marks if m["tag"] == "rect"]
        assert len(bars) == months, key
        assert len([m for m in marks if m.get("class") == "target"]) == 1
        assert len([m for m in marks if m.get("class") == "today"]) == 1
    heights = [float(b["height"] or 0) for b in page.charts["cxc"] if b["tag"] == "rect"]
    # the exchange started 28 March 2024: nothing before March 2024, one from then on
    assert heights[:13] == [0.0] * 13 and len(set(heights[13:])) == 1 and heights[13] > 0
    assert "<td><code>cxc</code></td><td>Cluster exchanges</td>" in done.stdout
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # January 2027: after the period
    later = run("report", "--format", "html")
    assert 'class="today"' not in later.stdout and len(re.findall("<svg", later.stdout)) == 2
