"""Pydantic v2 measured as the way to declare the format (issue #12, item 2).

    .venv/bin/pip install pydantic        # not a dependency of cxc: install it for this only
    .venv/bin/python bench/pydantic_format.py [--scale eu|small] [--repeat N] [--no-data]

Validates the programme files of the BRIGHT example (``programmes/bright/``) and of a
generated data set (``bench/generate.py``, kept in ``bench/data/<scale>/`` as `run.py` keeps
it) twice, in the same process, with the cyclic garbage collector off for both:

- **cxc**: ``cxc.format.loader.read_file``: read, decode, compose the marked YAML tree
  (with cxc's bounds on tags, aliases and nesting), then the typed reading into the model;
- **pydantic**: ``yaml.load(..., CSafeLoader)`` then ``ProgrammeFile.model_validate``, a
  pydantic model of the programme file below: the same keys, required ones, choices,
  patterns, bounds, extra keys forbidden, zones and countries checked against the same sets.
  The cheapest honest pipeline: it composes a marked tree only when a file fails, to put
  ``file:line:col`` on the errors (the second variant, ``compose+construct``, keeps the
  marks for every file, as a loader that reports places from one parse would).

Then one BRIGHT programme file is broken in eight ways at once and both report: cxc's
problems, and pydantic's errors with their ``loc`` paths walked down the composed YAML
tree to a mark, to see whether the places agree. Best of ``--repeat`` runs per figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
)

from cxc import model as m
from cxc.errors import FormatError
from cxc.format.countries import ISO_COUNTRIES
from cxc.format.loader import read_file
from cxc.format.schema import EMAIL_PATTERN, SLUG_PATTERN, TEXT_PATTERN, URL_PATTERN

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BRIGHT = ROOT / "programmes" / "bright"
sys.path.insert(0, str(BENCH))

from run import DATA, SCALES, ensure_data  # noqa: E402  (bench/run.py, next to this file)

# -- the programme file as a pydantic model ---------------------------------------------


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"`{value}` is not an IANA time zone (e.g. Europe/Paris)")
    return value


def _country(value: str) -> str:
    if value not in ISO_COUNTRIES:
        raise ValueError(f"`{value}` is not an ISO 3166-1 alpha-2 code")
    return value


def _wall_time(value: str) -> str:
    datetime.strptime(value.replace("T", " "), "%Y-%m-%d %H:%M")  # a ValueError if not a time
    return value


def _in_years(value: date) -> date:
    if value.year not in range(1970, 2200):
        raise ValueError("year out of 1970-2199")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=TEXT_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)]
Url = Annotated[str, StringConstraints(pattern=URL_PATTERN)]
Zone = Annotated[str, AfterValidator(_zone)]
Country = Annotated[str, AfterValidator(_country)]
Day = Annotated[date, AfterValidator(_in_years)]
WallTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$"),
                     AfterValidator(_wall_time)]
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
OrgType = Literal["sme", "startup", "large_company", "cluster", "research", "hospital",
                  "public", "other"]
TravelMode = Literal["flight", "train", "bus", "car", "other"]
assert set(OrgType.__args__) == set(m.ORG_TYPES)  # type: ignore[attr-defined]
assert set(TravelMode.__args__) == set(m.TRAVEL_MODES)  # type: ignore[attr-defined]


class Strict(BaseModel):
    # unknown keys are errors; `title: 2023` is the text "2023", as the loader reads it
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class Programme(Strict):
    id: Slug
    kind: m.ProgrammeKind
    title: Text
    host: Slug
    country: Country
    timezone: Zone
    start: Day
    end: Day
    city: Text | None = None
    status: m.ProgrammeStatus = "planned"
    capacity: Count | None = None
    quotas: dict[Slug, Count] | None = None
    themes: list[Text] | None = None
    min_transfer_minutes: Count | None = None


class Venue(Strict):
    id: Slug
    name: Text
    address: Text | None = None
    capacity: Count | None = None
    geo: tuple[Annotated[float, Field(ge=-90, le=90)],
               Annotated[float, Field(ge=-180, le=180)]] | None = None


class Session(Strict):
    id: Slug
    title: Text
    start: WallTime
    end: WallTime
    kind: m.SessionKind = "other"
    venue: Slug | None = None
    slot: Slug | None = None
    capacity: Count | None = None
    themes: list[Text] | None = None
    organisations: list[Text] | None = None
    timezone: Zone | None = None
    description: Text | None = None
    url: Url | None = None


class Leg(Strict):
    model_config = ConfigDict(populate_by_name=True)
    mode: TravelMode
    origin: Text = Field(alias="from")
    to: Text
    depart: WallTime
    arrive: WallTime
    ref: Text | None = None
    depart_timezone: Zone | None = None
    arrive_timezone: Zone | None = None


class Stay(Strict):
    name: Text
    check_in: Day
    check_out: Day
    address: Text | None = None


class Participant(Strict):
    email: Email
    name: Text
    partner: Slug
    organisation: Text | None = None
    org_type: OrgType | None = None
    country: Country | None = None
    interests: list[Text] | None = None
    sessions: list[Slug] | None = None
    status: m.RegistrationStatus = "registered"
    attended: StrictBool = True
    travel: list[Leg] | None = None
    stay: Stay | None = None


class ProgrammeFile(Strict):
    programme: Programme
    venues: list[Venue] | None = None
    sessions: list[Session] | None = None
    participants: list[Participant] | None = None


# -- the two pipelines -------------------------------------------------------------------


def with_cxc(path: Path) -> object:
    return read_file(path)


def with_pydantic(path: Path) -> object:
    return ProgrammeFile.model_validate(yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader))


def with_pydantic_marked(path: Path) -> object:
    """Compose the marked tree first (kept for the errors' places), then construct and validate."""
    loader = yaml.CSafeLoader(path.read_bytes())
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return ProgrammeFile.model_validate(data)


def only_yaml(path: Path) -> object:
    return yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def programme_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*.yaml") if p.is_file())
    return [p for p in files if re.search(rb"(?m)^programme:", p.read_bytes())]


def best_of(repeat: int, steps: dict[str, Callable[[Path], object]],
            files: Iterable[Path]) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each step over all files: the best of ``repeat`` rounds, the
    steps taking turns within a round so that a busy moment of the machine hits them alike."""
    paths = list(files)
    best = {name: (float("inf"), float("inf")) for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            gc.collect()
            gc.disable()
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                for path in paths:
                    step(path)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            finally:
                gc.enable()
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


# -- errors and their places -------------------------------------------------------------

BREAKAGES = (
    ("  city: Strasbourg\n", "  citty: Strasbourg\n"),
    ("  country: FR\n", "  country: fr\n"),
    ("  timezone: Europe/Paris\n", "  timezone: Europe/Pariss\n"),
    ("  start: 2023-10-09 ", "  start: 2023-02-30 "),
    ("  capacity: 15\n", "  capacity: fifteen\n"),
    ("    name: Nextmed\n", ""),
    ("  - id: nextmed-welcome\n", "  - id: Nextmed Welcome\n"),
    ("    org_type: startup\n", "    org_type: start-up\n"),
)
"""(text, replacement) in ``cxc-2023-strasbourg.yaml``: eight problems in one file."""


def mark_of(root: yaml.Node, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """The 1-based (line, column) of the node a pydantic ``loc`` names, walked from the root.

    A key that is not there (missing) gives its mapping's place; an unknown key its own."""
    node = root
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if k.value == step]
            if not pairs:
                break
            key, value = pairs[0]
            if step == loc[-1] and not isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                node = value
                break
            node = value
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            node = node.value[step]
        else:
            break
    return node.start_mark.line + 1, node.start_mark.column + 1


