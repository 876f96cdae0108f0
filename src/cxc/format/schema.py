"""The JSON Schema (draft 2020-12) of the YAML format, written from :mod:`cxc.format.definition`.

It reads a file as YAML 1.2 editors do: dates and times are strings, and a text value
written as a bare number or ``true`` is still text (the loader reads it as written).
Each mapping of the definition is one entry of ``$defs``; unknown keys are refused.
"""

from __future__ import annotations

import json
from typing import Any

from cxc.format import definition as d
from cxc.format.countries import ISO_COUNTRIES

SCHEMA_ID = "https://cxc.example/cxc.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
TEXT_PATTERN = f"^[^{_CONTROL}]*\\S[^{_CONTROL}]*$"
"""Not empty once trimmed, and no control character (tabs and line breaks are allowed)."""
SLUG_PATTERN = "^[a-z0-9][a-z0-9-]*$"
EMAIL_PATTERN = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
URL_PATTERN = "^https?://\\S+$"
ZONE_PATTERN = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
"""The shape of an IANA name; which names exist depends on the machine's tz database."""


def _years(leap: bool) -> str:
    """A pattern for the years of :data:`d.YEARS` (only the leap years with ``leap``)."""
    years = [y for y in d.YEARS if not leap or (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))]
    tens: dict[tuple[int, int], list[int]] = {}
    for y in years:
        tens.setdefault((y // 100, y // 10 % 10), []).append(y % 10)
    by_century: dict[int, list[str]] = {}
    for (century, ten), units in sorted(tens.items()):
        unit = "[0-9]" if units == list(range(10)) else _digits(units)
        by_century.setdefault(century, []).append(f"{ten}{unit}")
    return "(?:" + "|".join(
        f"{century}(?:{'|'.join(ends)})" for century, ends in by_century.items()) + ")"


def _digits(digits: list[int]) -> str:
    return str(digits[0]) if len(digits) == 1 else f"[{''.join(map(str, digits))}]"


def _date_pattern() -> str:
    """``YYYY-MM-DD`` for the calendar dates of :data:`d.YEARS` only (no 30 February)."""
    day31 = "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    day30 = "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    february = "02-(?:0[1-9]|1[0-9]|2[0-8])"
    return (f"(?:{_years(False)}-(?:{day31}|{day30}|{february})"
            f"|{_years(True)}-02-29)")


DATE_PATTERN = f"^{_date_pattern()}$"
TIME_PATTERN = f"^{_date_pattern()}[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]$"

YAML11_BOOLEANS = [spelling for word in ("yes", "no", "true", "false", "on", "off")
                   for spelling in (word, word.capitalize(), word.upper())]
"""The other spellings of true and false the loader reads (YAML 1.1), as a YAML 1.2 editor sees them."""

_SCALAR_TEXT = ["string", "number", "boolean"]
"""What a YAML 1.2 editor may read a text value as: ``name: 2024`` is text to the loader."""


def _type(kind: d.Type) -> dict[str, Any]:
    if isinstance(kind, d.Text):
        return {"type": _SCALAR_TEXT, "pattern": TEXT_PATTERN}
    if isinstance(kind, d.Slug):
        # `id: 2024` is a number to a YAML 1.2 editor, and the id "2024" to the loader
        return {"anyOf": [{"type": "string", "pattern": SLUG_PATTERN},
                          {"type": "integer", "minimum": 0}]}
    if isinstance(kind, d.Integer):
        return {"type": "integer", "minimum": kind.minimum, "maximum": kind.maximum}
    if isinstance(kind, d.Number):
        return {"type": "number", "minimum": kind.low, "maximum": kind.high}
    if isinstance(kind, d.Boolean):
        # `attended: yes` is true to the loader (YAML 1.1) and text to a YAML 1.2 editor
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": YAML11_BOOLEANS}],
                "default": kind.default}
    if isinstance(kind, d.Date):
        return {"type": "string", "pattern": DATE_PATTERN, "description": "YYYY-MM-DD"}
    if isinstance(kind, d.WallTime):
        return {"type": "string", "pattern": TIME_PATTERN, "description": "YYYY-MM-DD HH:MM"}
    if isinstance(kind, d.Zone):
        return {"type": "string", "pattern": ZONE_PATTERN, "examples": ["Europe/Paris"]}
    if isinstance(kind, d.Country):
        return {"type": "string", "enum": sorted(ISO_COUNTRIES)}
    if isinstance(kind, d.Email):
        return {"type": "string", "pattern": EMAIL_PATTERN}
    if isinstance(kind, d.Url):
        return {"type": "string", "pattern": URL_PATTERN}
    if isinstance(kind, d.Choice):
        out: dict[str, Any] = {"type": "string", "enum": list(kind.values)}
        if kind.default is not None:
            out["default"] = kind.default
        return out
    if isinstance(kind, d.ListOf):
        return {"type": ["array", "null"], "items": _type(kind.item)}
    if isinstance(kind, d.Pair):
        return {"type": "array", "prefixItems": [_type(kind.first), _type(kind.second)],
                "minItems": 2, "maxItems": 2}
    if isinstance(kind, d.Counts):
        return {"type": ["object", "null"],
                "propertyNames": {"pattern": SLUG_PATTERN},
                "additionalProperties": _type(kind.count)}
    assert isinstance(kind, d.Nested)
    ref = {"$ref": f"#/$defs/{_name(kind.shape)}"}
    return {"anyOf": [ref, {"type": "null"}]} if kind.nullable else ref


def _name(shape: d.Shape) -> str:
    return shape.what.replace(" ", "_")


def _shapes(shape: d.Shape, found: dict[str, d.Shape]) -> None:
    """Every shape reachable from ``shape``, by name."""
    found[_name(shape)] = shape
    for key in shape.keys:
        kind = key.type
        while isinstance(kind, d.ListOf):
            kind = kind.item
        if isinstance(kind, d.Nested):
            _shapes(kind.shape, found)


def _object(shape: d.Shape) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key in shape.keys:
        prop = _type(key.type)
        if key.description:
            # a type's own description is how it is written (YYYY-MM-DD): keep it after the key's
            written = f" ({prop['description']})" if "description" in prop else ""
            prop = {**prop, "description": key.description + written}
        properties[key.name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "additionalProperties": False}
    if shape.required:
        out["required"] = list(shape.required)
    if shape.description:
        out["description"] = shape.description
    return out


def schema() -> dict[str, Any]:
    """The JSON Schema of a cxc YAML file: a partnership file or a programme file."""
    shapes: dict[str, d.Shape] = {}
    for document in d.DOCUMENTS:
        _shapes(document, shapes)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "cxc YAML file",
        "description": "A partnership file (top-level `partnership:`) or a programme file "
                       "(top-level `programme:`) of cxc.",
        "oneOf": [{"$ref": f"#/$defs/{_name(document)}"} for document in d.DOCUMENTS],
        "$defs": {name: _object(shape) for name, shape in shapes.items()},
    }


def schema_json() -> str:
    """:func:`schema` as JSON text: sorted keys, indented by two, ending with a newline."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"
