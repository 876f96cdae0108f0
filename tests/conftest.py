"""Shared fixtures: a small valid partnership and Cluster Exchange, and ways to run `cxc` on them.

Every CLI test tells the same story: take the valid YAML (tests/data/), change one
thing, write it to ``tmp_path``, run `cxc load` and `cxc validate` against a
real SQLite store there, and look at the output.

Two runners with one interface, both going through ``cxc.cli:main`` (the entry
point that turns errors into messages and exit codes):

* ``run``: in the test process, with ``sys.argv`` patched (fast; the many rule cases);
* ``run_cxc``: a subprocess of the installed ``cxc`` script (the real thing; malformed
  input, atomicity, permissions).

Both run in ``tmp_path`` (so file names in messages are relative: ``programme.yaml``)
and pass ``--db cxc.db`` unless told ``db=None``.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import string
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CXC = Path(sys.executable).with_name("cxc")
"""The installed entry point, next to this interpreter."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden calendars of tests/data/golden/ from the real "
                          "export instead of comparing with them (then review the diff)")

DATA = Path(__file__).resolve().parent / "data"
"""The test data sets, as files: the fixture YAML below, golden calendars, import forms."""


def _data_file(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# A partnership of three clusters: Lille hosts, Barcelona and Tallinn send delegations.
PARTNERSHIP = _data_file("partnership.yaml")

# A Cluster Exchange from Thursday 28 March to Monday 1 April 2024 (three working days,
# the clocks go forward in the night of Sunday 31 March), two delegations of three.
PROGRAMME = _data_file("programme.yaml")

PROGRAMME_ID = "cxc-2024-lille"


def other_programme(
    programme_id: str,
    *,
    kind: str = "deep_dive_day",
    host: str = "tallinn-med",
    start: str = "2024-06-05",
    end: str | None = None,
    status: str = "planned",
    participants: str = "",
) -> str:
    """A second, small programme file: one plenary session on its first day.

    ``participants`` is YAML for the entries of its `participants:` list, indented by two.
    """
    return string.Template(_data_file("other-programme.yaml")).substitute(
        programme_id=programme_id, kind=kind, host=host, start=start, end=end or start,
        status=status, participants=participants or "  []")


def participant_yaml(email: str, *, partner: str = "barna-bio", organisation: str = "Someone SL",
                     org_type: str = "sme") -> str:
    """One entry of a `participants:` list, indented by two."""
    return (f"  - email: {email}\n    name: Someone\n    organisation: {organisation}\n"
            f"    org_type: {org_type}\n    partner: {partner}\n")


# -- editing the YAML -----------------------------------------------------------------------


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """``text`` with ``old`` replaced by ``new``; fails loudly if ``old`` is not there ``count`` times.

    ``count=0`` replaces every occurrence (there must be at least one).
    """
    found = text.count(old)
    assert found and (count == 0 or found == count), (
        f"the fixture has {found} occurrences of {old!r}, the test expects {count or 'some'}")
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1, *, exact: bool = False) -> int:
    """The 1-based number of the ``nth`` line of ``text`` that contains ``needle``.

    With ``exact``, the line must be ``needle`` once stripped of surrounding white space.
    """
    hits = [i for i, line in enumerate(text.splitlines(), start=1)
            if (line.strip() == needle.strip() if exact else needle in line)]
    assert len(hits) >= nth, f"{needle!r} occurs on {len(hits)} lines, wanted the {nth}th"
    return hits[nth - 1]


def data(text: str = PROGRAMME) -> dict[str, Any]:
    """The YAML as plain data, to edit as a dict; write it back with :func:`dump`."""
    import yaml

    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def dump(value: dict[str, Any]) -> str:
    """YAML for ``value``, keys in the order given (times stay text: they carry no seconds)."""
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


# -- running cxc ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


Runner = Callable[..., Result]


def _args(args: tuple[str | Path, ...], db: Path | None) -> list[str]:
    prefix = ["--db", str(db)] if db is not None else []
    return [*prefix, *map(str, args)]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path``, made the current folder, with an environment that cannot leak in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CXC_DB", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


@pytest.fixture
def db(workdir: Path) -> Path:
    """Where the store goes (not created until a command creates it)."""
    return workdir / "cxc.db"


