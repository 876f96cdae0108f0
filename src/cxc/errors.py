"""Errors raised by the library, and findings produced by the rules.

Library code raises a :class:`CxcError` subclass carrying where the problem
is; only the CLI turns it into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped (``\\n``, ``\\x1f``).

    Messages quote what the user wrote; a key or value holding a line break must
    not turn one message into two lines.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 file``, ``2 files``: a count and its noun, for messages (``nouns``: an irregular
    plural, ``itineraries``)."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def them(n: int) -> str:
    """The pronoun for ``n`` things: fix ``it`` (one error), fix ``them`` (two)."""
    return "it" if n == 1 else "them"


@dataclass(frozen=True)
class Source:
    """Where a thing was written: the file, and the 1-based line and column.

    The one type of place: a format problem, a rule's finding and the model's things
    all print theirs through it (``file:line:col``, compiler style).
    """

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            # a column of 0 is unknown (a place read back from the store): omit it, never print 0
            return f"{self.file}:{self.line}:{self.column}" if self.column else (
                f"{self.file}:{self.line}")
        return self.file


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, with its place."""

    file: str
    message: str
    line: int = 0
    column: int = 0

    @property
    def at(self) -> Source:
        return Source(self.file, self.line, self.column)

    def __str__(self) -> str:
        return f"{self.at}: {self.message}"


class CxcError(Exception):
    """Base of every error cxc reports to a user; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_UNUSABLE

    def lines(self) -> list[str]:
        return [one_line(str(self))]


class FormatError(CxcError):
    """One or more input files break the YAML format; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [one_line(str(p)) for p in self.problems]


class StoreError(CxcError):
    """The store cannot be opened, read or written."""


class UsageError(CxcError):
    """The command was called in a way that cannot work (a missing path, a bad option value)."""


class PlanningError(CxcError):
    """Planning could not run at all (not: a slot that cannot be filled, which is a finding)."""


class ExportError(CxcError):
    """Files could not be written."""


class InvalidStoreError(CxcError):
    """The store holds data that breaks the rules (errors `cxc validate` finds), and the
    command needs a store without any; ``errors`` is how many."""

    exit_code = EXIT_FINDINGS

    def __init__(self, message: str, errors: int) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class Finding:
    """One result of a rule: what is wrong, how bad, and where."""

    rule: str
    severity: str
    """``error`` or ``warning``."""
    message: str
    file: str | None = None
    line: int | None = None
    programme: str | None = None
    participant: str | None = None
    session: str | None = None
    venue: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def at(self) -> Source | None:
        """Where it points, if in a file (the column, where known, rides in ``extra``)."""
        if not self.file:
            return None
        column = self.extra.get("column")
        return Source(self.file, self.line or 0, column if isinstance(column, int) else 0)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "programme": self.programme,
            "participant": self.participant,
            "session": self.session,
            "venue": self.venue,
        }
        out.update(self.extra)
        return out

    @property
    def sort_key(self) -> tuple[str, str, int, str, str]:
        return (self.programme or "", self.file or "", self.line or 0, self.rule, self.message)
