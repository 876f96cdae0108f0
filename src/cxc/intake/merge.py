"""`cxc import`: a form export merged into a programme file, by email, keeping its layout.

The file is edited with ruamel.yaml's round trip, so comments, key order, quotes and
layout stay as the coordinator wrote them; a re-import of the same export changes no byte
(nothing is written when nothing changes).
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxc import model as m
from cxc.errors import FormatError, Problem, UsageError
from cxc.intake import columns as c
from cxc.intake.readers import Table, read_table

HEADER_SEARCH_ROWS = 30
ORDER = ("email", "name", "organisation", "org_type", "country", "partner", "interests",
         "status")


@dataclass(frozen=True)
class Mapping_:
    """A mapping file: field -> columns, field -> {cell text: value}, field -> default."""

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    unchanged: int
    diff: str
    """The unified diff of the programme file (empty when nothing changes)."""
    written: bool


def read_mapping(path: Path) -> Mapping_:
    """The mapping file (YAML: `columns`, `values`, `defaults`)."""
    import yaml

    shown = str(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{shown}: a mapping file is a YAML mapping of `columns`, `values` "
                         "and `defaults`")
    unknown = sorted(set(map(str, loaded)) - {"columns", "values", "defaults"})
    if unknown:
        raise UsageError(f"{shown}: unknown key `{unknown[0]}`; a mapping file has "
                         "`columns`, `values` and `defaults`")
    fields = set(c.FIELDS)
    columns: dict[str, tuple[str, ...]] = {}
    for key, value in (loaded.get("columns") or {}).items():
        if key not in fields:
            raise UsageError(f"{shown}: columns: `{key}` is no participant field "
                             f"(one of {', '.join(ORDER)})")
        names = value if isinstance(value, list) else [value]
        columns[str(key)] = tuple(str(n) for n in names)
    values: dict[str, dict[str, str]] = {}
    for key, value in (loaded.get("values") or {}).items():
        if key not in fields or not isinstance(value, dict):
            raise UsageError(f"{shown}: values: `{key}` should be a participant field "
                             "mapping a cell's text to a value")
        values[str(key)] = {c.value_key(str(k)): str(v) for k, v in value.items()}
    defaults = dict(loaded.get("defaults") or {})
    for key in defaults:
        if key not in fields:
            raise UsageError(f"{shown}: defaults: `{key}` is no participant field")
    return Mapping_(columns, values, defaults)


def _find_header(table: Table, mapping: Mapping_,
                 shown: str) -> tuple[int, tuple[str, ...], c.Columns]:
    for index, (_, cells) in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        found = c.match_headers(cells, mapping.columns)
        if "email" in found.fields:
            return index, cells, found
    raise UsageError(f"{shown}: no header row with an email column in its first "
                     f"{HEADER_SEARCH_ROWS} rows; name the column with `columns: {{email: ...}}` "
                     "in a --map file")


class _Partners:
    def __init__(self, partners: Mapping[str, str]) -> None:
        self.ids = dict(partners)  # id -> name
        self.by_key = {c.value_key(name): pid for pid, name in partners.items()}
        self.by_key.update({c.value_key(pid): pid for pid in partners})

    def find(self, text: str) -> str | None:
        key = c.value_key(text)
        if key in self.by_key:
            return self.by_key[key]
        hits = {pid for name, pid in self.by_key.items()
                if len(name) >= 3 and f" {name} " in f" {key} "}
        return hits.pop() if len(hits) == 1 else None


def _records(table: Table, mapping: Mapping_, partners: _Partners, partner: str | None,
             shown: str) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    start, header, found = _find_header(table, mapping, shown)
    records: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []

    def cell(cells: Sequence[str], index: int) -> str:
        return cells[index].strip() if index < len(cells) else ""

    for number, cells in table.rows[start + 1:]:
        if not any(cells):
            continue
        record: dict[str, Any] = {}

        def bad(fieldname: str, message: str, number: int = number) -> None:
            indices = found.fields.get(fieldname, ())
            column = " + ".join(header[i] for i in indices) if indices else fieldname
            problems.append(Problem(shown, f"{column}: {message}", number))

        for fieldname, indices in found.fields.items():
            text = " ".join(t for t in (cell(cells, i) for i in indices) if t)
            if not text:
                continue
            own = mapping.values.get(fieldname, {}).get(c.value_key(text))
            value: Any
            if fieldname == "email":
                value = own or text
                local, _, domain = value.rpartition("@")
                if not local or "." not in domain or " " in value:
                    bad(fieldname, f"`{text}` is not an email address")
                    continue
            elif fieldname == "org_type":
                value = own or c.org_type(text)
                if value not in m.ORG_TYPES:
                    bad(fieldname, f"`{text}` is no organisation type I know; write one of "
                        f"{', '.join(m.ORG_TYPES)} or map it under `values: org_type:` in --map")
                    continue
            elif fieldname == "country":
                value = c.country(own or text)
                if value is None:
                    bad(fieldname, f"`{text}` is no country I know; write its ISO code (ES) "
                        "or map it under `values: country:` in --map")
                    continue
            elif fieldname == "partner":
                value = partners.find(own or text)
                if value is None:
                    known = ", ".join(sorted(partners.ids)) or "none: load the partnership first"
                    bad(fieldname, f"`{text}` is no partner of the partnership in the store "
                        f"({known}); map it under `values: partner:` in --map")
                    continue
            elif fieldname == "status":
                value = own or c.status(text)
                if value not in m.REGISTRATION_STATUSES:
                    bad(fieldname, f"`{text}` is no registration status I know; map it under "
                        "`values: status:` (registered, waitlisted or withdrawn)")
                    continue
            elif fieldname == "interests":
                value = c.interests(own or text)
            else:
                value = own or text
            record[fieldname] = value
        if "email" not in record:
            if not any(p.line == number for p in problems):
                bad("email", "empty; every registration needs an email address")
            continue
        if "name" not in record:
            first, last = record.pop("first_name", None), record.pop("last_name", None)
            if first or last:
                record["name"] = " ".join(x for x in (first, last) if x)
        record.pop("first_name", None)
        record.pop("last_name", None)
        for fieldname, value in mapping.defaults.items():
            if fieldname not in record and fieldname not in found.fields:
                record[fieldname] = value
        if "partner" not in record and partner is not None:
            record["partner"] = partner
        records.append((number, record))
    return records, problems


def _load_programme(path: Path) -> tuple[str, Any, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict) or "programme" not in doc:
        raise UsageError(f"{path}: not a programme file (no top-level `programme:` key)")
    return text, doc, yaml


def _merge(doc: Any, records: list[tuple[int, dict[str, Any]]],
           shown: str, into: str) -> tuple[int, int, int, list[Problem]]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    people = doc.get("participants")
    if people is None or (isinstance(people, list) and not people):
        people = CommentedSeq()
        doc["participants"] = people
    if not isinstance(people, list):
        raise UsageError(f"{into}: `participants` is not a list")
    index = {m.identity_key(str(p.get("email", ""))): p for p in people if isinstance(p, dict)}
    added = updated = unchanged = 0
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, record in records:
        key = m.identity_key(record["email"])
        entry = index.get(key)
        if "interests" in record:
            listed = CommentedSeq(record["interests"])
            listed.fa.set_flow_style()
            record["interests"] = listed
        if entry is None:
            missing = [f for f in ("name", "partner") if f not in record]
            if missing:
                problems.append(Problem(shown, f"{missing[0]}: a new participant needs a "
                                        f"{missing[0]}" + ("; give --partner ID or "
                                        "`defaults: partner:` in --map"
                                        if missing[0] == "partner" else ""), number))
                continue
            if record.get("status") == "registered":
                del record["status"]  # the default
            entry = CommentedMap((f, record[f]) for f in ORDER if f in record)
            people.append(entry)
            index[key] = entry
            added += 1
            seen.add(key)
            continue
        changed = False
        for fieldname in ORDER:
            if fieldname == "email" or fieldname not in record:
                continue
            value = record[fieldname]
            old = entry.get(fieldname, "registered" if fieldname == "status" else None)
            if (list(old) if isinstance(old, list) else old) == (
                    list(value) if isinstance(value, list) else value):
                continue
            entry[fieldname] = value
            changed = True
        if key not in seen:
            updated += changed
            unchanged += not changed
            seen.add(key)
    return added, updated, unchanged, problems


def import_registrations(export: Path, into: Path, *, partners: Mapping[str, str],
                         mapping: Mapping_ | None = None, partner: str | None = None,
                         dry_run: bool = False) -> ImportSummary:
    """Merge the registrations of ``export`` into the programme file ``into``.

    ``partners``: the partnership's partners, id -> name. Every row that cannot be
    mapped is reported at once (a :class:`FormatError`), and then nothing is written.
    """
    mapping = mapping or Mapping_()
    if partner is not None and partner not in partners:
        known = ", ".join(sorted(partners)) or "none: load the partnership file first"
        raise UsageError(f"--partner {partner}: no such partner in the store ({known})")
    shown = str(export)
    table = read_table(export, shown)
    before, doc, yaml = _load_programme(into)
    records, problems = _records(table, mapping, _Partners(partners), partner, shown)
    added, updated, unchanged, more = _merge(doc, records, shown, str(into))
    problems += more
    if problems:
        raise FormatError(sorted(problems, key=lambda p: p.line))
    out = io.StringIO()
    yaml.dump(doc, out)
    after = out.getvalue() if (added or updated) else before
    diff = "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        f"a/{into}", f"b/{into}"))
    written = False
    if after != before and not dry_run:
        _write_atomically(into, after)
        written = True
    return ImportSummary(added, updated, unchanged, diff, written)


def _write_atomically(path: Path, text: str) -> None:
    """A temporary file beside ``path``, renamed over it, with ``path``'s permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
