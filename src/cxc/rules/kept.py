"""The rules' findings kept in the store, so that a command on a store nobody wrote since
the last validation does not run the rules again.

A kept validation is only ever read back by the code that made it (:func:`made_by`), on the
schema it was made on, and SQLite's triggers forget it when a table the rules read is
written (:data:`cxc.store.schema.VALIDATION_INPUTS`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any

import cxc
from cxc.errors import Finding

_FIELDS = ("rule", "severity", "message", "file", "line", "programme", "participant",
           "session", "venue")


def made_by(conn: sqlite3.Connection) -> str:
    """What the rules' findings on this store depend on besides its rows: cxc's code (every
    source file, so that an edited checkout does not read a kept result as its own), the
    store's schema, SQLite, and the time-zone data (DST gaps)."""
    schema = conn.execute("PRAGMA schema_version").fetchone()[0]
    return f"{_code()} schema {schema}"


@cache
def _code() -> str:
    digest = hashlib.sha256(f"cxc {cxc.__version__}\n".encode())
    package = Path(cxc.__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(f"{source.relative_to(package)}\n".encode())
        digest.update(source.read_bytes())
    return f"code {digest.hexdigest()[:32]} sqlite {sqlite3.sqlite_version} tz {_tz_version()}"


def _tz_version() -> str:
    """The IANA release zoneinfo reads: the system's (tzdata.zi's first line), else the
    tzdata package's."""
    for folder in zoneinfo.TZPATH:
        try:
            with open(Path(folder) / "tzdata.zi", encoding="ascii") as lines:
                return lines.readline().strip().removeprefix("# version ")
        except (OSError, UnicodeDecodeError):
            continue
    try:
        import tzdata  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: TID253
    except ImportError:
        return "none"
    return str(tzdata.IANA_VERSION)


def dumps(findings: list[Finding]) -> str:
    return json.dumps([[getattr(f, name) for name in _FIELDS] + [f.extra] for f in findings],
                      ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> list[Finding]:
    rows: list[list[Any]] = json.loads(text)
    return [Finding(**dict(zip(_FIELDS, row[:-1], strict=True)), extra=row[-1]) for row in rows]
