"""Generate the format reference's key tables (docs/format.md) and docs/cxc.schema.json
from the format's one definition, src/cxc/format/definition.py.

    python scripts/format_docs.py           # rewrite the generated parts
    python scripts/format_docs.py --check   # exit 1 when either file is not what it would write

docs/format.md is written by hand around its tables: each mapping of the format has one
block, between ``<!-- generated: shape WHAT -->`` and ``<!-- end generated -->`` (WHAT is
the mapping's name in the loader's messages, e.g. ``travel leg``), which this script fills
with one row per key: its type in plain words, whether it is required, what leaving it out
means, its choices, and its description. Every mapping reachable from the two kinds of
document must have its block, and no block may name another. `tests/test_docs.py` calls
:func:`render_page` and compares the result with the committed page.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from cxc.format import definition as d
from cxc.format.schema import schema_json
from cxc.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "format.md"
SCHEMA = ROOT / "docs" / "cxc.schema.json"

BLOCK = re.compile(
    r"(?P<open><!-- generated: shape (?P<what>[a-z ]+) -->\n)(?P<body>.*?)(?P<close><!-- end generated -->)",
    re.DOTALL)
"""A generated block of the page: its opening marker names the mapping."""

RULE_IDS = frozenset(rule.id for rule in RULES)

HEADER = "| key | type | required | default | meaning |\n| --- | --- | --- | --- | --- |\n"


class PageError(Exception):
    """The hand-written page and the definition do not fit: a block missing or unknown."""


def shapes() -> Iterator[tuple[d.Shape, str | None]]:
    """Every mapping of both documents, once, with the key it sits under (None: a document)."""
    seen: set[str] = set()

    def walk(shape: d.Shape, under: str | None) -> Iterator[tuple[d.Shape, str | None]]:
        if shape.what in seen:
            return
        seen.add(shape.what)
        yield shape, under
        for key in shape.keys:
            nested = _nested(key.type)
            if nested is not None:
                yield from walk(nested.shape, key.name)

    for document in d.DOCUMENTS:
        yield from walk(document, None)


def _nested(kind: d.Type) -> d.Nested | None:
    while isinstance(kind, d.ListOf):
        kind = kind.item
    return kind if isinstance(kind, d.Nested) else None


def anchors() -> dict[str, str]:
    """Where each mapping's table is on the page: the section named after its key."""
    return {shape.what: under for shape, under in shapes() if under is not None}


def type_words(kind: d.Type, where: dict[str, str], *, many: bool = False) -> str:
    """The type of a value in the words of the page's Values table (plural with ``many``)."""
    if isinstance(kind, d.ListOf):
        return "list of " + type_words(kind.item, where, many=True)
    if isinstance(kind, d.Nested):
        words = f"{kind.shape.what} mappings" if many else "mapping"
        words += f" ([below](#{where[kind.shape.what]}))"
        return words + (", or null" if kind.nullable else "")
    if isinstance(kind, d.Choice):
        return "one of " + ", ".join(f"`{value}`" for value in kind.values)
    if isinstance(kind, d.Pair):
        return "list of two numbers"
    if isinstance(kind, d.Counts):
        return "mapping of id to whole number"
    if isinstance(kind, d.Slug):
        return "ids" if many else "id"
    words = {d.Text: "text", d.Integer: "whole number", d.Number: "number",
             d.Boolean: "true/false", d.Date: "date", d.WallTime: "time", d.Zone: "zone",
             d.Country: "country", d.Email: "email", d.Url: "link"}[type(kind)]
    if not many or words in ("text", "true/false"):
        return words
    return "countries" if words == "country" else words + "s"


def default_words(key: d.Key) -> str:
    """What leaving the key out means ("" for a required key)."""
    if key.required:
        return ""
    if key.absent:
        return key.absent
    if isinstance(key.type, d.Choice) and key.type.default is not None:
        return f"`{key.type.default}`"
    if isinstance(key.type, d.Boolean):
        return f"`{str(key.type.default).lower()}`"
    return "none"


def meaning(description: str) -> str:
    """A description as a table cell: rule ids linked to their section of rules.md."""
    linked = re.sub(r"`([a-z-]+)`", lambda match: (
        f"[`{match[1]}`](rules.md#{match[1]})" if match[1] in RULE_IDS else match[0]),
        description)
    return linked.replace("|", "\\|")


def table(shape: d.Shape, where: dict[str, str]) -> str:
    """The reference table of one mapping: a row per key, in the definition's order."""
    rows = [HEADER]
    for key in shape.keys:
        cells = (f"`{key.name}`", type_words(key.type, where),
                 "**yes**" if key.required else "no", default_words(key),
                 meaning(key.description))
        rows.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|\n")
    return "".join(rows)


def render_page(page: str) -> str:
    """``page`` with every generated block filled from the definition."""
    where = anchors()
    by_name = {shape.what: shape for shape, _ in shapes()}
    found = [match["what"] for match in BLOCK.finditer(page)]
    unknown = sorted(set(found) - set(by_name))
    if unknown:
        raise PageError(f"{_name(PAGE)} has blocks for mappings the format does not have: "
                        f"{', '.join(unknown)}")
    missing = [name for name in by_name if name not in found]
    if missing:
        raise PageError(f"{_name(PAGE)} has no `<!-- generated: shape NAME -->` block for: "
                        f"{', '.join(missing)}")
    twice = sorted({name for name in found if found.count(name) > 1})
    if twice:
        raise PageError(f"{_name(PAGE)} has two blocks for: {', '.join(twice)}")
    return BLOCK.sub(lambda match: (match["open"] + table(by_name[match["what"]], where)
                                    + match["close"]), page)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def expected() -> dict[Path, str]:
    """What each generated file should hold now."""
    return {PAGE: render_page(PAGE.read_text(encoding="utf-8")), SCHEMA: schema_json()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a generated file is out of date, write nothing")
    args = parser.parse_args(argv)
    try:
        wanted = expected()
    except PageError as exc:
        print(exc, file=sys.stderr)
        return 1
    stale = 0
    for path, text in wanted.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale += 1
            print(f"{_name(path)} is out of date with src/cxc/format/definition.py: "
                  f"run `make docs`", file=sys.stderr)
            diff = difflib.unified_diff((current or "").splitlines(), text.splitlines(),
                                        f"{_name(path)} (committed)", "the definition (now)",
                                        lineterm="")
            for line in list(diff)[:60]:
                print(line, file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {_name(path)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
