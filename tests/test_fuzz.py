"""Hostile input: mutated programme files never crash cxc, nor cost the store anything.

A hypothesis property takes valid files (the conftest story and the BRIGHT
examples), breaks them the ways files get broken (lines deleted, duplicated,
re-indented or cut short, stray YAML punctuation, NUL and non-UTF-8 bytes,
wrong types, huge numbers, very long strings), loads them over a store that
already holds the valid files, and runs every command on what was loaded.
Each command must end with exit 0, 1 or 2; a failure must be told on stderr in
lines of its own that start with ``cxc:``, never a traceback nor the CLI's
last-resort "internal error"; and a refused load must leave the store exactly
as it was.

Every crash the fuzzer found is kept below as a literal regression case.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import PARTNERSHIP, PROGRAMME, Result, Runner, edit
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from store_helpers import canonical, copy_store

EXAMPLES = Path(__file__).resolve().parents[1] / "programmes" / "bright"

BASES: dict[str, dict[str, str]] = {
    "demo": {"partnership.yaml": PARTNERSHIP, "programme.yaml": PROGRAMME},
    "bright": {
        "partnership.yaml": (EXAMPLES / "partnership.yaml").read_text(encoding="utf-8"),
        "programme.yaml": (EXAMPLES / "cxc-2023-strasbourg.yaml").read_text(encoding="utf-8"),
    },
}

# What each command is asked after a load that worked.
AFTER_LOAD: tuple[tuple[str, ...], ...] = (
    ("validate",),
    ("validate", "--format", "json", "--strict"),
    ("plan", "--format", "json"),
    ("plan",),
    ("export", "--out", "out"),
    ("report",),
    ("report", "--format", "csv"),
    ("report", "--format", "json", "--explain", "organisations"),
)

USAGE_LINE = re.compile(r"(Usage: |Try '|\s*$)")


def assert_clean(result: Result, args: tuple[str, ...]) -> None:
    """Exit 0, 1 or 2; no traceback; on failure, every stderr line a `cxc:` message."""
    where = (args, result.code, result.stderr[-2000:])
    assert result.code in (0, 1, 2), where
    assert "Traceback" not in result.output, where
    assert "internal error" not in result.stderr, where
    if result.code != 0:
        lines = result.stderr.splitlines()
        if result.code == 2:
            assert lines, where
        for line in lines:
            assert line.startswith("cxc: ") or USAGE_LINE.match(line), where


@dataclass
class Bench:
    """A folder holding the files of one base, and a store with the valid files loaded."""

    run: Runner
    folder: Path
    templates: dict[str, Path]

    def exercise(self, base: str, target: str, content: bytes) -> None:
        """Load ``content`` as ``target`` of ``base`` over the valid store, then every command."""
        folder = self.folder / base
        for name, text in BASES[base].items():
            (folder / name).write_bytes(content if name == target else text.encode())
        db = folder / "cxc.db"
        copy_store(self.templates[base], db)
        shutil.rmtree(folder / "out", ignore_errors=True)
        before = canonical(db)
        paths = [folder / name for name in BASES[base]]

        loaded = self.run("load", *paths, db=db)

        assert_clean(loaded, ("load",))
        if currently_in_test_context():  # --hypothesis-show-statistics: how many files load
            event(f"load exits {loaded.code}")
        if loaded.code != 0:
            assert canonical(db) == before, "a refused load changed the store"
            return
        for args in AFTER_LOAD:
            if args[0] == "export":
                args = ("export", "--out", str(folder / "out"))
            assert_clean(self.run(*args, db=db), args)


@pytest.fixture
def bench(run: Runner, workdir: Path) -> Bench:
    templates = {}
    for base, files in BASES.items():
        folder = workdir / base
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        template = workdir / f"{base}.db"
        result = run("load", *(folder / name for name in files), db=template)
        assert result.code == 0, result.output
        assert run("plan", db=template).code in (0, 1)
        templates[base] = template
    return Bench(run, workdir, templates)


# -- mutations of the text --------------------------------------------------------------------

PUNCTUATION = [":", "-", "[", "]", "{", "}", "&", "*", "!", "|", ">", "%", "@", "`", "#", "?",
               ",", "'", '"', "- ", ": ", "&a ", "*a ", "!!str ", "!!binary ", "<<: "]
BAD_BYTES = [b"\x00", b"\xff", b"\xfe\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xc0\xaf",
             b"\xf4\x90\x80\x80", b"\xe2\x82"]
WRONG_VALUES = [
    "[a, b]", "{x: 1}", "[]", "{}", "~", "", "[[[[]]]]", "{a: {b: {c: [d]}}}",
    "99999999999999999999", "-99999999999999999999", "-1", "0", "1.5e300", "1.0e999", ".nan",
    "-.inf", "0x7fffffffffffffff", "1_000_000_000", "190:20:30", "true", "no", "null",
    "2024-13-45", "0001-01-01", "9999-12-31", "9999-12-31 23:59", "0001-01-01 00:00",
    "2024-03-31 02:30", "2024-02-30 10:00", "'2024-03-28'", "\"\\u0000\"", "\"\\ud800\"",
    "x" * 1_000, "'" + "é" * 2_000 + "'", "&anchor value", "*undefined",
    "!!python/object/apply:os.system [echo]", "|\n  block", ">\n  folded", "Europe/Atlantis",
    "../../../../etc/passwd", "\"a\\u202eb\"", "CON", "'-'", "'.'", "\"\\e[31mred\"",
]
KEY_VALUE = re.compile(rb"^(\s*(?:- )?[\w-]+:)( ?)(.*?)(\r?\n?)$", re.DOTALL)

Op = tuple[Any, ...]
at = st.integers(min_value=0, max_value=10**6)

ops = st.one_of(
    st.tuples(st.just("delete"), at),
    st.tuples(st.just("duplicate"), at),
    st.tuples(st.just("swap"), at, at),
    st.tuples(st.just("indent"), at, st.sampled_from([b" ", b"  ", b"    ", b"\t", b" \t"])),
    st.tuples(st.just("dedent"), at, st.integers(1, 6)),
    st.tuples(st.just("insert"), at, at, st.sampled_from([p.encode() for p in PUNCTUATION])),
    st.tuples(st.just("insert"), at, at, st.sampled_from(BAD_BYTES)),
    st.tuples(st.just("insert"), at, at,
              st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass"))),
    st.tuples(st.just("value"), at, st.sampled_from([v.encode() for v in WRONG_VALUES])),
    st.tuples(st.just("dash"), at),
    st.tuples(st.just("truncate"), at),
)


def mutate(text: str, mutations: list[Op]) -> bytes:
    """``text`` with each mutation applied in turn, on its lines of bytes."""
    data = text.encode("utf-8")
    for op in mutations:
        lines = data.splitlines(keepends=True) or [b""]
        kind, where = op[0], op[1] % len(lines)
        line = lines[where]
        if kind == "delete":
            del lines[where]
        elif kind == "duplicate":
            lines.insert(where, line)
        elif kind == "swap":
            other = op[2] % len(lines)
            lines[where], lines[other] = lines[other], line
        elif kind == "indent":
            lines[where] = op[2] + line
        elif kind == "dedent":
            lines[where] = line[min(op[2], len(line) - len(line.lstrip(b" "))):]
        elif kind == "insert":
            column = op[2] % (len(line) + 1)
            lines[where] = line[:column] + op[3] + line[column:]
        elif kind == "value":
            match = KEY_VALUE.match(line)
            if match:
                lines[where] = match.group(1) + b" " + op[2] + (match.group(4) or b"\n")
            else:
                lines.insert(where, b"- " + op[2] + b"\n")
        elif kind == "dash":
            stripped = line.lstrip(b" ")
            indent = line[: len(line) - len(stripped)]
            lines[where] = (indent + b"k: " + stripped[2:] if stripped.startswith(b"- ")
                            else indent + b"- " + stripped)
        elif kind == "truncate":
            data = data[: op[1] % (len(data) + 1)]
            continue
        data = b"".join(lines)
    return data


# Crashes the fuzzer found, kept as they were drawn.
@example(base="bright", target="partnership.yaml",  # a two-line message for a control character
         mutations=[("insert", 0, 0, b"\x1f")])
@example(base="demo", target="programme.yaml",  # OverflowError: year 1 in UTC is year 0
         mutations=[("value", 39, b"0001-01-01 00:00")])
@example(base="demo", target="programme.yaml",  # export: "bad year range" for year 9999 + 1
         mutations=[("value", 77, b"9999-12-31 23:59")])
@example(base="demo", target="programme.yaml",  # kind-rules: a month after December 9999
         mutations=[("value", 8, b"9999-12-31"), ("value", 9, b"9999-12-31")])
@example(base="demo", target="programme.yaml",  # a stay checking in on the last day there is
         mutations=[("value", 106, b"9999-12-31"), ("value", 107, b"9999-12-31")])
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(base=st.sampled_from(sorted(BASES)), target=st.sampled_from(["partnership.yaml",
                                                                     "programme.yaml"]),
       mutations=st.lists(ops, min_size=1, max_size=4))
def test_mutated_files_never_crash_and_never_cost_the_store(
    bench: Bench, base: str, target: str, mutations: list[Op],
) -> None:
    bench.exercise(base, target, mutate(BASES[base][target], mutations))


# -- mutations of the data: wrong types where the YAML stays well-formed ---------------------------

long_texts = st.sampled_from([1_000, 200_000]).flatmap(
    lambda n: st.sampled_from(["x", "ß", "\u202e", "</script>", " "]).map(lambda c: c * n))
hostile_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([99999999999999999999, 2**63, -(2**63) - 1, 10_000_001, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), long_texts,
    st.sampled_from(["", " ", "\t", "\u202e", "a\x00b", "2024-03-28", "2024-03-28 25:61",
                     "0001-01-01", "9999-12-31 23:59", "lille-health", "Europe/Paris", "a@b.c",
                     "CAPS-ID", "-leading-dash"]),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def same_kind(value: Any) -> st.SearchStrategy[Any]:
    """A value of the type the file had there, at its extremes: the file loads more often."""
    from datetime import date

    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.integers(0, 10_000_000), st.sampled_from([0, 1, 10_000_000]))
    if isinstance(value, float):
        return st.floats(-90, 90)
    if isinstance(value, date):
        return st.dates(date(1970, 1, 1), date(2199, 12, 31))
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", value):
        return st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2199, 12, 31)).map(
            lambda t: t.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, str) and "@" in value:
        return st.sampled_from(["A@B.CO", "ana.garcia@example.com", "é@é.é", "a+b@x.io",
                                "x@" + "y" * 5000 + ".z", "x@y.z\u202e"])
    if isinstance(value, str):
        return st.one_of(st.text(min_size=1, max_size=30), long_texts, st.sampled_from([
            value.upper(), f" {value} ", value + "\n" + value, "../../etc/passwd", "..", "CON",
            "<b>&amp;</b>", "\u202egnp.exe", "a\tb", "🎉" * 50, "=cmd|' /C calc'!A0"]))
    if isinstance(value, list):
        return st.permutations(value) if value else st.just([])
    return st.just(value)


@st.composite
def data_mutations(draw: st.DrawFn, text: str) -> bytes:
    """Walk to one node of the parsed file and replace, delete or duplicate it."""
    import yaml

    root = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = root
        parent: Any = None
        key: Any = None
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 5)) > 0:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(st.sampled_from(keys))
            node = node[key]
        action = draw(st.sampled_from(["same kind", "same kind", "wrong type", "delete",
                                       "duplicate"]))
        if parent is None:
            root = draw(hostile_values)
            break
        if action == "same kind":
            parent[key] = draw(same_kind(node))
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, node)
        elif action == "duplicate":
            parent[f"{key}-copy" if isinstance(key, str) else key] = node
        else:
            parent[key] = draw(hostile_values)
    dumped: str = yaml.safe_dump(root, sort_keys=False, allow_unicode=True)
    return dumped.encode("utf-8", "surrogatepass")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), base=st.sampled_from(sorted(BASES)),
       target=st.sampled_from(["partnership.yaml", "programme.yaml"]))
def test_wrong_types_never_crash_and_never_cost_the_store(
    bench: Bench, data: st.DataObject, base: str, target: str,
) -> None:
    content = data.draw(data_mutations(BASES[base][target]), label="content")
    bench.exercise(base, target, content)


# -- literal hostile files ----------------------------------------------------------------------

HOSTILE: dict[str, bytes] = {
    "capacity 99999999999999999999": edit(
        PROGRAMME, "capacity: 10\n  quotas", "capacity: 99999999999999999999\n  quotas").encode(),
    "geo beyond floats": edit(
        PROGRAMME, "geo: [50.6090, 3.0370]", "geo: [1.0e999, -1.0e999]").encode(),
    "geo not a number": edit(PROGRAMME, "geo: [50.6090, 3.0370]", "geo: [.nan, .inf]").encode(),
    "a title of a million characters": edit(
        PROGRAMME, "title: Digital health in the Hauts-de-France", "title: " + "x" * 1_000_000,
    ).encode(),
    "an id of a hundred thousand characters": edit(
        PROGRAMME, "id: cxc-2024-lille", "id: " + "a" * 100_000).encode(),
    "a session in year 1": edit(
        PROGRAMME, "start: 2024-03-28 09:30", "start: 0001-01-01 00:00").encode(),
    "a session ending in year 9999": edit(
        PROGRAMME, "end: 2024-04-01 12:00", "end: 9999-12-31 23:59").encode(),
    "a programme in December 9999": edit(edit(
        PROGRAMME, "start: 2024-03-28\n", "start: 9999-12-01\n"),
        "end: 2024-04-01\n", "end: 9999-12-31\n").encode(),
    "a stay checking in on 9999-12-31": edit(
        PROGRAMME, "check_in: 2024-03-27\n      check_out: 2024-04-02",
        "check_in: 9999-12-31\n      check_out: 9999-12-31", count=0).encode(),
    "years centuries apart in one calendar": edit(
        PROGRAMME, "end: 2024-04-01 12:00", "end: 2199-12-31 23:59").encode(),
    "full-width digits in a date": edit(
        PROGRAMME, "start: 2024-03-28\n", "start: ２０２４-03-28\n").encode(),
    "a name that climbs out of the export folder": edit(
        PROGRAMME, "name: Ana Garcia", 'name: "../../../../tmp/x"').encode(),
    "a name of dots": edit(PROGRAMME, "name: Ana Garcia", "name: '..'").encode(),
    "control characters in a name": edit(
        PROGRAMME, "name: Ana Garcia", 'name: "A\\x07\\x1b[31m\\u202e\\u2028b"').encode(),
    "a lone surrogate": edit(PROGRAMME, "name: Ana Garcia", 'name: "\\ud800"').encode(),
    "carriage returns only": PROGRAMME.replace("\n", "\r").encode(),
    "two documents": (PROGRAMME + "---\n" + PROGRAMME).encode(),
    "a recursive alias": b"programme: &a [*a]\n",
    "a tag directive": ("%TAG ! tag:evil.example,2000:\n---\n" + PROGRAMME).encode(),
    "a complex key": edit(PROGRAMME, "  kind: cxc\n", "  ? [a]\n  : cxc\n  kind: cxc\n").encode(),
    "a number as a quota partner": edit(
        PROGRAMME, "    barna-bio: 3\n", "    12: 3\n    barna-bio: 3\n").encode(),
    "UTF-16": PROGRAMME.encode("utf-16"),
    "cut inside a character": ("programme:\n  title: é").encode()[:-1],
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_files(bench: Bench, content: bytes) -> None:
    bench.exercise("demo", "programme.yaml", content)


# Nesting that crashed the C composer (a segmentation fault, so only ever in a subprocess).
DEEP: dict[str, bytes] = {
    "flow lists 100,000 deep": b"programme: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "flow mappings 50,000 deep": b"programme: " + b"{a: " * 50_000 + b"1" + b"}" * 50_000,
    "compact lists 100,000 deep": b"programme:\n  " + b"- " * 100_000 + b"x\n",
    "block lists 3,000 deep": b"programme:\n" + b"".join(
        b" " * i + b"-\n" for i in range(3_000)),
}

SUBPROCESS: dict[str, bytes] = {
    **DEEP,
    "NUL bytes": PROGRAMME.encode()[:200] + b"\x00" + PROGRAMME.encode()[200:],
    "not UTF-8": PROGRAMME.encode().replace(b"Ana Garcia", b"Ana Garc\xeda"),
    "cut short": PROGRAMME.encode()[: len(PROGRAMME) // 2],
    "capacity 99999999999999999999": HOSTILE["capacity 99999999999999999999"],
    "a session in year 1": HOSTILE["a session in year 1"],
    "a session ending in year 9999": HOSTILE["a session ending in year 9999"],
}


@pytest.mark.parametrize("content", SUBPROCESS.values(), ids=SUBPROCESS.keys())
def test_hostile_files_with_the_installed_script(
    run_cxc: Runner, loaded_store: Path, workdir: Path, partnership_file: Path,
    programme_file: Path, content: bytes,
) -> None:
    before = canonical(loaded_store)
    programme_file.write_bytes(content)

    result = run_cxc("load", partnership_file, programme_file)

    assert_clean(result, ("load",))
    assert result.code == 2, result.output
    assert len(result.stderr.splitlines()) >= 1
    assert "programme.yaml" in result.stderr
    assert canonical(loaded_store) == before
    for args in (("validate",), ("plan",), ("export", "--out", "out"), ("report",)):
        assert_clean(run_cxc(*args), args)


def test_the_deep_nesting_message_names_the_place(run: Runner, write: Callable[..., Path]) -> None:
    path = write("programme.yaml", "programme:\n  - " + "[" * 100 + "]" * 100 + "\n")

    result = run("load", path)

    assert result.code == 2
    assert result.stderr.startswith("cxc: programme.yaml:2:")
    assert "nests too deeply" in result.stderr


def test_control_characters_in_text_are_refused_where_they_are(
    run: Runner, write: Callable[..., Path],
) -> None:
    """A BEL, an escape sequence or a NUL written as a YAML escape would reach calendars as is."""
    text = edit(PROGRAMME, "title: Welcome and tour of the campus",
                'title: "Welcome\\x07 \\e[31m and \\0 tour"')
    path = write("programme.yaml", text)

    result = run("load", path)

    assert result.code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("cxc: programme.yaml:37:12: session title holds the control character")
