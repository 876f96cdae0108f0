"""The store is pleasant to browse: opened with Datasette's own API (issue 13, point 5).

Every table has a primary key, every foreign key opens the record it names, the
store's secret is in no table Datasette shows, and the ``plan`` view shows the
whole plan: each seat holder's plenaries and placed parallel sessions. A store
of schema 4 migrates to this keeping its rows, its plan, its secret (so the
pseudonyms and calendar UIDs do not change) and its export history.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from conftest import PARTNERSHIP, PROGRAMME, Result, Runner
from datasette.app import Datasette  # the test extra's: these tests need it, none skip

from cxc.store import SCHEMA_VERSION

T = TypeVar("T")
ANA = "ana.garcia@example.com"
FORGET = "jordi.puig@example.com"


def _ok(result: Result) -> Result:
    assert result.code == 0, result.output
    return result


@pytest.fixture
def planned(run_cxc: Runner, write: Callable[[str, str], Path], db: Path) -> dict[str, Any]:
    """`cxc plan programmes/` by the installed script; its JSON."""
    write("programmes/partnership.yaml", PARTNERSHIP)
    write("programmes/cxc-2024-lille.yaml", PROGRAMME)
    plan: dict[str, Any] = _ok(run_cxc("plan", "programmes", "--format", "json")).json()
    return plan


def _browse(db: Path, look: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``look(datasette)`` on a Datasette serving ``db``, as `datasette cxc.db` would."""
    async def main() -> T:
        ds = Datasette([str(db)])
        await ds.invoke_startup()
        return await look(ds)

    return asyncio.run(main())


