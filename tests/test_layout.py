"""The layout shows the pipeline: each room of ``src/cxc`` imports only rooms above it.

The rooms, in the order data flows through them (PRODUCT.md: load, check, plan,
export, report): a module may import its own room and the rooms before it, never one
after it; only the command line (last) may use them all, and only it prints.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cxc"

ROOMS = ["", "format", "store", "rules", "plan", "calendars", "report", "intake", "delivery",
         "evidence", "cli"]
"""``""``: the shared modules at the top (errors, model, progress, csvcells, owner_only)."""


def _room(module: str) -> str:
    if module == "cxc.__main__":  # the `cxc` command's entry point: the command line's own
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else ""


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    parts = ["cxc", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every cxc import in the file, at the top or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.split(".")[0] == "cxc"]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, f"relative import (level {node.level})"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "cxc"]
    return found


def test_every_module_lies_in_a_known_room() -> None:
    rooms = {_room(_name(p)) for p in _modules()}
    assert rooms <= set(ROOMS), rooms - set(ROOMS)
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "csvcells.py", "errors.py", "model.py",
                   "owner_only.py", "progress.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_module_imports_no_room_below_its_own(path: Path) -> None:
    own = ROOMS.index(_room(_name(path)))
    backwards = []
    for line, module in _imports(path):
        if module.startswith("relative import"):
            backwards.append(f"{path.name}:{line}: {module}: import cxc.<room> by name")
            continue
        room = _room(module) if module.count(".") >= 1 else ""
        if room in ROOMS and ROOMS.index(room) > own:
            backwards.append(f"{path.name}:{line}: imports {module}, a room after its own")
    assert backwards == []


@pytest.mark.parametrize("path", [p for p in _modules() if _room(_name(p)) != "cli"],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_command_line_prints_or_uses_typer_and_rich(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id == "print"):
            offences.append(f"line {node.lineno}: print()")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            offences += [f"line {node.lineno}: imports {n}" for n in names
                         if n.split(".")[0] in ("typer", "click")]
    assert offences == []
