"""`cxc report`: the COSME deliverables of a hand-counted fixture, through the real CLI.

The fixture below is small enough to count by hand; every expected number is a
literal with the count written out beside it. Held programmes:

    sv-2023-lille       study_visit    host alpha  FR  2023-03-06..07  2 days
    cxc-2023-barcelona  cxc            host beta   ES  2023-10-09..11  3 days
    dd-2024-tallinn     deep_dive_day  host gamma  EE  2024-02-01      1 day

and two that count nowhere: cxc-2024-paris (no status: planned) and
sv-2022-barcelona (cancelled). Activities: promotional_event alpha 2023-02-01,
promotional_event beta 2023-06-15, eccp_post beta 2023-09-10,
strategic_analysis gamma 2024-01-20.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

CXC = Path(sys.executable).with_name("cxc")
NO_TARGET = "\N{EM DASH}"

PARTNERSHIP = """\
partnership:
  id: testnet
  name: Test network of health clusters
  funding: COSME
  start: 2022-01-01
  end: 2024-12-31
partners:
  - id: alpha
    name: Alpha Cluster
    country: FR
    timezone: Europe/Paris
    contact:
      name: Paula Desk
      email: desk@alpha.example
  - id: beta
    name: Beta Cluster
    country: ES
    timezone: Europe/Madrid
  - id: gamma
    name: Gamma Cluster
    country: EE
    timezone: Europe/Tallinn
targets:
  study_visits: 2
  cxc: 1
  deep_dive_days: 3
  participants: 5
  organisations: 10
  promotional_events: 4
  eccp_posts: 1
activities:
  - kind: promotional_event
    partner: alpha
    date: 2023-02-01
    title: Launch event in Lille
  - kind: promotional_event
    partner: beta
    date: 2023-06-15
    title: Meet-up in Barcelona
  - kind: eccp_post
    partner: beta
    date: 2023-09-10
    title: Exchange announced on the ECCP
  - kind: strategic_analysis
    partner: gamma
    date: 2024-01-20
    title: Health data in Estonia
"""

# Cy, of a Lille hospital, travels with gamma's delegation: a study visit's visitors
# come from the other partners (see CY_WITH_THE_HOST for the store that breaks this).
STUDY_VISIT = """\
programme:
  id: sv-2023-lille
  kind: study_visit
  title: The Lille health ecosystem
  host: alpha
  country: FR
  timezone: Europe/Paris
  start: 2023-03-06
  end: 2023-03-07
  status: held
sessions:
  - id: tour
    title: Tour of the hospital campus
    start: 2023-03-06 09:00
    end: 2023-03-06 12:00
    organisations: [Lille Health, BioTech Co]
  - id: meeting
    title: Meeting the hospital again
    start: 2023-03-07 09:00
    end: 2023-03-07 12:00
    organisations: [" LILLE HEALTH "]
participants:
  - {email: ana@example.com, name: Ana Garcia, partner: beta,
     organisation: Acme Health, org_type: sme, country: ES}
  - {email: bo@example.com, name: Bo Berg, partner: gamma,
     organisation: Tallinn Cluster, org_type: cluster, country: EE}
  - {email: cy@example.com, name: Cy Dupont, partner: gamma,
     organisation: Lille Health, org_type: hospital, country: FR}
  - {email: dee@example.com, name: Dee Absent, partner: beta,
     organisation: Ghost Ltd, org_type: sme, country: PT, attended: false}
"""

EXCHANGE = """\
programme:
  id: cxc-2023-barcelona
  kind: cxc
  title: Digital health in Barcelona
  host: beta
  country: ES
  timezone: Europe/Madrid
  start: 2023-10-09
  end: 2023-10-11
  status: held
sessions:
  - id: hub
    title: Visit of the hub
    start: 2023-10-09 09:00
    end: 2023-10-09 12:00
    organisations: [Barcelona Hub, acme health]