def unknown_key_mark(root: yaml.Node, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """An unknown key's own place (pydantic's loc ends with it)."""
    parent = root
    for step in loc[:-1]:
        parent = (dict((k.value, v) for k, v in parent.value)[step]
                  if isinstance(parent, yaml.MappingNode) else parent.value[int(step)])
    key = next(k for k, _ in parent.value if k.value == loc[-1])
    return key.start_mark.line + 1, key.start_mark.column + 1


def _broken(breakages: Iterable[tuple[str, str]]) -> str:
    text = (BRIGHT / "cxc-2023-strasbourg.yaml").read_text(encoding="utf-8")
    for old, new in breakages:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


def compare_errors(folder: Path) -> None:
    path = folder / "broken.yaml"
    path.write_text(_broken(BREAKAGES), encoding="utf-8")
    try:
        read_file(path)
    except FormatError as exc:
        cxc_problems = [(p.line, p.column, p.message) for p in exc.problems]
    else:
        raise AssertionError("cxc read the broken file")
    print(f"\ncxc: {len(cxc_problems)} problems")
    for line, column, message in cxc_problems:
        print(f"  {line}:{column}: {message}")

    try:
        with_pydantic(path)
    except ValidationError:
        pass
    except ValueError as exc:  # PyYAML's constructor, before pydantic sees anything
        print(f"pydantic pipeline on the same file: PyYAML raised {type(exc).__name__}: {exc} "
              "(no place, no other problem); again without the impossible date:")
    text = _broken(b for b in BREAKAGES if "2023-02-30" not in b[1])
    path.write_text(text, encoding="utf-8")
    try:
        with_pydantic(path)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        raise AssertionError("pydantic accepted the broken file")
    root = yaml.compose(text, Loader=yaml.CSafeLoader)
    assert root is not None
    placed = []
    for error in errors:
        loc = tuple(error["loc"])
        where = (unknown_key_mark(root, loc) if error["type"] == "extra_forbidden"
                 else mark_of(root, loc))
        placed.append((*where, ".".join(map(str, loc)), error["type"], error["msg"]))
    print(f"pydantic: {len(errors)} errors, loc mapped onto the YAML marks")
    for line, column, loc, kind, message in placed:
        print(f"  {line}:{column}: {loc}: [{kind}] {message}")
    cxc_places = {(line, column) for line, column, _ in cxc_problems}
    same = sum(1 for line, column, *_ in placed if (line, column) in cxc_places)
    print(f"places in common: {same} of pydantic's {len(placed)} "
          f"(cxc gave {len(cxc_places)}, one of them the impossible date)")


# -- the run -----------------------------------------------------------------------------


def report(name: str, files: list[Path], repeat: int) -> None:
    size = sum(p.stat().st_size for p in files)
    print(f"\n{name}: {len(files)} programme files, {size / 1e6:.1f} MB, best of {repeat}")
    for path in files:  # both accept every file before anything is timed
        with_cxc(path)
        with_pydantic(path)
    figures = best_of(repeat, {
        "cxc read_file (compose with marks + typed reading)": with_cxc,
        "pydantic: CSafeLoader load + model_validate": with_pydantic,
        "pydantic: compose + construct (marks kept) + validate": with_pydantic_marked,
        "  of which PyYAML (CSafeLoader load) alone": only_yaml,
    }, files)
    wall0, cpu0 = figures["cxc read_file (compose with marks + typed reading)"]
    for label, (wall, cpu) in figures.items():
        print(f"  {label:<56} CPU {cpu:7.3f} s {cpu / cpu0:5.2f}x   "
              f"wall {wall:7.3f} s {wall / wall0:5.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="eu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-data", action="store_true",
                        help="the BRIGHT files and the error comparison only")
    args = parser.parse_args(argv)
    import pydantic

    print(f"{datetime.now().isoformat(timespec='seconds')}, {platform.python_version()}, "
          f"pydantic {pydantic.VERSION}, PyYAML {yaml.__version__}, nproc {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    report("BRIGHT", programme_files(BRIGHT), max(args.repeat, 20))
    if not args.no_data:
        programmes, registrations = SCALES[args.scale]
        folder = DATA / args.scale
        ensure_data(folder, programmes, registrations, 2024, False)
        report(f"generated ({args.scale})", programme_files(folder), args.repeat)
    work = BENCH / "data"
    work.mkdir(exist_ok=True)
    compare_errors(work)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
