"""`cxc export --feeds`: one calendar per person across all their programmes.

Stories told with the real CLI on a real store (the valid partnership and
Cluster Exchange of conftest, and a second programme Ana also attends):

* Ana gets one feed, ``DIR/feeds/<token>.ics``, holding the events of both her
  programmes, each byte for byte the event of her per-programme calendar
  (same UID, SEQUENCE and DTSTAMP);
* the token is unguessable (at least 22 URL-safe characters, 128 random bits),
  the same for her at every export, and another for everyone else;
* ``DIR/feeds/index.csv`` (owner-only) maps every email to its token and file;
* without ``--feeds`` there is no feeds folder;
* `cxc forget` removes her feed, her row of the index and her token.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import stat
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import PARTNERSHIP, PROGRAMME, PROGRAMME_ID, Runner, other_programme, participant_yaml

Write = Callable[[str, str], Path]

EPOCH = "1735689600"
SECOND_ID = "ddd-2024-tallinn"
SECOND = other_programme(SECOND_ID, host="tallinn-med",
                         participants=participant_yaml("Ana.Garcia@example.com"))
ANA = "ana.garcia@example.com"
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,}\Z")


@pytest.fixture
def exported(run: Runner, write: Write, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    write("partnership.yaml", PARTNERSHIP)
    write("programme.yaml", PROGRAMME)
    write("second.yaml", SECOND)
    assert run("load", "partnership.yaml", "programme.yaml", "second.yaml").code == 0
    assert run("plan").code == 0

    def export(*extra: str) -> Path:
        result = run("export", "--out", "out", *extra)
        assert result.code == 0, result.output
        return Path("out")

    return export


def _index(out: Path) -> list[dict[str, str]]:
    with (out / "feeds" / "index.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _vevents(data: bytes) -> dict[str, bytes]:
    """UID -> the bytes of its VEVENT, as written."""
    out = {}
    for block in re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", data, re.S):
        uid = re.search(rb"\r\nUID:([^\r\n]+)\r\n", block)
        assert uid is not None
        out[uid.group(1).decode()] = block
    return out


def _calendar_of(out: Path, pid: str, email: str) -> bytes:
    with (out / pid / "participants.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["email"].lower() == email:
                return (out / pid / row["ics"]).read_bytes()
    raise AssertionError(f"{email} not in {pid}/participants.csv")


def test_one_feed_holds_both_programmes_events_byte_for_byte(
        exported: Callable[..., Path]) -> None:
    from icalendar import Calendar

    out = exported("--feeds")
    rows = {row["email"].lower(): row for row in _index(out)}
    feed = (out / "feeds" / rows[ANA]["file"]).read_bytes()
    assert rows[ANA]["file"] == f"{rows[ANA]['token']}.ics"
    parsed = Calendar.from_ical(feed)
    events = {str(e["UID"]): int(e["SEQUENCE"]) for e in parsed.walk("VEVENT")}
    in_feed = _vevents(feed)
    assert set(in_feed) == set(events)
    mine: dict[str, bytes] = {}
    for pid in (PROGRAMME_ID, SECOND_ID):
        per_programme = _calendar_of(out, pid, ANA)
        own = _vevents(per_programme)
        assert own, pid
        for uid_, block in own.items():
            assert in_feed[uid_] == block, uid_  # UID, SEQUENCE, DTSTAMP and all
        for e in Calendar.from_ical(per_programme).walk("VEVENT"):
            assert events[str(e["UID"])] == int(e["SEQUENCE"])
        mine.update(own)
    assert set(in_feed) == set(mine)
    assert any(u.startswith(f"{PROGRAMME_ID}.") for u in in_feed)
    assert any(u.startswith(f"{SECOND_ID}.") for u in in_feed)
    assert b"BEGIN:VTIMEZONE" in feed


def test_tokens_are_stable_distinct_and_unguessable(
        exported: Callable[..., Path], run: Runner) -> None:
    out = exported("--feeds")
    first = {row["email"].lower(): row["token"] for row in _index(out)}
    feed = out / "feeds" / f"{first[ANA]}.ics"
    mtime = feed.stat().st_mtime_ns
    exported("--feeds")
    assert {row["email"].lower(): row["token"] for row in _index(out)} == first
    assert feed.stat().st_mtime_ns == mtime  # the same bytes are not rewritten
    assert len(set(first.values())) == len(first) >= 2
    assert all(TOKEN.match(token) for token in first.values()), first
    assert sorted(p.name for p in (out / "feeds").iterdir()) == sorted(
        ["index.csv", *(f"{t}.ics" for t in first.values())])


def test_index_is_owner_only_and_lists_everyone(exported: Callable[..., Path]) -> None:
    out = exported("--feeds")
    index = out / "feeds" / "index.csv"
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    text = index.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "email,name,token,file"
    emails = {row["email"].lower() for row in _index(out)}
    holders: set[str] = set()
    for pid in (PROGRAMME_ID, SECOND_ID):
        with (out / pid / "participants.csv").open(encoding="utf-8", newline="") as f:
            holders |= {row["email"].lower() for row in csv.DictReader(f)}
    assert emails == holders
    assert ANA in emails
    for row in _index(out):
        assert row["name"]
        path = out / "feeds" / row["file"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_feeds_no_feeds_folder(exported: Callable[..., Path]) -> None:
    out = exported()
    assert not (out / "feeds").exists()


def test_forget_removes_the_feed_its_row_and_the_token(
        exported: Callable[..., Path], run: Runner, db: Path) -> None:
    out = exported("--feeds")
    rows = {row["email"].lower(): row for row in _index(out)}
    feed = out / "feeds" / rows[ANA]["file"]
    assert feed.exists()
    result = run("forget", ANA)
    assert result.code == 0, result.output
    assert not feed.exists()
    left = {row["email"].lower() for row in _index(out)}
    assert left == set(rows) - {ANA}
    assert ANA not in (out / "feeds" / "index.csv").read_text(encoding="utf-8").lower()
    with sqlite3.connect(db) as conn:
        tokens = {t for (t,) in conn.execute("SELECT token FROM feed_tokens")}
        emails = {e for (e,) in conn.execute("SELECT email FROM feed_tokens")}
    assert rows[ANA]["token"] not in tokens
    assert ANA not in emails
    exported("--feeds")  # and the next export does not bring her back
    assert ANA not in {row["email"].lower() for row in _index(out)}
    assert not feed.exists()


def test_a_schema_3_store_gets_the_feed_tokens_table(
        exported: Callable[..., Path], db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE feed_tokens")
        conn.execute("PRAGMA user_version = 3")
    exported("--feeds")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 4  # and on to the latest
        assert conn.execute("SELECT count(*) FROM feed_tokens").fetchone()[0] >= 2


def test_the_help_names_the_option(run: Runner) -> None:
    assert "--feeds" in io.StringIO(run("export", "--help").stdout).getvalue()


# --feed-url: the subscription links on the page and in the message ------------------

BASE = "https://calendars.example.org/bright"


class _Links(HTMLParser):
    """Every ``href`` of a page, and its text without tags."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page_of(out: Path, pid: str, email: str) -> Path:
    with (out / pid / "participants.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["email"].lower() == email:
                return out / pid / row["html"]
    raise AssertionError(f"{email} not in {pid}/participants.csv")


def _links(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_feed_url_puts_the_persons_subscription_links_on_their_page(
        exported: Callable[..., Path]) -> None:
    out = exported("--feeds", "--feed-url", BASE + "/")
    tokens = {row["email"].lower(): row["token"] for row in _index(out)}
    for pid in (PROGRAMME_ID, SECOND_ID):
        page = _links(_page_of(out, pid, ANA))
        token = tokens[ANA]
        assert f"webcal://calendars.example.org/bright/feeds/{token}.ics" in page.hrefs
        assert f"{BASE}/feeds/{token}.ics" in page.hrefs
        text = " ".join(page.text)
        for how in ("From URL", "Subscribe from web", "New Calendar Subscription"):
            assert how in text
        assert not [h for h in page.hrefs if "/feeds/" in h and token not in h]
    assert (out / "feeds" / f"{tokens[ANA]}.ics").exists()  # the link leads to the feed
    other = next(e for e in tokens if e != ANA)
    for pid in (PROGRAMME_ID, SECOND_ID):
        try:
            hrefs = _links(_page_of(out, pid, other)).hrefs
        except AssertionError:
            continue
        assert f"{BASE}/feeds/{tokens[other]}.ics" in hrefs
        assert f"{BASE}/feeds/{tokens[ANA]}.ics" not in hrefs


def test_without_feed_url_the_page_has_no_subscription_links(
        exported: Callable[..., Path]) -> None:
    out = exported("--feeds")
    assert not [h for h in _links(_page_of(out, PROGRAMME_ID, ANA)).hrefs if "/feeds/" in h]


def test_same_feed_url_rewrites_nothing_and_a_new_one_rewrites_the_pages(
        exported: Callable[..., Path], run: Runner) -> None:
    out = exported("--feeds", "--feed-url", BASE)
    files = sorted(p for p in out.rglob("*") if p.is_file() and ".cxc" not in p.parts)
    times = {p: p.stat().st_mtime_ns for p in files}
    again = run("export", "--out", "out", "--feeds", "--feed-url", BASE)
    assert again.code == 0, again.output
    assert "(2 unchanged)" in again.output  # skipped by the fingerprint, not rebuilt
    assert {p: p.stat().st_mtime_ns for p in files} == times
    page = _page_of(out, PROGRAMME_ID, ANA)
    moved = "http://cal.example.net/x"
    exported("--feeds", "--feed-url", moved)
    token = {row["email"].lower(): row["token"] for row in _index(out)}[ANA]
    hrefs = _links(page).hrefs
    assert f"{moved}/feeds/{token}.ics" in hrefs
    assert f"webcal://cal.example.net/x/feeds/{token}.ics" in hrefs
    assert f"{BASE}/feeds/{token}.ics" not in hrefs
    assert page.stat().st_mtime_ns != times[page]
    ics_file = page.with_suffix(".ics")
    assert ics_file.stat().st_mtime_ns == times[ics_file]  # calendars are the same bytes


@pytest.mark.parametrize("extra", [
    ("--feed-url", BASE),  # without --feeds
    ("--feeds", "--feed-url", "ftp://calendars.example.org/bright"),
    ("--feeds", "--feed-url", "calendars.example.org/bright"),
    ("--feeds", "--feed-url", "https://"),
])
def test_feed_url_without_feeds_or_not_http_is_a_usage_error(
        exported: Callable[..., Path], run: Runner, extra: tuple[str, ...]) -> None:
    result = run("export", "--out", "out", *extra)
    assert result.code == 2, result.output
    assert "--feed" in result.output
    assert not Path("out").exists()


def test_send_with_feed_url_puts_the_links_in_the_message(
        exported: Callable[..., Path], run: Runner) -> None:
    out = exported("--feeds")
    token = {row["email"].lower(): row["token"] for row in _index(out)}[ANA]
    result = run("send", "--outbox", "outbox", "--from", "desk@example.org",
                 "--feed-url", BASE)
    assert result.code == 0, result.output
    emls = sorted(Path("outbox").rglob("*.eml"))
    mine = [p for p in emls if ANA in p.read_text(encoding="utf-8", errors="replace").lower()]
    assert mine
    for path in mine:
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        text, page = mail.get_body(("plain",)), mail.get_body(("html",))
        assert text is not None and page is not None
        plain = str(text.get_content())
        assert f"webcal://calendars.example.org/bright/feeds/{token}.ics" in plain
        assert f"{BASE}/feeds/{token}.ics" in plain
        assert "From URL" in plain
        parser = _Links()
        parser.feed(str(page.get_content()))
        assert f"{BASE}/feeds/{token}.ics" in parser.hrefs
        assert f"webcal://calendars.example.org/bright/feeds/{token}.ics" in parser.hrefs
    run("send", "--outbox", "plain", "--from", "desk@example.org")
    assert all("/feeds/" not in p.read_text(encoding="utf-8", errors="replace")
               for p in Path("plain").rglob("*.eml"))


def test_send_feed_url_must_be_http(run: Runner) -> None:
    result = run("send", "--outbox", "o", "--from", "desk@example.org", "--feed-url", "x")
    assert result.code == 2, result.output