async def _tables(ds: Any) -> dict[str, Any]:
    database = ds.get_database("cxc")
    hidden = set(await database.hidden_table_names())
    tables = await database.table_names()
    return {
        "visible": [t for t in tables if t not in hidden],
        "hidden": sorted(hidden),
        "keys": {t: await database.primary_keys(t) for t in tables},
        "views": await database.view_names(),
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def _hrefs(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def test_every_table_has_a_primary_key(planned: dict[str, Any], db: Path) -> None:
    seen = _browse(db, _tables)
    assert "sessions" in seen["visible"]
    # the one exception is hidden: the secret's full-text table, which has rows and no key
    assert {t: k for t, k in seen["keys"].items() if not k} == {"_secrets": []}
    assert "_secrets" in seen["hidden"]
    assert seen["keys"]["programmes"] == ["file"]


def test_the_secret_is_in_no_table_datasette_shows(planned: dict[str, Any], db: Path) -> None:
    from cxc.store import open_store, store_secret

    secret = store_secret(open_store(db)).hex()
    with sqlite3.connect(db) as conn:
        visible = _browse(db, _tables)["visible"]
        for table in visible:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not [v for v in row if isinstance(v, str) and secret in v], table
    assert "_secrets" in _browse(db, _tables)["hidden"]


def test_datasette_065_would_hide_the_secret_too(planned: dict[str, Any], db: Path) -> None:
    # Datasette 0.65, the stable release `pip install datasette` gives, hides no `_` table:
    # it hides full-text tables and the tables named after one (database.py,
    # hidden_table_names). Its two queries, as it runs them:
    with sqlite3.connect(db) as conn:
        full_text = [name for (name,) in conn.execute(
            "select name from sqlite_master where rootpage = 0 "
            "and (sql like '%VIRTUAL TABLE%USING FTS%') "
            "or name in ('sqlite_stat1', 'sqlite_stat2', 'sqlite_stat3', 'sqlite_stat4')")]
        tables = [name for (name,) in conn.execute(
            "select name from sqlite_master where type='table'")]
    hidden = {t for t in tables if any(t.startswith(h) for h in full_text)}
    holding = {t for t in tables if t.startswith("_secrets")}
    assert holding and holding <= hidden


def test_a_copy_of_the_store_keeps_the_secret(
    planned: dict[str, Any], db: Path, run_cxc: Runner, workdir: Path,
) -> None:
    _ok(run_cxc("export", "--out", "out"))
    moved = workdir / "elsewhere" / "moved.db"
    moved.parent.mkdir()
    moved.write_bytes(db.read_bytes())
    _ok(run_cxc("export", "--out", "again", db=moved))
    first = sorted(p.name for p in (workdir / "out").rglob("*.ics"))
    assert first == sorted(p.name for p in (workdir / "again").rglob("*.ics"))
    for ics in (workdir / "out").rglob("*.ics"):
        twin = workdir / "again" / ics.relative_to(workdir / "out")
        uids = sorted(line for line in ics.read_text().splitlines() if line.startswith("UID"))
        assert uids == sorted(
            line for line in twin.read_text().splitlines() if line.startswith("UID")), ics


def test_a_sessions_link_to_its_programme_opens_the_record(
    planned: dict[str, Any], db: Path,
) -> None:
    async def follow(ds: Any) -> tuple[list[str], int, str]:
        page = await ds.client.get("/cxc/sessions")
        assert page.status_code == 200
        links = [h for h in _hrefs(page.text) if urlsplit(h).path.startswith("/cxc/programmes/")]
        assert links, "no link from sessions to programmes"
        record = await ds.client.get(urlsplit(links[0]).path)
        return links, record.status_code, record.text

    links, status, text = _browse(db, follow)
    assert status == 200, links[0]
    assert "cxc-2024-lille" in text
    assert "Record not found" not in text


def test_a_registrations_email_opens_the_person(planned: dict[str, Any], db: Path) -> None:
    async def follow(ds: Any) -> tuple[int, str]:
        page = await ds.client.get("/cxc/registrations")
        links = [h for h in _hrefs(page.text) if urlsplit(h).path.startswith("/cxc/people/")]
        assert links
        record = await ds.client.get(urlsplit(links[0]).path)
        return record.status_code, record.text

    status, text = _browse(db, follow)
    assert status == 200 and "@example.com" in text


def test_the_plan_view_lists_each_persons_plenaries_and_placed_sessions(
    planned: dict[str, Any], db: Path,
) -> None:
    programme = planned["programmes"][0]
    expected = sorted(s["id"] for s in programme["sessions"] if ANA in s["attendees"])
    plenaries = {s["id"] for s in programme["sessions"] if s["slot"] is None}
    placed = {s["id"] for s in programme["sessions"] if s["slot"] is not None} & set(expected)
    assert plenaries and placed  # the story has both

    async def look(ds: Any) -> list[dict[str, Any]]:
        assert "plan" in (await _tables(ds))["views"]
        response = await ds.client.get(f"/cxc/plan.json?email={ANA}&_shape=array")
        assert response.status_code == 200
        rows: list[dict[str, Any]] = response.json()
        return rows

    rows = _browse(db, look)
    assert sorted(r["session"] for r in rows) == expected
    for column in ("programme", "email", "name", "day", "start", "end", "session", "title",
                   "venue"):
        assert all(r[column] for r in rows), column
    assert {r["programme"] for r in rows} == {programme["id"]}
    assert [r["day"] + r["start"] for r in rows] == sorted(r["day"] + r["start"] for r in rows)


def test_the_schema_keeps_its_column_comments(planned: dict[str, Any], db: Path) -> None:
    async def look(ds: Any) -> str:
        page = await ds.client.get("/cxc/sessions")
        return str(page.text)

    assert "-- wall clock, YYYY-MM-DD HH:MM" in _browse(db, look)


# -- a store of schema 4 -------------------------------------------------------------------


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as schema 4 had them (its columns, rowid order), the secret apart."""
    from cxc.store.schema import SCHEMA_4_WHOLE

    old = sqlite3.connect(":memory:")
    old.executescript(SCHEMA_4_WHOLE)
    tables = [n for (n,) in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite3.connect(db) as conn:
        for table in tables:
            names = ", ".join(f'"{r[1]}"' for r in old.execute(f'PRAGMA table_info("{table}")'))
            out[table] = conn.execute(
                f'SELECT rowid, {names} FROM "{table}" ORDER BY rowid').fetchall()
    out["meta"] = [r for r in out["meta"] if r[1] != "secret"]
    return out


def _as_schema_4(db: Path, secret: str) -> None:
    """Rewrite ``db`` as cxc wrote a store of schema 4: the same rows, the old tables, the
    secret in ``meta``."""
    from cxc.store.schema import APPLICATION_ID, SCHEMA_4_WHOLE

    rows = _rows(db)
    db.unlink()
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA_4_WHOLE)
        for table, values in rows.items():
            names = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA table_info("{table}")'))
            marks = ", ".join("?" * (names.count(",") + 2))
            conn.executemany(f'INSERT INTO "{table}" (rowid, {names}) VALUES ({marks})', values)
        conn.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (secret,))
        conn.execute("PRAGMA user_version = 4")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _schema(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def test_a_schema_4_store_migrates_keeping_rows_plan_secret_and_history(
    planned: dict[str, Any], db: Path, run_cxc: Runner, workdir: Path,
) -> None:
    _ok(run_cxc("forget", FORGET))
    _ok(run_cxc("export", "--out", "out"))
    fresh = _schema(db)
    with sqlite3.connect(db) as conn:
        (secret,) = conn.execute("SELECT value FROM _secrets").fetchone()
    before = _rows(db)
    calendars = {p: p.read_bytes() for p in (workdir / "out").rglob("*.ics")}
    assert before["exported_events"] and before["forgotten"] and before["placements"]
    _as_schema_4(db, secret)
    assert _rows(db) == before

    _ok(run_cxc("export", "--out", "out"))  # opens the store, migrates it

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 5
        assert conn.execute("SELECT value FROM _secrets").fetchall() == [(secret,)]
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'secret'").fetchone()[0] == 0
    assert _rows(db) == before
    assert _schema(db) == fresh
    assert {p: p.read_bytes() for p in (workdir / "out").rglob("*.ics")} == calendars
    seen = _browse(db, _tables)
    # the one exception is hidden: the secret's full-text table, which has rows and no key
    assert {t: k for t, k in seen["keys"].items() if not k} == {"_secrets": []}
    assert "_secrets" in seen["hidden"]


def test_a_schema_1_store_goes_through_every_migration(
    write: Callable[[str, str], Path], db: Path, run_cxc: Runner,
) -> None:
    """Schema 1 kept the secret in ``meta`` too: migration 1 -> 2 keys the calendars with it,
    4 -> 5 moves it, unchanged."""
    from cxc.store.schema import _BASE_SCHEMA

    secret = "ab" * 32
    with sqlite3.connect(db) as conn:
        conn.executescript(_BASE_SCHEMA)
        for table, column in (("files", "sha256"), ("programmes", "data_hash"),
                              ("registrations", "status"), ("registrations", "forgotten"),
                              ("exported_calendars", "email"), ("exported_calendars", "name")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # added by schema 2
        conn.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (secret,))
        conn.execute("PRAGMA user_version = 1")
    write("programmes/partnership.yaml", PARTNERSHIP)
    write("programmes/cxc-2024-lille.yaml", PROGRAMME)

    _ok(run_cxc("plan", "programmes"))

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM _secrets").fetchall() == [(secret,)]
        assert conn.execute("SELECT count(*) FROM plan WHERE email = ?", (ANA,)).fetchone()[0]
