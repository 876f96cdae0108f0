"""Safe YAML reading that keeps the line and column of every value.

PyYAML composes the document into a node graph (with the C parser when it is
available) and nothing constructs Python objects from it: the loader reads the
nodes themselves, each with its mark. Before it does, the whole graph is checked
once: plain YAML tags only, no merge keys, text keys, bounded nesting, and a
node budget that stops an alias bomb instead of expanding it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from cxc.errors import FormatError, Problem

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest programme file we read; a larger one is refused before parsing."""

MAX_NODES_PER_BYTE = 4
"""Alias expansion budget: a document may visit at most this many nodes per byte (+ a floor)."""

NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_KINDS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    NULL_TAG: "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
}
_STANDARD_TAGS = {*_SCALAR_KINDS, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_DESCRIPTIONS = {
    "str": "text", "int": "a number", "float": "a number", "bool": "true/false",
    "null": "nothing", "timestamp": "a date",
}


# -- reading nodes -----------------------------------------------------------------

# Node classes are told apart by name: importing yaml here would slow down `cxc --help`.


def is_scalar(node: Node) -> TypeGuard[ScalarNode]:
    return type(node).__name__ == "ScalarNode"


def is_mapping(node: Node) -> TypeGuard[MappingNode]:
    return type(node).__name__ == "MappingNode"


def is_sequence(node: Node) -> TypeGuard[SequenceNode]:
    return type(node).__name__ == "SequenceNode"


def is_null(node: Node) -> bool:
    return node.tag == NULL_TAG and is_scalar(node)


def kind(scalar: ScalarNode) -> str:
    """``str``, ``int``, ``float``, ``bool``, ``null`` or ``timestamp``: what YAML resolved it to."""
    return _SCALAR_KINDS.get(scalar.tag) or scalar.tag.rsplit(":", 1)[1]


def quoted(scalar: ScalarNode) -> bool:
    return scalar.style in ("'", '"')


def place(node: Node) -> tuple[int, int]:
    """The 1-based line and column where ``node`` starts."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def describe(node: Node) -> str:
    if is_mapping(node):
        return "a mapping"
    if is_sequence(node):
        return "a list"
    assert is_scalar(node)
    scalar_kind = kind(node)
    return _DESCRIPTIONS.get(scalar_kind, scalar_kind)


# -- parsing -----------------------------------------------------------------------


def read_document(path: Path, display: str) -> Node | None:
    """Parse one YAML file into checked nodes; ``None`` for an empty document.

    Raises :class:`FormatError` naming the file (and line, where the parser has one).
    """
    return parse_text(decode(read_raw(path, display), display), display)


def read_raw(path: Path, display: str) -> bytes:
    """The bytes of one YAML file; :class:`FormatError` for one too large or unreadable."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError([Problem(display, f"cannot read: {exc.strerror or exc}")]) from None
    if size > MAX_FILE_BYTES:
        raise FormatError([Problem(
            display, f"file is {size:,} bytes; the largest accepted is {MAX_FILE_BYTES:,}")])
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FormatError([Problem(display, f"cannot read: {exc.strerror or exc}")]) from None


def decode(raw: bytes, display: str) -> str:
    """The text of a file: UTF-8 (with or without BOM), or UTF-16 with its BOM (what Windows
    Notepad saves as "Unicode"); anything else is refused with the place of the first bad byte."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FormatError([Problem(
                display, "not readable as UTF-16 although it starts like it; "
                "save the file as UTF-8")]) from None
    if b"\x00" in raw:
        raise FormatError([Problem(
            display, "not a text file (it contains NUL bytes); save it as UTF-8 text")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw[: exc.start].count(b"\n") + 1
        column = len(raw[line_start: exc.start].decode("utf-8", "replace")) + 1
        raise FormatError([Problem(
            display, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}, perhaps Latin-1 or "
            f"Windows-1252): save the file as UTF-8", line, column)]) from None


def parse_text(text: str, display: str) -> Node | None:
    import yaml

    try:
        root = _compose(text, display)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark is not None and (
                mark is None or exc.context_mark.line != mark.line):
            # where the parser noticed can be lines after the cause: name both
            reason += f" ({exc.context} at line {exc.context_mark.line + 1})"
        if mark is not None:
            reason += _syntax_hint(text, exc.problem or "", mark.line, mark.column)
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
    _check(root, _Budget(display, 10_000 + MAX_NODES_PER_BYTE * len(text)), depth=0)
    return root


def _syntax_hint(text: str, problem: str, line: int, column: int) -> str:
    """How to fix the commonest YAML mistakes, given the parser's 0-based place."""
    lines = text.splitlines()
    here = lines[line] if line < len(lines) else ""
    if "\t" in here[: column + 1] or here[column: column + 1] == "\t" or (
            "cannot start any token" in problem and "\t" in here):
        return "; indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        key, _, value = here.strip().removeprefix("- ").partition(": ")
        value = value.strip()
        if key and value and not value.startswith(("'", '"')):
            quoted_value = value.replace("\\", "\\\\").replace('"', '\\"')
            return (f"; a value holding `: ` must be quoted, e.g. "
                    f'`{key}: "{quoted_value}"`')
        return '; a value holding `: ` must be quoted, e.g. `title: "Lunch: local food"`'
    return ""


_COMPOSE_SAFELY = 1_000
"""Nesting the C composer takes without exhausting the C stack (it crashes at some 30,000)."""


class _NestedPastSafe(Exception):
    """Raised by the loader as it composes a node nested deeper than _COMPOSE_SAFELY."""


def _compose(text: str, display: str) -> Node | None:
    import yaml

    loader_class = _loader_class()
    try:
        root: Node | None = yaml.compose(text, Loader=loader_class)
    except _NestedPastSafe:
        raise _nesting_error(text, loader_class, display) from None
    return root


@lru_cache(maxsize=1)
def _loader_class() -> Any:
    """PyYAML's safe loader (C when available), with a depth guard and a quicker resolver.

    The C composer recurses once per level without a limit (``[[[[...`` fifty
    thousand deep crashes the interpreter): the loader counts levels as it
    descends, and stops at _COMPOSE_SAFELY.

    Resolution runs in Python for every scalar. Implicit resolvers are looked up by
    a plain scalar's first character, so one starting with any other character is
    text without trying a pattern; the same scalar written again resolves from a cache.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    scalar_node, text_tag = yaml.ScalarNode, base.DEFAULT_SCALAR_TAG
    first_characters = frozenset(key for key in base.yaml_implicit_resolvers if key)
    by_path = bool(base.yaml_path_resolvers)
    by_first_character = None not in base.yaml_implicit_resolvers and not by_path

    class Loader(base):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.resolved: dict[str, str] = {}
            self.depth = 0

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            self.depth += 1
            if self.depth > _COMPOSE_SAFELY:
                raise _NestedPastSafe
            if by_path:
                super().descend_resolver(current_node, current_index)

        def ascend_resolver(self) -> None:
            self.depth -= 1
            if by_path:
                super().ascend_resolver()

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is scalar_node and implicit[0] and by_first_character:
                if value and value[0] not in first_characters:
                    return text_tag
                tag = self.resolved.get(value)
                if tag is None:
                    tag = self.resolved[value] = super().resolve(kind, value, implicit)
                return tag
            return super().resolve(kind, value, implicit)

    return Loader


def _nesting_error(text: str, loader_class: Any, display: str) -> FormatError:
    """The problem of the first collection nested deeper than _MAX_DEPTH, found without recursion.

    The parser's events come one after the other: counting them needs no stack.
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
                return FormatError([Problem(display, "YAML nests too deeply", line, column)])
        elif isinstance(event, closing):
            depth -= 1
    return FormatError([Problem(display, "YAML nests too deeply")])


class _Budget:
    def __init__(self, display: str, nodes: int) -> None:
        self.display = display
        self.left = nodes

    def refuse(self, node: Node, message: str) -> FormatError:
        return FormatError([Problem(self.display, message, *place(node))])


_MAX_DEPTH = 64


def _check(node: Node, budget: _Budget, depth: int) -> None:
    """Refuse what the loader must never read; every node, as aliases expand, in order.

    The first problem stops the check: after a bad tag or an alias bomb, nothing
    else in the file is worth reading.
    """
    budget.left -= 1
    if budget.left < 0:
        raise budget.refuse(node, "document expands to too many values (an alias bomb?); refused")
    if depth > _MAX_DEPTH:
        raise budget.refuse(node, "YAML nests too deeply")
    tag = node.tag
    if tag not in _STANDARD_TAGS:
        if tag == MERGE_TAG:
            raise budget.refuse(node, "merge keys (<<) are not supported; write the keys out")
        raise budget.refuse(node, f"tag {tag!r} is not allowed (plain YAML values only)")
    node_class = type(node).__name__
    if node_class == "SequenceNode":
        for item in node.value:
            _check(item, budget, depth + 1)
    elif node_class == "MappingNode":
        for key, value in node.value:
            _check(key, budget, depth + 1)
            if not is_scalar(key):
                raise budget.refuse(key, "a key must be plain text")
            _check(value, budget, depth + 1)