participants:
  - {email: ANA@Example.COM, name: Ana Garcia, partner: alpha,
     organisation: "  ACME health ", org_type: sme, country: ES}
  - {email: eve@example.com, name: Eve Martin, partner: alpha,
     organisation: Startup One, org_type: startup, country: FR}
  - {email: fay@example.com, name: Fay Tamm, partner: gamma,
     organisation: Tallinn Cluster, org_type: cluster, country: EE}
"""

DEEP_DIVE = """\
programme:
  id: dd-2024-tallinn
  kind: deep_dive_day
  title: Health data
  host: gamma
  country: EE
  timezone: Europe/Tallinn
  start: 2024-02-01
  end: 2024-02-01
  status: held
sessions:
  - id: talks
    title: Talks
    start: 2024-02-01 09:00
    end: 2024-02-01 17:00
    organisations: [Tallinn Cluster, Data Lab]
participants:
  - {email: bo@example.com, name: Bo Berg, partner: gamma,
     organisation: Tallinn Cluster, org_type: cluster, country: EE}
  - {email: gus@example.com, name: Gus Lind, partner: alpha,
     organisation: Data Lab, org_type: research, country: SE}
"""

PLANNED = """\
programme:
  id: cxc-2024-paris
  kind: cxc
  title: Paris, still being planned
  host: alpha
  country: FR
  timezone: Europe/Paris
  start: 2024-05-13
  end: 2024-05-15
sessions:
  - id: visit
    title: Visit
    start: 2024-05-13 09:00
    end: 2024-05-13 12:00
    organisations: [Planned Host Org]
participants:
  - {email: hal@example.com, name: Hal Planned, partner: beta,
     organisation: Planned Org, org_type: sme, country: DE}
"""

CANCELLED = """\
programme:
  id: sv-2022-barcelona
  kind: study_visit
  title: Barcelona, called off
  host: beta
  country: ES
  timezone: Europe/Madrid
  start: 2022-11-07
  end: 2022-11-08
  status: cancelled
sessions:
  - id: visit
    title: Visit
    start: 2022-11-07 09:00
    end: 2022-11-07 12:00
    organisations: [Cancelled Host Org]
participants:
  - {email: ivy@example.com, name: Ivy Cancelled, partner: alpha,
     organisation: Cancelled Org, org_type: startup, country: IT}
