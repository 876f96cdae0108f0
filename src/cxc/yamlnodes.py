"""Safe YAML reading that keeps the line and column of every value.

PyYAML composes the document into a node graph (with the C parser when it is
available); we walk that graph ourselves instead of constructing Python
objects, so that every value keeps its mark, no tag can build an object, and an
alias bomb is stopped by a node budget instead of expanding in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FormatError, Problem

MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest programme file we read; a larger one is refused before parsing."""

MAX_NODES_PER_BYTE = 4
"""Alias expansion budget: a document may visit at most this many nodes per byte (+ a floor)."""

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True)
class Mark:
    line: int
    column: int


@dataclass(frozen=True)
class Scalar:
    """A scalar as written: its text, the type YAML resolved it to, and its place."""

    text: str
    kind: str
    """``str``, ``int``, ``float``, ``bool``, ``null`` or ``timestamp``."""
    mark: Mark
    quoted: bool = False


@dataclass(frozen=True)
class Mapping:
    items: tuple[tuple[Scalar, Any], ...]
    mark: Mark


@dataclass(frozen=True)
class Sequence:
    items: tuple[Any, ...]
    mark: Mark


Node = Scalar | Mapping | Sequence


def describe(node: Node) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    return {
        "str": "text", "int": "a number", "float": "a number", "bool": "true/false",
        "null": "nothing", "timestamp": "a date",
    }.get(node.kind, node.kind)


def read_document(path: Path, display: str) -> Node | None:
    """Parse one YAML file into marked nodes; ``None`` for an empty document.

    Raises :class:`FormatError` naming the file (and line, where the parser has one).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError([Problem(display, f"cannot read: {exc.strerror or exc}")]) from None
    if size > MAX_FILE_BYTES:
        raise FormatError([Problem(
            display, f"file is {size:,} bytes; the largest accepted is {MAX_FILE_BYTES:,}")])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError([Problem(display, f"cannot read: {exc.strerror or exc}")]) from None
    if b"\x00" in raw:
        raise FormatError([Problem(display, "not a text file (it contains NUL bytes)")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FormatError([Problem(display, "not UTF-8 text", line, 0)]) from None
    return parse_text(text, display)


def parse_text(text: str, display: str) -> Node | None:
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if _nesting_bound(text) > _COMPOSE_SAFELY:
            _check_depth(text, loader_class, display)
        root = yaml.compose(text, Loader=loader_class)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark is not None and (
                mark is None or exc.context_mark.line != mark.line):
            # where the parser noticed can be lines after the cause: name both
            reason += f" ({exc.context} at line {exc.context_mark.line + 1})"
        if mark is not None:
            raise FormatError([Problem(
                display, f"YAML syntax: {reason}", mark.line + 1, mark.column + 1)]) from None
        raise FormatError([Problem(display, f"YAML syntax: {reason}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. \x1f
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        character = (f"#x{exc.character:04x}" if isinstance(exc.character, int)
                     else repr(exc.character))
        raise FormatError([Problem(
            display, f"YAML syntax: unacceptable character {character}: {exc.reason}",
            line, column)]) from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise FormatError([Problem(display, f"YAML syntax: {reason}")]) from None
    except RecursionError:
        raise FormatError([Problem(display, "YAML nests too deeply")]) from None
    if root is None:
        return None
    budget = _Budget(display, 10_000 + MAX_NODES_PER_BYTE * len(text))
    return _convert(root, budget, depth=0)


_COMPOSE_SAFELY = 1_000
"""Nesting the C composer takes without exhausting the C stack (it crashes at some 30,000)."""

_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _nesting_bound(text: str) -> int:
    """An upper bound on how deeply the collections of ``text`` nest, cheap to compute.

    Flow collections open with ``[`` or ``{``. Block collections nest only further
    right, at least every second level (a list may sit at its key's indentation),
    and start no further right than where a line's content begins after its
    indentation and its compact ``- ``, ``? ``, ``: `` indicators.
    """
    flow = text.count("[") + text.count("{")
    column = max(len(line) - len(line.lstrip(" \t-?:")) for line in _LINE_BREAK.split(text))
    return flow + 2 * (column + 1) + 1


def _check_depth(text: str, loader_class: Any, display: str) -> None:
    """Refuse collections nested deeper than _MAX_DEPTH before composing them.

    The C composer recurses once per level without a limit: ``[[[[...`` fifty
    thousand deep crashes the interpreter. The parser's events come without
    recursion, so a text that might nest deeply is counted first.
    """
    import yaml

    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    depth = 0
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, opening):
            depth += 1
            if depth > _MAX_DEPTH:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
                raise FormatError([Problem(display, "YAML nests too deeply", line, column)])
        elif isinstance(event, closing):
            depth -= 1


class _Budget:
    def __init__(self, display: str, nodes: int) -> None:
        self.display = display
        self.left = nodes

    def spend(self, mark: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise FormatError([Problem(
                self.display,
                "document expands to too many values (an alias bomb?); refused",
                mark.line + 1, mark.column + 1)])


_MAX_DEPTH = 64


def _convert(node: Any, budget: _Budget, depth: int) -> Node:
    import yaml

    mark = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
    budget.spend(node.start_mark)
    if depth > _MAX_DEPTH:
        raise FormatError([Problem(budget.display, "YAML nests too deeply", mark.line, mark.column)])
    if node.tag == "tag:yaml.org,2002:merge":
        raise FormatError([Problem(
            budget.display, "merge keys (<<) are not supported; write the keys out",
            mark.line, mark.column)])
    if node.tag not in _STANDARD_TAGS:
        raise FormatError([Problem(
            budget.display, f"tag {node.tag!r} is not allowed (plain YAML values only)",
            mark.line, mark.column)])
    if isinstance(node, yaml.ScalarNode):
        kind = node.tag.rsplit(":", 1)[1]
        return Scalar(node.value, kind, mark, quoted=node.style in ("'", '"'))
    if isinstance(node, yaml.SequenceNode):
        return Sequence(tuple(_convert(item, budget, depth + 1) for item in node.value), mark)
    items = []
    for key_node, value_node in node.value:
        key = _convert(key_node, budget, depth + 1)
        if not isinstance(key, Scalar):
            raise FormatError([Problem(
                budget.display, "a key must be plain text", key.mark.line, key.mark.column)])
        items.append((key, _convert(value_node, budget, depth + 1)))
    return Mapping(tuple(items), mark)
