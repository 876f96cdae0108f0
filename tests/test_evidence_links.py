"""The evidence behind a number links each held programme to the sheets that prove it (#16)."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from conftest import PARTNERSHIP, PROGRAMME, PROGRAMME_ID, Runner, edit, other_programme


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if tag == "a" and k == "href" and v]


def _hrefs(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.hrefs


def test_explain_html_links_each_held_programme_to_its_sheets(
    run: Runner, write: Callable[[str, str], Path], workdir: Path,
) -> None:
    write("programmes/partnership.yaml", PARTNERSHIP)
    write("programmes/lille.yaml", edit(PROGRAMME, "status: confirmed", "status: held"))
    write("programmes/d3.yaml", other_programme(
        "d3-2024-tallinn", status="held",
        participants="  - email: mari.tamm@example.com\n    name: Mari Tamm\n"
                     "    partner: tallinn-med\n"))
    assert run("plan", "programmes").code == 0
    assert run("sheets", "--out", "out", "--programme", PROGRAMME_ID).code == 0

    linked = run("report", "--explain", "participants", "--format", "html", "--sheets", "out")
    plain = run("report", "--explain", "participants", "--format", "html")

    assert linked.code == plain.code == 0, linked.output + plain.output
    assert set(_hrefs(linked.stdout)) == {f"{PROGRAMME_ID}/attendance.pdf"}  # only where they exist
    assert (workdir / "out" / PROGRAMME_ID / "attendance.pdf").is_file()
    assert _hrefs(plain.stdout) == []
    assert "d3-2024-tallinn" in linked.stdout