"""

FILES = {
    "partnership.yaml": PARTNERSHIP,
    "sv-2023-lille.yaml": STUDY_VISIT,
    "cxc-2023-barcelona.yaml": EXCHANGE,
    "dd-2024-tallinn.yaml": DEEP_DIVE,
    "cxc-2024-paris.yaml": PLANNED,
    "sv-2022-barcelona.yaml": CANCELLED,
}

PEOPLE = ("Ana Garcia", "Bo Berg", "Cy Dupont", "Dee Absent", "Eve Martin", "Fay Tamm",
          "Gus Lind", "Hal Planned", "Ivy Cancelled", "Paula Desk")
EMAILS = ("ana@example.com", "bo@example.com", "cy@example.com", "dee@example.com",
          "eve@example.com", "fay@example.com", "gus@example.com", "hal@example.com",
          "ivy@example.com", "desk@alpha.example")

KEYS = ("study_visits", "cxc", "deep_dive_days", "participants", "participant_days", "smes",
        "organisations", "countries", "cross_border_participations", "organisations_met",
        "promotional_events", "eccp_posts", "strategic_analyses")
LABELS = {
    "study_visits": "Study visits",
    "cxc": "Cluster exchanges",
    "deep_dive_days": "Deep dive days",
    "participants": "Participants (distinct people)",
    "participant_days": "Participant-days",
    "smes": "SMEs and start-ups",
    "organisations": "Organisations",
    "countries": "Participant countries",
    "cross_border_participations": "Cross-border participations",
    "organisations_met": "Organisations met",
    "promotional_events": "Promotional events",
    "eccp_posts": "ECCP posts",
    "strategic_analyses": "Strategic analyses",
}
TARGETS: dict[str, int | None] = {
    "study_visits": 2, "cxc": 1, "deep_dive_days": 3, "participants": 5,
    "participant_days": None, "smes": None, "organisations": 10, "countries": None,
    "cross_border_participations": None, "organisations_met": None,
    "promotional_events": 4, "eccp_posts": 1, "strategic_analyses": None,
}

ALL = {
    "study_visits": 1,        # sv-2023-lille; sv-2022-barcelona is cancelled
    "cxc": 1,                 # cxc-2023-barcelona; cxc-2024-paris is only planned
    "deep_dive_days": 1,      # dd-2024-tallinn
    "participants": 6,        # ana (as ana@ and ANA@), bo (twice), cy, eve, fay, gus; not dee
    "participant_days": 17,   # 3 attended x 2 days + 3 x 3 + 2 x 1 = 6 + 9 + 2
    "smes": 2,                # Acme Health (= "  ACME health "), Startup One; Ghost Ltd no-show
    "organisations": 5,       # acme health, tallinn cluster, lille health, startup one, data lab
    "countries": 4,           # ES, EE, FR, SE (PT only from the no-show)
    "cross_border_participations": 5,  # in FR: ana ES, bo EE; in ES: eve FR, fay EE; in EE: gus SE
    "organisations_met": 6,   # lille health (= " LILLE HEALTH "), biotech co, barcelona hub,
                              # acme health, tallinn cluster, data lab
    "promotional_events": 2,  # alpha 2023-02-01, beta 2023-06-15
    "eccp_posts": 1,          # beta 2023-09-10
    "strategic_analyses": 1,  # gamma 2024-01-20
}

FROM_2023_06_01 = {  # held: barcelona (2023-10-09), tallinn (2024-02-01)
    "study_visits": 0,
    "cxc": 1,
    "deep_dive_days": 1,
    "participants": 5,        # ana, eve, fay; bo, gus
    "participant_days": 11,   # 3 x 3 + 2 x 1
    "smes": 2,                # acme health, startup one
    "organisations": 4,       # acme health, startup one, tallinn cluster, data lab
    "countries": 4,           # ES, FR, EE; EE, SE
    "cross_border_participations": 3,  # eve FR, fay EE in ES; gus SE in EE
    "organisations_met": 4,   # barcelona hub, acme health, tallinn cluster, data lab
    "promotional_events": 1,  # beta 2023-06-15
    "eccp_posts": 1,          # beta 2023-09-10
    "strategic_analyses": 1,  # gamma 2024-01-20
}

TO_2023_10_09 = {  # held: lille (2023-03-06), barcelona (starts 2023-10-09: inclusive)
    "study_visits": 1,
    "cxc": 1,
    "deep_dive_days": 0,
    "participants": 5,        # ana, bo, cy; ana again, eve, fay
    "participant_days": 15,   # 3 x 2 + 3 x 3
    "smes": 2,                # acme health, startup one
    "organisations": 4,       # acme health, tallinn cluster, lille health, startup one
    "countries": 3,           # ES, EE, FR
    "cross_border_participations": 4,  # ana ES, bo EE in FR; eve FR, fay EE in ES
    "organisations_met": 4,   # lille health, biotech co; barcelona hub, acme health
    "promotional_events": 2,  # 2023-02-01, 2023-06-15
    "eccp_posts": 1,          # 2023-09-10
    "strategic_analyses": 0,  # 2024-01-20 is after
}

FROM_2023_03_06_TO_2023_10_08 = {  # held: lille only (starts on --from; barcelona a day late)
    "study_visits": 1,
    "cxc": 0,
    "deep_dive_days": 0,
    "participants": 3,        # ana, bo, cy
    "participant_days": 6,    # 3 x 2
    "smes": 1,                # acme health
    "organisations": 3,       # acme health, tallinn cluster, lille health
    "countries": 3,           # ES, EE, FR
    "cross_border_participations": 2,  # ana ES, bo EE
    "organisations_met": 2,   # lille health, biotech co
    "promotional_events": 1,  # 2023-06-15 (2023-02-01 is before)
    "eccp_posts": 1,          # 2023-09-10
    "strategic_analyses": 0,
}

PARTNER_BETA = {  # beta hosts barcelona (held) and sv-2022-barcelona (cancelled)
    "study_visits": 0,        # its only study visit is cancelled
    "cxc": 1,
    "deep_dive_days": 0,
    "participants": 3,        # ana, eve, fay
    "participant_days": 9,    # 3 x 3
    "smes": 2,                # acme health, startup one
    "organisations": 3,       # acme health, startup one, tallinn cluster
    "countries": 3,           # ES, FR, EE
    "cross_border_participations": 2,  # eve FR, fay EE
    "organisations_met": 2,   # barcelona hub, acme health
    "promotional_events": 1,  # beta 2023-06-15
    "eccp_posts": 1,          # beta 2023-09-10
    "strategic_analyses": 0,  # gamma's
}


# The same files with Cy in the host's own delegation of its study visit: a kind-rules
# error, and nothing the counts depend on changed.
CY_WITH_THE_HOST = {**FILES, "sv-2023-lille.yaml": STUDY_VISIT.replace(
    "cy@example.com, name: Cy Dupont, partner: gamma",
    "cy@example.com, name: Cy Dupont, partner: alpha")}


# -- running the CLI ----------------------------------------------------------


def _store(tmp_path_factory: pytest.TempPathFactory, files: dict[str, str]) -> Path:
    folder = tmp_path_factory.mktemp("report")
    programmes = folder / "programmes"
    programmes.mkdir()
    for name, text in files.items():
        (programmes / name).write_text(dedent(text), encoding="utf-8")
    store = folder / "cxc.db"
    loaded = cxc(store, "load", str(programmes))
    assert loaded.returncode == 0, loaded.stderr
    return store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _store(tmp_path_factory, FILES)


@pytest.fixture(scope="module")
def broken_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _store(tmp_path_factory, CY_WITH_THE_HOST)


def cxc(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CXC_DB", "COLUMNS", "FORCE_COLOR")}
    return subprocess.run([str(CXC), "--db", str(db), *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=60, check=False)


@functools.cache
def report(db: Path, *args: str) -> str:
    """The output of a report that must succeed; the store does not change, so it is cached."""
    done = cxc(db, "report", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def actuals(db: Path, *args: str) -> dict[str, int]:
    payload = json.loads(report(db, "--format", "json", *args))
    return {d["key"]: d["actual"] for d in payload["deliverables"]}


def evidence(db: Path, key: str, *args: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(report(db, "--explain", key, "--format", "json",
                                                *args))
    return payload


def fails(db: Path, *args: str) -> str:
    """The one-line message of a report that must fail with exit 2."""
    done = cxc(db, "report", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- counts and filters -------------------------------------------------------


def test_json_is_the_brief_shape_with_every_count(db: Path) -> None:
    payload = json.loads(report(db, "--format", "json"))
    assert payload == {
        "period": {"from": None, "to": None},
        "deliverables": [
            {"key": key, "label": LABELS[key], "actual": ALL[key], "target": TARGETS[key]}
            for key in KEYS
        ],
    }


def test_the_keys_are_the_loaders_deliverable_keys_in_order() -> None:
    from cxc.format.definition import DELIVERABLE_KEYS
    from cxc.report import MEASURES

    assert tuple(MEASURES) == DELIVERABLE_KEYS == KEYS


@pytest.mark.parametrize(("args", "expected"), [
    ((), ALL),
    (("--from", "2023-06-01"), FROM_2023_06_01),
    (("--to", "2023-10-09"), TO_2023_10_09),
    (("--from", "2023-03-06", "--to", "2023-10-08"), FROM_2023_03_06_TO_2023_10_08),
    (("--partner", "beta"), PARTNER_BETA),
], ids=["all", "from", "to", "from-to", "partner"])
def test_counts(db: Path, args: tuple[str, ...], expected: dict[str, int]) -> None:
    assert actuals(db, *args) == expected


def test_partner_and_period_together(db: Path) -> None:
    counts = actuals(db, "--partner", "alpha", "--to", "2023-12-31")
    assert counts["study_visits"] == 1         # sv-2023-lille; cxc-2024-paris is planned anyway
    assert counts["participants"] == 3         # ana, bo, cy
    assert counts["promotional_events"] == 1   # alpha 2023-02-01
    assert counts["eccp_posts"] == 0           # beta's


def test_the_period_is_in_the_json(db: Path) -> None:
    payload = json.loads(report(db, "--format", "json", "--from", "2023-06-01"))
    assert payload["period"] == {"from": "2023-06-01", "to": None}
    payload = json.loads(report(db, "-f", "json", "--from", "2023-03-06", "--to", "2023-10-08"))
    assert payload["period"] == {"from": "2023-03-06", "to": "2023-10-08"}


def test_a_period_with_nothing_in_it_counts_zero(db: Path) -> None:
    assert actuals(db, "--from", "2025-01-01") == dict.fromkeys(KEYS, 0)


def test_the_fixture_is_valid(db: Path) -> None:
    done = cxc(db, "validate")
    assert (done.returncode, done.stdout) == (0, "no problems found\n")


def test_rule_errors_stop_the_report_unless_forced(broken_db: Path) -> None:
    assert cxc(broken_db, "validate").returncode == 1   # Cy in the host's own study visit
    for args in ((), ("--format", "json"), ("--explain", "participants", "-f", "csv")):
        refused = cxc(broken_db, "report", *args)
        assert (refused.returncode, refused.stdout) == (1, ""), args
        assert refused.stderr == ("cxc: the store has 1 error (see `cxc validate`); "
                                  "fix it, or report anyway with --force\n")

    forced = cxc(broken_db, "report", "--format", "json", "--force")

    assert forced.returncode == 0
    assert {d["key"]: d["actual"] for d in json.loads(forced.stdout)["deliverables"]} == ALL
    assert forced.stderr == ("cxc: warning: the store has 1 error (see `cxc validate`); "
                             "reported anyway (--force), the counts may be wrong\n")


# -- formats ------------------------------------------------------------------


def test_csv_one_row_a_key(db: Path) -> None:
    rows = list(csv.reader(io.StringIO(report(db, "--format", "csv"))))
    assert rows[0] == ["key", "label", "actual", "target"]
    assert rows[1:] == [
        [key, LABELS[key], str(ALL[key]), "" if TARGETS[key] is None else str(TARGETS[key])]
        for key in KEYS
    ]


def test_markdown_table(db: Path) -> None:
    lines = report(db, "--format", "markdown", "--partner", "beta").splitlines()
    assert lines[0] == "**Deliverables**, all dates, partner beta"
    assert lines[1] == ""
    assert lines[2:] == [
        "| Key | Deliverable | Actual | Target | Progress | Status |",
        "| :-- | :-- | --: | --: | --: | :-- |",
        "| `study_visits` | Study visits | 0 | 2 | 0% | ✗ behind |",
        "| `cxc` | Cluster exchanges | 1 | 1 | 100% | ✓ met |",
        "| `deep_dive_days` | Deep dive days | 0 | 3 | 0% | ✗ behind |",
        "| `participants` | Participants (distinct people) | 3 | 5 | 60% | ✗ behind |",
        "| `participant_days` | Participant-days | 9 | — |  |  |",
        "| `smes` | SMEs and start-ups | 2 | — |  |  |",
        "| `organisations` | Organisations | 3 | 10 | 30% | ✗ behind |",
        "| `countries` | Participant countries | 3 | — |  |  |",
        "| `cross_border_participations` | Cross-border participations | 2 | — |  |  |",
        "| `organisations_met` | Organisations met | 2 | — |  |  |",
        "| `promotional_events` | Promotional events | 1 | 4 | 25% | ✗ behind |",
        "| `eccp_posts` | ECCP posts | 1 | 1 | 100% | ✓ met |",
        "| `strategic_analyses` | Strategic analyses | 0 | — |  |  |",
    ]


def test_table_shows_every_label_actual_target_and_mark(db: Path) -> None:
    out = report(db)   # the default format
    assert "Deliverables, all dates" in out
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in KEYS:
            rows[cells[0]] = cells
    assert list(rows) == list(KEYS)
    for key in KEYS:
        _, label, actual, target, *progress = rows[key]
        assert (label, actual) == (LABELS[key], str(ALL[key]))
        assert target == (NO_TARGET if TARGETS[key] is None else str(TARGETS[key]))
        if TARGETS[key] is None:
            assert progress == []
    assert rows["participants"][-1] == "✓ met"        # 6 of 5
    assert rows["participants"][-2].startswith("120%")
    assert rows["organisations"][-1] == "✗ behind"    # 5 of 10
    assert rows["organisations"][-2].startswith("50%")


# -- evidence -----------------------------------------------------------------


def test_explain_study_visits_lists_the_held_programmes(db: Path) -> None:
    assert evidence(db, "study_visits") == {
        "period": {"from": None, "to": None},
        "key": "study_visits", "label": "Study visits", "actual": 1, "target": 2,
        "evidence": [{"programme": "sv-2023-lille", "kind": "study_visit",
                      "start": "2023-03-06", "end": "2023-03-07", "host": "alpha"}],
    }


def test_explain_participants_counts_per_programme(db: Path) -> None:
    rows = evidence(db, "participants")["evidence"]
    assert rows == [
        {"programme": "sv-2023-lille", "kind": "study_visit", "start": "2023-03-06",
         "end": "2023-03-07", "host": "alpha", "attended": 3, "new": 3},      # ana, bo, cy
        {"programme": "cxc-2023-barcelona", "kind": "cxc", "start": "2023-10-09",
         "end": "2023-10-11", "host": "beta", "attended": 3, "new": 2},       # eve, fay
        {"programme": "dd-2024-tallinn", "kind": "deep_dive_day", "start": "2024-02-01",
         "end": "2024-02-01", "host": "gamma", "attended": 2, "new": 1},      # gus
    ]


def test_explain_participant_days(db: Path) -> None:
    rows = evidence(db, "participant_days")["evidence"]
    assert [(r["programme"], r["days"], r["attended"], r["participant_days"])
            for r in rows] == [
        ("sv-2023-lille", 2, 3, 6),
        ("cxc-2023-barcelona", 3, 3, 9),
        ("dd-2024-tallinn", 1, 2, 2),
    ]


def test_explain_organisations_tells_them_apart_by_name_ignoring_case(db: Path) -> None:
    assert evidence(db, "organisations")["evidence"] == [
        {"organisation": "ACME health", "org_types": "sme",
         "programmes": "sv-2023-lille, cxc-2023-barcelona"},
        {"organisation": "Data Lab", "org_types": "research", "programmes": "dd-2024-tallinn"},
        {"organisation": "Lille Health", "org_types": "hospital", "programmes": "sv-2023-lille"},
        {"organisation": "Startup One", "org_types": "startup",
         "programmes": "cxc-2023-barcelona"},
        {"organisation": "Tallinn Cluster", "org_types": "cluster",
         "programmes": "sv-2023-lille, cxc-2023-barcelona, dd-2024-tallinn"},
    ]


def test_explain_organisations_met(db: Path) -> None:
    rows = evidence(db, "organisations_met")["evidence"]
    assert [r["organisation"] for r in rows] == [
        "acme health", "Barcelona Hub", "BioTech Co", "Data Lab", "LILLE HEALTH",
        "Tallinn Cluster"]


def test_explain_countries_and_cross_border(db: Path) -> None:
    assert evidence(db, "countries")["evidence"] == [
        {"country": "EE", "people": 2, "attended": 3},   # bo (twice), fay
        {"country": "ES", "people": 1, "attended": 2},   # ana (twice)
        {"country": "FR", "people": 2, "attended": 2},   # cy, eve
        {"country": "SE", "people": 1, "attended": 1},   # gus
    ]
    assert evidence(db, "cross_border_participations")["evidence"] == [
        {"programme": "sv-2023-lille", "start": "2023-03-06", "held_in": "FR",
         "from_country": "EE", "participations": 1},
        {"programme": "sv-2023-lille", "start": "2023-03-06", "held_in": "FR",
         "from_country": "ES", "participations": 1},
        {"programme": "cxc-2023-barcelona", "start": "2023-10-09", "held_in": "ES",
         "from_country": "EE", "participations": 1},
        {"programme": "cxc-2023-barcelona", "start": "2023-10-09", "held_in": "ES",
         "from_country": "FR", "participations": 1},
        {"programme": "dd-2024-tallinn", "start": "2024-02-01", "held_in": "EE",
         "from_country": "SE", "participations": 1},
    ]


def test_explain_activities_with_filters(db: Path) -> None:
    assert evidence(db, "promotional_events", "--partner", "beta", "--from", "2023-01-01") == {
        "period": {"from": "2023-01-01", "to": None},
        "key": "promotional_events", "label": "Promotional events", "actual": 1, "target": 4,
        "evidence": [{"date": "2023-06-15", "partner": "beta", "title": "Meet-up in Barcelona"}],
    }


def test_explain_in_csv_and_markdown(db: Path) -> None:
    rows = list(csv.reader(io.StringIO(report(db, "--explain", "eccp_posts", "-f", "csv"))))
    assert rows == [["date", "partner", "title"],
                    ["2023-09-10", "beta", "Exchange announced on the ECCP"]]
    lines = report(db, "--explain", "deep_dive_days", "-f", "markdown").splitlines()
    assert lines[:5] == [
        "**Deep dive days** (`deep_dive_days`): 1, target 3; all dates",
        "",
        "| programme | kind | start | end | host |",
        "| :-- | :-- | :-- | :-- | :-- |",
        "| dd-2024-tallinn | deep_dive_day | 2024-02-01 | 2024-02-01 | gamma |",
    ]


@pytest.mark.parametrize("key", KEYS)
def test_the_evidence_adds_up_to_the_count(db: Path, key: str) -> None:
    payload = evidence(db, key)
    rows = payload["evidence"]
    assert payload["actual"] == ALL[key]
    adds_up = {"participants": "new", "participant_days": "participant_days",
               "cross_border_participations": "participations"}
    if key in adds_up:
        assert sum(r[adds_up[key]] for r in rows) == ALL[key]
    else:
        assert len(rows) == ALL[key]


# -- no personal data ---------------------------------------------------------


def test_no_names_or_emails_in_any_output(db: Path) -> None:
    formats = ("table", "json", "csv", "markdown")
    commands: list[tuple[str, ...]] = [("--format", fmt) for fmt in formats]
    # Every key's evidence as data and as a table; csv and markdown render the same rows.
    commands += [("--explain", key, "--format", fmt) for key in KEYS for fmt in ("json", "table")]
    commands += [("--explain", key, "--format", fmt)
                 for key in ("participants", "organisations") for fmt in ("csv", "markdown")]
    for args in commands:
        out = report(db, *args)
        assert "@" not in out, args
        for text in PEOPLE + EMAILS:
            assert text.lower() not in out.lower(), (args, text)


# -- errors -------------------------------------------------------------------


def test_unknown_key_lists_the_valid_keys(db: Path) -> None:
    message = fails(db, "--explain", "visits")
    assert "unknown deliverable `visits`" in message
    assert all(key in message for key in KEYS)


@pytest.mark.parametrize("value", ["2023-13-01", "01/03/2023", "tomorrow", "2023-02-30", ""])
def test_a_bad_date_is_one_line(db: Path, value: str) -> None:
    assert "--to" in fails(db, "--to", value)


def test_an_empty_period_is_refused(db: Path) -> None:
    assert "after" in fails(db, "--from", "2024-01-01", "--to", "2023-01-01")


def test_an_unknown_partner_is_refused(db: Path) -> None:
    message = fails(db, "--partner", "delta")
    assert "unknown partner `delta`" in message and "alpha, beta, gamma" in message


def test_the_store_must_exist(tmp_path: Path) -> None:
    message = fails(tmp_path / "none.db")
    assert "no store" in message
    assert not (tmp_path / "none.db").exists()


def test_a_bad_format_is_a_usage_error(db: Path) -> None:
    done = cxc(db, "report", "--format", "xml")
    assert done.returncode == 2 and done.stdout == ""
