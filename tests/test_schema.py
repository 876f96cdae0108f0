"""`cxc schema`: the JSON Schema of the format accepts what `cxc load` accepts and refuses what it refuses.

Files are read as a YAML 1.2 editor reads them (dates and times stay strings), then
validated with the `jsonschema` package; the same files go through the real `cxc load`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import PARTNERSHIP, PROGRAMME, edit, other_programme, participant_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "programmes").rglob("*.yaml"))
SCHEMA_FILE = ROOT / "docs" / "cxc.schema.json"


class _Yaml12Loader(yaml.SafeLoader):
    """Safe YAML read as YAML 1.2 does: dates and times stay strings, `yes` and `on` are text."""


_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, _YAML12_BOOL if tag == "tag:yaml.org,2002:bool" else regexp)
            for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def as_editor_reads(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    from cxc.format.schema import schema

    return jsonschema.Draft202012Validator(schema())


def errors(validator: jsonschema.Draft202012Validator, text: str) -> list[str]:
    return [e.message for e in validator.iter_errors(as_editor_reads(text))]


def test_the_editor_reading_keeps_dates_as_strings() -> None:
    read = as_editor_reads(PROGRAMME)
    assert read["programme"]["start"] == "2024-03-28"
    assert read["sessions"][0]["start"] == "2024-03-28 09:30"
    assert as_editor_reads("a: yes\nb: true") == {"a": "yes", "b": True}


# -- valid files ------------------------------------------------------------------------------


def test_the_examples_are_many() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_accepted(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert errors(validator, path.read_text(encoding="utf-8")) == []


VALID = {
    "partnership": PARTNERSHIP,
    "programme": PROGRAMME,
    "other-programme": other_programme("dd-2024-tallinn"),
    "other-with-participants": other_programme(
        "sv-2024-tallinn", kind="study_visit", status="held",
        participants=participant_yaml("x@example.com") + participant_yaml("y@example.com")),
    "optional-keys-left-empty": edit(edit(PROGRAMME, "  themes: [digital health, ai]\n",
                                          "  themes:\n  quotas:\n", 1),
                                     "  quotas:\n    barna-bio: 3\n    tallinn-med: 3\n", ""),
    "numbers-as-text": edit(PROGRAMME, "title: Digital health in the Hauts-de-France",
                            "title: 2024"),
    "yaml-1.1-booleans": edit(PROGRAMME, "    attended: true\n", "    attended: yes\n"),
    "every-optional-key": edit(PROGRAMME, "    themes: [ai]\n", (
        "    themes: [ai]\n    timezone: Europe/Brussels\n    description: |\n"
        "      Two lines\n      of text\n    url: https://example.org/lab\n")),
}


@pytest.mark.parametrize("name", VALID)
def test_the_fixtures_are_accepted(validator: jsonschema.Draft202012Validator, name: str) -> None:
    assert errors(validator, VALID[name]) == []


def test_the_schema_and_the_loader_both_accept_the_valid_variants(run: Any, tmp_path: Path) -> None:
    for name, text in VALID.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    result = run("load", ".")
    assert result.code == 0, result.stderr


# -- malformed files: refused by both -----------------------------------------------------------

MALFORMED = {
    "unknown-key": (PROGRAMME, "  capacity: 10\n  quotas:", "  capacity: 10\n  capacitty: 12\n  quotas:"),
    "unknown-top-key": (PARTNERSHIP, "targets:\n", "target:\n"),
    "unknown-nested-key": (PROGRAMME, "        ref: VY8010\n", "        reference: VY8010\n"),
    "integer-as-text": (PROGRAMME, "  capacity: 10\n  quotas:", "  capacity: ten\n  quotas:"),
    "integer-quoted": (PROGRAMME, "  capacity: 10\n  quotas:", '  capacity: "10"\n  quotas:'),
    "negative-integer": (PROGRAMME, "  capacity: 10\n  quotas:", "  capacity: -1\n  quotas:"),
    "list-as-text": (PROGRAMME, "  themes: [digital health, ai]\n", "  themes: ai\n"),
    "mapping-as-list": (PARTNERSHIP, "    contact:\n      name: Programme desk\n"
                        "      email: desk@lille-health.example\n", "    contact: [desk]\n"),
    "text-as-mapping": (PROGRAMME, "  city: Lille\n", "  city: {name: Lille}\n"),
    "empty-text": (PROGRAMME, "  city: Lille\n", '  city: ""\n'),
    "bool-as-text": (PROGRAMME, "    attended: true\n", "    attended: maybe\n"),
    "geo-of-one": (PROGRAMME, "    geo: [50.6090, 3.0370]\n", "    geo: [50.6090]\n"),
    "latitude-too-far": (PROGRAMME, "    geo: [50.6090, 3.0370]\n", "    geo: [91, 3.0370]\n"),
    "bad-programme-kind": (PROGRAMME, "  kind: cxc\n", "  kind: cluster-exchange\n"),
    "bad-session-kind": (PROGRAMME, "    kind: visit\n", "    kind: tour\n"),
    "bad-status": (PROGRAMME, "  status: confirmed\n", "  status: done\n"),
    "bad-participant-status": (PROGRAMME, "    org_type: startup\n",
                               "    org_type: startup\n    status: pending\n"),
    "bad-org-type": (PROGRAMME, "    org_type: startup\n", "    org_type: start-up\n"),
    "bad-travel-mode": (PROGRAMME, "      - mode: train\n        from: Barcelona Sants\n",
                        "      - mode: boat\n        from: Barcelona Sants\n"),
    "bad-activity-kind": (PARTNERSHIP, "  - kind: eccp_post\n", "  - kind: blog_post\n"),
    "bad-country": (PARTNERSHIP, "    country: EE\n", "    country: XX\n"),
    "eu-country-code": (PARTNERSHIP, "    country: EE\n", "    country: EL\n"),
    "bad-target-key": (PARTNERSHIP, "  cxc: 2\n", "  cxcs: 2\n"),
    "bad-id": (PROGRAMME, "  - id: lab-a\n", "  - id: Lab A\n"),
    "bad-id-underscore": (PARTNERSHIP, "  id: demo\n", "  id: demo_2023\n"),
    "bad-quota-partner": (PROGRAMME, "    barna-bio: 3\n", "    Barna Bio: 3\n"),
    "bad-slot": (PROGRAMME, "    slot: thursday-pm\n", "    slot: -thursday\n", 2),
    "bad-date": (PROGRAMME, "  start: 2024-03-28\n", "  start: 28/03/2024\n"),
    "no-such-date": (PROGRAMME, "  end: 2024-04-01\n", "  end: 2024-02-30\n"),
    "date-out-of-range": (PARTNERSHIP, "  end: 2025-01-31\n", "  end: 2225-01-31\n"),
    "date-with-time": (PROGRAMME, "      check_in: 2024-03-28\n",
                       "      check_in: 2024-03-28 14:00\n"),
    "bad-time": (PROGRAMME, "    start: 2024-03-28 09:30\n", "    start: 2024-03-28 9h30\n"),
    "time-without-hour": (PROGRAMME, "    start: 2024-03-28 09:30\n", "    start: 2024-03-28\n"),
    "no-such-hour": (PROGRAMME, "    end: 2024-03-28 11:00\n", "    end: 2024-03-28 25:00\n"),
    "time-with-seconds": (PROGRAMME, "    end: 2024-03-28 11:00\n", "    end: 2024-03-28 11:00:00\n"),
    "bad-email": (PROGRAMME, "  - email: ana.garcia@example.com\n", "  - email: ana.garcia\n"),
    "bad-url": (PARTNERSHIP, '    title: "Lille Health: our first Cluster Exchange"\n',
                '    title: "Lille Health: our first Cluster Exchange"\n    url: example.org\n'),
    "missing-required": (PROGRAMME, "  host: lille-health\n", ""),
    "missing-required-nested": (PROGRAMME, "        ref: VY8010\n        from: Barcelona (BCN)\n",
                                "        ref: VY8010\n"),
    "missing-partnership-id": (PARTNERSHIP, "  id: demo\n", ""),
    "both-documents": (PROGRAMME, "venues:\n", "partnership:\n  id: demo\nvenues:\n"),
    "no-document": (PROGRAMME, "programme:\n", "program:\n"),
    "partnership-and-programme-keys": (PARTNERSHIP, "partners:\n", "venues: []\npartners:\n"),
}


def _malformed(name: str) -> str:
    text, old, new, *count = MALFORMED[name]
    return edit(text, old, new, *count)


@pytest.mark.parametrize("name", MALFORMED)
def test_the_schema_refuses(validator: jsonschema.Draft202012Validator, name: str) -> None:
    assert errors(validator, _malformed(name)), f"the schema accepts {name}"


@pytest.mark.parametrize("name", MALFORMED)
def test_cxc_load_refuses(run: Any, tmp_path: Path, name: str) -> None:
    (tmp_path / "file.yaml").write_text(_malformed(name), encoding="utf-8")
    result = run("load", "file.yaml")
    assert result.code == 2, (name, result.stdout, result.stderr)
    assert result.stderr.startswith("cxc: file.yaml:"), result.stderr


# -- the schema itself --------------------------------------------------------------------------


def test_cxc_schema_prints_a_valid_draft_2020_12_schema_the_same_twice(run_cxc: Any) -> None:
    first = run_cxc("schema", db=None)
    second = run_cxc("schema", db=None)
    assert (first.code, first.stderr) == (0, "")
    assert first.stdout == second.stdout
    assert first.stdout.endswith("}\n")
    schema = json.loads(first.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert first.stdout == json.dumps(schema, indent=2, sort_keys=True) + "\n"


def test_every_mapping_refuses_unknown_keys() -> None:
    from cxc.format.schema import schema

    defs = schema()["$defs"]
    assert sorted(defs) == sorted([
        "partnership_file", "partnership", "partner", "contact", "targets", "activity",
        "programme_file", "programme", "venue", "session", "participant", "travel_leg", "stay",
    ])
    assert all(d["additionalProperties"] is False for d in defs.values())


def test_the_committed_schema_is_up_to_date(run_cxc: Any) -> None:
    result = run_cxc("schema", db=None)
    assert SCHEMA_FILE.read_text(encoding="utf-8") == result.stdout, (
        "docs/cxc.schema.json is out of date: run `cxc schema > docs/cxc.schema.json`")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_names_the_schema_on_its_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == SCHEMA_FILE
