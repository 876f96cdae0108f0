"""An unchanged `cxc plan DIR` costs little more than its own output (issue 17): the text
table off a terminal is laid out without rich's measuring, byte for byte as rich lays it out,
and a plan is shown from the programmes planning read (each read once, without travel), not
by reading them again."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import cxc.store.read as read
from cxc.cli import render


def rich_lines(sections: list[list[tuple[tuple[str, ...], bool]]]) -> str:
    """What rich gives for the plan table of these cells off a terminal."""
    console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, force_terminal=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in render.PLAN_COLUMNS:
        table.add_column(column, no_wrap=column in ("day", "time", "slot", "fill"))
    for n, rows in enumerate(sections):
        if n:
            table.add_section()
        for cells, _ in rows:
            table.add_row(*(escape(cell) for cell in cells))
    render._print_unwrapped(console, table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def plain_lines(sections: list[list[tuple[tuple[str, ...], bool]]]) -> str | None:
    console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, force_terminal=False)
    if not render._print_plain(console, render.PLAN_COLUMNS, sections):
        return None
    return console.file.getvalue()  # type: ignore[attr-defined]


ROW = ("Mon 14 Mar 2022", "09:00-10:30", "", "Welcome [and] tour", "Hall", "75/520", "everyone")


@pytest.mark.parametrize("sections", [
    [[(ROW, False)]],
    [[(ROW, False), (("", "11:00-12:30", "d1-a", "Ελληνικά: ομάδα 1", "Sala Ñ", "28/28",
                      "moravia-medtech 14 · ro-health 1"), True)],
     [(("Tue 15 Mar 2022", "09:00-10:30", "d2-morning-long-slot", "中文会议 and more", "x",
        "3/∞", "a 1"), False)]],
    [[(("d", "t", "s", "a very long session title " * 8, "v", "1/2", "m"), False)]],
])
def test_the_plain_table_is_the_one_rich_lays_out(
        sections: list[list[tuple[tuple[str, ...], bool]]]) -> None:
    assert plain_lines(sections) == rich_lines(sections)


def test_a_cell_with_a_line_break_is_left_to_rich() -> None:
    assert plain_lines([[(("d", "t", "s", "two\nlines", "v", "1/2", "m"), False)]]) is None


def test_showing_an_unchanged_plan_reads_no_travel_and_the_files_table_once(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run("plan", folder)
    assert first.code == 0, first.output
    queries: list[str] = []
    tables: list[None] = []
    real_rows, real_displays = read._rows, read._displays

    def rows(conn: Any, sql: str, *params: object) -> Any:
        queries.append(sql)
        return real_rows(conn, sql, *params)

    def displays(conn: Any) -> Any:
        tables.append(None)
        return real_displays(conn)

    monkeypatch.setattr(read, "_rows", rows)
    monkeypatch.setattr(read, "_displays", displays)

    again = run("plan", folder)

    assert again.code == 0, again.output
    assert again.stdout == first.stdout
    programmes = sum(1 for sql in queries if sql.startswith("SELECT * FROM programmes"))
    with sqlite3.connect(db) as conn:
        (planned,) = conn.execute(
            "SELECT count(DISTINCT id) FROM programmes WHERE status != 'cancelled'").fetchone()
    conn.close()
    assert planned >= 4
    assert programmes == planned  # each read once: the plan is shown from what planning read
    assert not [sql for sql in queries if "travel_legs" in sql or "stays" in sql]
    assert len(tables) <= 1


def test_each_distinct_stored_list_is_parsed_once_at_the_scale_of_a_large_store(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A store of 1,000 programmes holds about 20,000 distinct lists (interests, choices,
    themes, organisations): reading its programmes parses each once, not once per row."""
    parsed: list[str] = []
    real = read.json.loads

    def loads(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(read.json, "loads", loads)
    read._strings.cache_clear()
    lists = [f'["organisation {n}"]' for n in range(20_000)]
    for _ in range(2):
        for text in lists:
            assert read._strings(text) == (text[2:-2],)
    read._strings.cache_clear()

    assert len(parsed) == len(lists)