@pytest.fixture
def run(db: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Run ``cxc.cli.main`` in this process: ``run("validate", "--format", "json")``."""
    from cxc import cli

    def runner(*args: str | Path, db: Path | None = db) -> Result:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "argv", ["cxc", *_args(args, db)])
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            else:  # pragma: no cover - main always exits
                raise AssertionError("cxc.cli.main returned instead of exiting")
        return Result(code, out.getvalue(), err.getvalue())

    return runner


@pytest.fixture
def run_cxc(db: Path, workdir: Path) -> Runner:
    """Run the installed ``cxc`` script in a subprocess, in ``tmp_path``."""
    assert CXC.exists(), f"{CXC} is not installed: pip install -e ."

    def runner(*args: str | Path, db: Path | None = db) -> Result:
        done = subprocess.run(
            [str(CXC), *_args(args, db)], cwd=workdir, capture_output=True, text=True,
            env=os.environ.copy(), timeout=120, check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return runner


# -- the story's files ----------------------------------------------------------------------


@pytest.fixture
def partnership_file(workdir: Path) -> Path:
    path = workdir / "partnership.yaml"
    path.write_text(PARTNERSHIP, encoding="utf-8")
    return path


@pytest.fixture
def programme_file(workdir: Path) -> Path:
    path = workdir / "programme.yaml"
    path.write_text(PROGRAMME, encoding="utf-8")
    return path


@pytest.fixture
def write(workdir: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``name`` in ``tmp_path``, return the path."""

    def writer(name: str, text: str) -> Path:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return writer


@dataclass(frozen=True)
class Checked:
    """What `cxc validate --format json` said, and what --strict made of it."""

    result: Result
    strict: Result
    findings: list[dict[str, Any]]

    @property
    def rules(self) -> set[str]:
        return {f["rule"] for f in self.findings}

    def of(self, rule: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["rule"] == rule]


@pytest.fixture
def check(run: Runner, write: Callable[[str, str], Path]) -> Callable[..., Checked]:
    """Write the files, load them (which must succeed), validate in JSON, and with --strict.

    ``check(programme_text)``, or ``check(programme_text, partnership=..., extra={"b.yaml": ...})``.
    """

    def checker(programme: str = PROGRAMME, *, partnership: str = PARTNERSHIP,
                extra: dict[str, str] | None = None) -> Checked:
        paths = [write("partnership.yaml", partnership), write("programme.yaml", programme)]
        paths += [write(name, text) for name, text in (extra or {}).items()]
        loaded = run("load", *paths)
        assert loaded.code == 0, loaded.output
        result = run("validate", "--format", "json")
        assert result.code in (0, 1), result.output
        strict = run("validate", "--format", "json", "--strict")
        payload = result.json()
        assert strict.json() == payload
        return Checked(result, strict, payload["findings"])

    return checker


def dump_store(path: Path, *, kept: bool = False) -> list[str]:
    """Every table's rows and the schema, as SQL lines: two equal dumps are the same store.

    Without ``kept``, each file's stat is left out: it says when and where a file was read,
    and a load of unchanged files may fill it in."""
    source = sqlite3.connect(path)
    conn = sqlite3.connect(":memory:")
    try:
        source.backup(conn)
        if not kept and conn.execute(
                "SELECT 1 FROM pragma_table_info('files') WHERE name = 'stat'").fetchone():
            conn.execute("UPDATE files SET stat = NULL")
        return list(conn.iterdump())
    finally:
        source.close()
        conn.close()


@pytest.fixture
def loaded_store(run_cxc: Runner, db: Path, partnership_file: Path, programme_file: Path) -> Path:
    """A store holding the valid partnership and programme, loaded by the real `cxc`."""
    loaded = run_cxc("load", partnership_file, programme_file)
    assert loaded.code == 0, loaded.output
    return db


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded data set from bench/generate.py: 6 programmes, 300 registrations."""
    from store_helpers import generate  # it imports this module

    return generate(tmp_path_factory.mktemp("data") / "data", 6, 300, 7)


@pytest.fixture
def folder(dataset: Path, workdir: Path) -> Path:
    """A copy of ``dataset`` in the test's own folder, to edit."""
    copy = workdir / "data"
    for path in dataset.rglob("*.yaml"):
        target = copy / path.relative_to(dataset)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return copy
